/* rbpe_bench_mlp: training-step and inference throughput of the seed's
 * configurations on one device. Timed runs are unsynchronised inside a
 * step, as in training; the GEMM share comes from a separate run that
 * synchronises around every op. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "knn.h"
#include "model.h"
#include "sigma.h"

/* The seed's image model (2-D, one channel, rbf with a uniform sigma,
 * the normalisation on) in the configuration's shape. */
static void bench_model(rbpe_model *model, int hidden_layers, int width,
                        int centres, float sigma) {
  memset(model, 0, sizeof *model);
  rbpe_fit_config_default(&model->cfg);
  model->cfg.out_act = RBPE_ACT_SIGMOID; /* what a fit of an image resolves */
  model->cfg.hidden_layers = hidden_layers;
  model->cfg.width = width;
  model->cfg.embed.rbf_centres = centres;
  /* the seed's embedding, on the axes: M = 2 D inputs, as the peers'
   * benchmarks take (a default fit's 8 directions give 8 D) */
  model->cfg.embed.rbf_angles = 0;
  model->cfg.sigma = sigma;
  /* the normalisation on, as in a default fit, with the reference a fit of
   * a uniform sigma resolves (the sigma itself) */
  model->cfg.embed.rbf_norm_ref = model->cfg.sigma;
  model->ndim = 2;
  model->channels = 1;
  model->dims[0] = model->dims[1] = 256;
  snprintf(model->split, sizeof model->split, "regular:2");
  model->cfg.split = model->split;
}

/* Training steps, unsynchronised inside a step as in training, for at
 * least min_seconds (and 3 steps), after two warm-up steps. */
static rbpe_status time_steps(rbpe_backend *be, rbpe_mlp_trainer *tr,
                              size_t batch, const rbpe_buf *X, const rbpe_buf *Y,
                              double min_seconds, int *steps_out, double *el_out) {
  rbpe_status st = RBPE_OK;
  float loss;
  /* warm-up: kernel builds, CLBlast's first call */
  for (int i = 0; i < 2 && st == RBPE_OK; i++)
    st = rbpe_mlp_train_step(tr, batch, X, Y, i == 1, &loss);
  int steps = 0;
  double t0 = rbpe_now_s(), el = 0;
  while (st == RBPE_OK && (el < min_seconds || steps < 3)) {
    st = rbpe_mlp_train_step(tr, batch, X, Y, 0, &loss);
    steps++;
    if (st == RBPE_OK && (steps & 1) == 0) st = rbpe_backend_finish(be);
    el = rbpe_now_s() - t0;
    if (steps >= 1000) break;
  }
  if (st == RBPE_OK) st = rbpe_backend_finish(be);
  el = rbpe_now_s() - t0;
  *steps_out = steps;
  *el_out = el;
  return st;
}

rbpe_status rbpe_bench_mlp(rbpe_ctx *ctx, int hidden_layers, int width,
                           int centres, size_t batch, double min_seconds,
                           int first_layer, rbpe_bench_result *out) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  memset(out, 0, sizeof *out);
  RBPE_FAIL_IF(batch < 1 || hidden_layers < 0 || hidden_layers > RBPE_MAX_HIDDEN ||
                   width < 1 || width > RBPE_MAX_WIDTH || centres < 1 ||
                   first_layer < RBPE_BENCH_FIRST_AUTO ||
                   first_layer > RBPE_BENCH_FIRST_BAND,
               err, RBPE_ERR_INVALID_ARGUMENT, "bench: bad configuration");
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));

  /* the top of the default learned range, smax times the training
   * spacing L^(-1/2) of the bench's image (256 x 256, every other sample
   * on each axis: L = 128^2) */
  const float sigma_top = 2.0f / 128.0f;
  rbpe_model model;
  bench_model(&model, hidden_layers, width, centres, sigma_top);

  size_t M = 0, cols = 0;
  rbpe_band band = {0, 0, 0};
  rbpe_mlp_trainer *tr = NULL;
  rbpe_buf *X = NULL, *Y = NULL, *xb = NULL, *sb = NULL;
  float *coords = NULL, *pred = NULL, *hy = NULL, *sig = NULL;
  rbpe_status st = rbpe_embedding_create(ctx, &model.cfg.embed, 2, &model.emb);
  if (st == RBPE_OK) {
    M = cols = rbpe_embedding_dim(model.emb);
    rbpe_mlp_shape shape;
    rbpe_model_shape(&model.cfg, M, 1, &shape);
    st = rbpe_mlp_host_alloc(err, &shape, &model.mlp);
    /* the band a fit would choose, or the one asked for */
    _Static_assert(RBPE_BENCH_FIRST_AUTO == -1 && RBPE_BENCH_FIRST_DENSE == 0 &&
                       RBPE_BENCH_FIRST_BAND == 1,
                   "RBPE_BENCH_FIRST_ values are rbpe_embedding_band's want");
    if (st == RBPE_OK &&
        rbpe_embedding_band(be, model.emb, sigma_top, first_layer, &band))
      cols = rbpe_band_cols(&band);
  }
  if (st == RBPE_OK) {
    rbpe_mlp_host_init(&model.mlp, 1);
    st = rbpe_mlp_trainer_create(be, &model.mlp, batch, 1e-4f, &tr);
  }
  if (st == RBPE_OK) st = rbpe_mlp_trainer_set_band(tr, &band);
  /* inputs: random coordinates embedded at sigma_top, and targets */
  if (st == RBPE_OK) {
    coords = malloc(batch * 2 * sizeof(float));
    pred = malloc(batch * sizeof(float));
    hy = malloc(batch * sizeof(float));
    sig = malloc(batch * sizeof(float));
    if (!hy || !coords || !pred || !sig)
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    else {
      rbpe_rng rng;
      rbpe_rng_seed(&rng, 2);
      for (size_t i = 0; i < batch * 2; i++) coords[i] = rbpe_rng_uniform(&rng);
      for (size_t i = 0; i < batch; i++) hy[i] = rbpe_rng_uniform(&rng);
      for (size_t i = 0; i < batch; i++) sig[i] = sigma_top;
      st = rbpe_buf_from_host(be, coords, batch * 2, &xb);
      if (st == RBPE_OK) st = rbpe_buf_from_host(be, sig, batch, &sb);
      if (st == RBPE_OK) st = rbpe_buf_alloc(be, batch * cols * sizeof(float), &X);
      if (st == RBPE_OK)
        st = rbpe_embedding_run_band(be, model.emb, batch, xb, sb, X, 0, band.width);
      if (st == RBPE_OK) st = rbpe_buf_from_host(be, hy, batch, &Y);
    }
  }
  rbpe_buf_free(be, xb);
  rbpe_buf_free(be, sb);
  xb = sb = NULL;
  int steps = 0;
  double el = 0;
  float loss;
  if (st == RBPE_OK) st = time_steps(be, tr, batch, X, Y, min_seconds, &steps, &el);
  if (st == RBPE_OK) {
    const rbpe_mlp_shape *s = &model.mlp.shape;
    /* a dense step's FLOPs (the banded one does fewer) */
    double fwd = rbpe_mlp_flops_forward(s);
    double first = 2.0 * s->sizes[0] * s->sizes[1];
    double step_flops = (double)batch * (3.0 * fwd - first);
    out->first_layer_band = band.width;
    out->batch = batch;
    out->embed_dim = M;
    out->hidden_layers = hidden_layers;
    out->width = width;
    out->steps_timed = steps;
    out->step_s = el / steps;
    out->train_samples_per_s = (double)batch / out->step_s;
    out->train_gflops = step_flops / out->step_s * 1e-9;
  }
  /* GEMM share from a synchronised run */
  rbpe_mlp_profile prof = {1, 0.0, 0.0};
  if (st == RBPE_OK) {
    rbpe_mlp_trainer_profile(tr, &prof);
    for (int i = 0; i < 2 && st == RBPE_OK; i++)
      st = rbpe_mlp_train_step(tr, batch, X, Y, 0, &loss);
    rbpe_mlp_trainer_profile(tr, NULL);
    if (prof.gemm_s + prof.other_s > 0)
      out->gemm_share = prof.gemm_s / (prof.gemm_s + prof.other_s);
  }
  rbpe_mlp_trainer_free(tr);
  tr = NULL;
  rbpe_buf_free(be, X);
  rbpe_buf_free(be, Y);
  /* inference: embedding + forward through the model path */
  if (st == RBPE_OK) {
    st = rbpe_model_predict_be(be, &model, batch, coords, pred); /* warm */
    int n = 0;
    double t1 = rbpe_now_s(), e2 = 0;
    while (st == RBPE_OK && (e2 < min_seconds / 2 || n < 2)) {
      st = rbpe_model_predict_be(be, &model, batch, coords, pred);
      n++;
      e2 = rbpe_now_s() - t1;
      if (n >= 1000) break;
    }
    if (st == RBPE_OK) out->infer_samples_per_s = (double)batch * n / e2;
  }
  free(hy);
  free(sig);
  free(coords);
  free(pred);
  rbpe_embedding_free(model.emb);
  rbpe_mlp_host_free(&model.mlp);
  return st;
}

rbpe_status rbpe_bench_sigma(rbpe_ctx *ctx, size_t side, int centres, int k,
                             int iterations, rbpe_bench_sigma_result *out) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  memset(out, 0, sizeof *out);
  RBPE_FAIL_IF(side < 2 || side > 4096 || centres < 1 || k < 1 || iterations < 1,
               err, RBPE_ERR_INVALID_ARGUMENT, "bench sigma: bad configuration");
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  size_t n = side * side;
  float *x = malloc(n * 2 * sizeof(float)), *y = malloc(n * sizeof(float)),
        *sigma = malloc(n * sizeof(float));
  rbpe_embedding *emb = NULL;
  rbpe_graph g = {0};
  rbpe_status st = RBPE_OK;
  if (!x || !y || !sigma) st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "oom");
  if (st == RBPE_OK) {
    /* a disc and stripes: edges and flat regions */
    for (size_t r = 0; r < side; r++)
      for (size_t c = 0; c < side; c++) {
        float u = (r + 0.5f) / side, v = (c + 0.5f) / side;
        size_t i = r * side + c;
        x[2 * i] = u;
        x[2 * i + 1] = v;
        float d = (u - 0.5f) * (u - 0.5f) + (v - 0.4f) * (v - 0.4f);
        y[i] = (d < 0.08f ? 0.8f : 0.2f) + (v > 0.7f ? 0.1f * sinf(40.0f * u) : 0.0f);
      }
    rbpe_embed_config ec;
    rbpe_embed_config_default(&ec, RBPE_EMBED_RBF);
    ec.rbf_centres = centres;
    st = rbpe_embedding_create(ctx, &ec, 2, &emb);
  }
  double t0 = rbpe_now_s();
  if (st == RBPE_OK) st = rbpe_knn_graph(err, n, 2, x, k, &g);
  out->graph_s = rbpe_now_s() - t0;
  rbpe_fit_config fc;
  rbpe_fit_config_default(&fc);
  fc.sig.k = k;
  fc.sig.iterations = iterations;
  fc.sig.tol = 0.0f;
  /* the default range, for this grid */
  rbpe_sigma_absolute(&fc.sig, n, 2, fc.embed.rbf_centres);
  be->mem_peak = be->mem_used;
  rbpe_sigma_stats ss;
  double t1 = rbpe_now_s();
  if (st == RBPE_OK) st = rbpe_sigma_solve(be, emb, &g, 2, x, 1, y, NULL, &fc.sig, NULL, sigma, &ss);
  out->solve_s = rbpe_now_s() - t1;
  if (st == RBPE_OK) {
    out->nodes = n;
    out->edges = g.nnz;
    out->iterations = ss.iterations;
    out->per_iteration_s = out->solve_s / ss.iterations;
    out->device_peak_bytes = be->mem_peak;
    out->host_graph_bytes = (g.n + 1 + g.nnz) * sizeof(uint32_t);
  }
  rbpe_graph_free(&g);
  rbpe_embedding_free(emb);
  free(x);
  free(y);
  free(sigma);
  return st;
}
