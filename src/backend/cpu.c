/* The fast host backend: GEMM through CBLAS (OpenBLAS), every other op
 * from host.c run over disjoint ranges on OpenMP threads. Reductions use
 * a fixed number of chunks summed in order, so results never depend on
 * the thread count or scheduling. Buffers are host memory, as in ref. */
#include <cblas.h>
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "host.h"

/* Rows per parallel task: enough work to amortise scheduling. */
#define CPU_GRAIN 64
/* Chunks of a reduction, whatever the thread count. */
#define CPU_REDUCE_CHUNKS 256

static void cpu_destroy(rbpe_backend *be) { free(be); }

/* Runs fn(r0, r1, ctx) over [0, n) in parallel blocks of `grain`. */
typedef void (*range_fn)(size_t r0, size_t r1, const void *ctx);

static void parallel(size_t n, size_t grain, range_fn fn, const void *ctx) {
  if (n <= grain) {
    fn(0, n, ctx);
    return;
  }
  long blocks = (long)((n + grain - 1) / grain);
#pragma omp parallel for schedule(dynamic, 1)
  for (long b = 0; b < blocks; b++) {
    size_t r0 = (size_t)b * grain, r1 = r0 + grain < n ? r0 + grain : n;
    fn(r0, r1, ctx);
  }
}

/* ---- embeddings ---------------------------------------------------------- */

typedef struct emb_ctx {
  int ndim, p;
  const float *x, *B;
  float *out;
  const rbpe_rbf_op *op;
  int deriv;
} emb_ctx;

static void nerf_range(size_t r0, size_t r1, const void *c) {
  const emb_ctx *e = c;
  rbpe_host_nerf(r0, r1, e->ndim, e->p, e->x, e->out);
}

static void rff_range(size_t r0, size_t r1, const void *c) {
  const emb_ctx *e = c;
  rbpe_host_rff(r0, r1, e->ndim, e->p, e->x, e->B, e->out);
}

static void rbf_range(size_t r0, size_t r1, const void *c) {
  const emb_ctx *e = c;
  rbpe_host_rbf(e->op, r0, r1, e->deriv);
}

static rbpe_status cpu_nerf(rbpe_backend *be, size_t n, int ndim, int L,
                            const rbpe_buf *x, rbpe_buf *out) {
  (void)be;
  emb_ctx e = {ndim, L, x->host, NULL, out->host, NULL, 0};
  parallel(n, CPU_GRAIN, nerf_range, &e);
  return RBPE_OK;
}

static rbpe_status cpu_rff(rbpe_backend *be, size_t n, int ndim, int F,
                           const rbpe_buf *x, const rbpe_buf *B, rbpe_buf *out) {
  (void)be;
  emb_ctx e = {ndim, F, x->host, B->host, out->host, NULL, 0};
  parallel(n, CPU_GRAIN, rff_range, &e);
  return RBPE_OK;
}

static rbpe_status cpu_rbf(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  emb_ctx e = {0, 0, NULL, NULL, NULL, op, 0};
  parallel(op->n, CPU_GRAIN, rbf_range, &e);
  return RBPE_OK;
}

static rbpe_status cpu_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  emb_ctx e = {0, 0, NULL, NULL, NULL, op, 1};
  parallel(op->n, CPU_GRAIN, rbf_range, &e);
  return RBPE_OK;
}

/* ---- MLP ------------------------------------------------------------------- */

static rbpe_status cpu_gemm(rbpe_backend *be, int ta, int tb, size_t m,
                            size_t n, size_t k, float alpha, const rbpe_buf *A,
                            size_t lda, const rbpe_buf *B, size_t ldb,
                            float beta, rbpe_buf *C, size_t ldc) {
  RBPE_FAIL_IF(m > INT32_MAX || n > INT32_MAX || k > INT32_MAX ||
                   lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX,
               be->err, RBPE_ERR_TOO_LARGE, "cpu gemm: dimensions beyond int");
  if (k == 0) { /* BLAS leaves C alone for k = 0 only when beta = 1 */
    float *c = C->host;
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++)
        c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return RBPE_OK;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha,
              A->host, (int)lda, B->host, (int)ldb, beta, C->host, (int)ldc);
  return RBPE_OK;
}

/* ---- the banded first layer ---------------------------------------------- */

/* Built for AVX2 with FMA (8 columns a vector, 8 vectors of sums held in
 * registers over a row's window: each weight is loaded once per use), and
 * as host.c's loops for other processors. The sums run in host.c's order
 * (direction, then centre) with fused multiply-adds, so they differ from
 * ref by rounding only. The weight gradient is split by column chunks, each
 * summing over all rows in ascending order: no element depends on the
 * thread count. */
#define BAND_CHUNK 64

typedef void (*band_fwd_fn)(const rbpe_band *, size_t, size_t, size_t,
                            const float *, const float *, float *);
struct band_sort;
typedef void (*band_wgrad_fn)(const rbpe_band *, const struct band_sort *,
                              size_t, size_t, size_t, size_t, const float *,
                              const float *, float *);

/* host.c's loops (which need no sort) */
static void band_wgrad_base(const rbpe_band *b, const struct band_sort *so,
                            size_t c0, size_t c1, size_t rows, size_t n,
                            const float *X, const float *G, float *dW) {
  (void)so;
  rbpe_host_band_wgrad(b, c0, c1, rows, n, X, G, dW);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void
band_fwd_avx2(const rbpe_band *b, size_t r0, size_t r1, size_t n,
              const float *X, const float *W, float *out) {
  const int nd = b->ndir, D = b->centres, Wd = b->width;
  const size_t cols = rbpe_band_cols(b);
  for (size_t i = r0; i < r1; i++) {
    const float *row = X + i * cols;
    float *o = out + i * n;
    size_t h = 0;
    for (; h + BAND_CHUNK <= n; h += BAND_CHUNK) {
      __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0,
             c5 = c0, c6 = c0, c7 = c0;
      for (int a = 0; a < nd; a++) {
        const float *v = row + nd + (size_t)a * Wd;
        const float *w = W + rbpe_host_band_row(row, a, D, Wd) * n + h;
        for (int k = 0; k < Wd; k++, w += n) {
          __m256 vk = _mm256_set1_ps(v[k]);
          c0 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w), c0);
          c1 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 8), c1);
          c2 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 16), c2);
          c3 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 24), c3);
          c4 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 32), c4);
          c5 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 40), c5);
          c6 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 48), c6);
          c7 = _mm256_fmadd_ps(vk, _mm256_loadu_ps(w + 56), c7);
        }
      }
      _mm256_storeu_ps(o + h, c0);
      _mm256_storeu_ps(o + h + 8, c1);
      _mm256_storeu_ps(o + h + 16, c2);
      _mm256_storeu_ps(o + h + 24, c3);
      _mm256_storeu_ps(o + h + 32, c4);
      _mm256_storeu_ps(o + h + 40, c5);
      _mm256_storeu_ps(o + h + 48, c6);
      _mm256_storeu_ps(o + h + 56, c7);
    }
    for (; h + 8 <= n; h += 8) {
      __m256 c = _mm256_setzero_ps();
      for (int a = 0; a < nd; a++) {
        const float *v = row + nd + (size_t)a * Wd;
        const float *w = W + rbpe_host_band_row(row, a, D, Wd) * n + h;
        for (int k = 0; k < Wd; k++, w += n)
          c = _mm256_fmadd_ps(_mm256_set1_ps(v[k]), _mm256_loadu_ps(w), c);
      }
      _mm256_storeu_ps(o + h, c);
    }
    for (; h < n; h++) {
      float c = 0.0f;
      for (int a = 0; a < nd; a++) {
        const float *v = row + nd + (size_t)a * Wd;
        const float *w = W + rbpe_host_band_row(row, a, D, Wd) * n + h;
        for (int k = 0; k < Wd; k++, w += n) c = fmaf(v[k], *w, c);
      }
      o[h] = c;
    }
  }
}

/* The rows sorted by window start, per direction: rows order[a rows +
 * off[a S + s] ..] (ascending) start at s, S = D - W + 2 slots. */
typedef struct band_sort {
  const uint32_t *order, *off;
} band_sort;

/* Columns [c0, c1) of the weight gradient from rows sorted by window
 * start: the rows of one start share their window, so a block of 4
 * centres x 16 columns sums over them in registers (8 multiply-adds per
 * 2 column loads and 4 broadcasts) and reaches dW once per start, not once
 * per row. Every element sums its start groups in ascending start order,
 * each group's rows in ascending order. */
__attribute__((target("avx2,fma"))) static void
band_wgrad_avx2(const rbpe_band *b, const band_sort *so, size_t c0, size_t c1,
                size_t rows, size_t n, const float *X, const float *G,
                float *dW) {
  const int nd = b->ndir, D = b->centres, Wd = b->width, S = D - Wd + 2;
  const size_t cols = rbpe_band_cols(b), M = (size_t)nd * D;
  for (size_t m = 0; m < M; m++)
    memset(dW + m * n + c0, 0, (c1 - c0) * sizeof(float));
  size_t vend = c0 + (c1 - c0) / 16 * 16;
  for (int a = 0; a < nd; a++) {
    const uint32_t *order = so->order + (size_t)a * rows,
                   *off = so->off + (size_t)a * S;
    for (int st = 0; st <= D - Wd; st++) {
      const uint32_t *r0 = order + off[st], *r1 = order + off[st + 1];
      if (r0 == r1) continue;
      float *d = dW + ((size_t)a * D + (size_t)st) * n;
      for (int kb = 0; kb < Wd; kb += 4) {
        const int kk = Wd - kb < 4 ? Wd - kb : 4;
        const size_t vo = (size_t)nd + (size_t)a * Wd + (size_t)kb;
        for (size_t h = c0; h < vend; h += 16) {
          __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00,
                 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
          for (const uint32_t *r = r0; r < r1; r++) {
            const float *g = G + (size_t)*r * n + h, *v = X + (size_t)*r * cols + vo;
            __m256 g0 = _mm256_loadu_ps(g), g1 = _mm256_loadu_ps(g + 8);
            __m256 v0 = _mm256_set1_ps(v[0]);
            __m256 v1 = _mm256_set1_ps(kk > 1 ? v[1] : 0.0f);
            __m256 v2 = _mm256_set1_ps(kk > 2 ? v[2] : 0.0f);
            __m256 v3 = _mm256_set1_ps(kk > 3 ? v[3] : 0.0f);
            a00 = _mm256_fmadd_ps(v0, g0, a00);
            a01 = _mm256_fmadd_ps(v0, g1, a01);
            a10 = _mm256_fmadd_ps(v1, g0, a10);
            a11 = _mm256_fmadd_ps(v1, g1, a11);
            a20 = _mm256_fmadd_ps(v2, g0, a20);
            a21 = _mm256_fmadd_ps(v2, g1, a21);
            a30 = _mm256_fmadd_ps(v3, g0, a30);
            a31 = _mm256_fmadd_ps(v3, g1, a31);
          }
          __m256 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
          for (int q = 0; q < kk; q++) {
            float *dk = d + (size_t)(kb + q) * n + h;
            _mm256_storeu_ps(dk, _mm256_add_ps(_mm256_loadu_ps(dk), acc[q][0]));
            _mm256_storeu_ps(dk + 8, _mm256_add_ps(_mm256_loadu_ps(dk + 8), acc[q][1]));
          }
        }
        for (size_t h = vend; h < c1; h++)
          for (int q = 0; q < kk; q++) {
            float acc = 0.0f;
            for (const uint32_t *r = r0; r < r1; r++)
              acc = fmaf(X[(size_t)*r * cols + vo + q], G[(size_t)*r * n + h], acc);
            d[(size_t)(kb + q) * n + h] += acc;
          }
      }
    }
  }
}
#endif

typedef struct band_ctx {
  const rbpe_band *b;
  const struct band_sort *so;
  size_t rows, n;
  const float *X, *W;
  float *out;
  band_fwd_fn fwd;
  band_wgrad_fn wgrad;
} band_ctx;

static void band_fwd_range(size_t r0, size_t r1, const void *c) {
  const band_ctx *e = c;
  e->fwd(e->b, r0, r1, e->n, e->X, e->W, e->out);
}

/* [k0, k1) counts column chunks */
static void band_wgrad_range(size_t k0, size_t k1, const void *c) {
  const band_ctx *e = c;
  size_t c0 = k0 * BAND_CHUNK, c1 = k1 * BAND_CHUNK < e->n ? k1 * BAND_CHUNK : e->n;
  e->wgrad(e->b, e->so, c0, c1, e->rows, e->n, e->X, e->W, e->out);
}

typedef struct ew_ctx {
  size_t cols, rows, src_rows;
  rbpe_act act;
  float scale, smin, smax;
  const float *a, *b, *c;
  float *x, *y, *z;
  const uint32_t *idx;
  const rbpe_adam_step *adam;
} ew_ctx;

/* The elementwise ops below are host.c's, operation for operation (so the
 * results are identical), with one loop per activation so that the
 * compiler vectorises them; sigmoid, whose expf is a scalar call, stays
 * with host.c. */
static void bias_act_range(size_t r0, size_t r1, const void *c) {
  const ew_ctx *e = c;
  const size_t cols = e->cols;
  const float *b = e->a;
  if (e->act == RBPE_ACT_SIGMOID) {
    rbpe_host_bias_act(r0, r1, cols, b, e->act, e->x);
    return;
  }
  const int relu = e->act == RBPE_ACT_RELU;
  for (size_t i = r0; i < r1; i++) {
    float *x = e->x + i * cols;
    if (relu) {
#pragma omp simd
      for (size_t j = 0; j < cols; j++) {
        float z = x[j] + b[j];
        x[j] = z > 0.0f ? z : 0.0f;
      }
    } else {
#pragma omp simd
      for (size_t j = 0; j < cols; j++) x[j] = x[j] + b[j];
    }
  }
}

static rbpe_status cpu_bias_act(rbpe_backend *be, size_t rows, size_t cols,
                                const rbpe_buf *bias, rbpe_act act,
                                rbpe_buf *x) {
  (void)be;
  ew_ctx e = {.cols = cols, .act = act, .a = bias->host, .x = x->host};
  parallel(rows, CPU_GRAIN, bias_act_range, &e);
  return RBPE_OK;
}

static void act_grad_range(size_t i0, size_t i1, const void *c) {
  const ew_ctx *e = c;
  if (e->act != RBPE_ACT_RELU || e->b) {
    rbpe_host_act_grad(i0, i1, e->act, e->a, e->b, e->scale, e->x);
    return;
  }
  const float *y = e->a;
  float *g = e->x;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

static void col_sum_range(size_t c0, size_t c1, const void *c) {
  const ew_ctx *e = c;
  rbpe_host_col_sum(c0, c1, e->rows, e->cols, e->x, e->y);
}

/* elementwise over all of grad, then the column sums split by columns
 * (each column's rows still in ascending order, as ref) */
static rbpe_status cpu_act_grad(rbpe_backend *be, size_t rows, size_t cols,
                                rbpe_act act, const rbpe_buf *y,
                                const rbpe_buf *t, float scale, rbpe_buf *g,
                                rbpe_buf *db) {
  (void)be;
  ew_ctx e = {.rows = rows, .cols = cols, .act = act, .scale = scale,
              .a = y->host, .b = t ? t->host : NULL, .x = g->host,
              .y = db->host};
  parallel(rows * cols, CPU_GRAIN * 64, act_grad_range, &e);
  parallel(cols, 64, col_sum_range, &e);
  return RBPE_OK;
}

/* sum over fixed chunks (in double), then the chunks in order */
static double reduce(size_t count, const float *a, const float *b) {
  double part[CPU_REDUCE_CHUNKS];
  size_t chunk = (count + CPU_REDUCE_CHUNKS - 1) / CPU_REDUCE_CHUNKS;
#pragma omp parallel for schedule(static)
  for (int c = 0; c < CPU_REDUCE_CHUNKS; c++) {
    size_t i0 = (size_t)c * chunk, i1 = i0 + chunk < count ? i0 + chunk : count;
    if (i0 > count) i0 = count;
    part[c] = b ? rbpe_host_sq_diff(i0, i1, a, b) : rbpe_host_sum(i0, i1, a);
  }
  double s = 0.0;
  for (int c = 0; c < CPU_REDUCE_CHUNKS; c++) s += part[c];
  return s;
}

static rbpe_status cpu_sq_diff_sum(rbpe_backend *be, size_t count,
                                   const rbpe_buf *a, const rbpe_buf *b,
                                   rbpe_buf *out) {
  (void)be;
  ((float *)out->host)[0] = (float)reduce(count, a->host, b->host);
  return RBPE_OK;
}

static rbpe_status cpu_sum(rbpe_backend *be, size_t count, const rbpe_buf *a,
                           rbpe_buf *out) {
  (void)be;
  ((float *)out->host)[0] = (float)reduce(count, a->host, NULL);
  return RBPE_OK;
}

static void adam_range(size_t i0, size_t i1, const void *c) {
  const ew_ctx *e = c;
  rbpe_host_adam(i0, i1, e->adam, e->x, e->a, e->y, e->z);
}

static rbpe_status cpu_adam(rbpe_backend *be, size_t count,
                            const rbpe_adam_step *s, rbpe_buf *p,
                            const rbpe_buf *g, rbpe_buf *m, rbpe_buf *v) {
  (void)be;
  ew_ctx e = {.adam = s, .x = p->host, .a = g->host, .y = m->host, .z = v->host};
  parallel(count, CPU_GRAIN * 64, adam_range, &e);
  return RBPE_OK;
}

static void gather_range(size_t r0, size_t r1, const void *c) {
  const ew_ctx *e = c;
  rbpe_host_gather(r0, r1, e->cols, e->a, e->src_rows, e->idx, e->x);
}

static rbpe_status cpu_gather_rows(rbpe_backend *be, size_t rows, size_t cols,
                                   const rbpe_buf *src, const rbpe_buf *idx,
                                   size_t offset, rbpe_buf *dst) {
  (void)be;
  ew_ctx e = {.cols = cols,
              .src_rows = src->bytes / sizeof(float) / cols,
              .a = src->host,
              .idx = (const uint32_t *)idx->host + offset,
              .x = dst->host};
  parallel(rows, CPU_GRAIN, gather_range, &e);
  return RBPE_OK;
}

static void sigma_param_range(size_t i0, size_t i1, const void *c) {
  const ew_ctx *e = c;
  rbpe_host_sigma_param(i0, i1, e->smin, e->smax, e->a, e->b, e->x, e->y);
}

static rbpe_status cpu_sigma_param(rbpe_backend *be, size_t count, float smin,
                                   float smax, const rbpe_buf *s,
                                   const rbpe_buf *local, rbpe_buf *sigma,
                                   rbpe_buf *dsig) {
  (void)be;
  ew_ctx e = {.smin = smin, .smax = smax, .a = s->host, .b = local->host,
              .x = sigma->host, .y = dsig->host};
  parallel(count, CPU_GRAIN * 64, sigma_param_range, &e);
  return RBPE_OK;
}

/* ---- graph: nodes own their edges, so node ranges are independent ------ */

/* e^x for x <= 0 without branches, so that loops over it vectorise (glibc's
 * expf is a scalar call): x = n ln2 + r, |r| <= ln2 / 2, e^r by Cephes'
 * expf polynomial, 2^n written into the exponent bits. Within 2 ulp of
 * expf down to x = -87.3; below that 0, where expf's results are
 * subnormal (under 1.2e-38). */
static inline float exp_neg(float x) {
  const float lo = -87.33654f, magic = 12582912.0f; /* 1.5 * 2^23 */
  float keep = x < lo ? 0.0f : 1.0f;
  x = x < lo ? lo : x;
  float n = (x * 1.44269504088896341f + magic) - magic; /* round(x / ln2) */
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
  float two_n;
  memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n * keep;
}

/* SIMD lanes the edge loop is padded to (AVX2: 8 floats) */
#define CPU_LANES 8

/* The slot of edge j -> i in row j, or UINT32_MAX if the graph lacks it. */
static inline uint32_t reverse_edge(const uint32_t *row, const uint32_t *col,
                                    size_t nnz, size_t i, size_t j) {
  for (uint32_t e = row[j]; e < row[j + 1] && e < nnz; e++)
    if (col[e] == i) return e;
  return UINT32_MAX;
}

/* rbpe_host_graph_edges for order b = 1, faster in two ways. The window
 * loop is vectorised with exp_neg, padded to whole vectors (lanes past the
 * window add zero) and summed in SIMD lanes, whose count is fixed per
 * machine. And each pair i < j is done once for both of its edges: d^2
 * (so theta and c) is symmetric and the two derivatives share every
 * exponential, so the row with the smaller index writes both slots (no
 * slot is written twice, so ranges of rows stay independent) and the
 * other row skips it. The window and terms are those of host.c. Built for
 * AVX-512, AVX2 and the baseline x86-64 (the body inlined into one function
 * per instruction set, each vectorised for its own); the backend picks one
 * when it is created (cpu_isa), so a test can force any the processor
 * runs. */
static inline __attribute__((always_inline)) void
edges_b1_body(const rbpe_graph_op *op, size_t i0, size_t i1) {
  const float *x = op->x->host, *sig = op->sigma->host, *y = op->y->host,
              *dirs = op->dirs->host;
  const uint32_t *row = op->row->host, *col = op->col->host;
  float *theta = op->theta->host, *ddv = op->dd->host, *c = op->c->host;
  const int D = op->centres, C = op->channels;
  const float step = 1.0f / (float)D, rq = sqrtf(2.0f * RBPE_GRAPH_QCUT);
  for (size_t i = i0; i < i1; i++)
    for (uint32_t e = row[i]; e < row[i + 1] && e < op->nnz; e++) {
      size_t j = col[e] < op->n ? col[e] : i;
      uint32_t er = j == i ? UINT32_MAX : reverse_edge(row, col, op->nnz, i, j);
      if (j < i && er != UINT32_MAX) continue; /* row j wrote this slot */
      const float si = sig[i], sj = sig[j];
      const float ri = si * rq, rj = sj * rq;
      const float inv_i = 1.0f / (2.0f * si * si), inv_j = 1.0f / (2.0f * sj * sj);
      float d2 = 0.0f, ddi = 0.0f, ddj = 0.0f;
      for (int a = 0; a < op->ndir; a++) {
        float pi, pj;
        int t0, t1;
        rbpe_host_edge_window(dirs, x, op->ndim, a, i, j, ri, rj, D, &pi, &pj,
                              &t0, &t1);
        int tn = t0 + ((t1 - t0 + 1 + CPU_LANES - 1) / CPU_LANES) * CPU_LANES;
#pragma omp simd reduction(+ : d2, ddi, ddj)
        for (int t = t0; t < tn; t++) {
          float tc = ((float)t + 0.5f) * step;
          float di = pi - tc, dj = pj - tc;
          float qi = (di * di) * inv_i, qj = (dj * dj) * inv_j;
          float ei = exp_neg(-qi), ej = exp_neg(-qj);
          float diff = (ei - ej) * (t <= t1 ? 1.0f : 0.0f);
          d2 += diff * diff;
          ddi += diff * (ei * qi);
          ddj -= diff * (ej * qj);
        }
      }
      float th = expf(-d2 / (2.0f * op->eps * op->eps));
      theta[e] = th;
      ddv[e] = ddi * (4.0f / si);
      c[e] = rbpe_host_edge_c(y, C, i, j, op->gamma);
      if (er != UINT32_MAX) {
        theta[er] = th;
        ddv[er] = ddj * (4.0f / sj);
        c[er] = c[e];
      }
    }
}

typedef void (*edges_fn)(const rbpe_graph_op *, size_t, size_t);
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) static void
edges_b1_avx512(const rbpe_graph_op *op, size_t i0, size_t i1) {
  edges_b1_body(op, i0, i1);
}
__attribute__((target("avx2"))) static void
edges_b1_avx2(const rbpe_graph_op *op, size_t i0, size_t i1) {
  edges_b1_body(op, i0, i1);
}
#endif
static void edges_b1_base(const rbpe_graph_op *op, size_t i0, size_t i1) {
  edges_b1_body(op, i0, i1);
}

/* The instruction sets edges_b1 is built for, best first. */
static const struct cpu_isa {
  const char *name;
  edges_fn fn;
} cpu_isas[] = {
#if defined(__x86_64__) || defined(__i386__)
    {"avx512f", edges_b1_avx512},
    {"avx2", edges_b1_avx2},
#endif
    {"baseline", edges_b1_base},
};
#define CPU_ISA_COUNT (sizeof cpu_isas / sizeof cpu_isas[0])

static int isa_supported(const char *name) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!strcmp(name, "avx512f")) return __builtin_cpu_supports("avx512f");
  if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2");
#endif
  return !strcmp(name, "baseline");
}

typedef struct cpu_backend {
  rbpe_backend base;
  edges_fn edges_b1;
  band_fwd_fn band_fwd;
  band_wgrad_fn band_wgrad;
} cpu_backend;

static rbpe_status cpu_band_gemm(rbpe_backend *be, const rbpe_band *b,
                                 size_t rows, size_t n, const rbpe_buf *X,
                                 const rbpe_buf *W, rbpe_buf *out) {
  const cpu_backend *cb = (const cpu_backend *)be;
  band_ctx e = {b, NULL, rows, n, X->host, W->host, out->host, cb->band_fwd, NULL};
  parallel(rows, 16, band_fwd_range, &e);
  return RBPE_OK;
}

static rbpe_status cpu_band_wgrad(rbpe_backend *be, const rbpe_band *b,
                                  size_t rows, size_t n, const rbpe_buf *X,
                                  const rbpe_buf *G, rbpe_buf *dW) {
  const cpu_backend *cb = (const cpu_backend *)be;
  /* a stable counting sort of the rows by window start, per direction */
  const int nd = b->ndir, S = b->centres - b->width + 2;
  uint32_t *order = malloc((size_t)nd * rows * sizeof *order);
  uint32_t *off = calloc((size_t)nd * S, sizeof *off);
  if (!order || !off) {
    free(order);
    free(off);
    return rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY,
                        "cpu band wgrad: out of memory for %zu rows", rows);
  }
  const float *x = X->host;
  const size_t cols = rbpe_band_cols(b);
  for (int a = 0; a < nd; a++) {
    uint32_t *o = off + (size_t)a * S;
    for (size_t i = 0; i < rows; i++)
      o[rbpe_host_band_start(x[i * cols + a], b->centres, b->width) + 1]++;
    for (int s = 1; s < S; s++) o[s] += o[s - 1];
    uint32_t *pos = order + (size_t)a * rows;
    for (size_t i = 0; i < rows; i++)
      pos[o[rbpe_host_band_start(x[i * cols + a], b->centres, b->width)]++] =
          (uint32_t)i;
    /* the increments moved each slot to its end: shift back */
    for (int s = S - 1; s > 0; s--) o[s] = o[s - 1];
    o[0] = 0;
  }
  band_sort so = {order, off};
  band_ctx e = {b, &so, rows, n, X->host, G->host, dW->host, NULL, cb->band_wgrad};
  parallel((n + BAND_CHUNK - 1) / BAND_CHUNK, 1, band_wgrad_range, &e);
  free(order);
  free(off);
  return RBPE_OK;
}

typedef struct edges_ctx {
  const rbpe_graph_op *op;
  edges_fn b1;
} edges_ctx;

static void edges_range(size_t i0, size_t i1, const void *c) {
  const edges_ctx *e = c;
  if (e->op->order == 1.0f)
    e->b1(e->op, i0, i1);
  else
    rbpe_host_graph_edges(e->op, i0, i1);
}
static void degree_range(size_t i0, size_t i1, const void *c) {
  rbpe_host_graph_degree(c, i0, i1);
}
static void nodes_range(size_t i0, size_t i1, const void *c) {
  rbpe_host_graph_nodes(c, i0, i1);
}
static void grad_range(size_t i0, size_t i1, const void *c) {
  rbpe_host_graph_grad(c, i0, i1);
}

static rbpe_status cpu_graph_edges(rbpe_backend *be, const rbpe_graph_op *op) {
  edges_ctx e = {op, ((cpu_backend *)be)->edges_b1};
  parallel(op->n, 16, edges_range, &e);
  return RBPE_OK;
}
static rbpe_status cpu_graph_degree(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  parallel(op->n, CPU_GRAIN * 16, degree_range, op);
  return RBPE_OK;
}
static rbpe_status cpu_graph_nodes(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  parallel(op->n, CPU_GRAIN * 16, nodes_range, op);
  return RBPE_OK;
}
static rbpe_status cpu_graph_grad(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  parallel(op->n, CPU_GRAIN * 16, grad_range, op);
  return RBPE_OK;
}

static const rbpe_backend_ops cpu_ops = {
    .destroy = cpu_destroy,
    .buf_alloc = rbpe_host_alloc,
    .buf_free = rbpe_host_free,
    .buf_view = rbpe_host_view,
    .buf_write = rbpe_host_write,
    .buf_read = rbpe_host_read,
    .buf_fill = rbpe_host_fill,
    .finish = rbpe_host_finish,
    .embed_nerf = cpu_nerf,
    .embed_rff = cpu_rff,
    .embed_rbf = cpu_rbf,
    .embed_rbf_dsigma = cpu_rbf_dsigma,
    .gemm = cpu_gemm,
    .linear = rbpe_linear_unfused,
    .band_gemm = cpu_band_gemm,
    .band_gemm_wgrad = cpu_band_wgrad,
    .bias_act = cpu_bias_act,
    .act_grad = cpu_act_grad,
    .sq_diff_sum = cpu_sq_diff_sum,
    .adam = cpu_adam,
    .gather_rows = cpu_gather_rows,
    .sum = cpu_sum,
    .graph_edges = cpu_graph_edges,
    .graph_degree = cpu_graph_degree,
    .graph_nodes = cpu_graph_nodes,
    .graph_grad = cpu_graph_grad,
    .sigma_param = cpu_sigma_param,
};

rbpe_status rbpe_cpu_backend_create(rbpe_err *err, rbpe_backend **out) {
  *out = NULL;
  /* RBPE_CPU_ISA forces one build of the vectorised loops (tests run the
   * baseline on any processor); by default the best the processor runs */
  const char *want = getenv("RBPE_CPU_ISA");
  const struct cpu_isa *isa = NULL;
  if (want && *want) {
    for (size_t k = 0; k < CPU_ISA_COUNT; k++)
      if (!strcmp(want, cpu_isas[k].name)) isa = &cpu_isas[k];
    if (!isa) {
      char names[64] = "";
      for (size_t k = 0; k < CPU_ISA_COUNT; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 k ? ", " : "", cpu_isas[k].name);
      return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                          "RBPE_CPU_ISA=%.40s: expected one of %s", want,
                          names);
    }
    RBPE_FAIL_IF(!isa_supported(isa->name), err, RBPE_ERR_UNSUPPORTED,
                 "RBPE_CPU_ISA=%s: this processor does not run %s code",
                 isa->name, isa->name);
  } else {
    for (size_t k = 0; k < CPU_ISA_COUNT && !isa; k++)
      if (isa_supported(cpu_isas[k].name)) isa = &cpu_isas[k];
  }
  cpu_backend *cb = calloc(1, sizeof *cb);
  RBPE_FAIL_IF(!cb, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  cb->edges_b1 = isa->fn;
  cb->band_fwd = rbpe_host_band_gemm;
  cb->band_wgrad = band_wgrad_base;
#if defined(__x86_64__) || defined(__i386__)
  if (strcmp(isa->name, "baseline") && __builtin_cpu_supports("fma")) {
    cb->band_fwd = band_fwd_avx2;
    cb->band_wgrad = band_wgrad_avx2;
  }
#endif
  rbpe_backend *be = &cb->base;
  be->ops = &cpu_ops;
  be->err = err;
  be->kind = "cpu";
  be->max_alloc = (uint64_t)1 << 40;
  be->view_align = RBPE_HOST_VIEW_ALIGN;
  be->mem_total = rbpe_host_memory();
  be->band_pays = 1;
  snprintf(be->description, sizeof be->description,
           "cpu (%d OpenMP threads, OpenBLAS SGEMM, %s loops)",
           omp_get_max_threads(), isa->name);
  *out = be;
  return RBPE_OK;
}
