/* `rbpe experiment`: the seed's experiments as one command (METHOD.md 7).
 * A grid of embeddings x splits x MLP depths x seeds over images and 1-D
 * signals, fitted in-process on one device; writes every run as CSV, a
 * Markdown report (RESULTS.md) with the learned sigma against the best
 * uniform sigma and the best RFF scale per setting, and panels laid out
 * like the seed's figures (methods as rows, settings as columns). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment.h"
#include "fig.h"

#define MAX_WORKERS_DIRS (16 * 4300)

static const char *experiment_usage =
    "usage: rbpe experiment [options]\n"
    "Fits every method of the grid to every signal, split, depth and seed and\n"
    "writes OUT/RESULTS.md, OUT/results.csv and OUT/panel_*.png.\n";

/* ---- signals ------------------------------------------------------------ */

/* 1-D area weights of output cell o (of n) over input cells (of N). */
static void area_resample(const float *in, size_t N, size_t stride_in,
                          float *out, size_t n, size_t stride_out, int C) {
  double scale = (double)N / n;
  for (size_t o = 0; o < n; o++) {
    double a = o * scale, b = (o + 1) * scale;
    for (int c = 0; c < C; c++) {
      double acc = 0;
      for (size_t i = (size_t)a; i < N && i < b; i++) {
        double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
        acc += (hi - lo) * in[i * stride_in + c];
      }
      out[o * stride_out + c] = (float)(acc / scale);
    }
  }
}

static rbpe_status resize(rbpe_ctx *ctx, rbpe_signal *src, size_t size,
                          rbpe_signal **out) {
  size_t H = rbpe_signal_dim(src, 0), W = rbpe_signal_dim(src, 1);
  int C = rbpe_signal_channels(src);
  const float *d = rbpe_signal_data(src);
  float *tmp = malloc(H * size * C * sizeof(float));
  float *dst = malloc(size * size * C * sizeof(float));
  if (!tmp || !dst) {
    free(tmp);
    free(dst);
    return RBPE_ERR_OUT_OF_MEMORY;
  }
  for (size_t y = 0; y < H; y++) /* rows: W -> size */
    area_resample(d + y * W * C, W, C, tmp + y * size * C, size, C, C);
  for (size_t x = 0; x < size; x++) /* columns: H -> size */
    area_resample(tmp + x * C, H, size * C, dst + x * C, size, size * C, C);
  size_t dims[2] = {size, size};
  rbpe_status st = rbpe_signal_from_data(ctx, 2, dims, C, dst, out);
  free(tmp);
  free(dst);
  return st;
}

/* Built-in 1-D signals in [0, 1]. */
static int builtin_1d(const char *name, size_t n, float *v) {
  for (size_t i = 0; i < n; i++) {
    double x = (i + 0.5) / n, y;
    if (!strcmp(name, "sines")) /* a slow sine plus one whose frequency grows */
      y = 0.5 + 0.2 * sin(2 * RBPE_PI * 2 * x) +
          0.2 * sin(2 * RBPE_PI * (4 + 20 * x) * x);
    else if (!strcmp(name, "chirp"))
      y = 0.5 + 0.4 * sin(2 * RBPE_PI * (2 * x + 14 * x * x));
    else if (!strcmp(name, "jumps")) /* smooth pieces with jumps between */
      y = x < 0.2   ? 0.2 + 0.3 * x
          : x < 0.45 ? 0.75 - 0.15 * sin(6 * RBPE_PI * x)
          : x < 0.6  ? 0.3
          : x < 0.8  ? 0.55 + 0.25 * sin(10 * RBPE_PI * x)
                     : 0.15 + 0.5 * (x - 0.8);
    else
      return 0;
    v[i] = (float)y;
  }
  return 1;
}

static const char *base_name(const char *path, char *buf, size_t len) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(buf, len, "%s", b);
  char *dot = strrchr(buf, '.');
  if (dot && dot != buf) *dot = '\0';
  return buf;
}

static int add_signal(rbpe_ctx *ctx, grid *g, const char *item, int image,
                      size_t size, size_t samples) {
  if (g->nsig >= MAX_SIGNALS) {
    fprintf(stderr, "rbpe experiment: more than %d signals\n", MAX_SIGNALS);
    return EXIT_USAGE;
  }
  signal_item *s = &g->sig[g->nsig];
  rbpe_status st;
  if (!image) {
    float *v = malloc(samples * sizeof(float));
    if (!v) return EXIT_FAILURE_RUN;
    if (builtin_1d(item, samples, v)) {
      size_t dims[1] = {samples};
      st = rbpe_signal_from_data(ctx, 1, dims, 1, v, &s->sig);
      free(v);
      snprintf(s->name, sizeof s->name, "%s", item);
      if (st != RBPE_OK) return cli_fail("experiment", ctx, st);
      g->nsig++;
      return EXIT_OK;
    }
    free(v);
  }
  rbpe_signal *raw = NULL;
  st = rbpe_signal_load(ctx, item, &raw);
  if (st != RBPE_OK) return cli_fail("experiment", ctx, st);
  int nd = rbpe_signal_ndim(raw);
  if (image != (nd == 2) || nd > 2) {
    fprintf(stderr, "rbpe experiment: %s: a %d-D signal given as %s\n", item,
            nd, image ? "an image" : "a 1-D signal");
    rbpe_signal_free(raw);
    return EXIT_BAD_INPUT;
  }
  base_name(item, s->name, sizeof s->name);
  if (image && size && (rbpe_signal_dim(raw, 0) < size ||
                        rbpe_signal_dim(raw, 1) < size)) {
    /* area averaging only reduces: an enlarged photo has no detail to fit */
    fprintf(stderr, "rbpe experiment: %s is %zux%zu, smaller than --size %zu "
                    "(%s); give larger images or a smaller --size\n",
            item, rbpe_signal_dim(raw, 1), rbpe_signal_dim(raw, 0), size,
            g->preset ? "the tancik preset fits 512x512 photos, such as "
                        "scikit-image's camera and astronaut originals"
                      : "images are only ever reduced");
    rbpe_signal_free(raw);
    return EXIT_BAD_INPUT;
  }
  if (image && size && (rbpe_signal_dim(raw, 0) != size ||
                        rbpe_signal_dim(raw, 1) != size)) {
    st = resize(ctx, raw, size, &s->sig);
    rbpe_signal_free(raw);
    if (st != RBPE_OK) return cli_fail("experiment", ctx, st);
  } else {
    s->sig = raw;
  }
  g->nsig++;
  return EXIT_OK;
}

/* ---- parsing -------------------------------------------------------------- */

static int parse_floats(const char *text, float *out, int max, double lo,
                        double hi) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", text);
  int n = 0;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    if (n >= max || !cli_parse_float(t, lo, hi, &out[n])) return -1;
    n++;
  }
  return n;
}

/* A learned-sigma recipe applied to a configuration holding `rbpe fit`'s
 * defaults: BASE is graph, poly, default (rbpe fit's own default sigma) or
 * uniform=S (a start for a field); each +MOD changes one thing: norm,
 * nonorm, smin=A, smax=B, local / rel (the range's unit), k=K, eps=E,
 * gamma=G, lambda=L, sw=W (smooth
 * width), nearest (sigma at held-out samples), field=N, flr=X (field
 * rate), zero (field mean kept at 0), fwin=A:B (field window). Returns 0,
 * or -1 with the offending part in why. */
static int learned_apply(const char *recipe, rbpe_fit_config *c, char *why,
                         size_t wlen) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", recipe);
  int first = 1;
  for (char *save = NULL, *t = strtok_r(buf, "+", &save); t;
       t = strtok_r(NULL, "+", &save), first = 0) {
    char *eq = strchr(t, '=');
    const char *v = eq ? eq + 1 : NULL;
    if (eq) *eq = '\0';
    float x = 0;
    long n = 0;
    int ok = 1;
    if (first) {
      if (!strcmp(t, "graph") && !v) c->sigma_mode = RBPE_SIGMA_GRAPH;
      else if (!strcmp(t, "poly") && !v) {
        c->sigma_mode = RBPE_SIGMA_POLY;
        c->sigma_at = RBPE_SIGMA_AT_POLY;
      } else if (!strcmp(t, "default") && !v) {
        /* as it is */
      } else if (!strcmp(t, "uniform") && v && cli_parse_float(v, 1e-4, 10, &x)) {
        c->sigma_mode = RBPE_SIGMA_UNIFORM;
        c->sigma = x;
      } else ok = 0;
    } else if (!strcmp(t, "norm") && !v) c->embed.rbf_norm_ref = -1.0f;
    else if (!strcmp(t, "nonorm") && !v) c->embed.rbf_norm_ref = 0.0f;
    else if (!strcmp(t, "nearest") && !v) c->sigma_at = RBPE_SIGMA_AT_NEAREST;
    else if (!strcmp(t, "local") && !v) c->sig.relative = RBPE_RANGE_LOCAL;
    else if (!strcmp(t, "rel") && !v) c->sig.relative = RBPE_RANGE_REL;
    else if (!strcmp(t, "zero") && !v) c->field.zero_mean = 1;
    else if (!v) ok = 0;
    else if (!strcmp(t, "smin")) ok = cli_parse_float(v, 1e-6, 1e3, &c->sig.smin);
    else if (!strcmp(t, "smax")) ok = cli_parse_float(v, 1e-6, 1e3, &c->sig.smax);
    else if (!strcmp(t, "eps")) ok = cli_parse_float(v, 1e-6, 1e3, &c->sig.eps);
    else if (!strcmp(t, "gamma")) ok = cli_parse_float(v, -1e3, 1e3, &c->sig.gamma);
    else if (!strcmp(t, "lambda")) ok = cli_parse_float(v, 0, 100, &c->sig.lambda_n);
    else if (!strcmp(t, "sw")) ok = cli_parse_float(v, 1e-3, 1e3, &c->sig.smooth_width);
    else if (!strcmp(t, "flr")) ok = cli_parse_float(v, 1e-9, 1e3, &c->field.lr);
    else if (!strcmp(t, "k") && (ok = cli_parse_long(v, 1, 1024, &n))) c->sig.k = (int)n;
    else if (!strcmp(t, "field") && (ok = cli_parse_long(v, 0, 64, &n)))
      c->field.cells = (int)n;
    else if (!strcmp(t, "fwin"))
      ok = sscanf(v, "%f:%f", &c->field.from, &c->field.until) == 2;
    else ok = 0;
    if (!ok) {
      snprintf(why, wlen, "'%s' in learned recipe '%s'", t, recipe);
      return -1;
    }
  }
  /* the library's own check of the settings (no signal yet) */
  rbpe_ctx *ctx = rbpe_ctx_new();
  int bad = ctx && rbpe_fit_config_check(ctx, c, NULL) != RBPE_OK;
  if (bad)
    snprintf(why, wlen, "learned recipe '%s': %s", recipe, rbpe_last_error(ctx));
  rbpe_ctx_free(ctx);
  return bad || !ctx ? -1 : 0;
}

static void add_method(grid *g, int kind, float param, const char *recipe) {
  method *m = &g->meth[g->nmeth++];
  m->kind = kind;
  m->param = param;
  switch (kind) {
  case M_LEARNED:
    snprintf(m->recipe, sizeof m->recipe, "%s", recipe);
    snprintf(m->name, sizeof m->name, "rbf %s", recipe);
    break;
  case M_UNIFORM: snprintf(m->name, sizeof m->name, "rbf uniform %g", (double)param); break;
  case M_RFF: snprintf(m->name, sizeof m->name, "rff %g", (double)param); break;
  default: snprintf(m->name, sizeof m->name, "nerf"); break;
  }
}

/* ---- fitting -------------------------------------------------------------- */

static void method_config(const grid *g, const method *m, int layers, int ndim,
                          int p, int seed, rbpe_fit_config *c) {
  rbpe_fit_config_default(c);
  rbpe_embed_kind kind = m->kind == M_RFF    ? RBPE_EMBED_RFF
                         : m->kind == M_NERF ? RBPE_EMBED_NERF
                                             : RBPE_EMBED_RBF;
  if (kind != RBPE_EMBED_RBF) {
    rbpe_embed_config_default(&c->embed, kind);
    c->sigma_mode = RBPE_SIGMA_UNIFORM;
    c->field.cells = 0;
  }
  if (m->kind == M_RFF) {
    c->embed.rff_scale = m->param;
    if (g->rff_features > 0) c->embed.rff_features = g->rff_features;
  }
  if (m->kind == M_UNIFORM) {
    /* a plain uniform sigma: no normalisation (it would change nothing)
     * and no field */
    c->sigma_mode = RBPE_SIGMA_UNIFORM;
    c->sigma = m->param;
    c->field.cells = 0;
  }
  if (m->kind == M_LEARNED) {
    char why[128];
    (void)learned_apply(m->recipe, c, why, sizeof why); /* checked at parse */
  }
  if (kind == RBPE_EMBED_RBF) {
    c->embed.rbf_diagonals = g->diagonals;
    /* directions by angle are a 2-D setting: a 1-D signal's fit keeps
     * fit's value, which it ignores, so its options stay the same */
    if (ndim == 2) c->embed.rbf_angles = g->angles;
  }
  c->split = split_spec(g, ndim, p);
  c->hidden_layers = layers;
  c->width = g->width;
  c->steps = g->steps;
  c->lr = g->lr;
  c->seed = (uint64_t)seed;
  c->log_every = g->steps;
  c->curve_heldout = 0; /* the report has no curves */
}

/* One fit; its held-out PSNR into r. */
static int fit_one(rbpe_ctx *ctx, const rbpe_signal *sig,
                   const rbpe_fit_config *c, run_result *r,
                   rbpe_signal **recon, rbpe_signal **sigmap) {
  rbpe_model *model = NULL;
  rbpe_fit_report rep;
  double t1 = rbpe_seconds();
  rbpe_status st = rbpe_fit(ctx, sig, c, &model, &rep);
  if (st != RBPE_OK) {
    fprintf(stderr, "\n");
    return cli_fail("experiment", ctx, st);
  }
  /* as results.csv keeps them, so a report collected from shards is the
   * one a single process writes */
  r->test = round(rep.test_psnr * 1e4) / 1e4;
  r->train = round(rep.train_psnr * 1e4) / 1e4;
  r->seconds = rbpe_seconds() - t1;
  r->done = 1;
  if (recon) {
    *recon = rep.reconstruction;
    rep.reconstruction = NULL;
  }
  if (sigmap) {
    *sigmap = rep.sigma_map;
    rep.sigma_map = NULL;
  }
  rbpe_fit_report_clear(&rep);
  rbpe_model_free(model);
  return EXIT_OK;
}

/* Whether this process fits unit u (a method in one setting and seed,
 * with its validation fit, in run_grid's order): shard K of N holds the
 * K-th of N contiguous runs of units, so a shard that never ran takes
 * whole settings with it, not a piece of every one. */
long units(const grid *g) {
  return (long)g->nsig * g->seeds * g->nlayers * g->nsplit * g->nmeth;
}
unit_pos unit_at(const grid *g, long u) {
  unit_pos q;
  q.m = (int)(u % g->nmeth);
  u /= g->nmeth;
  q.p = (int)(u % g->nsplit);
  u /= g->nsplit;
  q.l = (int)(u % g->nlayers);
  u /= g->nlayers;
  q.s = (int)(u % g->nsig);
  q.k = (int)(u / g->nsig);
  return q;
}
int shard_of(const grid *g, long u, int n) {
  return (int)((double)u * n / (double)units(g)) + 1;
}
int mine(const grid *g, long u) {
  return g->shard_n <= 1 || shard_of(g, u, g->shard_n) == g->shard_k;
}

int seed_ok(const grid *g, int s, int l, int p, int k) {
  return !g->bad_seed ||
         !g->bad_seed[(((size_t)s * g->nlayers + l) * g->nsplit + p) * g->seeds + k];
}
int seeds_ok(const grid *g, int s, int l, int p) {
  int n = 0;
  for (int k = 0; k < g->seeds; k++) n += seed_ok(g, s, l, p, k);
  return n;
}
int absent(const grid *g, int s, int l, int p) {
  return seeds_ok(g, s, l, p) == 0;
}

/* The `rbpe fit` options that give configuration c (what differs from
 * fit's defaults, and the grid's fixed choices). */
static void fit_args(const rbpe_fit_config *c, char *buf, size_t len) {
  rbpe_fit_config d;
  rbpe_fit_config_default(&d);
  size_t o = 0;
#define ARG(...)                                                              \
  do {                                                                        \
    if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__);        \
  } while (0)
  if (c->embed.kind != RBPE_EMBED_RBF)
    ARG(" --embed %s", rbpe_embed_kind_string(c->embed.kind));
  if (c->embed.kind == RBPE_EMBED_RFF) {
    ARG(" --scale %g", (double)c->embed.rff_scale);
    if (c->embed.rff_features != d.embed.rff_features)
      ARG(" --features %d", c->embed.rff_features);
  }
  if (c->embed.kind == RBPE_EMBED_RBF) {
    if (c->sigma_mode == RBPE_SIGMA_UNIFORM) ARG(" --sigma uniform:%g", (double)c->sigma);
    else if (c->sigma_mode != d.sigma_mode) ARG(" --sigma %s", rbpe_sigma_mode_string(c->sigma_mode));
    if (c->sigma_at != d.sigma_at) ARG(" --sigma-at %s", rbpe_sigma_at_string(c->sigma_at));
    if ((c->embed.rbf_norm_ref != 0.0f) != (d.embed.rbf_norm_ref != 0.0f))
      ARG(" %s", c->embed.rbf_norm_ref != 0.0f ? "--rbf-norm" : "--no-rbf-norm");
    if (c->embed.rbf_angles != d.embed.rbf_angles)
      ARG(" --directions %d", c->embed.rbf_angles);
    if (c->embed.rbf_diagonals) ARG(" --diagonals");
    if (c->sig.smin != d.sig.smin) ARG(" --smin %g", (double)c->sig.smin);
    if (c->sig.smax != d.sig.smax) ARG(" --smax %g", (double)c->sig.smax);
    if (c->sig.relative != d.sig.relative)
      ARG(" --range %s", rbpe_enum_string(RBPE_ENUM_RANGE, c->sig.relative));
    if (c->sig.k != d.sig.k) ARG(" --knn %d", c->sig.k);
    if (c->sig.eps != d.sig.eps) ARG(" --eps %g", (double)c->sig.eps);
    if (c->sig.gamma != d.sig.gamma) ARG(" --gamma %g", (double)c->sig.gamma);
    if (c->sig.lambda_n != d.sig.lambda_n) ARG(" --lambda-n %g", (double)c->sig.lambda_n);
    if (c->sig.smooth_width != d.sig.smooth_width)
      ARG(" --smooth-width %g", (double)c->sig.smooth_width);
    if (c->field.cells) {
      ARG(" --field %d", c->field.cells);
      if (c->field.lr != d.field.lr) ARG(" --field-lr %g", (double)c->field.lr);
      if (c->field.zero_mean) ARG(" --field-mean zero");
      if (c->field.from != d.field.from || c->field.until != d.field.until)
        ARG(" --field-window %g:%g", (double)c->field.from, (double)c->field.until);
    }
  }
  ARG(" --split %s --layers %d --width %d --steps %d --lr %g --seed %llu", c->split,
      c->hidden_layers, c->width, c->steps, (double)c->lr,
      (unsigned long long)c->seed);
#undef ARG
}

/* --plan: every unit of the grid, in run order, with its shard (of n),
 * whether a journal already holds it, and the `rbpe fit` arguments of its
 * fit; then the totals. */
static void print_plan(const grid *g, int n) {
  long todo = 0, fits = 0;
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    int nd = rbpe_signal_ndim(g->sig[q.s].sig);
    rbpe_fit_config c;
    method_config(g, &g->meth[q.m], g->layers[q.l], nd, q.p, q.k, &c);
    char args[1024];
    fit_args(&c, args, sizeof args);
    int done = unit_done(g, q.s, q.l, q.p, q.m, q.k);
    int val = g->val && validated(&g->meth[q.m]);
    todo += !done;
    fits += 1 + val;
    printf("%ld\tshard %d/%d\t%s\t%s\t%s:%s%s\n", u, shard_of(g, u, n), n,
           done ? "done" : "todo", g->sig[q.s].name,
           nd == 2 ? "image" : "signal", args,
           val ? " (and on SPLIT+val:" VAL_FRAC ")" : "");
  }
  printf("# %ld units, %ld fits; %ld units to do\n", units(g), fits, todo);
}

static int run_grid(rbpe_ctx *ctx, grid *g) {
  int total = 0, k = 0;
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    if (mine(g, u) && !unit_done(g, q.s, q.l, q.p, q.m, q.k))
      total += 1 + (g->val && validated(&g->meth[q.m]));
  }
  double t0 = rbpe_seconds();
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    int s = q.s, l = q.l, p = q.p, m = q.m;
    if (!mine(g, u) || unit_done(g, s, l, p, m, q.k)) continue;
    if (g->queue && !claim_unit(g, u)) continue; /* another worker's */
    int ndim = rbpe_signal_ndim(g->sig[s].sig);
    rbpe_fit_config c;
    method_config(g, &g->meth[m], g->layers[l], ndim, p, q.k, &c);
    run_result *r = &g->res[at(g, s, l, p, m, q.k)];
    int first = q.k == 0, learned = g->meth[m].kind == M_LEARNED;
    int rc = fit_one(ctx, g->sig[s].sig, &c, r,
                     first ? &g->recon[rat(g, s, l, p, m)] : NULL,
                     first && learned ? &g->sigmap[rat(g, s, l, p, m)] : NULL);
    if (rc != EXIT_OK) return rc;
    snprintf(r->dev, sizeof r->dev, "%s", g->dev);
    k++;
    if (g->val && validated(&g->meth[m])) {
      /* the same setting fitted on the training samples less a validation
       * part, scored on that part only */
      char spec[64];
      snprintf(spec, sizeof spec, "%s+val:" VAL_FRAC, c.split);
      c.split = spec;
      rc = fit_one(ctx, g->sig[s].sig, &c, &g->val[at(g, s, l, p, m, q.k)],
                   NULL, NULL);
      if (rc != EXIT_OK) return rc;
      k++;
    }
    if (g->jcsv && journal_unit(g, q) != 0) {
      fprintf(stderr, "rbpe experiment: cannot write the journal: %s\n",
              strerror(errno));
      return EXIT_OUTPUT;
    }
    double el = rbpe_seconds() - t0, eta = el / k * (total - k);
    char when[48];
    /* a worker shares the remaining fits with the others: no ETA */
    if (g->worker)
      snprintf(when, sizeof when, "on %s", g->worker);
    else
      snprintf(when, sizeof when, "ETA %d:%02d", (int)eta / 60, (int)eta % 60);
    fprintf(stderr,
            "[%d/%d] %s, %s, %dL, %s, seed %d: %.2f dB held-out (%.1f s; %s)\n",
            k, total, g->sig[s].name, split_label(g, ndim, p), g->layers[l],
            g->meth[m].name, q.k, r->test, r->seconds, when);
  }
  return EXIT_OK;
}

/* Device time the grid's remaining fits take on ctx's device, from a
 * CAL_STEPS-step fit per signal and depth (the first learned recipe, or
 * the first method, on the first split and seed 0): each fit is costed as
 * its steps at that step time (scaled by its split's training samples:
 * full-batch steps grow with them), plus that fit's sigma solve, embedding
 * and evaluation. Every method is costed as the calibrated one, so grids
 * with cheaper embeddings (NeRF) take a little less. */
#define CAL_STEPS 10
static int plan_estimate(rbpe_ctx *ctx, const grid *g) {
  int cal = find_kind(g, M_LEARNED) >= 0 ? find_kind(g, M_LEARNED) : 0;
  double total = 0;
  long todo = 0;
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    todo += mine(g, u) && !unit_done(g, q.s, q.l, q.p, q.m, q.k);
  }
  if (!todo) {
    printf("# estimated device time of the fits to do: 0.00 hours\n");
    return EXIT_OK;
  }
  fprintf(stderr, "rbpe experiment: timing a %d-step fit per signal and depth "
                  "on %s ...\n", CAL_STEPS, rbpe_ctx_device_description(ctx));
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++) {
      int nd = rbpe_signal_ndim(g->sig[s].sig), left = 0;
      for (long u = 0; u < units(g) && !left; u++) {
        unit_pos q = unit_at(g, u);
        left = q.s == s && q.l == l && mine(g, u) &&
               !unit_done(g, q.s, q.l, q.p, q.m, q.k);
      }
      if (!left) continue; /* nothing of this signal and depth to do */
      rbpe_fit_config c;
      method_config(g, &g->meth[cal], g->layers[l], nd, 0, 0, &c);
      c.steps = CAL_STEPS;
      c.log_every = CAL_STEPS;
      rbpe_model *model = NULL;
      rbpe_fit_report rep;
      rbpe_status st = rbpe_fit(ctx, g->sig[s].sig, &c, &model, &rep);
      if (st != RBPE_OK) return cli_fail("experiment", ctx, st);
      double step = rep.time_train_s / rep.steps_done / (double)rep.n_train;
      double fixed = rep.time_sigma_s + rep.time_embed_s + rep.time_eval_s;
      size_t Ls[NSPLIT_ALL];
      for (int p = 0; p < g->nsplit; p++) {
        rbpe_split *sp = NULL;
        Ls[p] = rep.n_train;
        if (rbpe_split_create(ctx, g->sig[s].sig, split_spec(g, nd, p), 0,
                              &sp) == RBPE_OK)
          Ls[p] = rbpe_split_train_count(sp);
        rbpe_split_free(sp);
      }
      rbpe_fit_report_clear(&rep);
      rbpe_model_free(model);
      for (long u = 0; u < units(g); u++) {
        unit_pos q = unit_at(g, u);
        if (q.s != s || q.l != l || !mine(g, u) ||
            unit_done(g, q.s, q.l, q.p, q.m, q.k))
          continue;
        double one = g->steps * step * (double)Ls[q.p] + fixed;
        total += one * (1 + (g->val && validated(&g->meth[q.m])));
      }
    }
  printf("# estimated device time of the fits to do: %.2f hours on %s (each "
         "fit costed as a %s fit; %d-step calibration)\n",
         total / 3600.0, rbpe_ctx_device_description(ctx), g->meth[cal].name,
         CAL_STEPS);
  return EXIT_OK;
}

/* ---- the command ------------------------------------------------------- */

/* What the command line asks for. */
typedef struct exp_opts {
  const char *images, *signals, *device, *outdir, *notes, *uniform, *rff;
  const char *layers, *learned, *splits, *heldout, *collect_dirs, *devices;
  const char *worker, *queue;
  int shard_k, shard_n, partial, plan, figures;
  long size, samples, steps, seeds, width;
  float lr;
  int quick, nerf, validate, diagonals, angles, rff_features, preset, no_pictures;
} exp_opts;

static int settle_options(exp_opts *o);

static int preset_opt(void *at, const char *v) {
  if (strcmp(v, "tancik")) return -1;
  *(int *)at = 1;
  return 0;
}

static int shard_opt(void *at, const char *v) {
  exp_opts *o = at;
  char tail;
  if (sscanf(v, "%d/%d%c", &o->shard_k, &o->shard_n, &tail) != 2 ||
      o->shard_n < 1 || o->shard_n > 100000 || o->shard_k < 1 ||
      o->shard_k > o->shard_n)
    return -1;
  return 0;
}

/* experiment's options: parsing, messages and --help. The lists' defaults
 * are settled after parsing (settle_options), so their help says them. */
static const cli_option *exp_table(exp_opts *o) {
  const cli_option table[] = {
      {"--images", CLI_STRING, &o->images, 0, 0, "LIST", "comma-separated images (tests/data/camera256.png, tests/data/astronaut256.png); 'none' for no image"},
      {"--heldout", CLI_STRING, &o->heldout, 0, 0, "LIST", "names (file names without folder and extension) of images left out of choosing the default: tallied apart from the others (none)"},
      {"--size", CLI_LONG, &o->size, 0, 4096, "N", "images resampled to N x N by area averaging (%D; 0: as they are)"},
      {"--signals", CLI_STRING, &o->signals, 0, 0, "LIST", "1-D signals: sines, chirp, jumps (built in) or text files; 'none' for none (sines,chirp,jumps)"},
      {"--samples", CLI_LONG, &o->samples, 16, 1 << 22, "N", "samples of the built-in 1-D signals (%D)"},
      {"--splits", CLI_STRING, &o->splits, 0, 0, "LIST", "regular25, regular11, random25, random10 or all (regular25,random10; 1-D: regular 10 % for 11)"},
      {"--learned", CLI_STRING, &o->learned, 0, 0, "LIST", "learned-sigma recipes, the first one primary: BASE[+MOD..], BASE graph|poly|default|uniform=S, MOD norm|nonorm|smin=A|smax=B|local|rel|k=K|eps=E|gamma=G|lambda=L|sw=W|nearest|field=N|flr=X|zero|fwin=A:B (default,graph,poly; RESULTS.md says what each is)"},
      {"--uniform", CLI_STRING, &o->uniform, 0, 0, "LIST", "uniform sigmas (0.1,0.06,0.04,0.03,0.02,0.01); 'none' for none"},
      {"--rff", CLI_STRING, &o->rff, 0, 0, "LIST", "RFF scales (5,10,20,40); 'none' for none"},
      {"--directions", CLI_INT, &o->angles, 0, RBPE_MAX_ANGLES, "A", "every rbf method on a 2-D image projects on A directions at the angles k 180/A degrees (%D, as rbpe fit); 0: the axes (and --diagonals)"},
      {"--diagonals", CLI_FLAG, &o->diagonals, 1, 0, NULL, "every rbf method also projects on the diagonals (with --directions 0)"},
      {"--rff-features", CLI_INT, &o->rff_features, 1, RBPE_MAX_FEATURES, "F", "RFF features (256, as rbpe fit: 2F inputs to the MLP; 4 x 128 matches 8 rbf directions of 128 centres)"},
      {"--no-nerf", CLI_FLAG, &o->nerf, 0, 0, NULL, "leave out the NeRF embedding"},
      {"--no-validation", CLI_FLAG, &o->validate, 0, 0, NULL, "skip the validation fits (one more fit per method with a knob, on the training samples less a seeded 10 %: they choose among candidates without the test samples; on by default)"},
      {"--layers", CLI_STRING, &o->layers, 0, 0, "LIST", "hidden layers of the MLPs (1,3)"},
      {"--width", CLI_LONG, &o->width, 1, RBPE_MAX_WIDTH, "W", "hidden width (%D)"},
      {"--steps", CLI_LONG, &o->steps, 1, 1e7, "N", "Adam steps per fit (%D)"},
      {"--lr", CLI_FLOAT, &o->lr, 1e-7, 1, "X", "learning rate (%D)", "a number in (0, 1]"},
      {"--seeds", CLI_LONG, &o->seeds, 1, MAX_SEEDS, "N", "seeds per setting (%D)"},
      {"--device", CLI_STRING, &o->device, 0, 0, "SPEC", "auto | cpu | ref | cl | cl:P:D | cl:NAME"},
      {"--preset", CLI_CUSTOM, &o->preset, 0, 0, "tancik", "the seed's full protocol: --size 512 --steps 2000 --seeds 3 --layers 1,3 --splits all, no 1-D signals (options given still win); needs photos of at least 512 x 512 (--images); with --plan it says how many device-hours it takes", "tancik", preset_opt},
      {"--quick", CLI_FLAG, &o->quick, 1, 0, NULL, "one 48 x 48 image, one 1-D signal, one seed, 60 steps"},
      {"--figures", CLI_CUSTOM, &o->figures, 0, 0, "png|svg|both", "the figures' formats (png); with cairo also a summary_SIGNAL figure per signal", "png, svg or both", fig_kinds_opt},
      {"--notes", CLI_STRING, &o->notes, 0, 0, "FILE", "Markdown appended to RESULTS.md (docs/results_notes.md when it exists)"},
      {"--plan", CLI_FLAG, &o->plan, 1, 0, NULL, "print the grid's units (id, shard of N from --shard, done or to do by --out's journal, and the fit's `rbpe fit` options), the totals and an estimate of the device time (from a 10-step fit per signal and depth on --device); fit nothing else"},
      {"--shard", CLI_CUSTOM, o, 0, 0, "K/N", "fit only the K-th of N slices of the grid and write results.csv and fits.bin for a collect run", "K/N with 1 <= K <= N", shard_opt},
      {"--devices", CLI_STRING, &o->devices, 0, 0, "all|LIST", "fit on several devices at once: one worker process per device (all: cpu and every usable OpenCL device that is not a CPU; or specs such as cpu,cl:0:0) taking fits from one queue, the host's cores shared between the workers on the host; their folders OUT/w-DEV are collected into the report, and a rerun resumes"},
      {"--worker", CLI_STRING, &o->worker, 0, 0, "SPEC", "(internal: one --devices worker)"},
      {"--queue", CLI_STRING, &o->queue, 0, 0, "DIR", "(internal: the --devices queue)"},
      {"--collect", CLI_STRING, &o->collect_dirs, 0, 0, "DIRS", "fit nothing: read the shards' folders (comma-separated; run with the shards' grid options) and write the report; a shard stopped early gives the fits its journal holds"},
      {"--no-pictures", CLI_FLAG, &o->no_pictures, 1, 0, NULL, "collect from results.csv files alone (a report's kept CSV): tables and summary figures, no panels"},
      {"--partial", CLI_FLAG, &o->partial, 1, 0, NULL, "collect: report the settings whose fits are all there, say which are left out"},
      {"--out", CLI_STRING, &o->outdir, 0, 0, "DIR", "output folder (rbpe-experiment); a journal there (journal.csv, journal.bin) keeps every finished unit, and a run of the same grid into the same folder fits only what is not in it (resuming)"},
      {NULL}};
  /* kept for the whole parse and --help, sized by the table itself */
  static cli_option kept[sizeof table / sizeof table[0]];
  memcpy(kept, table, sizeof table);
  return kept;
}

/* The options into o, the presets' and the defaults applied; -1 to go on,
 * else the exit code (after --help, or a usage error said). */
static int parse_options(int argc, char **argv, exp_opts *o) {
  *o = (exp_opts){.shard_k = 1, .shard_n = 1, .figures = FIG_PNG, .size = 128,
                  .samples = 1024, .steps = 1000, .seeds = 3, .width = 256,
                  .lr = 1e-3f, .nerf = 1, .validate = 1};
  rbpe_fit_config fit_default;
  rbpe_fit_config_default(&fit_default);
  o->angles = fit_default.embed.rbf_angles;
  const cli_option *table = exp_table(o);
  int prc = cli_options_run("experiment", experiment_usage, table, argc, argv,
                            NULL, 0);
  if (prc >= 0) return prc;
  int bad = fig_kinds_check("experiment", o->figures);
  if (bad) return bad;
  return settle_options(o);
}

/* The presets and defaults applied to o, and the combinations checked: -1
 * to go on, else the usage error's exit code. */
static int settle_options(exp_opts *o) {
  if (o->quick && o->preset)
    return cli_usage_error("experiment", "--quick and --preset do not mix");
  if (o->preset) {
    /* the seed's protocol at full size (Tancik et al.'s setting): 512 x 512
     * photos, 2000 steps, 3 seeds, both depths, the four splits; options
     * given explicitly still win */
    if (o->size == 128) o->size = 512;
    if (o->steps == 1000) o->steps = 2000;
    if (!o->splits) o->splits = "all";
    if (!o->layers) o->layers = "1,3";
    if (!o->signals) o->signals = "none";
  }
  if (o->quick) {
    if (!o->images) o->images = "tests/data/camera256.png";
    if (!o->signals) o->signals = "chirp";
    o->size = 48;
    if (o->seeds == 3) o->seeds = 1;
    if (o->steps == 1000) o->steps = 60;
  }
  if (!o->images) o->images = "tests/data/camera256.png,tests/data/astronaut256.png";
  if (!o->signals) o->signals = "sines,chirp,jumps";
  if (!o->outdir) o->outdir = "rbpe-experiment";
  if (!o->notes) {
    struct stat stt;
    if (stat("docs/results_notes.md", &stt) == 0) o->notes = "docs/results_notes.md";
  }
  if (strlen(o->outdir) > 4000) return cli_usage_error("experiment", "--out too long");
  if (o->no_pictures && !o->collect_dirs)
    return cli_usage_error("experiment", "--no-pictures goes with --collect");
  if (o->collect_dirs && o->shard_n > 1)
    return cli_usage_error("experiment", "--collect and --shard do not mix");
  if (o->devices && (o->collect_dirs || o->shard_n > 1 || o->device || o->worker))
    return cli_usage_error("experiment", "--devices runs the whole grid: not "
                                         "with --collect, --shard or --device");
  if (!o->worker != !o->queue)
    return cli_usage_error("experiment", "--worker and --queue go together "
                                         "(rbpe experiment --devices sets them)");
  if (o->worker) o->device = o->worker;
  return -1;
}

/* The grid's methods, splits and depths from the options; EXIT_OK or the
 * usage error said. */
static int build_methods(const exp_opts *o, grid *g) {
  char buf[1024], why[160];
  float vals[MAX_METHODS];
  snprintf(buf, sizeof buf, "%s", o->learned ? o->learned : "default,graph,poly");
  int nl = 0, n;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    rbpe_fit_config probe;
    rbpe_fit_config_default(&probe);
    if (strlen(t) >= sizeof g->meth[0].recipe || ++nl > MAX_LEARNED)
      return cli_usage_error("experiment", "--learned takes up to %d recipes "
                             "of up to %zu characters", MAX_LEARNED,
                             sizeof g->meth[0].recipe - 1);
    if (learned_apply(t, &probe, why, sizeof why) != 0)
      return cli_usage_error("experiment", "--learned: %s", why);
    add_method(g, M_LEARNED, 0, t);
  }
  if (nl == 0) return cli_usage_error("experiment", "--learned needs a recipe");
  snprintf(buf, sizeof buf, "%s", o->splits ? o->splits : "regular25,random10");
  if (!strcmp(buf, "all")) snprintf(buf, sizeof buf, "regular25,regular11,random25,random10");
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    int id = -1;
    for (int k = 0; k < NSPLIT_ALL; k++)
      if (!strcmp(t, split_names[k])) id = k;
    for (int k = 0; k < g->nsplit && id >= 0; k++)
      if (g->split_id[k] == id) id = -2;
    if (id < 0)
      return cli_usage_error("experiment", "--splits: '%s' (%s; each once)", t,
                             "regular25, regular11, random25, random10 or all");
    g->split_id[g->nsplit++] = id;
  }
  /* 'none' leaves a baseline out (a run that adds to another's grid) */
  const char *ulist = o->uniform ? o->uniform : "0.1,0.06,0.04,0.03,0.02,0.01";
  n = strcmp(ulist, "none") ? parse_floats(ulist, vals, 12, 1e-4, 10.0) : 0;
  if (n < 0) return cli_usage_error("experiment", "--uniform needs up to 12 sigmas in (0, 10]");
  for (int i = 0; i < n; i++) add_method(g, M_UNIFORM, vals[i], NULL);
  const char *rlist = o->rff ? o->rff : "5,10,20,40";
  n = strcmp(rlist, "none") ? parse_floats(rlist, vals, 12, 1e-3, 1e4) : 0;
  if (n < 0) return cli_usage_error("experiment", "--rff needs up to 12 scales");
  for (int i = 0; i < n; i++) add_method(g, M_RFF, vals[i], NULL);
  if (o->nerf) add_method(g, M_NERF, 0, NULL);
  n = parse_floats(o->layers ? o->layers : "1,3", vals, MAX_LAYERS, 0, 16);
  if (n <= 0)
    return cli_usage_error("experiment", "--layers needs up to %d depths 0..16", MAX_LAYERS);
  for (int i = 0; i < n; i++) {
    g->layers[i] = (int)vals[i];
    if ((float)g->layers[i] != vals[i])
      return cli_usage_error("experiment", "--layers needs whole numbers");
  }
  g->nlayers = n;
  return EXIT_OK;
}

/* The images and 1-D signals, the held-out names, and the result arrays. */
static int load_signals(rbpe_ctx *ctx, const exp_opts *o, grid *g) {
  char list[4096];
  int rc = EXIT_OK;
  for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++) {
    snprintf(list, sizeof list, "%s", pass == 0 ? o->images : o->signals);
    if (!strcmp(list, "none")) continue;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && rc == EXIT_OK;
         t = strtok_r(NULL, ",", &save))
      rc = add_signal(ctx, g, t, pass == 0, (size_t)o->size, (size_t)o->samples);
  }
  if (rc == EXIT_OK && g->nsig == 0)
    rc = cli_usage_error("experiment", "no images and no signals");
  if (rc == EXIT_OK && o->heldout) {
    snprintf(list, sizeof list, "%s", o->heldout);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && rc == EXIT_OK;
         t = strtok_r(NULL, ",", &save)) {
      int found = 0;
      for (int s = 0; s < g->nsig; s++)
        if (!strcmp(g->sig[s].name, t) && rbpe_signal_ndim(g->sig[s].sig) == 2)
          g->heldout[s] = 1, found = 1;
      if (!found)
        rc = cli_usage_error("experiment", "--heldout: no image named '%s'", t);
    }
  }
  if (rc != EXIT_OK) return rc;
  size_t nres = (size_t)g->nsig * g->nlayers * g->nsplit * g->nmeth * g->seeds;
  size_t npic = (size_t)g->nsig * g->nlayers * g->nsplit * g->nmeth + 1;
  g->res = calloc(nres ? nres : 1, sizeof *g->res);
  if (o->validate && !(g->val = calloc(nres ? nres : 1, sizeof *g->val)))
    rc = EXIT_FAILURE_RUN;
  g->recon = calloc(npic, sizeof *g->recon);
  g->sigmap = calloc(npic, sizeof *g->sigmap);
  g->bad_seed = calloc((size_t)g->nsig * g->nlayers * g->nsplit * g->seeds + 1, 1);
  if (!g->res || !g->recon || !g->sigmap || !g->bad_seed) rc = EXIT_FAILURE_RUN;
  return rc;
}

#define MAX_OUT (4 + 2 * MAX_SIGNALS * (MAX_LAYERS + 1))
/* The files this run writes into its folder (NULL-terminated in list). */
static void output_names(const exp_opts *o, const grid *g, int part,
                         char names[][96], const char **list) {
  int n = 0;
  if (!part) snprintf(names[n++], 96, "RESULTS.md");
  snprintf(names[n++], 96, "results.csv");
  if (part) snprintf(names[n++], 96, "fits.bin");
  if (!o->collect_dirs && !o->devices) {
    snprintf(names[n++], 96, "journal.csv");
    snprintf(names[n++], 96, "journal.bin");
  }
  for (int k = FIG_PNG; k <= FIG_SVG; k <<= 1) {
    const char *ext = k == FIG_PNG ? "png" : "svg";
    if (!(o->figures & k)) continue;
    for (int s = 0; !part && s < g->nsig; s++) {
      for (int l = 0; l < g->nlayers && !o->no_pictures; l++)
        snprintf(names[n++], 96, "panel_%s_%dL.%s", g->sig[s].name, g->layers[l], ext);
      if (fig_available()) snprintf(names[n++], 96, "summary_%s.%s", g->sig[s].name, ext);
    }
  }
  for (int k = 0; k < n; k++) list[k] = names[k];
  list[n] = NULL;
}

/* A new journal in outdir holding what the grid has (resumed units): both
 * files written under staging names and renamed once they hold their
 * headers, so a run stopped at any point leaves a journal a rerun can read
 * (or none), never a torn header that would look like a stranger's file. */
static int open_journal(grid *g, const char *outdir) {
  char jp[2][4200], staged[2][4300];
  const char *name[2] = {"journal.csv", "journal.bin"};
  for (int i = 0; i < 2; i++) {
    snprintf(jp[i], sizeof jp[i], "%s/%s", outdir, name[i]);
    snprintf(staged[i], sizeof staged[i], "%s/.%s.staged-%ld", outdir, name[i],
             (long)getpid());
  }
  g->jcsv = fopen(staged[0], "w");
  g->jbin = fopen(staged[1], "wb");
  int bad = !g->jcsv || !g->jbin;
  if (!bad) {
    csv_header(g->jcsv);
    fits_header(g->jbin, g);
    bad = journal_replay(g) != 0 || fflush(g->jcsv) != 0 || fflush(g->jbin) != 0 ||
          rename(staged[0], jp[0]) != 0 || rename(staged[1], jp[1]) != 0;
  }
  if (bad) {
    fprintf(stderr, "rbpe experiment: cannot write the journal in %s: %s\n",
            outdir, strerror(errno));
    remove(staged[0]);
    remove(staged[1]);
    return EXIT_OUTPUT;
  }
  resume_done(outdir);
  return EXIT_OK;
}

/* Fits, collects or runs the workers: the grid's results, EXIT_OK or why not. */
static int fill_grid(rbpe_ctx *ctx, grid *g, const exp_opts *o, int argc,
                     char **argv) {
  static char worker_dirs[MAX_WORKERS_DIRS];
  int rc = EXIT_OK;
  if (!o->collect_dirs && !o->devices) rc = open_journal(g, o->outdir);
  if (rc == EXIT_OK && o->devices) {
    rc = run_devices(ctx, g, o->devices, o->outdir, argc, argv, worker_dirs,
                     sizeof worker_dirs);
    if (rc == EXIT_OK) rc = collect(ctx, g, worker_dirs, 0);
  } else if (rc == EXIT_OK) {
    rc = o->collect_dirs ? collect(ctx, g, o->collect_dirs, o->partial)
                         : run_grid(ctx, g);
  }
  if (g->jcsv) fclose(g->jcsv);
  if (g->jbin) fclose(g->jbin);
  g->jcsv = NULL;
  g->jbin = NULL;
  return rc;
}

/* A part's fits.bin, or the figures and RESULTS.md; results.csv always. */
static rbpe_status write_outputs(rbpe_ctx *ctx, grid *g, const exp_opts *o,
                                 int part, int argc, char **argv) {
  char path[4200];
  const char *out = o->outdir;
  int cairo = fig_available();
  rbpe_status st = RBPE_OK;
  if (part) {
    snprintf(path, sizeof path, "%s/fits.bin", out);
    st = rbpe_write_file(ctx, path, write_fits, g);
  } else {
    cli_figures_note("experiment", 0);
  }
  for (int s = 0; !part && st == RBPE_OK && s < g->nsig; s++) {
    for (int l = 0; st == RBPE_OK && !o->no_pictures && l < g->nlayers; l++) {
      snprintf(path, sizeof path, "%s/panel_%s_%dL%s", out, g->sig[s].name,
               g->layers[l], cairo ? "" : ".png");
      st = cairo ? write_panel_figure(ctx, g, s, l, path, o->figures)
                 : write_panel(ctx, g, s, l, path);
    }
    snprintf(path, sizeof path, "%s/summary_%s", out, g->sig[s].name);
    if (cairo && st == RBPE_OK) st = write_summary_figure(ctx, g, s, path, o->figures);
  }
  if (st == RBPE_OK) {
    snprintf(path, sizeof path, "%s/results.csv", out);
    st = rbpe_write_file(ctx, path, write_csv, g);
  }
  if (!part && st == RBPE_OK) {
    char command[8192];
    int at = snprintf(command, sizeof command, "rbpe");
    for (int i = 0; i < argc && at < (int)sizeof command - 1; i++)
      at += snprintf(command + at, sizeof command - at, " %s", argv[i]);
    report_job job = {g, command, o->notes, g->device};
    snprintf(path, sizeof path, "%s/RESULTS.md", out);
    st = rbpe_write_file(ctx, path, write_md, &job);
  }
  return st;
}

static void grid_free(grid *g) {
  for (size_t i = 0; i < (size_t)g->nsig * g->nlayers * g->nsplit * g->nmeth; i++) {
    if (g->recon) rbpe_signal_free(g->recon[i]);
    if (g->sigmap) rbpe_signal_free(g->sigmap[i]);
  }
  free(g->recon);
  free(g->sigmap);
  free(g->bad_seed);
  free(g->res);
  free(g->val);
  for (int s = 0; s < g->nsig; s++) rbpe_signal_free(g->sig[s].sig);
}

int cmd_experiment(int argc, char **argv) {
  static exp_opts o;
  int rc = parse_options(argc, argv, &o);
  if (rc >= 0) return rc;
  rc = EXIT_OK;
  /* the output folder made and proved writable before any work */
  static cli_outset set;
  char why[4400];
  if (!o.plan && cli_outset_prepare(&set, o.outdir, NULL, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe experiment: %s\n", why);
    return EXIT_OUTPUT;
  }
  static grid g;
  memset(&g, 0, sizeof g);
  g.seeds = (int)o.seeds;
  g.steps = (int)o.steps;
  g.width = (int)o.width;
  g.lr = o.lr;
  g.diagonals = o.diagonals;
  g.angles = o.angles;
  g.rff_features = o.rff_features;
  g.preset = o.preset;
  g.no_pictures = o.no_pictures;
  g.figures = o.figures;
  g.worker = o.worker;
  g.queue = o.queue;
  g.shard_k = o.shard_k;
  g.shard_n = o.shard_n;
  /* a shard of more than one, or a worker of --devices, writes its part
   * for a collect run */
  int part = o.shard_n > 1 || o.worker;
  rc = build_methods(&o, &g);
  if (rc != EXIT_OK) return rc;
  double t_start = rbpe_seconds();
  /* --devices: this process fits nothing (its workers do) */
  rbpe_ctx *ctx = cli_open("experiment", o.devices ? "ref" : o.device, 0,
                           o.devices != NULL, &rc);
  if (!ctx) return rc;
  short_device(rbpe_ctx_device_description(ctx), g.dev, sizeof g.dev);
  rc = load_signals(ctx, &o, &g);
  /* the files this grid writes, claimed before the fits: rbpe replaces
   * only its own (cli.h) */
  static char out_names[MAX_OUT][96];
  static const char *out_list[MAX_OUT + 1];
  if (rc == EXIT_OK) output_names(&o, &g, part, out_names, out_list);
  /* a journal of this grid left by an earlier run: its units are not
   * fitted again */
  long resumed = 0;
  if (rc == EXIT_OK && !o.collect_dirs && !o.devices)
    rc = resume_load(ctx, &g, o.outdir, &resumed, !o.plan);
  if (rc == EXIT_OK && o.plan) {
    print_plan(&g, o.shard_n);
    rc = plan_estimate(ctx, &g);
    goto done;
  }
  if (rc == EXIT_OK && cli_outset_claim(&set, out_list, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe experiment: %s\n", why);
    rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK) {
    int nval = 0;
    for (int m = 0; m < g.nmeth; m++) nval += g.val && validated(&g.meth[m]);
    size_t per = (size_t)g.nsig * g.nlayers * g.nsplit * g.seeds;
    if (!o.worker) /* the parent of --devices said it */
      fprintf(stderr, "rbpe experiment: %d signal(s) x %d depth(s) x %d splits x "
                      "%d methods x %d seed(s) = %zu fits, and %zu validation "
                      "fits of the methods with a knob\n",
              g.nsig, g.nlayers, g.nsplit, g.nmeth, g.seeds, per * g.nmeth,
              per * nval);
    if (!o.collect_dirs && !o.devices)
      snprintf(g.device, sizeof g.device, "%s", rbpe_ctx_device_description(ctx));
    if (resumed)
      fprintf(stderr, "rbpe experiment: %ld unit(s) read back from %s/journal.* "
                      "(an earlier run of this grid; not fitted again: remove "
                      "the journal to fit them anew)\n",
              resumed, o.outdir);
    rc = fill_grid(ctx, &g, &o, argc, argv);
  }
  rbpe_status st = rc == EXIT_OK ? write_outputs(ctx, &g, &o, part, argc, argv) : RBPE_OK;
  if (rc == EXIT_OK && st != RBPE_OK) {
    rc = cli_fail("experiment", ctx, st);
    if (st == RBPE_ERR_IO) rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK && cli_outset_record(&set, out_list) != 0) {
    fprintf(stderr, "rbpe experiment: cannot record the outputs in %s/%s: %s\n",
            o.outdir, CLI_MANIFEST, strerror(errno));
    rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK && o.devices) devices_summary(&g, rbpe_seconds() - t_start);
  if (rc == EXIT_OK && o.worker)
    ; /* the parent collects and reports */
  else if (rc == EXIT_OK && part)
    printf("shard %d/%d: %s/results.csv, %s/fits.bin (rbpe experiment "
           "--collect with the same options makes the report)\n",
           o.shard_k, o.shard_n, o.outdir, o.outdir);
  else if (rc == EXIT_OK)
    printf("results: %s/RESULTS.md, %s/results.csv, %s/panel_*%s\n", o.outdir,
           o.outdir, o.outdir, fig_available() ? " and summary_*" : ".png");
done:
  if (rc != EXIT_OK && !o.plan) cli_outset_release(&set);
  grid_free(&g);
  rbpe_ctx_free(ctx);
  return rc;
}
