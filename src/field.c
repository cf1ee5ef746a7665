/* The held-back sigma field (beyond METHOD.md; README "Learning sigma").
 * g lives on the host: it has at most 64^N nodes and changes once every
 * few training steps; what is heavy (embedding the held-back samples, their
 * derivative, the MLP's input gradient) runs on the backend through the op
 * table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "mlp.h"

#define FIELD_MAX_CELLS 64

struct rbpe_field {
  int ndim, cells;
  size_t nodes;
  double *g, *m, *v, *grad;
  int t;
};

rbpe_status rbpe_field_check_config(rbpe_err *err, const rbpe_field_config *c) {
  if (c->cells == 0) return RBPE_OK;
  RBPE_FAIL_IF(c->cells < 2 || c->cells > FIELD_MAX_CELLS, err,
               RBPE_ERR_INVALID_ARGUMENT,
               "sigma field of %d nodes per axis (must be 0 or 2..%d)",
               c->cells, FIELD_MAX_CELLS);
  RBPE_FAIL_IF(!(c->holdout > 0.0f && c->holdout < 1.0f), err,
               RBPE_ERR_INVALID_ARGUMENT,
               "sigma field hold-out %g (must be in (0, 1))", (double)c->holdout);
  RBPE_FAIL_IF(!(c->lr > 0.0f) || !isfinite(c->lr), err,
               RBPE_ERR_INVALID_ARGUMENT,
               "sigma field learning rate %g (must be > 0)", (double)c->lr);
  RBPE_FAIL_IF(c->every < 1, err, RBPE_ERR_INVALID_ARGUMENT,
               "sigma field updates every %d steps (must be >= 1)", c->every);
  RBPE_FAIL_IF(!(c->from >= 0.0f && c->from < c->until && c->until <= 1.0f),
               err, RBPE_ERR_INVALID_ARGUMENT,
               "sigma field window %g:%g (must be 0 <= from < until <= 1)",
               (double)c->from, (double)c->until);
  RBPE_FAIL_IF(!(c->range > 0.0f && c->range <= 10.0f), err,
               RBPE_ERR_INVALID_ARGUMENT,
               "sigma field range %g (must be in (0, 10])", (double)c->range);
  return RBPE_OK;
}

rbpe_status rbpe_field_create(rbpe_err *err, int ndim, int cells,
                              rbpe_field **out) {
  *out = NULL;
  RBPE_FAIL_IF(ndim < 1 || ndim > RBPE_MAX_DIMS || cells < 2 ||
                   cells > FIELD_MAX_CELLS,
               err, RBPE_ERR_INVALID_ARGUMENT, "sigma field %d^%d", cells, ndim);
  size_t nodes = 1;
  for (int a = 0; a < ndim; a++) nodes *= (size_t)cells;
  rbpe_field *f = calloc(1, sizeof *f);
  if (f) {
    f->ndim = ndim;
    f->cells = cells;
    f->nodes = nodes;
    f->g = calloc(nodes, sizeof(double));
    f->m = calloc(nodes, sizeof(double));
    f->v = calloc(nodes, sizeof(double));
    f->grad = calloc(nodes, sizeof(double));
  }
  if (!f || !f->g || !f->m || !f->v || !f->grad) {
    rbpe_field_free(f);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  *out = f;
  return RBPE_OK;
}

void rbpe_field_free(rbpe_field *f) {
  if (!f) return;
  free(f->g);
  free(f->m);
  free(f->v);
  free(f->grad);
  free(f);
}

/* The 2^N corners of x's cell (node j of an axis sits at j / (cells - 1))
 * and their N-linear weights; returns the corner count. */
static int corners(const rbpe_field *f, const float *x, size_t *node,
                   double *w) {
  int N = f->ndim, last = f->cells - 1;
  int j0[RBPE_MAX_DIMS];
  double fr[RBPE_MAX_DIMS];
  for (int a = 0; a < N; a++) {
    double u = (double)x[a] * last;
    if (u < 0) u = 0;
    if (u > last) u = last;
    int j = (int)floor(u);
    if (j > last - 1) j = last - 1;
    j0[a] = j;
    fr[a] = u - j;
  }
  int n = 1 << N;
  for (int c = 0; c < n; c++) {
    size_t idx = 0;
    double wc = 1.0;
    for (int a = 0; a < N; a++) {
      int up = (c >> a) & 1;
      idx = idx * (size_t)f->cells + (size_t)(j0[a] + up);
      wc *= up ? fr[a] : 1.0 - fr[a];
    }
    node[c] = idx;
    w[c] = wc;
  }
  return n;
}

double rbpe_field_at(const rbpe_field *f, const float *x) {
  size_t node[1 << RBPE_MAX_DIMS];
  double w[1 << RBPE_MAX_DIMS], g = 0;
  int k = corners(f, x, node, w);
  for (int c = 0; c < k; c++) g += w[c] * f->g[node[c]];
  return g;
}

void rbpe_field_apply(const rbpe_field *f, size_t n, const float *coords,
                      const float *base, float *sigma) {
  for (size_t i = 0; i < n; i++)
    sigma[i] = (float)((double)base[i] *
                       exp(rbpe_field_at(f, coords + i * f->ndim)));
}

void rbpe_field_node_grad(rbpe_field *f, size_t n, const float *coords,
                          const float *sigma, const double *dsig) {
  size_t node[1 << RBPE_MAX_DIMS];
  double w[1 << RBPE_MAX_DIMS];
  memset(f->grad, 0, f->nodes * sizeof(double));
  /* d sigma_i / d g_c = sigma_i w_c(x_i) */
  for (size_t i = 0; i < n; i++) {
    int k = corners(f, coords + i * f->ndim, node, w);
    double d = dsig[i] * (double)sigma[i];
    for (int c = 0; c < k; c++) f->grad[node[c]] += w[c] * d;
  }
}

/* Adam with one second moment for the whole field (the mean square of the
 * node gradients): a node the held-back samples say little about moves
 * little, where per-node Adam would move it a full step on noise. */
void rbpe_field_adam(rbpe_field *f, float lr, float range, int zero_mean) {
  f->t++;
  double b1 = RBPE_ADAM_BETA1, b2 = RBPE_ADAM_BETA2, ms = 0;
  for (size_t c = 0; c < f->nodes; c++) ms += f->grad[c] * f->grad[c];
  f->v[0] = b2 * f->v[0] + (1 - b2) * ms / (double)f->nodes;
  double c1 = 1.0 - pow(b1, f->t), c2 = 1.0 - pow(b2, f->t);
  double den = sqrt(f->v[0] / c2) + RBPE_ADAM_EPS;
  for (size_t c = 0; c < f->nodes; c++) {
    f->m[c] = b1 * f->m[c] + (1 - b1) * f->grad[c];
    double g = f->g[c] - lr * (f->m[c] / c1) / den;
    f->g[c] = g > range ? range : g < -range ? -range : g;
  }
  if (zero_mean) {
    double mean = 0;
    for (size_t c = 0; c < f->nodes; c++) mean += f->g[c];
    mean /= (double)f->nodes;
    for (size_t c = 0; c < f->nodes; c++) f->g[c] -= mean;
  }
}

double *rbpe_field_values(rbpe_field *f, size_t *nodes) {
  *nodes = f->nodes;
  return f->g;
}

const double *rbpe_field_gradient(const rbpe_field *f) { return f->grad; }

void rbpe_field_eval_free(rbpe_field_eval *e) {
  if (e->be) {
    rbpe_buf_free(e->be, e->x);
    rbpe_buf_free(e->be, e->s);
    rbpe_buf_free(e->be, e->X);
    rbpe_buf_free(e->be, e->D);
    rbpe_buf_free(e->be, e->dX);
    rbpe_buf_free(e->be, e->Y);
  }
  free(e->sigma);
  free(e->dsig);
  free(e->hX);
  free(e->hD);
  memset(e, 0, sizeof *e);
}

rbpe_status rbpe_field_eval_init(rbpe_field_eval *e, rbpe_backend *be,
                                 const rbpe_embedding *emb, int ndim, size_t n,
                                 size_t rows, size_t C, const float *coords,
                                 const float *base, const float *targets) {
  memset(e, 0, sizeof *e);
  e->be = be;
  e->emb = emb;
  e->ndim = ndim;
  e->n = n;
  e->rows = rows < n ? rows : n;
  e->M = rbpe_embedding_dim(emb);
  e->C = C;
  e->coords = coords;
  e->base = base;
  e->targets = targets;
  size_t r = e->rows, M = e->M;
  e->sigma = malloc(n * sizeof(float));
  e->dsig = malloc(n * sizeof(double));
  e->hX = malloc(r * M * sizeof(float));
  e->hD = malloc(r * M * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!e->sigma || !e->dsig || !e->hX || !e->hD)
    st = rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * ndim * sizeof(float), &e->x);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * sizeof(float), &e->s);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * M * sizeof(float), &e->X);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * M * sizeof(float), &e->D);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * M * sizeof(float), &e->dX);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, r * C * sizeof(float), &e->Y);
  if (st != RBPE_OK) rbpe_field_eval_free(e);
  return st;
}

rbpe_status rbpe_field_grad(rbpe_field_eval *e, rbpe_field *f,
                            rbpe_mlp_trainer *tr, double *mse) {
  rbpe_backend *be = e->be;
  size_t M = e->M, C = e->C;
  int N = e->ndim;
  rbpe_field_apply(f, e->n, e->coords, e->base, e->sigma);
  double sq = 0;
  for (size_t r0 = 0; r0 < e->n; r0 += e->rows) {
    size_t r = e->n - r0 < e->rows ? e->n - r0 : e->rows;
    float part = 0;
    RBPE_TRY(rbpe_buf_write(be, e->x, 0, r * N * sizeof(float),
                            e->coords + r0 * N));
    RBPE_TRY(rbpe_buf_write(be, e->s, 0, r * sizeof(float), e->sigma + r0));
    RBPE_TRY(rbpe_buf_write(be, e->Y, 0, r * C * sizeof(float),
                            e->targets + r0 * C));
    RBPE_TRY(rbpe_embedding_run(be, e->emb, r, e->x, e->s, e->X, 0));
    RBPE_TRY(rbpe_embedding_run(be, e->emb, r, e->x, e->s, e->D, 1));
    /* dL/dX for L the mean over all n held-back samples */
    RBPE_TRY(rbpe_mlp_input_grad(tr, r, e->X, e->Y,
                                 1.0f / (float)(e->n * C), e->dX, &part));
    RBPE_TRY(rbpe_buf_read(be, e->dX, 0, r * M * sizeof(float), e->hX));
    RBPE_TRY(rbpe_buf_read(be, e->D, 0, r * M * sizeof(float), e->hD));
    sq += part;
    /* dL/dsigma_i = sum_m dL/dX_im dX_im/dsigma_i */
    for (size_t i = 0; i < r; i++) {
      double d = 0;
      const float *a = e->hX + i * M, *b = e->hD + i * M;
      for (size_t m = 0; m < M; m++) d += (double)a[m] * (double)b[m];
      e->dsig[r0 + i] = d;
    }
  }
  *mse = sq / (double)(e->n * C);
  RBPE_FAIL_IF(!isfinite(*mse), be->err, RBPE_ERR_NUMERIC,
               "sigma field: held-back loss is %g", *mse);
  rbpe_field_node_grad(f, e->n, e->coords, e->sigma, e->dsig);
  return RBPE_OK;
}

rbpe_status rbpe_field_update(rbpe_field_eval *e, rbpe_field *f,
                              rbpe_mlp_trainer *tr,
                              const rbpe_field_config *cfg, double *mse) {
  RBPE_TRY(rbpe_field_grad(e, f, tr, mse));
  rbpe_field_adam(f, cfg->lr, cfg->range, cfg->zero_mean);
  return RBPE_OK;
}
