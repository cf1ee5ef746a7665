/* The host backends' arithmetic (see host.h): METHOD.md literally, in
 * float32, in the same operation order as the OpenCL kernels in cl/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

/* q^b for the rbf order b: integer orders up to 64 by binary powering, the
 * same products in the same order as powb in cl/common.cl, so every backend
 * rounds alike (OpenCL's pow may be 16 ulp off and differs by vendor);
 * other orders go to powf. */
static inline float rbpe_powb(float q, float b) {
  if (b == 1.0f) return q;
  if (b >= 2.0f && b <= 64.0f && b == (float)(unsigned)b) {
    unsigned n = (unsigned)b;
    float r = 1.0f, x = q;
    while (n) {
      if (n & 1u) r *= x;
      n >>= 1;
      if (n) x *= x;
    }
    return r;
  }
  return powf(q, b);
}

#define PI_F 3.14159265358979323846f

rbpe_status rbpe_host_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out) {
  rbpe_buf *b = calloc(1, sizeof *b);
  /* calloc(0) may return NULL; a 0-byte buffer still needs an address */
  void *mem = calloc(bytes ? bytes : 1, 1);
  if (!b || !mem) {
    free(b);
    free(mem);
    return rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY,
                        "%s: cannot allocate %zu bytes", be->kind, bytes);
  }
  b->bytes = bytes;
  b->host = mem;
  *out = b;
  return RBPE_OK;
}

void rbpe_host_free(rbpe_backend *be, rbpe_buf *b) {
  (void)be;
  if (!b->view) free(b->host);
  free(b);
}

rbpe_status rbpe_host_view(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                           size_t bytes, rbpe_buf **out) {
  rbpe_buf *b = calloc(1, sizeof *b);
  RBPE_FAIL_IF(!b, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  b->bytes = bytes;
  b->host = (char *)parent->host + offset;
  *out = b;
  return RBPE_OK;
}

rbpe_status rbpe_host_write(rbpe_backend *be, rbpe_buf *b, size_t off,
                            size_t bytes, const void *src) {
  (void)be;
  memcpy((char *)b->host + off, src, bytes);
  return RBPE_OK;
}

rbpe_status rbpe_host_read(rbpe_backend *be, const rbpe_buf *b, size_t off,
                           size_t bytes, void *dst) {
  (void)be;
  memcpy(dst, (const char *)b->host + off, bytes);
  return RBPE_OK;
}

rbpe_status rbpe_host_fill(rbpe_backend *be, rbpe_buf *b, size_t off,
                           size_t count, float v) {
  (void)be;
  float *p = (float *)((char *)b->host + off);
  for (size_t i = 0; i < count; i++) p[i] = v;
  return RBPE_OK;
}

rbpe_status rbpe_host_finish(rbpe_backend *be) {
  (void)be;
  return RBPE_OK;
}

/* METHOD.md 2.1: per axis, p = 2x - 1, (sin(2^l pi p), cos(2^l pi p)). */
void rbpe_host_nerf(size_t r0, size_t r1, int ndim, int L, const float *x,
                    float *out) {
  size_t M = (size_t)2 * L * ndim;
  for (size_t i = r0; i < r1; i++)
    for (int a = 0; a < ndim; a++) {
      float p = 2.0f * x[i * ndim + a] - 1.0f;
      for (int l = 0; l < L; l++) {
        float arg = (float)(1u << l) * PI_F * p;
        float *o = out + i * M + (size_t)a * 2 * L + 2 * l;
        o[0] = sinf(arg);
        o[1] = cosf(arg);
      }
    }
}

/* METHOD.md 2.2: [sin(2 pi B x), cos(2 pi B x)], B is F x N. */
void rbpe_host_rff(size_t r0, size_t r1, int ndim, int F, const float *x,
                   const float *B, float *out) {
  for (size_t i = r0; i < r1; i++)
    for (int f = 0; f < F; f++) {
      float v = 0.0f;
      for (int a = 0; a < ndim; a++) v += B[f * ndim + a] * x[i * ndim + a];
      float arg = (2.0f * PI_F) * v;
      out[i * 2 * F + f] = sinf(arg);
      out[i * 2 * F + F + f] = cosf(arg);
    }
}

int rbpe_host_band_first(float p, float r, int D, int width) {
  float lo = (p - r) * (float)D - 0.5f;
  if (!(lo > 0.0f)) return 0;
  if (lo >= (float)(D - width)) return D - width;
  return (int)ceilf(lo);
}

/* METHOD.md 2.3: phi = exp(-q^b), q = (x.alpha_a + offset_a - t_j)^2 /
 * (2 sigma^2); its derivative in sigma is phi * 2 b q^b / sigma, because
 * dq/dsigma = -2q/sigma. With norm_ref > 0 the row is g phi, g =
 * sqrt(norm_ref / sigma), and its derivative g phi (2 b q^b - 1/2) / sigma
 * (dg/dsigma = -g / (2 sigma)). */
void rbpe_host_rbf(const rbpe_rbf_op *op, size_t r0, size_t r1, int deriv) {
  const float *x = op->x->host, *sig = op->sigma->host, *dirs = op->dirs->host;
  float *out = op->out->host;
  const int N = op->ndim, D = op->centres, W = op->band;
  /* a dense row: column a D + j; a banded one: starts, then W per direction */
  const size_t M = W ? (size_t)op->ndir * (W + 1) : (size_t)op->ndir * D;
  for (size_t i = r0; i < r1; i++) {
    float s = sig[i];
    float g = op->norm_ref > 0.0f ? sqrtf(op->norm_ref / s) : 1.0f;
    float shift = op->norm_ref > 0.0f ? 0.5f : 0.0f;
    for (int a = 0; a < op->ndir; a++) {
      const float *al = dirs + (size_t)a * (N + 1);
      float p = al[N];
      for (int k = 0; k < N; k++) p += al[k] * x[i * N + k];
      int j0 = 0, j1 = D;
      float *o = out + i * M + (size_t)a * D; /* o[j - j0]: centre j */
      if (W) {
        j0 = rbpe_host_band_first(p, op->reach * s, D, W);
        j1 = j0 + W;
        out[i * M + a] = (float)j0;
        o = out + i * M + op->ndir + (size_t)a * W;
      }
      for (int j = j0; j < j1; j++) {
        float t = ((float)j + 0.5f) / (float)D;
        float d = p - t;
        float q = (d * d) / (2.0f * s * s);
        float qb = rbpe_powb(q, op->order);
        float e = expf(-qb);
        o[j - j0] = deriv ? (g * e) * (2.0f * op->order * qb - shift) / s : g * e;
      }
    }
  }
}

void rbpe_host_band_gemm(const rbpe_band *b, size_t r0, size_t r1, size_t n,
                         const float *X, const float *W, float *out) {
  const int nd = b->ndir, D = b->centres, Wd = b->width;
  const size_t cols = rbpe_band_cols(b);
  for (size_t i = r0; i < r1; i++) {
    const float *row = X + i * cols;
    float *o = out + i * n;
    for (size_t h = 0; h < n; h++) o[h] = 0.0f;
    for (int a = 0; a < nd; a++) {
      const float *v = row + nd + (size_t)a * Wd;
      const float *w = W + rbpe_host_band_row(row, a, D, Wd) * n;
      for (int k = 0; k < Wd; k++) {
        const float vk = v[k], *wk = w + (size_t)k * n;
        for (size_t h = 0; h < n; h++) o[h] += vk * wk[h];
      }
    }
  }
}

void rbpe_host_band_wgrad(const rbpe_band *b, size_t c0, size_t c1,
                          size_t rows, size_t n, const float *X,
                          const float *G, float *dW) {
  const int nd = b->ndir, D = b->centres, Wd = b->width;
  const size_t cols = rbpe_band_cols(b), M = (size_t)nd * D;
  for (size_t m = 0; m < M; m++)
    for (size_t h = c0; h < c1; h++) dW[m * n + h] = 0.0f;
  for (size_t i = 0; i < rows; i++) {
    const float *row = X + i * cols, *g = G + i * n;
    for (int a = 0; a < nd; a++) {
      const float *v = row + nd + (size_t)a * Wd;
      float *d = dW + rbpe_host_band_row(row, a, D, Wd) * n;
      for (int k = 0; k < Wd; k++) {
        const float vk = v[k];
        float *dk = d + (size_t)k * n;
        for (size_t h = c0; h < c1; h++) dk[h] += vk * g[h];
      }
    }
  }
}

/* C = alpha op(A) op(B) + beta C. The i-k-j loop order keeps the sum over
 * k in ascending order for every element while the inner loop runs along
 * a row of C (which the compiler can vectorise without reordering sums).
 * acc: scratch of n floats. */
void rbpe_host_gemm(int ta, int tb, size_t r0, size_t r1, size_t n, size_t k,
                    float alpha, const float *A, size_t lda, const float *B,
                    size_t ldb, float beta, float *C, size_t ldc, float *acc) {
  for (size_t i = r0; i < r1; i++) {
    for (size_t j = 0; j < n; j++) acc[j] = 0.0f;
    for (size_t p = 0; p < k; p++) {
      float a = ta ? A[p * lda + i] : A[i * lda + p];
      if (tb)
        for (size_t j = 0; j < n; j++) acc[j] += a * B[j * ldb + p];
      else
        for (size_t j = 0; j < n; j++) acc[j] += a * B[p * ldb + j];
    }
    float *c = C + i * ldc;
    for (size_t j = 0; j < n; j++)
      c[j] = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * c[j];
  }
}

static float act_fwd(rbpe_act act, float z) {
  switch (act) {
  case RBPE_ACT_RELU: return z > 0.0f ? z : 0.0f;
  case RBPE_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
  default: return z;
  }
}

void rbpe_host_bias_act(size_t r0, size_t r1, size_t cols, const float *b,
                        rbpe_act act, float *x) {
  for (size_t i = r0; i < r1; i++)
    for (size_t j = 0; j < cols; j++)
      x[i * cols + j] = act_fwd(act, x[i * cols + j] + b[j]);
}

/* g = (t ? scale * (y - t) : g) * act'(y) on elements [i0, i1);
 * ReLU' = [y > 0], sigmoid' = y (1 - y), none' = 1, all from the output y.
 * The same operations, in the same order, as act_grad_partial in mlp.cl. */
void rbpe_host_act_grad(size_t i0, size_t i1, rbpe_act act, const float *y,
                        const float *t, float scale, float *g) {
  for (size_t i = i0; i < i1; i++) {
    float v = y[i], d = t ? scale * (v - t[i]) : g[i];
    if (act == RBPE_ACT_RELU)
      d = v > 0.0f ? d : 0.0f;
    else if (act == RBPE_ACT_SIGMOID)
      d = d * (v * (1.0f - v));
    g[i] = d;
  }
}

/* Row by row over the columns [c0, c1): each column still sums its rows in
 * ascending order, but memory is read along rows, the columns of a row in
 * SIMD lanes. */
void rbpe_host_col_sum(size_t c0, size_t c1, size_t rows, size_t cols,
                       const float *x, float *out) {
  for (size_t j = c0; j < c1; j++) out[j] = 0.0f;
  for (size_t i = 0; i < rows; i++) {
    const float *r = x + i * cols;
#pragma omp simd
    for (size_t j = c0; j < c1; j++) out[j] += r[j];
  }
}

/* Partial sums in double: the reference answer other backends' float
 * partial sums are compared with. */
double rbpe_host_sq_diff(size_t i0, size_t i1, const float *a, const float *b) {
  double s = 0.0;
  for (size_t i = i0; i < i1; i++) {
    double d = (double)a[i] - (double)b[i];
    s += d * d;
  }
  return s;
}

double rbpe_host_sum(size_t i0, size_t i1, const float *a) {
  double s = 0.0;
  for (size_t i = i0; i < i1; i++) s += a[i];
  return s;
}

/* Adam (Kingma & Ba), bias-corrected: m and v are moving averages of g and
 * g^2; the step is lr * (m / c1) / (sqrt(v / c2) + eps). */
void rbpe_host_adam(size_t i0, size_t i1, const rbpe_adam_step *s, float *p,
                    const float *g, float *m, float *v) {
  for (size_t i = i0; i < i1; i++) {
    m[i] = s->beta1 * m[i] + (1.0f - s->beta1) * g[i];
    v[i] = s->beta2 * v[i] + (1.0f - s->beta2) * (g[i] * g[i]);
    float mhat = m[i] / s->c1, vhat = v[i] / s->c2;
    p[i] -= s->lr * mhat / (sqrtf(vhat) + s->eps);
  }
}

void rbpe_host_gather(size_t r0, size_t r1, size_t cols, const float *src,
                      size_t src_rows, const uint32_t *idx, float *dst) {
  for (size_t r = r0; r < r1; r++)
    for (size_t j = 0; j < cols; j++)
      dst[r * cols + j] = idx[r] < src_rows ? src[idx[r] * cols + j] : 0.0f;
}

void rbpe_host_sigma_param(size_t i0, size_t i1, float smin, float smax,
                           const float *s, const float *local, float *sig,
                           float *d) {
  for (size_t i = i0; i < i1; i++) {
    float l = 1.0f / (1.0f + expf(-s[i]));
    sig[i] = local[i] * (smin + (smax - smin) * l);
    d[i] = local[i] * ((smax - smin) * (l * (1.0f - l)));
  }
}

/* ---- graph objective (METHOD.md 3) ----------------------------------------- */

/* d^2 = |Phi(x_i; s_i) - Phi(x_j; s_j)|^2 and its derivative in s_i, over
 * the centres where either point's q^b is below RBPE_GRAPH_QCUT. The
 * window and summation order are symmetric in i and j, so d^2 (and theta)
 * come out bit-identical from both rows. */
static void edge_d2(const rbpe_graph_op *op, const float *x, const float *sig,
                    const float *dirs, size_t i, size_t j, float *d2o,
                    float *ddo) {
  const int D = op->centres;
  const float b = op->order, si = sig[i], sj = sig[j];
  const float qc = b == 1.0f ? RBPE_GRAPH_QCUT : powf(RBPE_GRAPH_QCUT, 1.0f / b);
  const float ri = si * sqrtf(2.0f * qc), rj = sj * sqrtf(2.0f * qc);
  /* q = (p - t)^2 / (2 sigma^2) as a product with one reciprocal per node */
  const float inv_i = 1.0f / (2.0f * si * si), inv_j = 1.0f / (2.0f * sj * sj);
  const float step = 1.0f / (float)D;
  float d2 = 0.0f, dd = 0.0f;
  for (int a = 0; a < op->ndir; a++) {
    float pi, pj;
    int t0, t1;
    rbpe_host_edge_window(dirs, x, op->ndim, a, i, j, ri, rj, D, &pi, &pj, &t0,
                          &t1);
    for (int t = t0; t <= t1; t++) {
      float tc = ((float)t + 0.5f) * step;
      float di = pi - tc, dj = pj - tc;
      float qi = (di * di) * inv_i, qj = (dj * dj) * inv_j;
      float qbi = rbpe_powb(qi, b), qbj = rbpe_powb(qj, b);
      float ei = expf(-qbi), ej = expf(-qbj);
      float diff = ei - ej;
      d2 += diff * diff;
      dd += diff * (ei * qbi);
    }
  }
  *d2o = d2;
  /* d(d^2)/dsigma_i = sum 2 diff e_i 2 b q_i^b / sigma_i: constant factor
   * taken out of the sum */
  dd *= 4.0f * b / si;
  *ddo = dd;
}

void rbpe_host_graph_edges(const rbpe_graph_op *op, size_t i0, size_t i1) {
  const float *x = op->x->host, *sig = op->sigma->host, *y = op->y->host,
              *dirs = op->dirs->host;
  const uint32_t *row = op->row->host, *col = op->col->host;
  float *theta = op->theta->host, *dd = op->dd->host, *c = op->c->host;
  const int C = op->channels;
  for (size_t i = i0; i < i1; i++)
    for (uint32_t e = row[i]; e < row[i + 1] && e < op->nnz; e++) {
      size_t j = col[e] < op->n ? col[e] : i;
      float d2, de;
      edge_d2(op, x, sig, dirs, i, j, &d2, &de);
      theta[e] = expf(-d2 / (2.0f * op->eps * op->eps));
      dd[e] = de;
      c[e] = rbpe_host_edge_c(y, C, i, j, op->gamma);
    }
}

void rbpe_host_graph_degree(const rbpe_graph_op *op, size_t i0, size_t i1) {
  const uint32_t *row = op->row->host;
  const float *theta = op->theta->host;
  float *rho = op->rho->host;
  for (size_t i = i0; i < i1; i++) {
    float r = 0.0f;
    for (uint32_t e = row[i]; e < row[i + 1] && e < op->nnz; e++) r += theta[e];
    rho[i] = r;
  }
}

/* (rho_i rho_j)^-lambda_n; 1 when normalisation is off. */
static float norm_pow(float ri, float rj, float lam) {
  return lam == 0.0f ? 1.0f : powf(ri * rj, -lam);
}

/* jpart_i = 1/2 sum_e w_e c_e (so J = sum_i jpart_i); g_i = dJ/drho_i =
 * -lambda_n / rho_i * sum_e w_e c_e. */
void rbpe_host_graph_nodes(const rbpe_graph_op *op, size_t i0, size_t i1) {
  const uint32_t *row = op->row->host, *col = op->col->host;
  const float *theta = op->theta->host, *c = op->c->host, *rho = op->rho->host;
  float *jpart = op->jpart->host, *g = op->g->host;
  for (size_t i = i0; i < i1; i++) {
    float acc = 0.0f;
    for (uint32_t e = row[i]; e < row[i + 1] && e < op->nnz; e++) {
      size_t j = col[e] < op->n ? col[e] : i;
      if (theta[e] > 0.0f)
        acc += theta[e] * norm_pow(rho[i], rho[j], op->lambda_n) * c[e];
    }
    jpart[i] = 0.5f * acc;
    g[i] = (op->lambda_n != 0.0f && rho[i] > 0.0f) ? -op->lambda_n * acc / rho[i]
                                                  : 0.0f;
  }
}

/* dJ/dsigma_i = sum_e [c_e (rho_i rho_j)^-lambda + g_i + g_j]
 *               * (-theta_e / (2 eps^2)) * d(d_e^2)/dsigma_i, times scale_i. */
void rbpe_host_graph_grad(const rbpe_graph_op *op, size_t i0, size_t i1) {
  const uint32_t *row = op->row->host, *col = op->col->host;
  const float *theta = op->theta->host, *c = op->c->host, *rho = op->rho->host,
              *g = op->g->host, *dd = op->dd->host, *scale = op->scale->host;
  float *grad = op->grad->host;
  const float k = -1.0f / (2.0f * op->eps * op->eps);
  for (size_t i = i0; i < i1; i++) {
    float acc = 0.0f;
    for (uint32_t e = row[i]; e < row[i + 1] && e < op->nnz; e++) {
      size_t j = col[e] < op->n ? col[e] : i;
      if (theta[e] > 0.0f) {
        float dJdtheta = c[e] * norm_pow(rho[i], rho[j], op->lambda_n) + g[i] + g[j];
        acc += dJdtheta * (k * theta[e]) * dd[e];
      }
    }
    grad[i] = scale[i] * acc;
  }
}

