/* The fit configuration: its defaults and the one check of it
 * (rbpe_fit_config_check), which every stage after it relies on. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "field.h"
#include "sigma.h"

void rbpe_fit_config_default(rbpe_fit_config *c) {
  memset(c, 0, sizeof *c);
  rbpe_embed_config_default(&c->embed, RBPE_EMBED_RBF);
  /* the learned sigma, normalised (docs/RESULTS.md: at parity with or
   * above a uniform sigma chosen on a validation part, with no tuning and
   * a range that follows the sampling density); --sigma uniform:S is the
   * one-flag alternative, and 0.04 its value when asked for without a
   * learned map */
  c->sigma_mode = RBPE_SIGMA_GRAPH;
  c->embed.rbf_norm_ref = -1.0f;
  /* 2-D: 8 directions 22.5 degrees apart, so every first-layer unit mixes
   * the coordinates as RFF's features do (docs/RESULTS.md: +0.2 to +0.5 dB
   * over the axes for the learned and the uniform sigma alike); 1-D
   * signals keep their axis */
  c->embed.rbf_angles = 8;
  c->sigma = 0.04f;
  c->split = "regular:2";
  c->hidden_layers = 3;
  c->width = 256;
  c->out_act = RBPE_ACT_AUTO;
  c->steps = 1000;
  c->lr = 1e-3f;
  c->batch = 0;
  c->seed = 0;
  c->log_every = 25;
  c->curve_heldout = 4096;
  /* learned sigma's solve and carry (docs/RESULTS.md) */
  c->sigma_at = RBPE_SIGMA_AT_SMOOTH;
  rbpe_sigma_config *g = &c->sig;
  g->k = 8;
  g->eps = 0.5f;
  g->gamma = 0.01f;
  g->lambda_n = 0.0f;
  g->smin = 0.5f; /* times the (local) training spacing */
  g->smax = 2.0f;
  g->relative = RBPE_RANGE_LOCAL;
  g->iterations = 200;
  g->lr = 0.1f;
  g->tol = 1e-3f;
  g->check_every = 10;
  g->poly_degree = 2;
  g->poly_subset = 20;
  g->poly_subsets = 64;
  g->poly_from_sparse = 0;
  g->smooth_width = 2.5f;
  rbpe_field_config *fd = &c->field;
  fd->cells = 0;
  fd->holdout = 0.1f;
  fd->lr = 0.05f;
  fd->every = 10;
  fd->from = 0.2f;
  fd->until = 0.8f;
  fd->range = 2.0f;
  fd->zero_mean = 0;
}

static rbpe_status check_training(rbpe_err *err, const rbpe_fit_config *c) {
  RBPE_FAIL_IF(c->hidden_layers < 0 || c->hidden_layers > RBPE_MAX_HIDDEN, err,
               RBPE_ERR_INVALID_ARGUMENT, "%d hidden layers (must be 0..%d)",
               c->hidden_layers, RBPE_MAX_HIDDEN);
  RBPE_FAIL_IF(c->width < 1 || c->width > RBPE_MAX_WIDTH, err,
               RBPE_ERR_INVALID_ARGUMENT, "width %d (must be 1..%d)", c->width,
               RBPE_MAX_WIDTH);
  RBPE_FAIL_IF(c->steps < 1, err, RBPE_ERR_INVALID_ARGUMENT,
               "%d steps (must be >= 1)", c->steps);
  RBPE_FAIL_IF(!(c->lr > 0.0f) || !isfinite(c->lr), err,
               RBPE_ERR_INVALID_ARGUMENT, "learning rate %g (must be > 0)",
               (double)c->lr);
  RBPE_FAIL_IF((unsigned)c->out_act > RBPE_ACT_AUTO, err,
               RBPE_ERR_INVALID_ARGUMENT, "unknown output activation");
  RBPE_FAIL_IF(c->log_every < 1, err, RBPE_ERR_INVALID_ARGUMENT,
               "log_every %d (must be >= 1)", c->log_every);
  RBPE_FAIL_IF((unsigned)c->sigma_mode > RBPE_SIGMA_POLY ||
                   (unsigned)c->sigma_at > RBPE_SIGMA_AT_POLY,
               err, RBPE_ERR_INVALID_ARGUMENT, "unknown sigma mode");
  RBPE_FAIL_IF(c->sigma_mode != RBPE_SIGMA_UNIFORM &&
                   c->embed.kind != RBPE_EMBED_RBF,
               err, RBPE_ERR_INVALID_ARGUMENT,
               "learned sigma needs the rbf embedding");
  RBPE_FAIL_IF(c->embed.kind == RBPE_EMBED_RBF &&
                   (!(c->sigma > 0.0f) || !isfinite(c->sigma)),
               err, RBPE_ERR_INVALID_ARGUMENT, "sigma %g (must be > 0)",
               (double)c->sigma);
  RBPE_FAIL_IF(c->field.cells && c->embed.kind != RBPE_EMBED_RBF, err,
               RBPE_ERR_INVALID_ARGUMENT, "a sigma field needs the rbf embedding");
  return RBPE_OK;
}

rbpe_status rbpe_fit_config_check(rbpe_ctx *ctx, const rbpe_fit_config *cfg,
                                  const rbpe_signal *sig) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  RBPE_FAIL_IF(!cfg, err, RBPE_ERR_INVALID_ARGUMENT, "fit: no configuration");
  RBPE_TRY(check_training(err, cfg));
  RBPE_TRY(rbpe_embed_config_check(err, &cfg->embed));
  RBPE_TRY(rbpe_field_check_config(err, &cfg->field));
  int learned = cfg->embed.kind == RBPE_EMBED_RBF &&
                cfg->sigma_mode != RBPE_SIGMA_UNIFORM;
  /* without a signal the solve's settings alone, k against no count */
  if (!sig && learned) RBPE_TRY(rbpe_sigma_check_config(err, &cfg->sig, SIZE_MAX));
  if (!sig) return RBPE_OK;
  RBPE_FAIL_IF(sig->ndim < 1 || sig->ndim > RBPE_MAX_DIMS, err,
               RBPE_ERR_INVALID_ARGUMENT, "a %d-D signal", sig->ndim);
  size_t ntrain, ntest;
  RBPE_TRY(rbpe_split_counts(err, sig, cfg->split ? cfg->split : "regular:2",
                             &ntrain, &ntest));
  if (learned) RBPE_TRY(rbpe_sigma_check_config(err, &cfg->sig, ntrain));
  if (cfg->field.cells > 0) {
    size_t nv = (size_t)llround((double)cfg->field.holdout * (double)ntrain);
    RBPE_FAIL_IF(nv < 1 || nv >= ntrain, err, RBPE_ERR_INVALID_ARGUMENT,
                 "a sigma field holding back %g of %zu training samples has "
                 "%s",
                 (double)cfg->field.holdout, ntrain,
                 nv < 1 ? "none to learn from" : "none to train on");
  }
  return RBPE_OK;
}
