/* THE op table: the only door from pipeline code to compute (ARCHITECTURE.md).
 * A backend provides buffers and ops; pipeline code calls the checked
 * wrappers rbpe_op_* (backend.c), which validate shapes and buffer sizes
 * once for every backend before dispatching. */
#ifndef RBPE_BACKEND_H
#define RBPE_BACKEND_H

#include <stddef.h>

#include "../base/error.h"
#include "rbpe.h"

typedef struct rbpe_backend rbpe_backend;

/* A backend-owned buffer of float32 values (bytes is a multiple of 4).
 * host: the ref backend's memory; handle: a device object (cl_mem). */
typedef struct rbpe_buf {
  size_t bytes;
  void *host;
  void *handle;
  int view; /* a window into another buffer (rbpe_buf_view): owns no memory */
} rbpe_buf;

/* Centres where both points' q^b exceed this are skipped in d^2: such a
 * term is below exp(-12)^2 ~ 4e-11, under float resolution of the sums
 * of O(1) terms it joins (and of the derivative's, likewise). */
#define RBPE_GRAPH_QCUT 12.0f

/* One RBF embedding launch (METHOD.md 2.3): rows i < n of x (n x ndim)
 * with per-row sigma; dirs holds ndir rows of (alpha_0..alpha_{ndim-1},
 * offset); out is n x (ndir * centres), or banded rows (band > 0). */
typedef struct rbpe_rbf_op {
  size_t n;
  int ndim;
  int ndir;
  int centres;
  float order; /* b */
  const rbpe_buf *x;
  const rbpe_buf *sigma;
  const rbpe_buf *dirs;
  rbpe_buf *out;
  /* > 0: each row scaled by sqrt(norm_ref / sigma_i) (and the sigma
   * derivative of the product); 0: unscaled */
  float norm_ref;
  /* > 0 (embed_rbf only): out holds banded rows of this many centres per
   * direction (rbpe_band), each direction's window starting at
   * rbpe_host_band_first(p, reach sigma_i, D, band) (host.h) */
  int band;
  float reach; /* rbpe_band_reach(order) */
} rbpe_rbf_op;

/* A banded rbf embedding (README, "The first layer's window"): a
 * coordinate's phi_{a,j} is below exp(-RBPE_BAND_QCUT) outside the centres
 * within reach * sigma of its projection p_a, so a row keeps, per
 * direction, `width` centres from a start s_a:
 *   [s_0 .. s_{ndir-1}, v_0[0 .. width-1], .., v_{ndir-1}[0 .. width-1]]
 * (ndir (width + 1) floats; the starts are floats holding integers). The
 * dense row it stands for has v_a[k] at column a D + s_a + k and zeros
 * elsewhere. A start is clamped into [0, D - width] wherever it is read,
 * so no row can address outside the first layer's weights. */
typedef struct rbpe_band {
  int ndir, centres, width;
} rbpe_band;

/* Dropped values are below exp(-12) ~ 6.1e-6 of the largest: the graph
 * pass's cut (RBPE_GRAPH_QCUT). */
#define RBPE_BAND_QCUT 12.0f

/* The sparse graph-Laplacian objective of METHOD.md section 3 over a CSR
 * graph (row and col hold uint32 values; rows own their edges). Per edge
 * e = (i, j): theta = exp(-d^2 / (2 eps^2)) with d = |Phi(x_i; s_i) -
 * Phi(x_j; s_j)| computed from the coordinates (never the L x M
 * embedding), dd = d(d^2)/d(sigma_i), c = |y_i - y_j|^2 - 2 gamma. Per
 * node: rho = sum of theta, jpart = J's share, g = dJ/drho, grad = dJ/dsigma
 * times scale (e.g. dsigma/ds). */
typedef struct rbpe_graph_op {
  size_t n, nnz;
  int ndim, ndir, centres, channels;
  float order, eps, gamma, lambda_n;
  const rbpe_buf *x, *sigma, *y, *dirs, *row, *col;
  rbpe_buf *theta, *dd, *c;    /* nnz */
  rbpe_buf *rho, *jpart, *g;   /* n */
  const rbpe_buf *scale;       /* n */
  rbpe_buf *grad;              /* n */
} rbpe_graph_op;

/* One Adam step's scalars; bias corrections c1 = 1 - beta1^t and
 * c2 = 1 - beta2^t are computed on the host in double. */
typedef struct rbpe_adam_step {
  float lr, beta1, beta2, eps, c1, c2;
} rbpe_adam_step;

typedef struct rbpe_backend_ops {
  void (*destroy)(rbpe_backend *be);

  /* buffers; offsets and sizes in bytes, already range-checked */
  rbpe_status (*buf_alloc)(rbpe_backend *be, size_t bytes, rbpe_buf **out);
  void (*buf_free)(rbpe_backend *be, rbpe_buf *buf);
  /* bytes [offset, offset + bytes) of parent as a buffer of its own; offset
   * a multiple of be->view_align (checked); freed before the parent */
  rbpe_status (*buf_view)(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                          size_t bytes, rbpe_buf **out);
  rbpe_status (*buf_write)(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                           size_t bytes, const void *src);
  rbpe_status (*buf_read)(rbpe_backend *be, const rbpe_buf *buf, size_t offset,
                          size_t bytes, void *dst);
  rbpe_status (*buf_fill)(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                          size_t count, float value);
  /* waits for all queued work */
  rbpe_status (*finish)(rbpe_backend *be);

  /* embeddings (METHOD.md 2): out is n x M, row-major */
  rbpe_status (*embed_nerf)(rbpe_backend *be, size_t n, int ndim, int freqs,
                            const rbpe_buf *x, rbpe_buf *out);
  rbpe_status (*embed_rff)(rbpe_backend *be, size_t n, int ndim, int features,
                           const rbpe_buf *x, const rbpe_buf *B,
                           rbpe_buf *out);
  rbpe_status (*embed_rbf)(rbpe_backend *be, const rbpe_rbf_op *op);
  rbpe_status (*embed_rbf_dsigma)(rbpe_backend *be, const rbpe_rbf_op *op);

  /* MLP (METHOD.md 6). gemm: row-major C (m x n) = alpha op(A) op(B) +
   * beta C, op(A) m x k, op(B) k x n; beta == 0 ignores C's old values. */
  rbpe_status (*gemm)(rbpe_backend *be, int trans_a, int trans_b, size_t m,
                      size_t n, size_t k, float alpha, const rbpe_buf *A,
                      size_t lda, const rbpe_buf *B, size_t ldb, float beta,
                      rbpe_buf *C, size_t ldc);
  /* A layer's forward pass: out (rows x fout) = act(X W + bias), X rows x
   * fin, W fin x fout, bias broadcast over rows; the values gemm then
   * bias_act give (a device may fuse them into one pass). */
  rbpe_status (*linear)(rbpe_backend *be, size_t rows, size_t fin,
                        size_t fout, const rbpe_buf *X, const rbpe_buf *W,
                        const rbpe_buf *bias, rbpe_act act, rbpe_buf *out);
  /* The first layer on banded rows X (rows x ndir (width + 1), rbpe_band):
   * out (rows x n) = dense(X) W with W (ndir D x n); every element sums
   * its row's window, direction by direction, centres in ascending order. */
  rbpe_status (*band_gemm)(rbpe_backend *be, const rbpe_band *band,
                           size_t rows, size_t n, const rbpe_buf *X,
                           const rbpe_buf *W, rbpe_buf *out);
  /* Its weight gradient: dW (ndir D x n) = dense(X)^T G, G rows x n; every
   * element sums the rows whose window holds its centre, in ascending row
   * order, and is 0 where none does. */
  rbpe_status (*band_gemm_wgrad)(rbpe_backend *be, const rbpe_band *band,
                                 size_t rows, size_t n, const rbpe_buf *X,
                                 const rbpe_buf *G, rbpe_buf *dW);
  /* x (rows x cols) = act(x + bias), bias broadcast over rows */
  rbpe_status (*bias_act)(rbpe_backend *be, size_t rows, size_t cols,
                          const rbpe_buf *bias, rbpe_act act, rbpe_buf *x);
  /* A layer's backward pass through its activation, fused: for its output
   * y (rows x cols), grad = g * act'(y) with g = grad (in place) or, when
   * target is not NULL, g = scale * (y - target), the MSE loss gradient;
   * then db (cols) = column sums of the new grad, in an order fixed by
   * rows and cols alone. act' comes from y: ReLU' = [y > 0], sigmoid' =
   * y (1 - y), none' = 1. */
  rbpe_status (*act_grad)(rbpe_backend *be, size_t rows, size_t cols,
                          rbpe_act act, const rbpe_buf *y,
                          const rbpe_buf *target, float scale, rbpe_buf *grad,
                          rbpe_buf *db);
  /* out[0] = sum (a - b)^2 in a fixed order (independent of scheduling) */
  rbpe_status (*sq_diff_sum)(rbpe_backend *be, size_t count,
                             const rbpe_buf *a, const rbpe_buf *b,
                             rbpe_buf *out);
  /* one bias-corrected Adam step on count parameters */
  rbpe_status (*adam)(rbpe_backend *be, size_t count, const rbpe_adam_step *s,
                      rbpe_buf *param, const rbpe_buf *grad, rbpe_buf *m,
                      rbpe_buf *v);
  /* dst row r = src row idx[offset + r] (idx: uint32 values) */
  rbpe_status (*gather_rows)(rbpe_backend *be, size_t rows, size_t cols,
                             const rbpe_buf *src, const rbpe_buf *idx,
                             size_t offset, rbpe_buf *dst);

  /* out[0] = sum of a, in a fixed order */
  rbpe_status (*sum)(rbpe_backend *be, size_t count, const rbpe_buf *a,
                     rbpe_buf *out);
  /* graph objective passes, in this order (see rbpe_graph_op) */
  rbpe_status (*graph_edges)(rbpe_backend *be, const rbpe_graph_op *op);
  rbpe_status (*graph_degree)(rbpe_backend *be, const rbpe_graph_op *op);
  rbpe_status (*graph_nodes)(rbpe_backend *be, const rbpe_graph_op *op);
  rbpe_status (*graph_grad)(rbpe_backend *be, const rbpe_graph_op *op);
  /* sigma = local (smin + (smax - smin) logistic(s)), local a factor per
   * point (the local range, 1 without one); dsig = dsigma/ds */
  rbpe_status (*sigma_param)(rbpe_backend *be, size_t count, float smin,
                             float smax, const rbpe_buf *s,
                             const rbpe_buf *local, rbpe_buf *sigma,
                             rbpe_buf *dsig);

  /* ---- optional device hooks: NULL where a backend has no such thing;
   * callers ask through rbpe_backend_supports, never by kind ---- */
  /* GEMM tuning (rbpe_tune) */
  rbpe_status (*tune_gemm)(rbpe_backend *be, const rbpe_tune_request *req,
                           rbpe_tune_report *rep);
  /* Sends every later GEMM on this device down its other route number i
   * (0, 1, ...; OpenCL: the other of rbpe's own kernels and CLBlast, then
   * CLBlast's indirect kernel, which training-size products take), so a
   * check with small shapes covers each; names the route, NULL past the
   * last. Not undone. */
  rbpe_status (*alt_gemm_route)(rbpe_backend *be, int i, const char **name);
  /* Which GEMM the device runs: want "own" or "clblast" switches (NULL
   * keeps it); desc gets a description of the one in use. */
  rbpe_status (*gemm_path)(rbpe_backend *be, const char *want, char *desc,
                           size_t len);
} rbpe_backend_ops;

/* The op table's slots by name: required ones must be filled by every
 * backend (checked when a device is opened), optional ones may be NULL. */
typedef enum rbpe_hook {
  RBPE_HOOK_TUNE_GEMM,
  RBPE_HOOK_ALT_GEMM_ROUTE,
  RBPE_HOOK_GEMM_PATH,
  RBPE_HOOK_COUNT
} rbpe_hook;
int rbpe_backend_supports(const rbpe_backend *be, rbpe_hook hook);
/* RBPE_ERR_INTERNAL naming the first required slot a table leaves NULL. */
rbpe_status rbpe_backend_ops_check(const rbpe_backend_ops *ops, const char *kind,
                                   rbpe_err *err);

struct rbpe_backend {
  const rbpe_backend_ops *ops;
  rbpe_err *err;           /* where failures are explained */
  const char *kind;        /* "ref", "opencl" */
  char description[256];   /* what `rbpe` prints as the device */
  uint64_t max_alloc;      /* largest single buffer, bytes */
  uint64_t mem_total;      /* the device's memory (host: physical RAM) */
  int tuned;               /* GEMM runs with cached tuned parameters */
  uint64_t view_align;     /* views start at multiples of this (bytes) */
  uint64_t mem_limit;      /* cap on live bytes (0: none) */
  uint64_t mem_used;       /* live bytes allocated through rbpe_buf_alloc */
  uint64_t mem_peak;       /* the most mem_used has been */
  /* the banded first layer (band_gemm) is faster here than the dense
   * GEMM on the same product when its window is at most half the centres;
   * else it is for checks only */
  int band_pays;
};

/* Device selection (registry.c): spec as rbpe_ctx_select_device. */
rbpe_status rbpe_backend_open(const char *spec, rbpe_err *err,
                              rbpe_backend **out);
void rbpe_backend_close(rbpe_backend *be);

/* Every device the registry knows (OpenCL's; none in a build without
 * it); see rbpe_list_devices. */
rbpe_status rbpe_backend_list_devices(rbpe_err *err, rbpe_device_info **devices,
                                      size_t *count, int *platforms_found);

/* ---- checked wrappers: what pipeline code calls -------------------------- */

rbpe_status rbpe_buf_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out);
/* Allocates and uploads count floats. */
rbpe_status rbpe_buf_from_host(rbpe_backend *be, const float *src,
                               size_t count, rbpe_buf **out);
void rbpe_buf_free(rbpe_backend *be, rbpe_buf *buf);
rbpe_status rbpe_buf_view(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                          size_t bytes, rbpe_buf **out);
rbpe_status rbpe_buf_write(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                           size_t bytes, const void *src);
rbpe_status rbpe_buf_read(rbpe_backend *be, const rbpe_buf *buf, size_t offset,
                          size_t bytes, void *dst);
rbpe_status rbpe_buf_fill(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                          size_t count, float value);
rbpe_status rbpe_backend_finish(rbpe_backend *be);
/* Bytes that may still be allocated: the device's memory or the memory
 * limit, whichever is smaller, less what is live; *what names the bound
 * ("the device's memory" or "the memory limit") and *bound its size. */
uint64_t rbpe_backend_budget(const rbpe_backend *be, const char **what,
                             uint64_t *bound);
/* Whether `need` bytes in all, none of them in a buffer above `largest`,
 * fit what the device (or the memory limit) has left. */
int rbpe_backend_fits(const rbpe_backend *be, uint64_t need, uint64_t largest);
/* The one refusal of work that does not fit: RBPE_OK when it does, else
 * RBPE_ERR_DEVICE_MEMORY with "TASK needs NEED on DEVICE, above BOUND"
 * (the budget, or the largest buffer the device allows). */
rbpe_status rbpe_backend_reserve(rbpe_backend *be, uint64_t need,
                                 uint64_t largest, const char *task);
/* "1.5 GiB", "12.0 MiB", "512 bytes" */
const char *rbpe_fmt_bytes(uint64_t bytes, char buf[32]);
/* Physical RAM (0 when unknown), for the host backends' mem_total. */
uint64_t rbpe_host_memory(void);

rbpe_status rbpe_op_embed_nerf(rbpe_backend *be, size_t n, int ndim, int freqs,
                               const rbpe_buf *x, rbpe_buf *out);
rbpe_status rbpe_op_embed_rff(rbpe_backend *be, size_t n, int ndim,
                              int features, const rbpe_buf *x,
                              const rbpe_buf *B, rbpe_buf *out);
rbpe_status rbpe_op_embed_rbf(rbpe_backend *be, const rbpe_rbf_op *op);
rbpe_status rbpe_op_embed_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op);

rbpe_status rbpe_op_gemm(rbpe_backend *be, int trans_a, int trans_b, size_t m,
                         size_t n, size_t k, float alpha, const rbpe_buf *A,
                         size_t lda, const rbpe_buf *B, size_t ldb, float beta,
                         rbpe_buf *C, size_t ldc);
rbpe_status rbpe_op_linear(rbpe_backend *be, size_t rows, size_t fin,
                           size_t fout, const rbpe_buf *X, const rbpe_buf *W,
                           const rbpe_buf *bias, rbpe_act act, rbpe_buf *out);
/* The linear op as it is defined, the backend's gemm then its bias_act:
 * the slot of a backend that fuses nothing, and a fusing one's fallback. */
rbpe_status rbpe_linear_unfused(rbpe_backend *be, size_t rows, size_t fin,
                                size_t fout, const rbpe_buf *X,
                                const rbpe_buf *W, const rbpe_buf *bias,
                                rbpe_act act, rbpe_buf *out);
/* the band's row width in floats, ndir (width + 1) */
size_t rbpe_band_cols(const rbpe_band *b);
/* sqrt(2 QCUT^(1/b)): |p - t_j| beyond reach sigma puts q^b above the cut */
float rbpe_band_reach(float order);
/* The centres a band needs for sigma up to sigma_max: every j within
 * reach sigma_max of any p, floor(2 reach sigma_max D) + 2 (one spare for
 * rounding), capped at D. */
int rbpe_band_width(int centres, float order, float sigma_max);
rbpe_status rbpe_op_band_gemm(rbpe_backend *be, const rbpe_band *band,
                              size_t rows, size_t n, const rbpe_buf *X,
                              const rbpe_buf *W, rbpe_buf *out);
rbpe_status rbpe_op_band_gemm_wgrad(rbpe_backend *be, const rbpe_band *band,
                                    size_t rows, size_t n, const rbpe_buf *X,
                                    const rbpe_buf *G, rbpe_buf *dW);
rbpe_status rbpe_op_bias_act(rbpe_backend *be, size_t rows, size_t cols,
                             const rbpe_buf *bias, rbpe_act act, rbpe_buf *x);
rbpe_status rbpe_op_act_grad(rbpe_backend *be, size_t rows, size_t cols,
                             rbpe_act act, const rbpe_buf *y,
                             const rbpe_buf *target, float scale,
                             rbpe_buf *grad, rbpe_buf *db);
rbpe_status rbpe_op_sq_diff_sum(rbpe_backend *be, size_t count,
                                const rbpe_buf *a, const rbpe_buf *b,
                                rbpe_buf *out);
rbpe_status rbpe_op_adam(rbpe_backend *be, size_t count,
                         const rbpe_adam_step *s, rbpe_buf *param,
                         const rbpe_buf *grad, rbpe_buf *m, rbpe_buf *v);
rbpe_status rbpe_op_gather_rows(rbpe_backend *be, size_t rows, size_t cols,
                                const rbpe_buf *src, const rbpe_buf *idx,
                                size_t offset, rbpe_buf *dst);
rbpe_status rbpe_op_sum(rbpe_backend *be, size_t count, const rbpe_buf *a,
                        rbpe_buf *out);
rbpe_status rbpe_op_graph_edges(rbpe_backend *be, const rbpe_graph_op *op);
rbpe_status rbpe_op_graph_degree(rbpe_backend *be, const rbpe_graph_op *op);
rbpe_status rbpe_op_graph_nodes(rbpe_backend *be, const rbpe_graph_op *op);
rbpe_status rbpe_op_graph_grad(rbpe_backend *be, const rbpe_graph_op *op);
rbpe_status rbpe_op_sigma_param(rbpe_backend *be, size_t count, float smin,
                                float smax, const rbpe_buf *s,
                                const rbpe_buf *local, rbpe_buf *sigma,
                                rbpe_buf *dsig);

#endif
