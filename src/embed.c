/* Positional embeddings (METHOD.md section 2): configuration, the host-side
 * constants (RFF matrix, RBF directions) and evaluation on the context's
 * device through the op table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rbpe_embedding {
  rbpe_embed_config cfg;
  int ndim;
  int ndir;      /* rbf: directions */
  size_t dim;    /* M */
  float *B;      /* rff: F x ndim */
  float *dirs;   /* rbf: ndir x (ndim + 1) */
};

void rbpe_embed_config_default(rbpe_embed_config *c, rbpe_embed_kind kind) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->nerf_freqs = 10;
  c->rff_features = 256;
  c->rff_scale = 10.0f;
  c->rbf_centres = 128;
  c->rbf_diagonals = 0;
  c->rbf_angles = 0;
  c->rbf_order = 1.0f;
  c->seed = 0;
}

void rbpe_embedding_free(rbpe_embedding *e) {
  if (!e) return;
  free(e->B);
  free(e->dirs);
  free(e);
}

size_t rbpe_embedding_dim(const rbpe_embedding *e) { return e->dim; }
int rbpe_embedding_directions(const rbpe_embedding *e) { return e->ndir; }
const float *rbpe_embedding_rbf_directions(const rbpe_embedding *e) {
  return e->dirs;
}
const float *rbpe_embedding_rff_matrix(const rbpe_embedding *e) { return e->B; }

/* The axes, then (with diagonals) for each axis pair a < b the two
 * diagonals (x_a + x_b) / 2 and (x_a - x_b + 1) / 2: every projection of a
 * coordinate in [0,1]^N stays in [0,1], where the centres t_j lie.
 * With angles A >= 2 and 2-D coordinates instead: direction k is the unit
 * vector u = (cos t, sin t), t = k pi / A, and its projection
 * (u.x - lo) / (|u_0| + |u_1|), lo the smallest u.x over the unit square,
 * maps the square onto [0,1] (A = 4 gives the axes and the diagonals). */
int rbpe_rbf_directions(int ndim, int diagonals, int angles, float *d) {
  int n = 0, w = ndim + 1;
  if (ndim == 2 && angles >= 2) {
    for (int k = 0; k < angles; k++) {
      double t = 3.14159265358979323846 * k / angles;
      double u[2] = {cos(t), sin(t)}, span = 0.0, lo = 0.0;
      for (int a = 0; a < 2; a++) {
        if (fabs(u[a]) < 1e-12) u[a] = 0.0; /* exact axes at 0 and 90 */
        span += fabs(u[a]);
        if (u[a] < 0.0) lo += u[a];
      }
      if (d) {
        d[k * w + 0] = (float)(u[0] / span);
        d[k * w + 1] = (float)(u[1] / span);
        d[k * w + 2] = (float)(-lo / span);
      }
    }
    return angles;
  }
  for (int a = 0; a < ndim; a++, n++) {
    if (d) {
      memset(d + n * w, 0, sizeof(float) * w);
      d[n * w + a] = 1.0f;
    }
  }
  if (diagonals)
    for (int a = 0; a < ndim; a++)
      for (int b = a + 1; b < ndim; b++)
        for (int sgn = 0; sgn < 2; sgn++, n++)
          if (d) {
            memset(d + n * w, 0, sizeof(float) * w);
            d[n * w + a] = 0.5f;
            d[n * w + b] = sgn ? -0.5f : 0.5f;
            d[n * w + ndim] = sgn ? 0.5f : 0.0f;
          }
  return n;
}

rbpe_status rbpe_embed_config_check(rbpe_err *err, const rbpe_embed_config *cfg) {
  switch (cfg->kind) {
  case RBPE_EMBED_NERF:
    RBPE_FAIL_IF(cfg->nerf_freqs < 1 || cfg->nerf_freqs > RBPE_MAX_NERF_FREQS,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "nerf: %d frequencies (must be 1..%d)", cfg->nerf_freqs,
                 RBPE_MAX_NERF_FREQS);
    return RBPE_OK;
  case RBPE_EMBED_RFF:
    RBPE_FAIL_IF(cfg->rff_features < 1 || cfg->rff_features > RBPE_MAX_FEATURES,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "rff: %d features (must be 1..%d)", cfg->rff_features,
                 RBPE_MAX_FEATURES);
    RBPE_FAIL_IF(!(cfg->rff_scale > 0.0f) || !isfinite(cfg->rff_scale), err,
                 RBPE_ERR_INVALID_ARGUMENT, "rff: scale %g (must be > 0)",
                 (double)cfg->rff_scale);
    return RBPE_OK;
  case RBPE_EMBED_RBF:
    RBPE_FAIL_IF(cfg->rbf_centres < 1 || cfg->rbf_centres > RBPE_MAX_FEATURES,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "rbf: %d centres (must be 1..%d)", cfg->rbf_centres,
                 RBPE_MAX_FEATURES);
    RBPE_FAIL_IF(!(cfg->rbf_order >= 1.0f && cfg->rbf_order <= 64.0f), err,
                 RBPE_ERR_INVALID_ARGUMENT,
                 "rbf: super-Gaussian order %g (must be in [1, 64])",
                 (double)cfg->rbf_order);
    RBPE_FAIL_IF(cfg->rbf_angles == 1 || cfg->rbf_angles < 0 ||
                     cfg->rbf_angles > RBPE_MAX_ANGLES,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "rbf: %d directions (must be 0 for the axes, or 2..%d)",
                 cfg->rbf_angles, RBPE_MAX_ANGLES);
    RBPE_FAIL_IF(cfg->rbf_angles > 0 && cfg->rbf_diagonals, err,
                 RBPE_ERR_INVALID_ARGUMENT,
                 "rbf: directions by angle and diagonals are exclusive "
                 "(4 angles are the axes and the diagonals)");
    RBPE_FAIL_IF(!isfinite(cfg->rbf_norm_ref), err, RBPE_ERR_INVALID_ARGUMENT,
                 "rbf: normalisation reference %g", (double)cfg->rbf_norm_ref);
    return RBPE_OK;
  }
  return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT, "unknown embedding %d",
                      (int)cfg->kind);
}

rbpe_status rbpe_embedding_create(rbpe_ctx *ctx, const rbpe_embed_config *cfg,
                                  int ndim, rbpe_embedding **out) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  *out = NULL;
  RBPE_FAIL_IF(ndim < 1 || ndim > RBPE_MAX_DIMS, err,
               RBPE_ERR_INVALID_ARGUMENT, "embedding of %d-D coordinates",
               ndim);
  RBPE_TRY(rbpe_embed_config_check(err, cfg));
  rbpe_embedding *e = calloc(1, sizeof *e);
  RBPE_FAIL_IF(!e, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  e->cfg = *cfg;
  e->ndim = ndim;
  rbpe_status st = RBPE_OK;
  if (cfg->kind == RBPE_EMBED_NERF) {
    e->dim = (size_t)2 * cfg->nerf_freqs * ndim;
  } else if (cfg->kind == RBPE_EMBED_RFF) {
    e->dim = (size_t)2 * cfg->rff_features;
    if (!(e->B = malloc(sizeof(float) * cfg->rff_features * ndim))) {
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
      rbpe_rng rng;
      rbpe_rng_seed(&rng, cfg->seed);
      for (int i = 0; i < cfg->rff_features * ndim; i++)
        e->B[i] = cfg->rff_scale * rbpe_rng_normal(&rng);
    }
  } else {
    e->ndir = rbpe_rbf_directions(ndim, cfg->rbf_diagonals, cfg->rbf_angles, NULL);
    e->dim = (size_t)e->ndir * cfg->rbf_centres;
    if (!(e->dirs = malloc(sizeof(float) * e->ndir * (ndim + 1))))
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    else
      rbpe_rbf_directions(ndim, cfg->rbf_diagonals, cfg->rbf_angles, e->dirs);
  }
  if (st != RBPE_OK) {
    rbpe_embedding_free(e);
    return st;
  }
  *out = e;
  return RBPE_OK;
}

rbpe_status rbpe_embedding_set_rff(rbpe_embedding *e, const float *B) {
  if (e->cfg.kind != RBPE_EMBED_RFF || !e->B) return RBPE_ERR_INVALID_ARGUMENT;
  memcpy(e->B, B, sizeof(float) * e->cfg.rff_features * e->ndim);
  return RBPE_OK;
}

int rbpe_embedding_ndim(const rbpe_embedding *e) { return e->ndim; }
void rbpe_embedding_set_norm_ref(rbpe_embedding *e, float ref) {
  e->cfg.rbf_norm_ref = ref;
}
const rbpe_embed_config *rbpe_embedding_config(const rbpe_embedding *e) {
  return &e->cfg;
}

int rbpe_embedding_band(const rbpe_backend *be, const rbpe_embedding *e,
                        float sigma_max, int want, rbpe_band *band) {
  memset(band, 0, sizeof *band);
  if (want == 0 || e->cfg.kind != RBPE_EMBED_RBF || !(sigma_max > 0.0f) ||
      !isfinite(sigma_max))
    return 0;
  rbpe_band b = {e->ndir, e->cfg.rbf_centres,
                 rbpe_band_width(e->cfg.rbf_centres, e->cfg.rbf_order, sigma_max)};
  if (b.width >= b.centres) return 0;
  if (want < 0 && (!be->band_pays || 2 * b.width > b.centres)) return 0;
  *band = b;
  return b.width;
}

rbpe_status rbpe_embedding_run(rbpe_backend *be, const rbpe_embedding *e,
                               size_t n, const rbpe_buf *x,
                               const rbpe_buf *sigma, rbpe_buf *out,
                               int deriv) {
  return rbpe_embedding_run_band(be, e, n, x, sigma, out, deriv, 0);
}

rbpe_status rbpe_embedding_run_band(rbpe_backend *be, const rbpe_embedding *e,
                                    size_t n, const rbpe_buf *x,
                                    const rbpe_buf *sigma, rbpe_buf *out,
                                    int deriv, int band) {
  if (n == 0) return RBPE_OK;
  RBPE_FAIL_IF(band && (e->cfg.kind != RBPE_EMBED_RBF || deriv), be->err,
               RBPE_ERR_INTERNAL, "a banded embedding other than rbf's values");
  rbpe_buf *aux = NULL;
  rbpe_status st = RBPE_OK;
  switch (e->cfg.kind) {
  case RBPE_EMBED_NERF:
    st = rbpe_op_embed_nerf(be, n, e->ndim, e->cfg.nerf_freqs, x, out);
    break;
  case RBPE_EMBED_RFF:
    st = rbpe_buf_from_host(be, e->B, (size_t)e->cfg.rff_features * e->ndim,
                            &aux);
    if (st == RBPE_OK)
      st = rbpe_op_embed_rff(be, n, e->ndim, e->cfg.rff_features, x, aux, out);
    break;
  case RBPE_EMBED_RBF:
    st = rbpe_buf_from_host(be, e->dirs, (size_t)e->ndir * (e->ndim + 1), &aux);
    if (st == RBPE_OK) {
      rbpe_rbf_op op = {n,     e->ndim, e->ndir, e->cfg.rbf_centres,
                        e->cfg.rbf_order, x, sigma, aux, out,
                        e->cfg.rbf_norm_ref, band,
                        band ? rbpe_band_reach(e->cfg.rbf_order) : 0.0f};
      st = deriv ? rbpe_op_embed_rbf_dsigma(be, &op) : rbpe_op_embed_rbf(be, &op);
    }
    break;
  }
  rbpe_buf_free(be, aux);
  return st;
}

/* Uploads inputs, runs the op, downloads the result. */
static rbpe_status run(rbpe_ctx *ctx, const rbpe_embedding *e, size_t n,
                       const float *coords, const float *sigma, float *out,
                       int deriv) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  RBPE_FAIL_IF(!e || (n && (!coords || !out)), err, RBPE_ERR_INVALID_ARGUMENT,
               "embedding: NULL argument");
  RBPE_FAIL_IF(deriv && e->cfg.kind != RBPE_EMBED_RBF, err,
               RBPE_ERR_INVALID_ARGUMENT,
               "the sigma derivative exists only for the rbf embedding");
  int rbf = e->cfg.kind == RBPE_EMBED_RBF;
  RBPE_FAIL_IF(rbf && n && !sigma, err, RBPE_ERR_INVALID_ARGUMENT,
               "rbf embedding needs one sigma per coordinate");
  for (size_t i = 0; i < n * e->ndim; i++)
    RBPE_FAIL_IF(!isfinite(coords[i]), err, RBPE_ERR_NUMERIC,
                 "coordinate %zu is not finite", i / e->ndim);
  if (rbf)
    for (size_t i = 0; i < n; i++)
      RBPE_FAIL_IF(!(sigma[i] > 0.0f) || !isfinite(sigma[i]), err,
                   RBPE_ERR_INVALID_ARGUMENT,
                   "sigma[%zu] = %g (must be finite and > 0)", i,
                   (double)sigma[i]);
  size_t total;
  RBPE_FAIL_IF(!rbpe_mul_ok(n, e->dim, &total) ||
                   !rbpe_mul_ok(total, sizeof(float), &total),
               err, RBPE_ERR_TOO_LARGE, "embedding of %zu x %zu values", n,
               e->dim);
  if (n == 0) return RBPE_OK;

  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  rbpe_buf *x = NULL, *s = NULL, *o = NULL;
  rbpe_status st = rbpe_buf_from_host(be, coords, n * e->ndim, &x);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, total, &o);
  if (st == RBPE_OK && rbf) st = rbpe_buf_from_host(be, sigma, n, &s);
  if (st == RBPE_OK) st = rbpe_embedding_run(be, e, n, x, s, o, deriv);
  if (st == RBPE_OK) st = rbpe_buf_read(be, o, 0, total, out);
  rbpe_buf_free(be, x);
  rbpe_buf_free(be, s);
  rbpe_buf_free(be, o);
  return st;
}

rbpe_status rbpe_embedding_forward(rbpe_ctx *ctx, const rbpe_embedding *e,
                                   size_t n, const float *coords,
                                   const float *sigma, float *out) {
  return run(ctx, e, n, coords, sigma, out, 0);
}

rbpe_status rbpe_embedding_dsigma(rbpe_ctx *ctx, const rbpe_embedding *e,
                                  size_t n, const float *coords,
                                  const float *sigma, float *out) {
  return run(ctx, e, n, coords, sigma, out, 1);
}
