/* Checked wrappers around the op table: shapes and buffer sizes are
 * validated here once, so no backend can be asked to read or write past a
 * buffer, whatever the caller passes. */
#include "backend.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <math.h>

static rbpe_status need(rbpe_backend *be, const rbpe_buf *b, size_t count,
                        const char *op, const char *what) {
  size_t bytes;
  RBPE_FAIL_IF(!b, be->err, RBPE_ERR_INVALID_ARGUMENT, "%s: %s buffer is NULL",
               op, what);
  RBPE_FAIL_IF(!rbpe_mul_ok(count, sizeof(float), &bytes) || bytes > b->bytes,
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "%s: %s buffer holds %zu floats, needs %zu", op, what,
               b->bytes / sizeof(float), count);
  return RBPE_OK;
}

/* n x m elements, each index must fit the 32-bit work-item arithmetic the
 * kernels use. */
static rbpe_status grid(rbpe_backend *be, size_t n, size_t m, size_t *total,
                        const char *op) {
  size_t coords;
  RBPE_FAIL_IF(!rbpe_mul_ok(n, m, total) || *total > UINT_MAX ||
                   !rbpe_mul_ok(n, RBPE_MAX_DIMS + 1, &coords) ||
                   coords > UINT_MAX,
               be->err,
               RBPE_ERR_TOO_LARGE, "%s: %zu x %zu elements exceed 2^32", op, n,
               m);
  return RBPE_OK;
}

uint64_t rbpe_backend_budget(const rbpe_backend *be, const char **what,
                             uint64_t *bound) {
  uint64_t cap = be->mem_total ? be->mem_total : UINT64_MAX;
  *what = "the device's memory";
  if (be->mem_limit && be->mem_limit < cap) {
    cap = be->mem_limit;
    *what = "the memory limit";
  }
  *bound = cap;
  return cap > be->mem_used ? cap - be->mem_used : 0;
}

/* The op table's slots, required first (every backend fills them), then
 * the optional hooks in rbpe_hook order. */
#define SLOT(name) {#name, offsetof(rbpe_backend_ops, name)}
static const struct {
  const char *name;
  size_t offset;
} slots[] = {
    SLOT(destroy), SLOT(buf_alloc), SLOT(buf_free), SLOT(buf_view),
    SLOT(buf_write), SLOT(buf_read), SLOT(buf_fill), SLOT(finish),
    SLOT(embed_nerf), SLOT(embed_rff), SLOT(embed_rbf),
    SLOT(embed_rbf_dsigma), SLOT(gemm), SLOT(linear), SLOT(band_gemm),
    SLOT(band_gemm_wgrad), SLOT(bias_act), SLOT(act_grad),
    SLOT(sq_diff_sum), SLOT(adam), SLOT(gather_rows), SLOT(sum),
    SLOT(graph_edges), SLOT(graph_degree), SLOT(graph_nodes),
    SLOT(graph_grad), SLOT(sigma_param),
    /* optional */
    SLOT(tune_gemm), SLOT(alt_gemm_route), SLOT(gemm_path)};
#define SLOTS ((int)(sizeof slots / sizeof slots[0]))
#define REQUIRED (SLOTS - RBPE_HOOK_COUNT)

static int slot_filled(const rbpe_backend_ops *ops, int i) {
  void (*fn)(void);
  memcpy(&fn, (const char *)ops + slots[i].offset, sizeof fn);
  return fn != NULL;
}

rbpe_status rbpe_backend_ops_check(const rbpe_backend_ops *ops, const char *kind,
                                   rbpe_err *err) {
  for (int i = 0; i < REQUIRED; i++)
    RBPE_FAIL_IF(!slot_filled(ops, i), err, RBPE_ERR_INTERNAL,
                 "the %s backend leaves the required op '%s' empty", kind,
                 slots[i].name);
  return RBPE_OK;
}

int rbpe_backend_supports(const rbpe_backend *be, rbpe_hook hook) {
  int i = REQUIRED + (int)hook;
  return i >= REQUIRED && i < SLOTS && slot_filled(be->ops, i);
}

int rbpe_backend_fits(const rbpe_backend *be, uint64_t need, uint64_t largest) {
  const char *what;
  uint64_t bound;
  return need <= rbpe_backend_budget(be, &what, &bound) &&
         largest <= be->max_alloc;
}

rbpe_status rbpe_backend_reserve(rbpe_backend *be, uint64_t need,
                                 uint64_t largest, const char *task) {
  const char *what;
  uint64_t bound;
  int over = need > rbpe_backend_budget(be, &what, &bound);
  if (!over && largest <= be->max_alloc) return RBPE_OK;
  char b1[32], b2[32];
  return rbpe_err_set(be->err, RBPE_ERR_DEVICE_MEMORY,
                      "%s needs %s on %s, above %s (%s)", task,
                      rbpe_fmt_bytes(need, b1), be->description,
                      over ? what : "the largest buffer it allows",
                      rbpe_fmt_bytes(over ? bound : be->max_alloc, b2));
}

const char *rbpe_fmt_bytes(uint64_t bytes, char buf[32]) {
  if (bytes >= (1ull << 30))
    snprintf(buf, 32, "%.1f GiB", (double)bytes / (1ull << 30));
  else if (bytes >= (1ull << 20))
    snprintf(buf, 32, "%.1f MiB", (double)bytes / (1ull << 20));
  else if (bytes >= (1ull << 10))
    snprintf(buf, 32, "%.1f KiB", (double)bytes / (1ull << 10));
  else
    snprintf(buf, 32, "%llu bytes", (unsigned long long)bytes);
  return buf;
}

uint64_t rbpe_host_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

rbpe_status rbpe_buf_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out) {
  *out = NULL;
  RBPE_FAIL_IF(bytes % sizeof(float), be->err, RBPE_ERR_INTERNAL,
               "buffer of %zu bytes is not a whole number of floats", bytes);
  RBPE_FAIL_IF(bytes > be->max_alloc, be->err, RBPE_ERR_DEVICE_MEMORY,
               "a buffer of %zu bytes exceeds the device's largest allocation "
               "(%llu bytes) on %s",
               bytes, (unsigned long long)be->max_alloc, be->description);
  RBPE_FAIL_IF(be->mem_limit && bytes > be->mem_limit - be->mem_used &&
                   be->mem_used <= be->mem_limit,
               be->err, RBPE_ERR_DEVICE_MEMORY,
               "a buffer of %zu bytes would exceed the memory limit of %llu "
               "bytes (%llu in use)",
               bytes, (unsigned long long)be->mem_limit,
               (unsigned long long)be->mem_used);
  RBPE_TRY(be->ops->buf_alloc(be, bytes, out));
  be->mem_used += bytes;
  if (be->mem_used > be->mem_peak) be->mem_peak = be->mem_used;
  return RBPE_OK;
}

rbpe_status rbpe_buf_from_host(rbpe_backend *be, const float *src, size_t count,
                               rbpe_buf **out) {
  size_t bytes;
  RBPE_FAIL_IF(!rbpe_mul_ok(count, sizeof(float), &bytes), be->err,
               RBPE_ERR_TOO_LARGE, "buffer of %zu floats is too large", count);
  RBPE_TRY(rbpe_buf_alloc(be, bytes, out));
  if (bytes == 0) return RBPE_OK;
  rbpe_status st = be->ops->buf_write(be, *out, 0, bytes, src);
  if (st != RBPE_OK) {
    be->ops->buf_free(be, *out);
    *out = NULL;
  }
  return st;
}

void rbpe_buf_free(rbpe_backend *be, rbpe_buf *buf) {
  if (!be || !buf) return;
  if (!buf->view) be->mem_used -= buf->bytes;
  be->ops->buf_free(be, buf);
}

rbpe_status rbpe_buf_view(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                          size_t bytes, rbpe_buf **out) {
  *out = NULL;
  RBPE_FAIL_IF(!parent || parent->view || offset > parent->bytes ||
                   bytes > parent->bytes - offset || bytes % sizeof(float) ||
                   bytes == 0 || offset % be->view_align,
               be->err, RBPE_ERR_INTERNAL,
               "view of bytes [%zu, %zu) of a %zu-byte buffer (alignment %llu)",
               offset, offset + bytes, parent ? parent->bytes : 0,
               (unsigned long long)be->view_align);
  RBPE_TRY(be->ops->buf_view(be, parent, offset, bytes, out));
  (*out)->view = 1;
  return RBPE_OK;
}

static rbpe_status range(rbpe_backend *be, const rbpe_buf *buf, size_t offset,
                         size_t bytes, const char *what) {
  RBPE_FAIL_IF(!buf, be->err, RBPE_ERR_INVALID_ARGUMENT, "%s: NULL buffer",
               what);
  RBPE_FAIL_IF(offset > buf->bytes || bytes > buf->bytes - offset, be->err,
               RBPE_ERR_INVALID_ARGUMENT,
               "%s: bytes [%zu, %zu) outside a buffer of %zu bytes", what,
               offset, offset + bytes, buf->bytes);
  return RBPE_OK;
}

rbpe_status rbpe_buf_write(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                           size_t bytes, const void *src) {
  RBPE_TRY(range(be, buf, offset, bytes, "buffer write"));
  if (bytes == 0) return RBPE_OK;
  return be->ops->buf_write(be, buf, offset, bytes, src);
}

rbpe_status rbpe_buf_read(rbpe_backend *be, const rbpe_buf *buf, size_t offset,
                          size_t bytes, void *dst) {
  RBPE_TRY(range(be, buf, offset, bytes, "buffer read"));
  if (bytes == 0) return RBPE_OK;
  return be->ops->buf_read(be, buf, offset, bytes, dst);
}

rbpe_status rbpe_buf_fill(rbpe_backend *be, rbpe_buf *buf, size_t offset,
                          size_t count, float value) {
  size_t bytes;
  RBPE_FAIL_IF(!rbpe_mul_ok(count, sizeof(float), &bytes), be->err,
               RBPE_ERR_TOO_LARGE, "buffer fill of %zu floats", count);
  RBPE_TRY(range(be, buf, offset, bytes, "buffer fill"));
  RBPE_FAIL_IF(offset % sizeof(float), be->err, RBPE_ERR_INTERNAL,
               "buffer fill at unaligned offset %zu", offset);
  if (count == 0) return RBPE_OK;
  return be->ops->buf_fill(be, buf, offset, count, value);
}

rbpe_status rbpe_backend_finish(rbpe_backend *be) { return be->ops->finish(be); }

rbpe_status rbpe_op_embed_nerf(rbpe_backend *be, size_t n, int ndim, int freqs,
                               const rbpe_buf *x, rbpe_buf *out) {
  size_t total = 0;
  RBPE_FAIL_IF(ndim < 1 || ndim > RBPE_MAX_DIMS, be->err,
               RBPE_ERR_INVALID_ARGUMENT, "nerf: %d coordinate axes", ndim);
  RBPE_FAIL_IF(freqs < 1 || freqs > RBPE_MAX_NERF_FREQS, be->err,
               RBPE_ERR_INVALID_ARGUMENT,
               "nerf: %d frequencies (must be 1..%d)", freqs,
               RBPE_MAX_NERF_FREQS);
  RBPE_TRY(grid(be, n, (size_t)2 * freqs * ndim, &total, "nerf"));
  RBPE_TRY(need(be, x, n * ndim, "nerf", "coordinate"));
  RBPE_TRY(need(be, out, total, "nerf", "output"));
  if (n == 0) return RBPE_OK;
  return be->ops->embed_nerf(be, n, ndim, freqs, x, out);
}

rbpe_status rbpe_op_embed_rff(rbpe_backend *be, size_t n, int ndim,
                              int features, const rbpe_buf *x,
                              const rbpe_buf *B, rbpe_buf *out) {
  size_t total = 0;
  RBPE_FAIL_IF(ndim < 1 || ndim > RBPE_MAX_DIMS, be->err,
               RBPE_ERR_INVALID_ARGUMENT, "rff: %d coordinate axes", ndim);
  RBPE_FAIL_IF(features < 1, be->err, RBPE_ERR_INVALID_ARGUMENT,
               "rff: %d features", features);
  RBPE_TRY(grid(be, n, (size_t)2 * features, &total, "rff"));
  RBPE_TRY(need(be, x, n * ndim, "rff", "coordinate"));
  RBPE_TRY(need(be, B, (size_t)features * ndim, "rff", "B matrix"));
  RBPE_TRY(need(be, out, total, "rff", "output"));
  if (n == 0) return RBPE_OK;
  return be->ops->embed_rff(be, n, ndim, features, x, B, out);
}

static rbpe_status check_rbf(rbpe_backend *be, const rbpe_rbf_op *op,
                             const char *name) {
  size_t total = 0;
  RBPE_FAIL_IF(op->ndim < 1 || op->ndim > RBPE_MAX_DIMS, be->err,
               RBPE_ERR_INVALID_ARGUMENT, "%s: %d coordinate axes", name,
               op->ndim);
  RBPE_FAIL_IF(op->ndir < 1 || op->centres < 1, be->err,
               RBPE_ERR_INVALID_ARGUMENT, "%s: %d directions, %d centres",
               name, op->ndir, op->centres);
  RBPE_FAIL_IF(!(op->order >= 1.0f) || op->order > 64.0f, be->err,
               RBPE_ERR_INVALID_ARGUMENT,
               "%s: super-Gaussian order %g (must be in [1, 64])", name,
               (double)op->order);
  RBPE_FAIL_IF(!(op->norm_ref >= 0.0f) || !isfinite(op->norm_ref), be->err,
               RBPE_ERR_INVALID_ARGUMENT,
               "%s: normalisation reference %g (must be finite and >= 0)", name,
               (double)op->norm_ref);
  RBPE_FAIL_IF(op->band < 0 || op->band > op->centres ||
                   (op->band && (!(op->reach > 0.0f) || !isfinite(op->reach))),
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "%s: a band of %d of %d centres, reach %g", name, op->band,
               op->centres, (double)op->reach);
  size_t cols = op->band ? (size_t)op->ndir * ((size_t)op->band + 1)
                         : (size_t)op->ndir * op->centres;
  RBPE_TRY(grid(be, op->n, cols, &total, name));
  RBPE_TRY(need(be, op->x, op->n * op->ndim, name, "coordinate"));
  RBPE_TRY(need(be, op->sigma, op->n, name, "sigma"));
  RBPE_TRY(need(be, op->dirs, (size_t)op->ndir * (op->ndim + 1), name,
                "direction"));
  RBPE_TRY(need(be, op->out, total, name, "output"));
  return RBPE_OK;
}

rbpe_status rbpe_op_embed_rbf(rbpe_backend *be, const rbpe_rbf_op *op) {
  RBPE_TRY(check_rbf(be, op, "rbf"));
  return op->n ? be->ops->embed_rbf(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_embed_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op) {
  RBPE_FAIL_IF(op->band, be->err, RBPE_ERR_INVALID_ARGUMENT,
               "rbf dsigma: no banded form");
  RBPE_TRY(check_rbf(be, op, "rbf dsigma"));
  return op->n ? be->ops->embed_rbf_dsigma(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_linear(rbpe_backend *be, size_t rows, size_t fin,
                           size_t fout, const rbpe_buf *X, const rbpe_buf *W,
                           const rbpe_buf *bias, rbpe_act act, rbpe_buf *out) {
  size_t total;
  RBPE_FAIL_IF(fout < 1 || (unsigned)act > RBPE_ACT_SIGMOID, be->err,
               RBPE_ERR_INVALID_ARGUMENT, "linear: %zu outputs, activation %d",
               fout, (int)act);
  RBPE_TRY(grid(be, rows, fin > fout ? fin : fout, &total, "linear"));
  RBPE_TRY(grid(be, fin, fout, &total, "linear"));
  RBPE_TRY(need(be, X, rows * fin, "linear", "input"));
  RBPE_TRY(need(be, W, fin * fout, "linear", "weight"));
  RBPE_TRY(need(be, bias, fout, "linear", "bias"));
  RBPE_TRY(need(be, out, rows * fout, "linear", "output"));
  return rows ? be->ops->linear(be, rows, fin, fout, X, W, bias, act, out) : RBPE_OK;
}

rbpe_status rbpe_linear_unfused(rbpe_backend *be, size_t rows, size_t fin,
                                size_t fout, const rbpe_buf *X,
                                const rbpe_buf *W, const rbpe_buf *bias,
                                rbpe_act act, rbpe_buf *out) {
  RBPE_TRY(be->ops->gemm(be, 0, 0, rows, fout, fin, 1.0f, X, fin, W, fout,
                         0.0f, out, fout));
  return be->ops->bias_act(be, rows, fout, bias, act, out);
}

/* ---- the banded first layer --------------------------------------------- */

size_t rbpe_band_cols(const rbpe_band *b) {
  return (size_t)b->ndir * ((size_t)b->width + 1);
}

float rbpe_band_reach(float order) {
  return sqrtf(2.0f * powf(RBPE_BAND_QCUT, 1.0f / order));
}

int rbpe_band_width(int centres, float order, float sigma_max) {
  double w = floor(2.0 * (double)rbpe_band_reach(order) * (double)sigma_max *
                   (double)centres) + 2.0;
  return !(w < (double)centres) ? centres : (int)w;
}

static rbpe_status check_band(rbpe_backend *be, const rbpe_band *b,
                              size_t rows, size_t n, const rbpe_buf *X,
                              const rbpe_buf *W, const char *op,
                              const char *wname) {
  size_t total, wcount;
  RBPE_FAIL_IF(!b || b->ndir < 1 || b->centres < 1 || b->width < 1 ||
                   b->width > b->centres,
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "%s: a band of %d of %d centres in %d directions", op,
               b ? b->width : 0, b ? b->centres : 0, b ? b->ndir : 0);
  RBPE_FAIL_IF(n < 1, be->err, RBPE_ERR_INVALID_ARGUMENT, "%s: %zu columns",
               op, n);
  RBPE_TRY(grid(be, rows, rbpe_band_cols(b) > n ? rbpe_band_cols(b) : n,
                &total, op));
  RBPE_TRY(grid(be, (size_t)b->ndir * b->centres, n, &wcount, op));
  RBPE_TRY(need(be, X, rows * rbpe_band_cols(b), op, "banded input"));
  RBPE_TRY(need(be, W, wcount, op, wname));
  return RBPE_OK;
}

rbpe_status rbpe_op_band_gemm(rbpe_backend *be, const rbpe_band *band,
                              size_t rows, size_t n, const rbpe_buf *X,
                              const rbpe_buf *W, rbpe_buf *out) {
  RBPE_TRY(check_band(be, band, rows, n, X, W, "band gemm", "weight"));
  RBPE_TRY(need(be, out, rows * n, "band gemm", "output"));
  return rows ? be->ops->band_gemm(be, band, rows, n, X, W, out) : RBPE_OK;
}

rbpe_status rbpe_op_band_gemm_wgrad(rbpe_backend *be, const rbpe_band *band,
                                    size_t rows, size_t n, const rbpe_buf *X,
                                    const rbpe_buf *G, rbpe_buf *dW) {
  RBPE_TRY(check_band(be, band, rows, n, X, dW, "band wgrad", "gradient"));
  RBPE_TRY(need(be, G, rows * n, "band wgrad", "delta"));
  if (rows == 0)
    return rbpe_buf_fill(be, dW, 0, (size_t)band->ndir * band->centres * n, 0.0f);
  return be->ops->band_gemm_wgrad(be, band, rows, n, X, G, dW);
}

/* ---- MLP ops ------------------------------------------------------------ */

rbpe_status rbpe_op_gemm(rbpe_backend *be, int ta, int tb, size_t m, size_t n,
                         size_t k, float alpha, const rbpe_buf *A, size_t lda,
                         const rbpe_buf *B, size_t ldb, float beta,
                         rbpe_buf *C, size_t ldc) {
  /* row-major: op(A) is m x k, stored rows x cols = ta ? k x m : m x k */
  size_t arows = ta ? k : m, acols = ta ? m : k;
  size_t brows = tb ? n : k, bcols = tb ? k : n;
  RBPE_FAIL_IF(lda < acols || ldb < bcols || ldc < n || lda == 0 || ldb == 0 ||
                   ldc == 0,
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "gemm: leading dimensions %zu/%zu/%zu too small for "
               "m=%zu n=%zu k=%zu",
               lda, ldb, ldc, m, n, k);
  size_t total = 0;
  RBPE_TRY(grid(be, m, n, &total, "gemm"));
  if (m == 0 || n == 0) return RBPE_OK;
  if (arows) RBPE_TRY(need(be, A, (arows - 1) * lda + acols, "gemm", "A"));
  if (brows) RBPE_TRY(need(be, B, (brows - 1) * ldb + bcols, "gemm", "B"));
  RBPE_TRY(need(be, C, (m - 1) * ldc + n, "gemm", "C"));
  return be->ops->gemm(be, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C,
                       ldc);
}

static rbpe_status check_act(rbpe_backend *be, rbpe_act act) {
  RBPE_FAIL_IF(act != RBPE_ACT_NONE && act != RBPE_ACT_RELU &&
                   act != RBPE_ACT_SIGMOID,
               be->err, RBPE_ERR_INVALID_ARGUMENT, "unknown activation %d",
               (int)act);
  return RBPE_OK;
}

rbpe_status rbpe_op_bias_act(rbpe_backend *be, size_t rows, size_t cols,
                             const rbpe_buf *bias, rbpe_act act, rbpe_buf *x) {
  size_t total = 0;
  RBPE_TRY(check_act(be, act));
  RBPE_TRY(grid(be, rows, cols, &total, "bias_act"));
  RBPE_TRY(need(be, bias, cols, "bias_act", "bias"));
  RBPE_TRY(need(be, x, total, "bias_act", "x"));
  return total ? be->ops->bias_act(be, rows, cols, bias, act, x) : RBPE_OK;
}

rbpe_status rbpe_op_act_grad(rbpe_backend *be, size_t rows, size_t cols,
                             rbpe_act act, const rbpe_buf *y,
                             const rbpe_buf *target, float scale,
                             rbpe_buf *grad, rbpe_buf *db) {
  size_t total = 0;
  RBPE_TRY(check_act(be, act));
  RBPE_TRY(grid(be, rows, cols, &total, "act_grad"));
  RBPE_TRY(need(be, y, total, "act_grad", "y"));
  if (target) RBPE_TRY(need(be, target, total, "act_grad", "target"));
  RBPE_TRY(need(be, grad, total, "act_grad", "grad"));
  RBPE_TRY(need(be, db, cols, "act_grad", "db"));
  if (cols == 0) return RBPE_OK;
  if (rows == 0) return rbpe_buf_fill(be, db, 0, cols, 0.0f);
  return be->ops->act_grad(be, rows, cols, act, y, target, scale, grad, db);
}

rbpe_status rbpe_op_sq_diff_sum(rbpe_backend *be, size_t count,
                                const rbpe_buf *a, const rbpe_buf *b,
                                rbpe_buf *out) {
  size_t total = 0;
  RBPE_TRY(grid(be, count, 1, &total, "sq_diff_sum"));
  RBPE_TRY(need(be, a, count, "sq_diff_sum", "a"));
  RBPE_TRY(need(be, b, count, "sq_diff_sum", "b"));
  RBPE_TRY(need(be, out, 1, "sq_diff_sum", "out"));
  if (count == 0) return rbpe_buf_fill(be, out, 0, 1, 0.0f);
  return be->ops->sq_diff_sum(be, count, a, b, out);
}

rbpe_status rbpe_op_adam(rbpe_backend *be, size_t count,
                         const rbpe_adam_step *s, rbpe_buf *param,
                         const rbpe_buf *grad, rbpe_buf *m, rbpe_buf *v) {
  size_t total = 0;
  RBPE_TRY(grid(be, count, 1, &total, "adam"));
  RBPE_FAIL_IF(!(s->c1 > 0.0f && s->c2 > 0.0f && s->eps > 0.0f), be->err,
               RBPE_ERR_INVALID_ARGUMENT, "adam: bad step constants");
  RBPE_TRY(need(be, param, count, "adam", "param"));
  RBPE_TRY(need(be, grad, count, "adam", "grad"));
  RBPE_TRY(need(be, m, count, "adam", "m"));
  RBPE_TRY(need(be, v, count, "adam", "v"));
  return count ? be->ops->adam(be, count, s, param, grad, m, v) : RBPE_OK;
}

rbpe_status rbpe_op_gather_rows(rbpe_backend *be, size_t rows, size_t cols,
                                const rbpe_buf *src, const rbpe_buf *idx,
                                size_t offset, rbpe_buf *dst) {
  size_t total = 0;
  RBPE_TRY(grid(be, rows, cols, &total, "gather_rows"));
  RBPE_TRY(need(be, idx, offset + rows, "gather_rows", "index"));
  RBPE_TRY(need(be, dst, total, "gather_rows", "dst"));
  RBPE_FAIL_IF(!src || cols == 0 || src->bytes / sizeof(float) / cols == 0,
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "gather_rows: empty source");
  /* index values are checked by the backends against the source's rows */
  return total ? be->ops->gather_rows(be, rows, cols, src, idx, offset, dst)
               : RBPE_OK;
}

/* ---- graph ops ------------------------------------------------------------ */

rbpe_status rbpe_op_sum(rbpe_backend *be, size_t count, const rbpe_buf *a,
                        rbpe_buf *out) {
  size_t total = 0;
  RBPE_TRY(grid(be, count, 1, &total, "sum"));
  RBPE_TRY(need(be, a, count, "sum", "a"));
  RBPE_TRY(need(be, out, 1, "sum", "out"));
  if (count == 0) return rbpe_buf_fill(be, out, 0, 1, 0.0f);
  return be->ops->sum(be, count, a, out);
}

/* Shapes and buffers of a graph pass; `pass` 0..3 checks what it uses. The
 * CSR contents (row offsets, column indices) are validated on the host
 * when the graph is built (knn.c); kernels also bound every index. */
static rbpe_status check_graph(rbpe_backend *be, const rbpe_graph_op *op,
                               int pass, const char *name) {
  size_t total = 0;
  RBPE_FAIL_IF(op->ndim < 1 || op->ndim > RBPE_MAX_DIMS || op->ndir < 1 ||
                   op->centres < 1 || op->channels < 1 || op->channels > 4,
               be->err, RBPE_ERR_INVALID_ARGUMENT, "%s: bad shape", name);
  RBPE_FAIL_IF(!(op->eps > 0.0f) || !(op->order >= 1.0f) ||
                   !(op->lambda_n >= 0.0f) || !isfinite(op->gamma),
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "%s: eps %g, order %g, lambda_n %g, gamma %g", name,
               (double)op->eps, (double)op->order, (double)op->lambda_n,
               (double)op->gamma);
  RBPE_TRY(grid(be, op->n, (size_t)op->ndir * op->centres, &total, name));
  RBPE_TRY(grid(be, op->nnz, 1, &total, name));
  RBPE_TRY(need(be, op->row, op->n + 1, name, "row"));
  RBPE_TRY(need(be, op->col, op->nnz, name, "col"));
  RBPE_TRY(need(be, op->theta, op->nnz, name, "theta"));
  RBPE_TRY(need(be, op->c, op->nnz, name, "c"));
  if (pass == 0) {
    RBPE_TRY(need(be, op->x, op->n * op->ndim, name, "x"));
    RBPE_TRY(need(be, op->sigma, op->n, name, "sigma"));
    RBPE_TRY(need(be, op->y, op->n * op->channels, name, "y"));
    RBPE_TRY(need(be, op->dirs, (size_t)op->ndir * (op->ndim + 1), name, "dirs"));
    RBPE_TRY(need(be, op->dd, op->nnz, name, "dd"));
  }
  if (pass >= 1) RBPE_TRY(need(be, op->rho, op->n, name, "rho"));
  if (pass >= 2) {
    RBPE_TRY(need(be, op->jpart, op->n, name, "jpart"));
    RBPE_TRY(need(be, op->g, op->n, name, "g"));
  }
  if (pass == 3) {
    RBPE_TRY(need(be, op->dd, op->nnz, name, "dd"));
    RBPE_TRY(need(be, op->scale, op->n, name, "scale"));
    RBPE_TRY(need(be, op->grad, op->n, name, "grad"));
  }
  return RBPE_OK;
}

rbpe_status rbpe_op_graph_edges(rbpe_backend *be, const rbpe_graph_op *op) {
  RBPE_TRY(check_graph(be, op, 0, "graph_edges"));
  return op->nnz ? be->ops->graph_edges(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_graph_degree(rbpe_backend *be, const rbpe_graph_op *op) {
  RBPE_TRY(check_graph(be, op, 1, "graph_degree"));
  return op->n ? be->ops->graph_degree(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_graph_nodes(rbpe_backend *be, const rbpe_graph_op *op) {
  RBPE_TRY(check_graph(be, op, 2, "graph_nodes"));
  return op->n ? be->ops->graph_nodes(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_graph_grad(rbpe_backend *be, const rbpe_graph_op *op) {
  RBPE_TRY(check_graph(be, op, 3, "graph_grad"));
  return op->n ? be->ops->graph_grad(be, op) : RBPE_OK;
}

rbpe_status rbpe_op_sigma_param(rbpe_backend *be, size_t count, float smin,
                                float smax, const rbpe_buf *s,
                                const rbpe_buf *local, rbpe_buf *sigma,
                                rbpe_buf *dsig) {
  size_t total = 0;
  RBPE_FAIL_IF(!(smin > 0.0f && smax > smin) || !isfinite(smax), be->err,
               RBPE_ERR_INVALID_ARGUMENT, "sigma range [%g, %g]", (double)smin,
               (double)smax);
  RBPE_TRY(grid(be, count, 1, &total, "sigma_param"));
  RBPE_TRY(need(be, s, count, "sigma_param", "s"));
  RBPE_TRY(need(be, local, count, "sigma_param", "local"));
  RBPE_TRY(need(be, sigma, count, "sigma_param", "sigma"));
  RBPE_TRY(need(be, dsig, count, "sigma_param", "dsig"));
  return count ? be->ops->sigma_param(be, count, smin, smax, s, local, sigma,
                                      dsig)
               : RBPE_OK;
}
