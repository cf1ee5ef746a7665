/* The held-back sigma field (METHOD.md 5b): its N-linear interpolation,
 * its gradient against central finite differences of the held-back loss
 * through a real MLP (ref and the best OpenCL device: the input gradient,
 * the rbf sigma derivative and the chain to the nodes), that an update
 * lowers the held-back loss, and the fit's use of it (the model's map
 * carries the field, the model file keeps its settings, bad settings are
 * refused). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "field.h"
#include "internal.h"
#include "mlp.h"
#include "testutil.h"

static void interpolation(void) {
  rbpe_err err = {0};
  rbpe_field *f;
  CHECK(rbpe_field_create(&err, 2, 3, &f) == RBPE_OK, "create: %s", err.msg);
  size_t nodes;
  double *g = rbpe_field_values(f, &nodes);
  CHECK(nodes == 9, "3x3 field has %zu nodes", nodes);
  for (size_t c = 0; c < nodes; c++) g[c] = 0.1 * (double)c - 0.3;
  /* node (j0, j1) is g[j0 * 3 + j1] at (j0 / 2, j1 / 2) */
  float x[] = {0, 0, 0.5f, 0.5f, 1, 1, 0.25f, 0, 0.5f, 0.75f, -1, 2},
        base[] = {1, 2, 1, 1, 1, 3}, s[6];
  rbpe_field_apply(f, 6, x, base, s);
  double want[] = {exp(g[0]),
                   2 * exp(g[4]),
                   exp(g[8]),
                   exp((g[0] + g[3]) / 2),
                   exp((g[4] + g[5]) / 2),
                   3 * exp(g[2])}; /* outside: clamped to the corner */
  for (int i = 0; i < 6; i++)
    CHECK(fabs(s[i] - want[i]) < 1e-5 * want[i], "point %d: %g, want %g", i,
          (double)s[i], want[i]);
  /* the node gradient spreads dL/dsigma sigma with the same weights */
  double dsig[] = {1, 0, 0, 0, 0, 0};
  float one[] = {2};
  rbpe_field_node_grad(f, 1, x + 6, one, dsig);
  const double *gr = rbpe_field_gradient(f);
  CHECK(fabs(gr[0] - 1.0) < 1e-12 && fabs(gr[3] - 1.0) < 1e-12 &&
            fabs(gr[1]) < 1e-12,
        "node gradient %g %g %g", gr[0], gr[3], gr[1]);
  /* a step moves against the gradient and stays in range */
  memcpy(g, (double[9]){0}, sizeof(double) * 9);
  rbpe_field_adam(f, 0.5f, 0.3f, 0);
  CHECK(g[0] < 0 && g[3] < 0 && g[0] >= -0.3 - 1e-6 && g[1] == 0.0,
        "Adam step: %g %g %g", g[0], g[3], g[1]);
  rbpe_field_adam(f, 0.5f, 0.3f, 1);
  double mean = 0;
  for (int c = 0; c < 9; c++) mean += g[c] / 9;
  CHECK(fabs(mean) < 1e-12 && g[0] < g[1], "zero-mean step: mean %g", mean);
  rbpe_field_free(f);
}

/* The held-back MSE under field values g (nodes of them), and its
 * gradient into grad when not NULL. */
static double loss_at(rbpe_field_eval *e, rbpe_field *f, rbpe_mlp_trainer *tr,
                      const double *g, double *grad) {
  size_t nodes;
  double *v = rbpe_field_values(f, &nodes);
  memcpy(v, g, nodes * sizeof(double));
  double mse = NAN;
  CHECK(rbpe_field_grad(e, f, tr, &mse) == RBPE_OK, "field gradient");
  if (grad) memcpy(grad, rbpe_field_gradient(f), nodes * sizeof(double));
  return mse;
}

static void gradient(const char *spec, int norm) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (rbpe_ctx_select_device(ctx, spec) != RBPE_OK) {
    CHECK(strcmp(spec, "cl") == 0 && !test_require_opencl(), "%s: %s", spec,
          rbpe_last_error(ctx));
    rbpe_ctx_free(ctx);
    return;
  }
  rbpe_backend *be;
  CHECK(rbpe_ctx_backend(ctx, &be) == RBPE_OK, "backend");
  enum { n = 48, N = 2, C = 1, CELLS = 3 };
  rbpe_embed_config ec;
  rbpe_embed_config_default(&ec, RBPE_EMBED_RBF);
  ec.rbf_centres = 24;
  ec.rbf_norm_ref = norm ? 0.05f : 0.0f;
  rbpe_embedding *emb = NULL;
  CHECK(rbpe_embedding_create(ctx, &ec, N, &emb) == RBPE_OK, "embedding");
  size_t M = rbpe_embedding_dim(emb);
  rbpe_mlp_shape shape = {2, {(int)M, 32, C}, RBPE_ACT_SIGMOID};
  rbpe_mlp_host h;
  rbpe_err err = {0};
  CHECK(rbpe_mlp_host_alloc(&err, &shape, &h) == RBPE_OK, "mlp");
  rbpe_mlp_host_init(&h, 5);
  /* a trainer sized for fewer rows than held back: the gradient comes in
   * chunks */
  rbpe_mlp_trainer *tr = NULL;
  CHECK(rbpe_mlp_trainer_create(be, &h, 20, 1e-3f, &tr) == RBPE_OK, "trainer");
  float x[n * N], base[n], y[n * C];
  rbpe_rng r;
  rbpe_rng_seed(&r, 3);
  for (int i = 0; i < n * N; i++) x[i] = rbpe_rng_uniform(&r);
  for (int i = 0; i < n; i++) {
    base[i] = 0.03f + 0.04f * rbpe_rng_uniform(&r);
    y[i] = 0.5f + 0.4f * sinf(9.0f * x[i * N]) * cosf(5.0f * x[i * N + 1]);
  }
  rbpe_field *f = NULL;
  rbpe_field_eval e;
  CHECK(rbpe_field_create(&err, N, CELLS, &f) == RBPE_OK, "field");
  CHECK(rbpe_field_eval_init(&e, be, emb, N, n, 20, C, x, base, y) == RBPE_OK,
        "eval");
  double g0[CELLS * CELLS], gp[CELLS * CELLS], grad[CELLS * CELLS];
  for (int c = 0; c < CELLS * CELLS; c++) g0[c] = 0.3 * sin(1.7 * c);
  double mse = loss_at(&e, f, tr, g0, grad);
  /* central differences in g of a float loss: with h = 3e-3 the loss
   * differences are about 1e-5 of the loss, so float rounding of the MSE
   * leaves about 1 % of error (more with the normalised embedding, whose
   * gradients are smaller); a wrong chain (a missing sigma factor, the
   * normalisation's own derivative) is off by tens of per cent */
  double num = 0, den = 0, hstep = 3e-3;
  for (int c = 0; c < CELLS * CELLS; c++) {
    memcpy(gp, g0, sizeof gp);
    gp[c] += hstep;
    double lp = loss_at(&e, f, tr, gp, NULL);
    gp[c] -= 2 * hstep;
    double lm = loss_at(&e, f, tr, gp, NULL);
    double fd = (lp - lm) / (2 * hstep);
    num += (fd - grad[c]) * (fd - grad[c]);
    den += fd * fd;
  }
  double rel = sqrt(num / den);
  printf("%s%s: held-back MSE %.5f, gradient vs central differences: "
         "relative L2 error %.2e\n",
         spec, norm ? " (normalised)" : "", mse, rel);
  CHECK(rel < 3e-2, "%s: field gradient off by %.2e (relative L2)", spec, rel);
  /* a small step down the gradient lowers the held-back loss */
  double gs = 0;
  for (int c = 0; c < CELLS * CELLS; c++) gs += grad[c] * grad[c];
  for (int c = 0; c < CELLS * CELLS; c++) gp[c] = g0[c] - 0.05 * grad[c] / sqrt(gs);
  double after = loss_at(&e, f, tr, gp, NULL);
  CHECK(after < mse, "%s: a step down the gradient: %g -> %g", spec, mse, after);
  rbpe_field_eval_free(&e);
  rbpe_field_free(f);
  rbpe_mlp_trainer_free(tr);
  rbpe_mlp_host_free(&h);
  rbpe_embedding_free(emb);
  rbpe_ctx_free(ctx);
}

/* A fit with a field: the held-back samples are counted, the field learns,
 * the model's map is the map training ended with (its range beyond the
 * uniform start), the model file keeps the settings; bad settings fail. */
static void fit(void) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  CHECK(rbpe_ctx_select_device(ctx, "ref") == RBPE_OK, "ref");
  size_t dims[2] = {24, 24};
  rbpe_signal *sig = NULL;
  rbpe_err err = {0};
  CHECK(rbpe_signal_alloc(&err, 2, dims, 1, &sig) == RBPE_OK, "signal");
  for (size_t i = 0; i < 24; i++)
    for (size_t j = 0; j < 24; j++)
      sig->data[i * 24 + j] =
          j < 12 ? 0.5f : 0.5f + 0.4f * sinf(2.1f * (float)i + 1.3f * (float)j);
  rbpe_fit_config c;
  rbpe_fit_config_default(&c);
  c.embed.rbf_centres = 32;
  c.hidden_layers = 1;
  c.width = 32;
  c.steps = 120;
  c.sigma_mode = RBPE_SIGMA_UNIFORM;
  c.sigma = 0.05f;
  c.field.cells = 4;
  c.field.every = 4;
  c.field.lr = 0.1f;
  rbpe_model *m = NULL;
  rbpe_fit_report rep;
  CHECK(rbpe_fit(ctx, sig, &c, &m, &rep) == RBPE_OK, "fit: %s",
        rbpe_last_error(ctx));
  if (m) {
    size_t want = (size_t)llround(0.1 * (double)rep.n_train);
    CHECK(rep.field_heldback == want, "held back %zu of %zu", rep.field_heldback,
          rep.n_train);
    /* updates at steps 24, 28, .., 96 */
    CHECK(rep.field_updates == 19, "%d field updates", rep.field_updates);
    CHECK(rep.field_factor_max > rep.field_factor_min &&
              fabs(rep.sigma_max / 0.05 - rep.field_factor_max) < 1e-4 &&
              fabs(rep.sigma_min / 0.05 - rep.field_factor_min) < 1e-4,
          "map %g..%g, factor %g..%g", rep.sigma_min, rep.sigma_max,
          rep.field_factor_min, rep.field_factor_max);
    CHECK(isfinite(rep.test_psnr) && rep.test_psnr > 10, "test PSNR %g",
          rep.test_psnr);
    const char *path = "test_field_model.rbpe";
    CHECK(rbpe_model_save(ctx, m, path) == RBPE_OK, "save: %s", rbpe_last_error(ctx));
    rbpe_model *back = NULL;
    CHECK(rbpe_model_load(ctx, path, &back) == RBPE_OK, "load: %s",
          rbpe_last_error(ctx));
    if (back) {
      const rbpe_fit_config *bc = rbpe_model_config(back);
      CHECK(bc->field.cells == 4 && bc->field.every == 4 &&
                fabsf(bc->field.lr - 0.1f) < 1e-7f,
            "model file field settings");
      rbpe_signal *r1 = NULL;
      CHECK(rbpe_model_render(ctx, back, dims, &r1) == RBPE_OK, "render");
      double d = 0;
      for (size_t i = 0; r1 && i < 24 * 24; i++)
        d = fmax(d, fabs(r1->data[i] - rep.reconstruction->data[i]));
      CHECK(r1 && d < 1e-6, "loaded model renders as the fit did (%g)", d);
      rbpe_signal_free(r1);
      rbpe_model_free(back);
    }
    remove(path);
    rbpe_fit_report_clear(&rep);
    rbpe_model_free(m);
  }
  rbpe_fit_config bad = c;
  bad.field.cells = 1;
  CHECK(rbpe_fit(ctx, sig, &bad, &m, &rep) == RBPE_ERR_INVALID_ARGUMENT,
        "1 node per axis refused");
  bad = c;
  bad.field.from = 0.9f;
  bad.field.until = 0.5f;
  CHECK(rbpe_fit(ctx, sig, &bad, &m, &rep) == RBPE_ERR_INVALID_ARGUMENT,
        "an empty window refused");
  bad = c;
  bad.field.holdout = 0.0001f;
  CHECK(rbpe_fit(ctx, sig, &bad, &m, &rep) == RBPE_ERR_INVALID_ARGUMENT &&
            strstr(rbpe_last_error(ctx), "none to learn from"),
        "a hold-out of no sample refused: %s", rbpe_last_error(ctx));
  bad = c;
  bad.embed.kind = RBPE_EMBED_RFF;
  CHECK(rbpe_fit(ctx, sig, &bad, &m, &rep) == RBPE_ERR_INVALID_ARGUMENT,
        "a field without rbf refused");
  rbpe_signal_free(sig);
  rbpe_ctx_free(ctx);
}

/* The forward-only network (prediction): the trainer's outputs exactly,
 * fewer bytes, and no training through it. */
static void forward_only(void) {
  rbpe_err err = {0};
  rbpe_backend *be = NULL;
  CHECK(rbpe_backend_open("ref", &err, &be) == RBPE_OK, "%s", err.msg);
  if (!be) return;
  rbpe_mlp_shape shape = {2, {12, 16, 3}, RBPE_ACT_SIGMOID};
  rbpe_mlp_host h;
  CHECK(rbpe_mlp_host_alloc(&err, &shape, &h) == RBPE_OK, "%s", err.msg);
  rbpe_mlp_host_init(&h, 7);
  float x[5 * 12], a[5 * 3], b[5 * 3], loss;
  for (int i = 0; i < 5 * 12; i++) x[i] = (float)(i % 7) / 7.0f;
  rbpe_mlp_trainer *tr = NULL, *net = NULL;
  rbpe_buf *X = NULL;
  const rbpe_buf *y;
  CHECK(rbpe_mlp_trainer_create(be, &h, 5, 1e-3f, &tr) == RBPE_OK &&
            rbpe_mlp_net_create(be, &h, 5, &net) == RBPE_OK &&
            rbpe_buf_from_host(be, x, 5 * 12, &X) == RBPE_OK,
        "%s", err.msg);
  if (tr && net && X) {
    CHECK(rbpe_mlp_forward(tr, 5, X, &y) == RBPE_OK &&
              rbpe_buf_read(be, y, 0, sizeof a, a) == RBPE_OK &&
              rbpe_mlp_forward(net, 5, X, &y) == RBPE_OK &&
              rbpe_buf_read(be, y, 0, sizeof b, b) == RBPE_OK &&
              !memcmp(a, b, sizeof a),
          "forward-only output differs");
    CHECK(rbpe_mlp_train_step(net, 5, X, X, 0, &loss) == RBPE_ERR_INTERNAL,
          "a training step through a forward-only network");
    uint64_t big, t_bytes = rbpe_mlp_trainer_bytes(&shape, 5, &big),
                  n_bytes = rbpe_mlp_net_bytes(&shape, 5, &big);
    CHECK(n_bytes < t_bytes / 2, "forward-only %llu bytes, trainer %llu",
          (unsigned long long)n_bytes, (unsigned long long)t_bytes);
  }
  rbpe_mlp_trainer_free(tr);
  rbpe_mlp_trainer_free(net);
  rbpe_buf_free(be, X);
  rbpe_mlp_host_free(&h);
  rbpe_backend_close(be);
  rbpe_err_clear(&err);
}

int main(void) {
  forward_only();
  interpolation();
  gradient("ref", 0);
  gradient("ref", 1);
  gradient("cpu", 1);
  gradient("cl", 0);
  gradient("cl", 1);
  fit();
  return test_summary("field");
}
