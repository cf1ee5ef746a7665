/* Checked wrappers around the op table: shapes and buffer sizes are
 * validated here once, so no backend can be asked to read or write past a
 * buffer, whatever the caller passes. */
#include "backend.h"

#include <limits.h>

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

rbpe_status rbpe_buf_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out) {
  *out = NULL;
  RBPE_FAIL_IF(bytes % sizeof(float), be->err, RBPE_ERR_INTERNAL,
               "buffer of %zu bytes is not a whole number of floats", bytes);
  RBPE_FAIL_IF(bytes > be->max_alloc, be->err, RBPE_ERR_DEVICE_MEMORY,
               "a buffer of %zu bytes exceeds the device's largest allocation "
               "(%llu bytes) on %s",
               bytes, (unsigned long long)be->max_alloc, be->description);
  return be->ops->buf_alloc(be, bytes, out);
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
  if (be && buf) be->ops->buf_free(be, buf);
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
  RBPE_TRY(grid(be, op->n, (size_t)op->ndir * op->centres, &total, name));
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
  RBPE_TRY(check_rbf(be, op, "rbf dsigma"));
  return op->n ? be->ops->embed_rbf_dsigma(be, op) : RBPE_OK;
}
