/* The reference backend: plain, single-threaded C loops written to be read
 * and trusted. Every other backend is checked against this one, so the
 * arithmetic here follows METHOD.md literally, in float32, in the same
 * operation order as the OpenCL kernels in cl/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

#define PI_F 3.14159265358979323846f

static rbpe_status ref_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out) {
  rbpe_buf *b = calloc(1, sizeof *b);
  /* calloc(0) may return NULL; a 0-byte buffer still needs an address */
  void *mem = calloc(bytes ? bytes : 1, 1);
  if (!b || !mem) {
    free(b);
    free(mem);
    return rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY,
                        "ref: cannot allocate %zu bytes", bytes);
  }
  b->bytes = bytes;
  b->host = mem;
  *out = b;
  return RBPE_OK;
}

static void ref_free(rbpe_backend *be, rbpe_buf *b) {
  (void)be;
  free(b->host);
  free(b);
}

static rbpe_status ref_write(rbpe_backend *be, rbpe_buf *b, size_t off,
                             size_t bytes, const void *src) {
  (void)be;
  memcpy((char *)b->host + off, src, bytes);
  return RBPE_OK;
}

static rbpe_status ref_read(rbpe_backend *be, const rbpe_buf *b, size_t off,
                            size_t bytes, void *dst) {
  (void)be;
  memcpy(dst, (const char *)b->host + off, bytes);
  return RBPE_OK;
}

static rbpe_status ref_fill(rbpe_backend *be, rbpe_buf *b, size_t off,
                            size_t count, float v) {
  (void)be;
  float *p = (float *)((char *)b->host + off);
  for (size_t i = 0; i < count; i++) p[i] = v;
  return RBPE_OK;
}

static rbpe_status ref_finish(rbpe_backend *be) {
  (void)be;
  return RBPE_OK;
}

static void ref_destroy(rbpe_backend *be) { free(be); }

/* METHOD.md 2.1: per axis, p = 2x - 1, (sin(2^l pi p), cos(2^l pi p)). */
static rbpe_status ref_nerf(rbpe_backend *be, size_t n, int ndim, int L,
                            const rbpe_buf *xb, rbpe_buf *ob) {
  (void)be;
  const float *x = xb->host;
  float *out = ob->host;
  size_t M = (size_t)2 * L * ndim;
  for (size_t i = 0; i < n; i++)
    for (int a = 0; a < ndim; a++) {
      float p = 2.0f * x[i * ndim + a] - 1.0f;
      for (int l = 0; l < L; l++) {
        float arg = (float)(1u << l) * PI_F * p;
        float *o = out + i * M + (size_t)a * 2 * L + 2 * l;
        o[0] = sinf(arg);
        o[1] = cosf(arg);
      }
    }
  return RBPE_OK;
}

/* METHOD.md 2.2: [sin(2 pi B x), cos(2 pi B x)], B is F x N. */
static rbpe_status ref_rff(rbpe_backend *be, size_t n, int ndim, int F,
                           const rbpe_buf *xb, const rbpe_buf *Bb,
                           rbpe_buf *ob) {
  (void)be;
  const float *x = xb->host, *B = Bb->host;
  float *out = ob->host;
  for (size_t i = 0; i < n; i++)
    for (int f = 0; f < F; f++) {
      float v = 0.0f;
      for (int a = 0; a < ndim; a++) v += B[f * ndim + a] * x[i * ndim + a];
      float arg = (2.0f * PI_F) * v;
      out[i * 2 * F + f] = sinf(arg);
      out[i * 2 * F + F + f] = cosf(arg);
    }
  return RBPE_OK;
}

/* METHOD.md 2.3: phi = exp(-q^b), q = (x.alpha_a + offset_a - t_j)^2 /
 * (2 sigma^2); its derivative in sigma is phi * 2 b q^b / sigma, because
 * dq/dsigma = -2q/sigma. */
static void rbf_rows(const rbpe_rbf_op *op, int deriv) {
  const float *x = op->x->host, *sig = op->sigma->host, *dirs = op->dirs->host;
  float *out = op->out->host;
  const int N = op->ndim, D = op->centres;
  const size_t M = (size_t)op->ndir * D;
  for (size_t i = 0; i < op->n; i++) {
    float s = sig[i];
    for (int a = 0; a < op->ndir; a++) {
      const float *al = dirs + (size_t)a * (N + 1);
      float p = al[N];
      for (int k = 0; k < N; k++) p += al[k] * x[i * N + k];
      for (int j = 0; j < D; j++) {
        float t = ((float)j + 0.5f) / (float)D;
        float d = p - t;
        float q = (d * d) / (2.0f * s * s);
        float qb = op->order == 1.0f ? q : powf(q, op->order);
        float e = expf(-qb);
        out[i * M + (size_t)a * D + j] =
            deriv ? e * (2.0f * op->order * qb) / s : e;
      }
    }
  }
}

static rbpe_status ref_rbf(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  rbf_rows(op, 0);
  return RBPE_OK;
}

static rbpe_status ref_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  rbf_rows(op, 1);
  return RBPE_OK;
}

static const rbpe_backend_ops ref_ops = {
    .destroy = ref_destroy,
    .buf_alloc = ref_alloc,
    .buf_free = ref_free,
    .buf_write = ref_write,
    .buf_read = ref_read,
    .buf_fill = ref_fill,
    .finish = ref_finish,
    .embed_nerf = ref_nerf,
    .embed_rff = ref_rff,
    .embed_rbf = ref_rbf,
    .embed_rbf_dsigma = ref_rbf_dsigma,
};

rbpe_status rbpe_ref_backend_create(rbpe_err *err, rbpe_backend **out) {
  rbpe_backend *be = calloc(1, sizeof *be);
  RBPE_FAIL_IF(!be, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  be->ops = &ref_ops;
  be->err = err;
  be->kind = "ref";
  be->max_alloc = (uint64_t)1 << 40; /* the host's malloc decides */
  strcpy(be->description, "ref (reference C, single-threaded)");
  *out = be;
  return RBPE_OK;
}
