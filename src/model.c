/* Models: evaluation at any coordinates on any backend and rendering on
 * a grid; the file format is model_file.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Rows per evaluation batch unless memory asks for fewer. */
#define PREDICT_ROWS 16384

void rbpe_model_free(rbpe_model *m) {
  if (!m) return;
  free(m->sigma_map);
  rbpe_embedding_free(m->emb);
  rbpe_mlp_host_free(&m->mlp);
  free(m);
}

int rbpe_model_ndim(const rbpe_model *m) { return m->ndim; }
int rbpe_model_channels(const rbpe_model *m) { return m->channels; }
size_t rbpe_model_dim(const rbpe_model *m, int axis) {
  return axis >= 0 && axis < m->ndim ? m->dims[axis] : 1;
}
const rbpe_fit_config *rbpe_model_config(const rbpe_model *m) { return &m->cfg; }
int rbpe_model_sample_rate(const rbpe_model *m) { return m->sample_rate; }
int rbpe_model_rbf_directions(const rbpe_model *m) {
  return m->cfg.embed.kind == RBPE_EMBED_RBF && m->emb
             ? rbpe_embedding_directions(m->emb)
             : 0;
}

void rbpe_model_shape(const rbpe_fit_config *cfg, size_t M, int channels,
                      rbpe_mlp_shape *s) {
  memset(s, 0, sizeof *s);
  s->nlin = cfg->hidden_layers + 1;
  s->sizes[0] = (int)M;
  for (int l = 1; l <= cfg->hidden_layers; l++) s->sizes[l] = cfg->width;
  s->sizes[s->nlin] = channels;
  s->out_act = cfg->out_act;
}

size_t rbpe_model_samples(const rbpe_model *m) {
  size_t n = 1;
  for (int a = 0; a < m->ndim; a++) n *= m->dims[a];
  return n;
}

/* Sigma at a coordinate: uniform, or the N-linear interpolation of the
 * map (clamped at the borders). At a sample's own coordinate it returns
 * that sample's value exactly: the grid position is snapped when it lies
 * within 1e-4 of a sample. */
void rbpe_model_sigma(const rbpe_model *m, size_t n, const float *coords,
                      float *sigma) {
  if (!m->sigma_map) {
    for (size_t i = 0; i < n; i++) sigma[i] = m->cfg.sigma;
    return;
  }
  int N = m->ndim;
  for (size_t i = 0; i < n; i++) {
    size_t k0[RBPE_MAX_DIMS], k1[RBPE_MAX_DIMS];
    double fr[RBPE_MAX_DIMS];
    for (int a = 0; a < N; a++) {
      double u = (double)coords[i * N + a] * (double)m->dims[a] - 0.5;
      double fl = floor(u), f = u - fl;
      if (f > 1.0 - 1e-4) {
        fl += 1.0;
        f = 0.0;
      } else if (f < 1e-4) {
        f = 0.0;
      }
      double hi = (double)m->dims[a] - 1.0;
      double a0 = fl < 0 ? 0 : fl > hi ? hi : fl;
      double a1 = fl + 1 < 0 ? 0 : fl + 1 > hi ? hi : fl + 1;
      k0[a] = (size_t)a0;
      k1[a] = (size_t)a1;
      fr[a] = fl < 0 || fl > hi ? 0.0 : f;
    }
    double v = 0.0;
    for (int corner = 0; corner < (1 << N); corner++) {
      double w = 1.0;
      size_t idx = 0;
      for (int a = 0; a < N; a++) {
        int up = (corner >> a) & 1;
        w *= up ? fr[a] : 1.0 - fr[a];
        idx = idx * m->dims[a] + (up ? k1[a] : k0[a]);
      }
      if (w != 0.0) v += w * m->sigma_map[idx];
    }
    sigma[i] = (float)v;
  }
}

int rbpe_model_sigma_range(const rbpe_model *m, double *lo, double *hi) {
  if (!(m->sigma_lo > 0.0f)) return 0;
  *lo = m->sigma_lo;
  *hi = m->sigma_hi;
  return 1;
}

rbpe_status rbpe_model_predict_be(rbpe_backend *be, const rbpe_model *m,
                                  size_t n, const float *coords, float *out) {
  size_t M = rbpe_embedding_dim(m->emb);
  const rbpe_mlp_shape *s = &m->mlp.shape;
  size_t widest = M;
  for (int l = 1; l <= s->nlin; l++)
    if ((size_t)s->sizes[l] > widest) widest = (size_t)s->sizes[l];
  /* Rows per batch: the network, the embedding and every activation must
   * fit what the device (or the memory limit) has left, each buffer its
   * largest allocation. */
  size_t rows = PREDICT_ROWS;
  if (rows > n) rows = n ? n : 1;
  uint64_t need, largest;
  for (;; rows /= 2) {
    need = rbpe_mlp_net_bytes(s, rows, &largest) +
           (uint64_t)rows * (m->ndim + 1 + M) * sizeof(float);
    if ((uint64_t)rows * widest * sizeof(float) > largest)
      largest = (uint64_t)rows * widest * sizeof(float);
    if (rbpe_backend_fits(be, need, largest) || rows == 1) break;
  }
  RBPE_TRY(rbpe_backend_reserve(be, need, largest, "evaluating the model"));
  int rbf = m->cfg.embed.kind == RBPE_EMBED_RBF;

  rbpe_mlp_trainer *t = NULL;
  rbpe_buf *x = NULL, *sg = NULL, *X = NULL;
  float *sigma = rbf ? malloc(rows * sizeof(float)) : NULL;
  rbpe_status st = RBPE_OK;
  if (rbf && !sigma)
    st = rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) st = rbpe_mlp_net_create(be, &m->mlp, rows, &t);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, rows * m->ndim * sizeof(float), &x);
  if (st == RBPE_OK && rbf) st = rbpe_buf_alloc(be, rows * sizeof(float), &sg);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, rows * M * sizeof(float), &X);
  for (size_t i0 = 0; i0 < n && st == RBPE_OK; i0 += rows) {
    size_t r = n - i0 < rows ? n - i0 : rows;
    const float *c = coords + i0 * m->ndim;
    st = rbpe_buf_write(be, x, 0, r * m->ndim * sizeof(float), c);
    if (st == RBPE_OK && rbf) {
      rbpe_model_sigma(m, r, c, sigma);
      st = rbpe_buf_write(be, sg, 0, r * sizeof(float), sigma);
    }
    /* banded rows where a fit would band them (README, "The first
     * layer's window"): the window of this chunk's largest sigma */
    rbpe_band band = {0, 0, 0};
    if (st == RBPE_OK && rbf) {
      float smax = 0.0f;
      for (size_t k = 0; k < r; k++) smax = sigma[k] > smax ? sigma[k] : smax;
      rbpe_embedding_band(be, m->emb, smax, -1, &band);
    }
    if (st == RBPE_OK) st = rbpe_mlp_trainer_set_band(t, &band);
    if (st == RBPE_OK)
      st = rbpe_embedding_run_band(be, m->emb, r, x, sg, X, 0, band.width);
    const rbpe_buf *y = NULL;
    if (st == RBPE_OK) st = rbpe_mlp_forward(t, r, X, &y);
    if (st == RBPE_OK)
      st = rbpe_buf_read(be, y, 0, r * m->channels * sizeof(float),
                         out + i0 * m->channels);
    if (st == RBPE_OK && (m->out_scale != 1.0f || m->out_offset != 0.0f))
      for (size_t k = 0; k < r * (size_t)m->channels; k++) {
        float *v = out + i0 * m->channels + k;
        *v = *v * m->out_scale + m->out_offset;
      }
  }
  rbpe_mlp_trainer_free(t);
  rbpe_buf_free(be, x);
  rbpe_buf_free(be, sg);
  rbpe_buf_free(be, X);
  free(sigma);
  return st;
}

rbpe_status rbpe_model_predict(rbpe_ctx *ctx, const rbpe_model *m, size_t n,
                               const float *coords, float *out) {
  rbpe_err_clear(&ctx->err);
  RBPE_FAIL_IF(!m || (n && (!coords || !out)), &ctx->err,
               RBPE_ERR_INVALID_ARGUMENT, "predict: NULL argument");
  for (size_t i = 0; i < n * m->ndim; i++)
    RBPE_FAIL_IF(!isfinite(coords[i]), &ctx->err, RBPE_ERR_NUMERIC,
                 "coordinate %zu is not finite", i / m->ndim);
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  return rbpe_model_predict_be(be, m, n, coords, out);
}

rbpe_status rbpe_model_render_be(rbpe_ctx *ctx, rbpe_backend *be,
                                 const rbpe_model *m, const size_t *dims,
                                 rbpe_signal **out) {
  *out = NULL;
  rbpe_signal *s;
  RBPE_TRY(rbpe_signal_alloc(&ctx->err, m->ndim, dims, m->channels, &s));
  float *coords = malloc(s->samples * m->ndim * sizeof(float));
  size_t *idx = malloc(s->samples * sizeof(size_t));
  rbpe_status st = RBPE_OK;
  if (!coords || !idx)
    st = rbpe_err_set(&ctx->err, RBPE_ERR_OUT_OF_MEMORY,
                      "out of memory for %zu coordinates", s->samples);
  if (st == RBPE_OK) {
    for (size_t i = 0; i < s->samples; i++) idx[i] = i;
    st = rbpe_signal_coords(ctx, s, idx, s->samples, coords);
  }
  if (st == RBPE_OK)
    st = rbpe_model_predict_be(be, m, s->samples, coords, s->data);
  free(coords);
  free(idx);
  return rbpe_signal_hand_over(st, s, out);
}

rbpe_status rbpe_model_render(rbpe_ctx *ctx, const rbpe_model *m,
                              const size_t *dims, rbpe_signal **out) {
  rbpe_err_clear(&ctx->err);
  *out = NULL;
  RBPE_FAIL_IF(!m || !dims, &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "render: NULL argument");
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  return rbpe_model_render_be(ctx, be, m, dims, out);
}

void rbpe_signal_range(const rbpe_signal *s, float *lo, float *hi) {
  size_t count = s->samples * (size_t)s->channels;
  float a = count ? s->data[0] : 0.0f, b = a;
  for (size_t i = 1; i < count; i++) {
    if (s->data[i] < a) a = s->data[i];
    if (s->data[i] > b) b = s->data[i];
  }
  *lo = a;
  *hi = b;
}

double rbpe_psnr_peak(const rbpe_signal *a, const rbpe_signal *b,
                      const size_t *idx, size_t n, double peak) {
  return rbpe_psnr(a, b, idx, n) + 20.0 * log10(peak);
}

double rbpe_psnr(const rbpe_signal *a, const rbpe_signal *b,
                 const size_t *idx, size_t n) {
  if (!a || !b || a->channels != b->channels || a->samples != b->samples || !n)
    return NAN;
  double sum = 0;
  int C = a->channels;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < C; c++) {
      double d = (double)a->data[idx[i] * C + c] - (double)b->data[idx[i] * C + c];
      sum += d * d;
    }
  double mse = sum / ((double)n * C);
  return mse > 0 ? -10.0 * log10(mse) : INFINITY;
}

