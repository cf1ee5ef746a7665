/* The host backends' arithmetic, once: every op as a function over a range
 * of rows (or elements, or nodes), in the exact operation order of
 * METHOD.md and the OpenCL kernels. `ref` runs each over the whole range on
 * one thread; `cpu` runs disjoint ranges on many threads. Buffers are
 * plain host memory (rbpe_buf.host). */
#ifndef RBPE_HOST_H
#define RBPE_HOST_H

#include <math.h>
#include <stdint.h>

#include "backend.h"

/* buffers shared by both host backends */
rbpe_status rbpe_host_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out);
void rbpe_host_free(rbpe_backend *be, rbpe_buf *b);
rbpe_status rbpe_host_view(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                           size_t bytes, rbpe_buf **out);
/* alignment of host views: a cache line */
#define RBPE_HOST_VIEW_ALIGN 64
rbpe_status rbpe_host_write(rbpe_backend *be, rbpe_buf *b, size_t off,
                            size_t bytes, const void *src);
rbpe_status rbpe_host_read(rbpe_backend *be, const rbpe_buf *b, size_t off,
                           size_t bytes, void *dst);
rbpe_status rbpe_host_fill(rbpe_backend *be, rbpe_buf *b, size_t off,
                           size_t count, float v);
rbpe_status rbpe_host_finish(rbpe_backend *be);

/* rows [r0, r1) */
void rbpe_host_nerf(size_t r0, size_t r1, int ndim, int L, const float *x,
                    float *out);
void rbpe_host_rff(size_t r0, size_t r1, int ndim, int F, const float *x,
                   const float *B, float *out);
/* rows [r0, r1); op->band > 0: banded rows (rbpe_band) */
void rbpe_host_rbf(const rbpe_rbf_op *op, size_t r0, size_t r1, int deriv);
/* A window's first centre for projection p and reach r (reach sigma):
 * ceil((p - r) D - 1/2), the first t_j >= p - r, clamped into
 * [0, D - width]; the same float operations as band_first in
 * cl/embed.cl. */
int rbpe_host_band_first(float p, float r, int D, int width);
/* A stored start read back, clamped into [0, D - width] (NaN: 0). */
static inline int rbpe_host_band_start(float s, int D, int width) {
  return s >= 0.0f ? (s <= (float)(D - width) ? (int)s : D - width) : 0;
}
/* The weight row (a D + start) of direction a's window in a banded row */
static inline size_t rbpe_host_band_row(const float *row, int a, int D,
                                        int width) {
  return (size_t)a * D + (size_t)rbpe_host_band_start(row[a], D, width);
}
/* rows [r0, r1) of the banded first layer's out = dense(X) W (n columns) */
void rbpe_host_band_gemm(const rbpe_band *b, size_t r0, size_t r1, size_t n,
                         const float *X, const float *W, float *out);
/* columns [c0, c1) of dW = dense(X)^T G over rows [0, rows), zeros first */
void rbpe_host_band_wgrad(const rbpe_band *b, size_t c0, size_t c1,
                          size_t rows, size_t n, const float *X,
                          const float *G, float *dW);
/* rows [r0, r1) of C; ascending k for every element */
void rbpe_host_gemm(int ta, int tb, size_t r0, size_t r1, size_t n, size_t k,
                    float alpha, const float *A, size_t lda, const float *B,
                    size_t ldb, float beta, float *C, size_t ldc, float *acc);
void rbpe_host_bias_act(size_t r0, size_t r1, size_t cols, const float *b,
                        rbpe_act act, float *x);
void rbpe_host_gather(size_t r0, size_t r1, size_t cols, const float *src,
                      size_t src_rows, const uint32_t *idx, float *dst);

/* elements [i0, i1) */
void rbpe_host_act_grad(size_t i0, size_t i1, rbpe_act act, const float *y,
                        const float *t, float scale, float *g);
double rbpe_host_sq_diff(size_t i0, size_t i1, const float *a, const float *b);
double rbpe_host_sum(size_t i0, size_t i1, const float *a);
void rbpe_host_adam(size_t i0, size_t i1, const rbpe_adam_step *s, float *p,
                    const float *g, float *m, float *v);
void rbpe_host_sigma_param(size_t i0, size_t i1, float smin, float smax,
                           const float *s, const float *local, float *sig,
                           float *d);

/* columns [c0, c1), rows in ascending order */
void rbpe_host_col_sum(size_t c0, size_t c1, size_t rows, size_t cols,
                       const float *x, float *out);

/* Pieces of the graph edge pass that ref (host.c) and cpu (cpu.c) share.
 * Points i and j projected on direction a (offset + alpha . x), and the
 * centres [t0, t1] where either point's Gaussian (radius ri, rj in
 * coordinate units) is above the cut: symmetric in i and j. */
static inline void rbpe_host_edge_window(const float *dirs, const float *x,
                                         int N, int a, size_t i, size_t j,
                                         float ri, float rj, int D, float *pi,
                                         float *pj, int *t0, int *t1) {
  const float *al = dirs + (size_t)a * (N + 1);
  float p = al[N], q = al[N];
  for (int k = 0; k < N; k++) {
    p += al[k] * x[i * N + k];
    q += al[k] * x[j * N + k];
  }
  float lo = fminf(p - ri, q - rj), hi = fmaxf(p + ri, q + rj);
  int a0 = (int)ceilf(lo * (float)D - 0.5f), a1 = (int)floorf(hi * (float)D - 0.5f);
  *pi = p;
  *pj = q;
  *t0 = a0 < 0 ? 0 : a0;
  *t1 = a1 > D - 1 ? D - 1 : a1;
}

/* c_e = |y_i - y_j|^2 - 2 gamma over the C channels */
static inline float rbpe_host_edge_c(const float *y, int C, size_t i,
                                     size_t j, float gamma) {
  float cy = 0.0f;
  for (int ch = 0; ch < C; ch++) {
    float t = y[i * C + ch] - y[j * C + ch];
    cy += t * t;
  }
  return cy - 2.0f * gamma;
}

/* graph passes over nodes [i0, i1) */
void rbpe_host_graph_edges(const rbpe_graph_op *op, size_t i0, size_t i1);
void rbpe_host_graph_degree(const rbpe_graph_op *op, size_t i0, size_t i1);
void rbpe_host_graph_nodes(const rbpe_graph_op *op, size_t i0, size_t i1);
void rbpe_host_graph_grad(const rbpe_graph_op *op, size_t i0, size_t i1);

#endif
