/* The fit pipeline: split, embed the training coordinates once on the
 * device, train the MLP with Adam (all state resident; a loss value is
 * read every log_every steps), then evaluate the model on the whole grid
 * (METHOD.md sections 1, 2, 6). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "field.h"
#include "model.h"
#include "sigma.h"

void rbpe_fit_report_clear(rbpe_fit_report *r) {
  if (!r) return;
  free(r->curve_step);
  free(r->curve_loss);
  free(r->curve_heldout);
  rbpe_signal_free(r->reconstruction);
  rbpe_signal_free(r->sigma_map);
  rbpe_split_free(r->split);
  memset(r, 0, sizeof *r);
}

/* A seeded permutation of 0..n-1 (Fisher-Yates). */
static void shuffle(uint32_t *p, size_t n, rbpe_rng *rng) {
  for (size_t i = 0; i < n; i++) p[i] = (uint32_t)i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)rbpe_rng_below(rng, i);
    uint32_t t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
  }
}

/* Streams derived from the one seed, so changing e.g. the batch size does
 * not change the initial weights. */
#define SEED_WEIGHTS 0x77e16b75u
#define SEED_SHUFFLE 0x5bf03635u
#define SEED_HOLDBACK 0x3c6ef372u

/* One fit in progress: what the stages hand on, one way. */
typedef struct fit_state {
  rbpe_ctx *ctx;
  rbpe_err *err;
  rbpe_backend *be;
  const rbpe_signal *sig;
  const rbpe_fit_config *cfg;
  rbpe_model *m;       /* built up stage by stage */
  rbpe_fit_report *rep;
  size_t L, M, C;      /* training samples, embedded width, channels */
  rbpe_band band;      /* width > 0: rows of X are banded (rbpe_band) */
  size_t Mx;           /* floats in a row of X: M, or the band's */
  size_t batch, cap;   /* rows per step; loss-curve points */
  rbpe_mlp_shape shape;
  rbpe_buf *x, *dsig, *X, *Y, *perm, *Xb, *Yb;
  rbpe_buf *xb, *sb; /* a batch's coordinates and sigmas (on the fly) */
  int on_the_fly;    /* embed each mini-batch instead of keeping X */
  size_t pos, shuffled; /* the epoch's next row; rows its order covers */
  rbpe_mlp_trainer *tr;
  float *coords, *sigma, *targets;
  uint32_t *order;
  /* the sigma field: rows LT..L-1 are held back while it learns */
  rbpe_field *field;
  rbpe_field_eval fe;
  float *base;       /* L: sigma before the field */
  size_t LT;         /* rows the MLP trains on while the field learns */
  int field_from, field_until; /* steps */
  /* the held-out curve's samples: embedded (H x M) and their targets */
  rbpe_buf *Xh, *Yh;
  size_t H;
} fit_state;

static void fit_state_free(fit_state *f) {
  rbpe_buf_free(f->be, f->x);
  rbpe_buf_free(f->be, f->dsig);
  rbpe_buf_free(f->be, f->X);
  rbpe_buf_free(f->be, f->Y);
  rbpe_buf_free(f->be, f->perm);
  rbpe_buf_free(f->be, f->Xb);
  rbpe_buf_free(f->be, f->Yb);
  rbpe_buf_free(f->be, f->xb);
  rbpe_buf_free(f->be, f->sb);
  rbpe_buf_free(f->be, f->Xh);
  rbpe_buf_free(f->be, f->Yh);
  rbpe_mlp_trainer_free(f->tr);
  rbpe_field_eval_free(&f->fe);
  rbpe_field_free(f->field);
  free(f->base);
  free(f->coords);
  free(f->sigma);
  free(f->targets);
  free(f->order);
}

/* The report's statistics of a sigma map (S samples) over the grid and at
 * the training samples (train, L indices). */
static void sigma_stats(rbpe_fit_report *rep, const float *map, size_t S,
                        const size_t *train, size_t L) {
  double a = INFINITY, b = -INFINITY, s = 0;
  for (size_t i = 0; i < S; i++) {
    a = fmin(a, map[i]);
    b = fmax(b, map[i]);
    s += map[i];
  }
  rep->sigma_min = a;
  rep->sigma_max = b;
  rep->sigma_mean = S ? s / (double)S : NAN;
  a = INFINITY, b = -INFINITY, s = 0;
  for (size_t i = 0; i < L; i++) {
    a = fmin(a, map[train[i]]);
    b = fmax(b, map[train[i]]);
    s += map[train[i]];
  }
  rep->sigma_train_min = a;
  rep->sigma_train_max = b;
  rep->sigma_train_mean = L ? s / (double)L : NAN;
}

static void curve_add(rbpe_fit_report *r, size_t cap, int step, float loss,
                      float heldout) {
  if ((size_t)r->curve_len >= cap) return;
  r->curve_step[r->curve_len] = step;
  r->curve_loss[r->curve_len] = loss;
  if (r->curve_heldout) r->curve_heldout[r->curve_len] = heldout;
  r->curve_len++;
}

/* Device memory for training, decided before anything is allocated: the
 * embedded training set X (L x M) is kept on the device when it fits;
 * otherwise mini-batch training embeds each batch on the fly (the same
 * floats, so the same model), and full-batch training is refused with the
 * sizes and a batch size that fits. */
static rbpe_status plan_memory(rbpe_backend *be, rbpe_err *err, size_t L,
                               size_t M, int ndim, size_t C,
                               const rbpe_mlp_shape *shape, size_t batch,
                               int rbf, int *on_the_fly) {
  const char *what;
  uint64_t bound, largest;
  uint64_t budget = rbpe_backend_budget(be, &what, &bound);
  uint64_t tr = rbpe_mlp_trainer_bytes(shape, batch, &largest);
  uint64_t per_row = (uint64_t)ndim + (rbf ? 1 : 0) + C; /* x, sigma, Y */
  uint64_t base = 4 * per_row * L + tr;
  int mini = batch < L;
  if (mini) base += 4 * ((uint64_t)L + (uint64_t)batch * (M + C));
  uint64_t X = 4 * (uint64_t)L * M;
  char b1[32], b2[32], b3[32], hint[64];
  *on_the_fly = 0;
  if (rbpe_backend_fits(be, base + X, X > largest ? X : largest)) return RBPE_OK;
  if (mini) {
    uint64_t fly = base + 4 * (uint64_t)batch * (ndim + 1);
    uint64_t Xb = 4 * (uint64_t)batch * M;
    if (rbpe_backend_fits(be, fly, Xb > largest ? Xb : largest)) {
      *on_the_fly = 1;
      return RBPE_OK;
    }
    return rbpe_err_set(err, RBPE_ERR_DEVICE_MEMORY,
                        "training in batches of %zu needs %s on %s, above %s "
                        "(%s): use a smaller batch",
                        batch, rbpe_fmt_bytes(fly, b1), be->description, what,
                        rbpe_fmt_bytes(bound, b2));
  }
  /* full batch: suggest the largest power-of-two batch that fits */
  size_t fits = 0;
  for (size_t b = 1; b < L; b *= 2) {
    uint64_t big, t = rbpe_mlp_trainer_bytes(shape, b, &big);
    uint64_t need = 4 * per_row * L + t +
                    4 * ((uint64_t)L + (uint64_t)b * (M + C + ndim + 1));
    uint64_t Xb = 4 * (uint64_t)b * M;
    if (!rbpe_backend_fits(be, need, Xb > big ? Xb : big)) break;
    fits = b;
  }
  if (X > be->max_alloc && base + X <= budget)
    return rbpe_err_set(err, RBPE_ERR_DEVICE_MEMORY,
                        "the embedded training set (%zu x %zu floats, %s) is "
                        "larger than the largest buffer %s allows (%s): "
                        "train in batches (%zu fits)",
                        L, M, rbpe_fmt_bytes(X, b1), be->description,
                        rbpe_fmt_bytes(be->max_alloc, b2), fits);
  return rbpe_err_set(err, RBPE_ERR_DEVICE_MEMORY,
                      "full-batch training on %zu samples needs %s on %s (the "
                      "embedded training set alone is %s), above %s (%s): %s",
                      L, rbpe_fmt_bytes(base + X, b1), be->description,
                      rbpe_fmt_bytes(X, b3), what, rbpe_fmt_bytes(bound, b2),
                      fits ? (snprintf(hint, sizeof hint,
                                       "train in batches (%zu fits)", fits),
                              hint)
                           : "not even a batch of one fits");
}

/* The sigma field's held-back part: a seeded round(holdout L) of the
 * training rows, moved after the others (rows LT..L-1, each part in split
 * order) in the host arrays; base keeps every row's sigma before the
 * field. Updates run from field_from to field_until (steps). */
static rbpe_status field_prepare(fit_state *f) {
  rbpe_err *err = f->err;
  const rbpe_fit_config *cfg = f->cfg;
  const rbpe_field_config *fc = &cfg->field;
  size_t L = f->L, C = f->C;
  int N = f->sig->ndim;
  /* 1 <= nv < L: rbpe_fit_config_check */
  size_t nv = (size_t)llround((double)fc->holdout * (double)L);
  uint32_t *p = malloc(L * sizeof *p);
  unsigned char *held = calloc(L, 1);
  float *tmp = malloc(L * (N > (int)C ? (size_t)N : C) * sizeof(float));
  f->base = malloc(L * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!p || !held || !tmp || !f->base)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) {
    rbpe_rng rng;
    rbpe_rng_seed(&rng, cfg->seed ^ SEED_HOLDBACK);
    shuffle(p, L, &rng);
    for (size_t k = 0; k < nv; k++) held[p[k]] = 1;
    size_t o = 0; /* the new order: kept rows, then held-back rows */
    for (int pass = 0; pass < 2; pass++)
      for (size_t i = 0; i < L; i++)
        if (held[i] == pass) p[o++] = (uint32_t)i;
    float *arr[3] = {f->coords, f->sigma, f->targets};
    size_t width[3] = {(size_t)N, 1, C};
    for (int a = 0; a < 3; a++) {
      for (size_t i = 0; i < L; i++)
        memcpy(tmp + i * width[a], arr[a] + (size_t)p[i] * width[a],
               width[a] * sizeof(float));
      memcpy(arr[a], tmp, L * width[a] * sizeof(float));
    }
    memcpy(f->base, f->sigma, L * sizeof(float));
    f->LT = L - nv;
    int steps = cfg->steps;
    f->field_from = (int)lround((double)fc->from * steps);
    if (f->field_from < 1) f->field_from = 1;
    f->field_until = (int)lround((double)fc->until * steps);
    st = rbpe_field_create(err, N, fc->cells, &f->field);
  }
  if (st == RBPE_OK)
    st = rbpe_field_eval_init(&f->fe, f->be, f->m->emb, N, nv, f->batch, C,
                              f->coords + f->LT * N, f->base + f->LT,
                              f->targets + f->LT * C);
  free(p);
  free(held);
  free(tmp);
  return st;
}

/* One update of the field on the held-back rows, then every row's sigma
 * (and the kept embedded training set) under the new field. */
static rbpe_status field_update(fit_state *f) {
  rbpe_fit_report *rep = f->rep;
  size_t L = f->L;
  double mse;
  RBPE_TRY(rbpe_field_update(&f->fe, f->field, f->tr, &f->cfg->field, &mse));
  if (rep->field_updates == 0) rep->field_mse_first = mse;
  rep->field_mse_last = mse;
  rep->field_updates++;
  rbpe_field_apply(f->field, L, f->coords, f->base, f->sigma);
  RBPE_TRY(rbpe_buf_write(f->be, f->dsig, 0, L * sizeof(float), f->sigma));
  if (!f->on_the_fly)
    RBPE_TRY(rbpe_embedding_run(f->be, f->m->emb, L, f->x, f->dsig, f->X, 0));
  return RBPE_OK;
}

/* The learned field carried into the model's sigma map (so rendering and
 * evaluation see the sigma training saw), and the report's statistics. */
static rbpe_status field_finish(fit_state *f) {
  enum { CHUNK = 16384 };
  rbpe_ctx *ctx = f->ctx;
  const rbpe_field *field = f->field;
  rbpe_model *m = f->m;
  const rbpe_signal *sig = f->sig;
  rbpe_fit_report *rep = f->rep;
  int N = sig->ndim;
  size_t *idx = malloc(CHUNK * sizeof *idx);
  float *xy = malloc((size_t)CHUNK * N * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!idx || !xy) st = rbpe_err_set(&ctx->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  double lo = INFINITY, hi = -INFINITY;
  for (size_t s0 = 0; st == RBPE_OK && s0 < sig->samples; s0 += CHUNK) {
    size_t n = sig->samples - s0 < CHUNK ? sig->samples - s0 : CHUNK;
    for (size_t i = 0; i < n; i++) idx[i] = s0 + i;
    st = rbpe_signal_coords(ctx, sig, idx, n, xy);
    if (st != RBPE_OK) break;
    float *map = m->sigma_map + s0;
    for (size_t i = 0; i < n; i++) {
      float fac = (float)exp(rbpe_field_at(field, xy + i * N));
      lo = fmin(lo, fac);
      hi = fmax(hi, fac);
    }
    rbpe_field_apply(field, n, xy, map, map);
  }
  free(idx);
  free(xy);
  if (st != RBPE_OK) return st;
  rep->field_factor_min = lo;
  rep->field_factor_max = hi;
  sigma_stats(rep, m->sigma_map, sig->samples, rbpe_split_train(rep->split), f->L);
  return RBPE_OK;
}

/* The held-out curve's samples: every (n_test / H)-th test sample,
 * embedded once with the sigma the model gives it. Only for a kept
 * embedded set (a device short of memory gets no curve rather than a
 * failed fit) and at most a batch, so the trainer's forward pass takes it. */
static rbpe_status heldout_prepare(fit_state *f) {
  const rbpe_model *m = f->m;
  const rbpe_signal *sig = f->sig;
  rbpe_fit_report *rep = f->rep;
  size_t nt = rep->n_test, C = f->C;
  size_t H = f->cfg->curve_heldout < nt ? f->cfg->curve_heldout : nt;
  if (H > f->batch) H = f->batch;
  if (H == 0 || f->on_the_fly) return RBPE_OK;
  rbpe_err *err = f->err;
  const size_t *test = rbpe_split_test(rep->split);
  size_t *idx = malloc(H * sizeof(size_t));
  float *xy = malloc(H * (size_t)sig->ndim * sizeof(float));
  float *sg = malloc(H * sizeof(float));
  float *ty = malloc(H * C * sizeof(float));
  rep->curve_heldout = malloc(f->cap * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!idx || !xy || !sg || !ty || !rep->curve_heldout)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) {
    for (size_t i = 0; i < H; i++) idx[i] = test[(i * nt) / H];
    for (size_t i = 0; i < H; i++)
      memcpy(ty + i * C, sig->data + idx[i] * C, C * sizeof(float));
    st = rbpe_signal_coords(f->ctx, sig, idx, H, xy);
  }
  if (st == RBPE_OK) rbpe_model_sigma(m, H, xy, sg);
  rbpe_buf *x = NULL, *s = NULL;
  if (st == RBPE_OK) st = rbpe_buf_from_host(f->be, xy, H * sig->ndim, &x);
  if (st == RBPE_OK && m->cfg.embed.kind == RBPE_EMBED_RBF)
    st = rbpe_buf_from_host(f->be, sg, H, &s);
  if (st == RBPE_OK) st = rbpe_buf_alloc(f->be, H * f->Mx * sizeof(float), &f->Xh);
  if (st == RBPE_OK)
    st = rbpe_embedding_run_band(f->be, m->emb, H, x, s, f->Xh, 0, f->band.width);
  if (st == RBPE_OK) st = rbpe_buf_from_host(f->be, ty, H * C, &f->Yh);
  rbpe_buf_free(f->be, x);
  rbpe_buf_free(f->be, s);
  free(idx);
  free(xy);
  free(sg);
  free(ty);
  if (st == RBPE_OK) {
    f->H = H;
    rep->curve_heldout_n = H;
  }
  return st;
}

/* Stage 1: the model's identity (what it is fitted to, with what). */
static rbpe_status model_begin(fit_state *f, double peak) {
  const rbpe_signal *sig = f->sig;
  const rbpe_fit_config *cfg = f->cfg;
  rbpe_model *m = f->m = calloc(1, sizeof *f->m);
  RBPE_FAIL_IF(!m, f->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  m->cfg = *cfg;
  snprintf(m->split, sizeof m->split, "%s", cfg->split ? cfg->split : "regular:2");
  m->cfg.split = m->split;
  m->cfg.progress = NULL;
  m->cfg.progress_user = NULL;
  m->cfg.cancel = NULL;
  m->cfg.embed.seed = cfg->embed.kind == RBPE_EMBED_RFF ? cfg->seed : 0;
  /* directions by angle are a 2-D setting: other signals keep the axes,
   * and the model says what it used */
  if (rbpe_signal_ndim(sig) != 2) m->cfg.embed.rbf_angles = 0;
  /* a local range scales the graph solve's range at its training samples:
   * the polynomial (as the mode or the carry) has no such samples and
   * keeps the relative range, and the model says so */
  if (m->cfg.sig.relative == RBPE_RANGE_LOCAL &&
      (cfg->sigma_mode != RBPE_SIGMA_GRAPH || cfg->sigma_at == RBPE_SIGMA_AT_POLY))
    m->cfg.sig.relative = RBPE_RANGE_REL;
  /* rbpe_fit resolves auto and maps the values first */
  f->rep->psnr_peak = peak;
  m->out_scale = 1.0f;
  m->out_offset = 0.0f;
  m->ndim = sig->ndim;
  m->channels = sig->channels;
  m->sample_rate = sig->ndim == 1 ? sig->sample_rate : 0;
  for (int a = 0; a < sig->ndim; a++) m->dims[a] = sig->dims[a];
  f->C = (size_t)sig->channels;
  /* loss-curve points: step 1, every log_every-th step and the last */
  f->cap = (size_t)cfg->steps / (size_t)cfg->log_every + 3;
  return RBPE_OK;
}

/* Stage 2: the split, the embedding, and what training will keep on the
 * device, decided (or refused) before the sigma solve and before any
 * device allocation. */
static rbpe_status stage_split(fit_state *f) {
  rbpe_fit_report *rep = f->rep;
  rbpe_model *m = f->m;
  const rbpe_signal *sig = f->sig;
  RBPE_TRY(rbpe_split_create(f->ctx, sig, m->split, f->cfg->seed, &rep->split));
  RBPE_TRY(rbpe_embedding_create(f->ctx, &m->cfg.embed, sig->ndim, &m->emb));
  size_t L = f->L = rbpe_split_train_count(rep->split);
  f->M = rbpe_embedding_dim(m->emb);
  rep->n_train = L;
  rep->n_test = rbpe_split_test_count(rep->split);
  rep->embed_dim = f->M;
  f->coords = malloc(L * sig->ndim * sizeof(float));
  f->sigma = malloc(L * sizeof(float));
  f->targets = malloc(L * f->C * sizeof(float));
  rep->curve_step = malloc(f->cap * sizeof(int));
  rep->curve_loss = malloc(f->cap * sizeof(float));
  RBPE_FAIL_IF(!f->coords || !f->sigma || !f->targets || !rep->curve_step ||
                   !rep->curve_loss,
               f->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  f->batch = f->cfg->batch && f->cfg->batch < L ? f->cfg->batch : L;
  rbpe_model_shape(&m->cfg, f->M, m->channels, &f->shape);
  RBPE_TRY(plan_memory(f->be, f->err, L, f->M, sig->ndim, f->C, &f->shape,
                       f->batch, f->cfg->embed.kind == RBPE_EMBED_RBF,
                       &f->on_the_fly));
  rep->embed_on_the_fly = f->on_the_fly;
  return RBPE_OK;
}

/* Stage 3: sigma over the whole grid, before anything else takes device
 * memory: learned (with its range, kept in the model), or uniform when a
 * field will learn on it; nothing for a uniform sigma alone. */
static rbpe_status stage_sigma(fit_state *f) {
  const rbpe_fit_config *cfg = f->cfg;
  rbpe_model *m = f->m;
  size_t S = f->sig->samples;
  if (cfg->embed.kind != RBPE_EMBED_RBF ||
      (cfg->sigma_mode == RBPE_SIGMA_UNIFORM && cfg->field.cells == 0))
    return RBPE_OK;
  m->sigma_map = malloc(S * sizeof(float));
  RBPE_FAIL_IF(!m->sigma_map, f->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (cfg->sigma_mode == RBPE_SIGMA_UNIFORM) {
    for (size_t i = 0; i < S; i++) m->sigma_map[i] = cfg->sigma;
    return RBPE_OK;
  }
  rbpe_sigma_result res;
  RBPE_TRY(rbpe_sigma_build(f->ctx, f->be, f->sig, f->rep->split, &m->cfg,
                            m->emb, m->sigma_map, &res));
  rbpe_fit_report *rep = f->rep;
  m->sigma_lo = (float)res.lo;
  m->sigma_hi = (float)res.hi;
  rep->sigma_lo = res.lo;
  rep->sigma_hi = res.hi;
  rep->sigma_spacing = res.spacing;
  rep->sigma_iterations = res.iterations;
  rep->sigma_J0 = res.J0;
  rep->sigma_J = res.J;
  rep->poly_degree = res.poly_degree;
  memcpy(rep->poly_beta, res.poly_beta, sizeof rep->poly_beta);
  rep->time_sigma_s = res.time_s;
  sigma_stats(rep, m->sigma_map, S, rbpe_split_train(rep->split), f->L);
  return RBPE_OK;
}

/* The first layer's form (README, "The first layer's window"): banded
 * where the backend runs the band faster than its GEMM and the window
 * (for the largest sigma any embedded row gets: the map's, or the uniform
 * sigma) keeps at most half of the centres; dense with a sigma field,
 * whose gradient needs dense inputs (rbpe_embedding_band decides).
 * RBPE_BAND=on bands whenever the window leaves any centre out, off never
 * bands (checks and comparisons). */
static rbpe_status choose_band(fit_state *f) {
  const rbpe_model *m = f->m;
  memset(&f->band, 0, sizeof f->band);
  f->Mx = f->M;
  const char *env = getenv("RBPE_BAND");
  int want = -1; /* auto */
  if (env && *env) {
    RBPE_FAIL_IF(strcmp(env, "on") && strcmp(env, "off") && strcmp(env, "auto"),
                 f->err, RBPE_ERR_INVALID_ARGUMENT,
                 "RBPE_BAND=%.40s: expected on, off or auto", env);
    want = !strcmp(env, "on") ? 1 : !strcmp(env, "off") ? 0 : -1;
  }
  if (want == 0 || f->field || m->cfg.embed.kind != RBPE_EMBED_RBF) return RBPE_OK;
  float smax = m->cfg.sigma;
  if (m->sigma_map) {
    smax = 0.0f;
    for (size_t i = 0; i < f->sig->samples; i++)
      if (m->sigma_map[i] > smax) smax = m->sigma_map[i];
  }
  for (size_t i = 0; i < f->L; i++)
    if (f->sigma[i] > smax) smax = f->sigma[i];
  if (!rbpe_embedding_band(f->be, m->emb, smax, want, &f->band)) return RBPE_OK;
  f->Mx = rbpe_band_cols(&f->band);
  f->rep->first_layer_band = f->band.width;
  return RBPE_OK;
}

/* Stage 4 (host): the training samples' coordinates, targets and sigma,
 * and the amplitude normalisation's reference when asked for: the
 * geometric mean of the training samples' sigma (exactly the sigma when
 * it is uniform, so a uniform embedding is unchanged). */
static rbpe_status stage_training_rows(fit_state *f) {
  const rbpe_signal *sig = f->sig;
  rbpe_model *m = f->m;
  size_t L = f->L, C = f->C;
  const size_t *train = rbpe_split_train(f->rep->split);
  RBPE_TRY(rbpe_signal_coords(f->ctx, sig, train, L, f->coords));
  for (size_t i = 0; i < L; i++)
    memcpy(f->targets + i * C, sig->data + train[i] * C, C * sizeof(float));
  rbpe_model_sigma(m, L, f->coords, f->sigma);
  int rbf = m->cfg.embed.kind == RBPE_EMBED_RBF;
  if (rbf && m->cfg.embed.rbf_norm_ref < 0.0f) {
    float ref = m->cfg.sigma;
    if (m->cfg.sigma_mode != RBPE_SIGMA_UNIFORM) {
      double logs = 0;
      for (size_t i = 0; i < L; i++) logs += log((double)f->sigma[i]);
      ref = (float)exp(logs / (double)L);
    }
    m->cfg.embed.rbf_norm_ref = ref;
    rbpe_embedding_set_norm_ref(m->emb, ref);
  }
  f->rep->rbf_norm_ref =
      rbf && m->cfg.embed.rbf_norm_ref > 0.0f ? m->cfg.embed.rbf_norm_ref : 0.0f;
  if (f->cfg->field.cells > 0)
    RBPE_TRY(field_prepare(f));
  return choose_band(f);
}

/* Stage 5 (device): the embedded training set, built once and kept (or
 * its coordinates, for embedding each batch on the fly), the targets and
 * the held-out curve's samples. */
static rbpe_status stage_upload(fit_state *f) {
  rbpe_backend *be = f->be;
  const rbpe_model *m = f->m;
  size_t L = f->L, xbytes = 0;
  int N = f->sig->ndim;
  double t0 = rbpe_now_s();
  RBPE_FAIL_IF(!rbpe_mul_ok(L, f->Mx, &xbytes) ||
                   !rbpe_mul_ok(xbytes, sizeof(float), &xbytes),
               f->err, RBPE_ERR_TOO_LARGE, "embedded training set too large");
  RBPE_TRY(rbpe_buf_from_host(be, f->coords, L * N, &f->x));
  if (m->cfg.embed.kind == RBPE_EMBED_RBF)
    RBPE_TRY(rbpe_buf_from_host(be, f->sigma, L, &f->dsig));
  if (!f->on_the_fly) {
    RBPE_TRY(rbpe_buf_alloc(be, xbytes, &f->X));
    RBPE_TRY(rbpe_embedding_run_band(be, m->emb, L, f->x, f->dsig, f->X, 0,
                                     f->band.width));
  }
  RBPE_TRY(rbpe_buf_from_host(be, f->targets, L * f->C, &f->Y));
  RBPE_TRY(heldout_prepare(f));
  RBPE_TRY(rbpe_backend_finish(be));
  f->rep->time_embed_s = rbpe_now_s() - t0;
  return RBPE_OK;
}

/* Stage 6: the MLP, initialised on the host so every backend starts
 * alike, its trainer, and the mini-batch buffers. */
static rbpe_status stage_trainer(fit_state *f) {
  rbpe_backend *be = f->be;
  size_t L = f->L, batch = f->batch;
  RBPE_TRY(rbpe_mlp_host_alloc(f->err, &f->shape, &f->m->mlp));
  rbpe_mlp_host_init(&f->m->mlp, f->cfg->seed ^ SEED_WEIGHTS);
  RBPE_TRY(rbpe_mlp_trainer_create(be, &f->m->mlp, batch, f->cfg->lr, &f->tr));
  RBPE_TRY(rbpe_mlp_trainer_set_band(f->tr, &f->band));
  if (batch >= L) return RBPE_OK;
  f->order = malloc(L * sizeof(uint32_t));
  RBPE_FAIL_IF(!f->order, f->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  RBPE_TRY(rbpe_buf_alloc(be, L * sizeof(uint32_t), &f->perm));
  RBPE_TRY(rbpe_buf_alloc(be, batch * f->Mx * sizeof(float), &f->Xb));
  RBPE_TRY(rbpe_buf_alloc(be, batch * f->C * sizeof(float), &f->Yb));
  if (f->on_the_fly) {
    RBPE_TRY(rbpe_buf_alloc(be, batch * f->sig->ndim * sizeof(float), &f->xb));
    if (f->dsig)
      RBPE_TRY(rbpe_buf_alloc(be, batch * sizeof(float), &f->sb));
  }
  return RBPE_OK;
}

/* The next mini-batch of `rows` rows out of the first `active` into Xb,
 * Yb: a new seeded shuffle each epoch (its partial tail dropped), and the
 * batch gathered from the kept X or embedded here from its coordinates
 * and sigmas (the same floats the kept X would hold). */
static rbpe_status next_batch(fit_state *f, size_t active, size_t rows,
                              rbpe_rng *rng) {
  rbpe_backend *be = f->be;
  if (f->shuffled != active || f->pos + rows > active) {
    shuffle(f->order, active, rng);
    RBPE_TRY(rbpe_buf_write(be, f->perm, 0, active * sizeof(uint32_t), f->order));
    f->pos = 0;
    f->shuffled = active;
  }
  if (f->on_the_fly) {
    RBPE_TRY(rbpe_op_gather_rows(be, rows, (size_t)f->sig->ndim, f->x, f->perm,
                                 f->pos, f->xb));
    if (f->dsig)
      RBPE_TRY(rbpe_op_gather_rows(be, rows, 1, f->dsig, f->perm, f->pos, f->sb));
    RBPE_TRY(rbpe_embedding_run_band(be, f->m->emb, rows, f->xb, f->sb, f->Xb,
                                     0, f->band.width));
  } else {
    RBPE_TRY(rbpe_op_gather_rows(be, rows, f->Mx, f->X, f->perm, f->pos, f->Xb));
  }
  RBPE_TRY(rbpe_op_gather_rows(be, rows, f->C, f->Y, f->perm, f->pos, f->Yb));
  f->pos += rows;
  return RBPE_OK;
}

/* A loss-curve point: the batch loss (refused when not finite), the
 * held-out samples' MSE under the weights as they stand, progress. */
static rbpe_status log_point(fit_state *f, int step, float loss, double t1) {
  const rbpe_fit_config *cfg = f->cfg;
  rbpe_fit_report *rep = f->rep;
  RBPE_FAIL_IF(!isfinite(loss), f->err, RBPE_ERR_NUMERIC,
               "training diverged: loss is %g at step %d (try a smaller --lr)",
               (double)loss, step);
  float held = NAN;
  if (f->H) {
    RBPE_TRY(rbpe_mlp_sq_error(f->tr, f->H, f->Xh, f->Yh, &held));
    held /= (float)(f->H * f->C);
  }
  curve_add(rep, f->cap, step, loss, held);
  if (cfg->progress) {
    double el = rbpe_now_s() - t1;
    rbpe_progress p = {step, cfg->steps, loss,
                       (float)(10.0 * log10(rep->psnr_peak * rep->psnr_peak / loss)),
                       el, el > 0 ? (double)step * f->batch / el : 0.0};
    cfg->progress(&p, cfg->progress_user);
  }
  return RBPE_OK;
}

/* Stage 7: Adam steps; while a sigma field learns, the MLP trains on rows
 * 0..LT-1 only and the field updates on the rest. The model records the
 * training it had: an interrupted run's model says how many steps were
 * done, not how many were asked for. */
static rbpe_status stage_train(fit_state *f) {
  const rbpe_fit_config *cfg = f->cfg;
  rbpe_fit_report *rep = f->rep;
  size_t L = f->L;
  int minibatch = f->batch < L;
  rbpe_rng shuffle_rng;
  rbpe_rng_seed(&shuffle_rng, cfg->seed ^ SEED_SHUFFLE);
  double t1 = rbpe_now_s();
  rbpe_status st = RBPE_OK;
  int step;
  for (step = 1; st == RBPE_OK && step <= cfg->steps; step++) {
    if (cfg->cancel && *cfg->cancel) {
      rep->interrupted = 1;
      break;
    }
    int learning = f->field && step <= f->field_until;
    size_t active = learning ? f->LT : L;
    size_t rows = f->batch < active ? f->batch : active;
    const rbpe_buf *Xs = f->X, *Ys = f->Y;
    if (minibatch && (rows < active || f->on_the_fly)) {
      st = next_batch(f, active, rows, &shuffle_rng);
      Xs = f->Xb;
      Ys = f->Yb;
    }
    int log = step == 1 || step % cfg->log_every == 0 || step == cfg->steps;
    float loss = NAN;
    if (st == RBPE_OK) st = rbpe_mlp_train_step(f->tr, rows, Xs, Ys, log, &loss);
    if (st == RBPE_OK && learning && step >= f->field_from &&
        (step - f->field_from) % cfg->field.every == 0)
      st = field_update(f);
    if (st == RBPE_OK && log) st = log_point(f, step, loss, t1);
  }
  rep->steps_done = step - 1;
  f->m->cfg.steps = rep->steps_done;
  if (st == RBPE_OK) st = rbpe_mlp_download(f->tr, &f->m->mlp);
  if (st == RBPE_OK) st = rbpe_backend_finish(f->be);
  rep->time_train_s = rbpe_now_s() - t1;
  rep->train_samples_per_s =
      rep->time_train_s > 0 ? (double)rep->steps_done * f->batch / rep->time_train_s
                            : 0;
  /* the field as the MLP last saw it, into the model's map */
  if (st == RBPE_OK && f->field)
    st = field_finish(f);
  if (f->field) rep->field_heldback = L - f->LT;
  return st;
}

/* Stage 8: the model on the whole grid, its PSNR on the training and the
 * held-out samples, and the sigma map for the report. */
static rbpe_status stage_evaluate(fit_state *f) {
  const rbpe_signal *sig = f->sig;
  rbpe_fit_report *rep = f->rep;
  double t2 = rbpe_now_s();
  RBPE_TRY(rbpe_model_render_be(f->ctx, f->be, f->m, sig->dims,
                                &rep->reconstruction));
  rep->train_psnr = rbpe_psnr_peak(rep->reconstruction, sig,
                                   rbpe_split_train(rep->split), f->L,
                                   rep->psnr_peak);
  rep->test_psnr = rbpe_psnr_peak(rep->reconstruction, sig,
                                  rbpe_split_test(rep->split), rep->n_test,
                                  rep->psnr_peak);
  rep->final_loss =
      rep->psnr_peak * rep->psnr_peak * pow(10.0, -rep->train_psnr / 10.0);
  rep->time_eval_s = rbpe_now_s() - t2;
  if (!f->m->sigma_map) return RBPE_OK;
  RBPE_TRY(rbpe_signal_alloc(f->err, sig->ndim, sig->dims, 1, &rep->sigma_map));
  memcpy(rep->sigma_map->data, f->m->sigma_map, sig->samples * sizeof(float));
  return RBPE_OK;
}

/* The fit of a signal whose values lie in [0, 1], or [-1, 1] with peak 2
 * (rbpe_fit maps others onto one of them), through its stages in order;
 * the configuration was checked by rbpe_fit_config_check. */
static rbpe_status fit_unit(rbpe_ctx *ctx, const rbpe_signal *sig,
                            const rbpe_fit_config *cfg, double peak,
                            rbpe_model **model_out, rbpe_fit_report *rep) {
  fit_state f = {.ctx = ctx, .err = &ctx->err, .sig = sig, .cfg = cfg, .rep = rep};
  rbpe_status st = rbpe_ctx_backend(ctx, &f.be);
  if (st == RBPE_OK) st = model_begin(&f, peak);
  if (st == RBPE_OK) st = stage_split(&f);
  if (st == RBPE_OK) st = stage_sigma(&f);
  if (st == RBPE_OK) st = stage_training_rows(&f);
  if (st == RBPE_OK) st = stage_upload(&f);
  if (st == RBPE_OK) st = stage_trainer(&f);
  if (st == RBPE_OK) st = stage_train(&f);
  rbpe_model *m = f.m;
  /* the training state goes before evaluation needs memory */
  fit_state_free(&f);
  f.m = m;
  if (st == RBPE_OK) st = stage_evaluate(&f);
  if (st != RBPE_OK) {
    rbpe_model_free(m);
    rbpe_fit_report_clear(rep);
    return st;
  }
  *model_out = m;
  return RBPE_OK;
}

rbpe_act rbpe_fit_value_map(rbpe_act requested, float lo, float hi,
                            double *scale, double *offset) {
  int unit = lo >= 0.0f && hi <= 1.0f;
  rbpe_act act = requested != RBPE_ACT_AUTO ? requested
                 : unit                     ? RBPE_ACT_SIGMOID
                                            : RBPE_ACT_NONE;
  double width = hi > lo ? (double)hi - (double)lo : 1.0;
  if (unit) {
    *scale = 1.0;
    *offset = 0.0;
  } else if (act == RBPE_ACT_NONE) { /* centred, as SIREN fits audio */
    *scale = width / 2.0;
    *offset = ((double)lo + (double)hi) / 2.0;
  } else {
    *scale = width;
    *offset = hi > lo ? (double)lo : (double)lo - 0.5;
  }
  return act;
}

rbpe_status rbpe_fit(rbpe_ctx *ctx, const rbpe_signal *sig,
                     const rbpe_fit_config *cfg, rbpe_model **model_out,
                     rbpe_fit_report *rep) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  *model_out = NULL;
  memset(rep, 0, sizeof *rep);
  RBPE_FAIL_IF(!sig || !cfg, err, RBPE_ERR_INVALID_ARGUMENT, "fit: NULL argument");
  RBPE_TRY(rbpe_fit_config_check(ctx, cfg, sig));
  /* The data's range decides the output activation (auto: sigmoid for
   * values in [0, 1], none otherwise) and whether the values are mapped:
   * a signal outside [0, 1] (audio, signed or large values) is fitted
   * mapped onto the activation's range (rbpe_fit_value_map), so the MLP's
   * initial scale, Adam's step and the graph objective's gamma mean the
   * same for every signal, and the model maps its predictions back. PSNR
   * is then over the data's peak-to-peak range (the same number as PSNR
   * at the mapped range's peak on the mapped values). */
  float lo, hi;
  rbpe_signal_range(sig, &lo, &hi);
  rbpe_fit_config c = *cfg;
  double span, offset;
  c.out_act = rbpe_fit_value_map(cfg->out_act, lo, hi, &span, &offset);
  int unit = lo >= 0.0f && hi <= 1.0f; /* fitted as they are */
  double width = hi > lo ? (double)hi - (double)lo : 1.0;
  size_t count = sig->samples * (size_t)sig->channels;
  rbpe_signal *mapped = NULL;
  if (!unit) {
    RBPE_TRY(rbpe_signal_alloc(err, sig->ndim, sig->dims, sig->channels,
                               &mapped));
    for (size_t i = 0; i < count; i++)
      mapped->data[i] = (float)(((double)sig->data[i] - offset) / span);
    mapped->source_bits = sig->source_bits;
    mapped->sample_rate = sig->sample_rate;
  }
  /* PSNR's peak on the values fitted: 1, or the mapped range's width */
  rbpe_status st = fit_unit(ctx, unit ? sig : mapped, &c,
                            unit ? 1.0 : width / span, model_out, rep);
  rbpe_signal_free(mapped);
  if (st != RBPE_OK) return st;
  if (!unit) {
    rbpe_model *m = *model_out;
    m->out_scale = (float)span;
    m->out_offset = (float)offset;
    float *r = rep->reconstruction->data;
    for (size_t i = 0; i < count; i++)
      r[i] = (float)((double)r[i] * span + offset);
    rep->psnr_peak = width;
    rep->final_loss *= span * span;
  }
  rep->data_min_f = lo;
  rep->data_max_f = hi;
  rep->out_act = c.out_act;
  return RBPE_OK;
}
