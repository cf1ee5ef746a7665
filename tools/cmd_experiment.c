/* `rbpe experiment`: the seed's experiments as one command (METHOD.md 7).
 * A grid of embeddings x splits x MLP depths x seeds over images and 1-D
 * signals, fitted in-process on one device; writes every run as CSV, a
 * Markdown report (RESULTS.md) with the learned sigma against the best
 * uniform sigma and the best RFF scale per setting, and panels laid out
 * like the seed's figures (methods as rows, settings as columns). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "clock.h"

static const char *experiment_help =
    "usage: rbpe experiment [options]\n"
    "Fits every method of the grid to every signal, split, depth and seed and\n"
    "writes OUT/RESULTS.md, OUT/results.csv and OUT/panel_*.png.\n"
    "  --images LIST       comma-separated images (tests/data/camera256.png,\n"
    "                      tests/data/astronaut256.png); 'none' for no image\n"
    "  --heldout LIST      names (file names without folder and extension) of\n"
    "                      images left out of choosing the default: tallied\n"
    "                      apart from the others (none)\n"
    "  --size N            images resampled to N x N by area averaging (128)\n"
    "  --signals LIST      1-D signals: sines, chirp, jumps (built in) or text\n"
    "                      files; 'none' for none (sines,chirp,jumps)\n"
    "  --samples N         samples of the built-in 1-D signals (1024)\n"
    "  --splits LIST       regular25, regular11, random25, random10 or all\n"
    "                      (regular25,random10; 1-D: regular 10 % for 11)\n"
    "  --learned LIST      learned-sigma recipes, the first one primary:\n"
    "                      BASE[+MOD..], BASE graph|poly|default|uniform=S,\n"
    "                      MOD norm|nonorm|smin=A|smax=B|k=K|eps=E|gamma=G|\n"
    "                      lambda=L|sw=W|nearest|field=N|flr=X|zero|fwin=A:B\n"
    "                      (default,graph,poly; RESULTS.md says what each is)\n"
    "  --uniform LIST      uniform sigmas (0.1,0.06,0.04,0.03,0.02,0.01)\n"
    "  --rff LIST          RFF scales (5,10,20,40)\n"
    "  --diagonals         every rbf method also projects on the diagonals\n"
    "  --no-nerf           leave out the NeRF embedding\n"
    "  --no-validation     skip the validation fits (one more fit per method\n"
    "                      with a knob, on the training samples less a seeded\n"
    "                      10 %: they choose among candidates without the test\n"
    "                      samples; on by default)\n"
    "  --layers LIST       hidden layers of the MLPs (1,3); width --width (256)\n"
    "  --steps N           Adam steps per fit (1000); --lr X (0.001)\n"
    "  --seeds N           seeds per setting (3)\n"
    "  --device SPEC       auto | cpu | ref | cl | cl:P:D | cl:NAME\n"
    "  --quick             one 48 x 48 image, one 1-D signal, one seed, 60 steps\n"
    "  --notes FILE        Markdown appended to RESULTS.md (docs/results_notes.md\n"
    "                      when it exists)\n"
    "  --shard K/N         fit only the K-th of N slices of the grid and write\n"
    "                      results.csv and fits.bin for a collect run\n"
    "  --collect DIRS      fit nothing: read the shards' folders (comma-\n"
    "                      separated; run with the shards' grid options) and\n"
    "                      write the report; a shard stopped early gives the\n"
    "                      fits its journal holds\n"
    "  --partial           collect: report the settings whose fits are all\n"
    "                      there, say which are left out\n"
    "  --out DIR           output folder (rbpe-experiment)\n";

#define RBPE_PI 3.14159265358979323846

enum { M_LEARNED, M_UNIFORM, M_RFF, M_NERF };

/* A method of the grid. Learned sigma variants carry their recipe, a
 * `rbpe fit` configuration written as BASE[+MOD...] (learned_apply). */
typedef struct method {
  int kind;
  float param;
  char name[64];
  char recipe[56];
} method;

typedef struct signal_item {
  char name[64];
  rbpe_signal *sig;
} signal_item;

#define MAX_METHODS 40
#define MAX_LEARNED 12
#define MAX_SIGNALS 16
#define MAX_LAYERS 4
#define MAX_SEEDS 16
#define NSPLIT_ALL 4

typedef struct run_result {
  double test, train, seconds;
  int done;
} run_result;

typedef struct grid {
  signal_item sig[MAX_SIGNALS];
  int nsig;
  method meth[MAX_METHODS];
  int nmeth;
  int layers[MAX_LAYERS];
  int nlayers;
  int seeds, steps, width;
  float lr;
  int diagonals;           /* every rbf method projects on the diagonals */
  int split_id[NSPLIT_ALL];/* the splits of the grid (split_spec's index) */
  int nsplit;
  /* signals left out of choosing the default (tallied on their own) */
  unsigned char heldout[MAX_SIGNALS];
  /* --shard K/N: this process fits units u with u % N == K - 1 */
  int shard_k, shard_n;
  /* the device(s) the fits ran on, "; "-separated */
  char device[1024];
  /* a shard's journal: each unit's rows and pictures as soon as it is
   * done, so a shard stopped early still gives what it finished */
  FILE *jcsv, *jbin;
  /* a partial collect: a seed of a setting (signal, depth, split) with a
   * missing fit is left out of every table, a setting without a complete
   * seed too; [s][l][p][k] */
  unsigned char *bad_seed;
  long missing;
  /* [signal][layers][split][method][seed] */
  run_result *res;
  /* the same, for uniform sigmas and RFF scales: PSNR on a validation part
   * of the training samples (SPLIT+val:VAL_FRAC), which chooses among them
   * without the test samples; NULL with --no-validation */
  run_result *val;
  /* seed 0's reconstructions and sigma maps (learned recipes) for the
   * panels */
  rbpe_signal **recon, **sigmap;
} grid;

/* p below is an index into g->split_id */
static size_t at(const grid *g, int s, int l, int p, int m, int k) {
  return ((((size_t)s * g->nlayers + l) * g->nsplit + p) * g->nmeth + m) *
             g->seeds + k;
}
static size_t rat(const grid *g, int s, int l, int p, int m) {
  return (((size_t)s * g->nlayers + l) * g->nsplit + p) * g->nmeth + m;
}

/* the validation part of the training samples that baselines are chosen on */
#define VAL_FRAC "0.1"

/* every method but NeRF (which has no knob) is also fitted on the
 * validation split: baselines and learned variants are chosen alike */
static int validated(const method *m) { return m->kind != M_NERF; }

static const char *split_names[NSPLIT_ALL] = {"regular25", "regular11",
                                              "random25", "random10"};
static const char *split_spec(const grid *g, int ndim, int p) {
  static const char *two[NSPLIT_ALL] = {"regular:2", "regular:3", "random:0.25",
                                        "random:0.1"};
  static const char *one[NSPLIT_ALL] = {"regular:4", "regular:10", "random:0.25",
                                        "random:0.1"};
  return ndim == 1 ? one[g->split_id[p]] : two[g->split_id[p]];
}
static const char *split_label(const grid *g, int ndim, int p) {
  static const char *two[NSPLIT_ALL] = {"regular 25%", "regular 11%",
                                        "random 25%", "random 10%"};
  static const char *one[NSPLIT_ALL] = {"regular 25%", "regular 10%",
                                        "random 25%", "random 10%"};
  return ndim == 1 ? one[g->split_id[p]] : two[g->split_id[p]];
}

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
 * nonorm, smin=A, smax=B, k=K, eps=E, gamma=G, lambda=L, sw=W (smooth
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
  if (c->sig.smin >= c->sig.smax) {
    snprintf(why, wlen, "learned recipe '%s': smin must be below smax", recipe);
    return -1;
  }
  return 0;
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
  if (m->kind == M_RFF) c->embed.rff_scale = m->param;
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
  if (kind == RBPE_EMBED_RBF) c->embed.rbf_diagonals = g->diagonals;
  c->split = split_spec(g, ndim, p);
  c->hidden_layers = layers;
  c->width = g->width;
  c->steps = g->steps;
  c->lr = g->lr;
  c->seed = (uint64_t)seed;
  c->log_every = g->steps;
}

/* One fit; its held-out PSNR into r. */
static int fit_one(rbpe_ctx *ctx, const rbpe_signal *sig,
                   const rbpe_fit_config *c, run_result *r,
                   rbpe_signal **recon, rbpe_signal **sigmap) {
  rbpe_model *model = NULL;
  rbpe_fit_report rep;
  double t1 = rbpe_now_s();
  rbpe_status st = rbpe_fit(ctx, sig, c, &model, &rep);
  if (st != RBPE_OK) {
    fprintf(stderr, "\n");
    return cli_fail("experiment", ctx, st);
  }
  /* as results.csv keeps them, so a report collected from shards is the
   * one a single process writes */
  r->test = round(rep.test_psnr * 1e4) / 1e4;
  r->train = round(rep.train_psnr * 1e4) / 1e4;
  r->seconds = rbpe_now_s() - t1;
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
static long units(const grid *g) {
  return (long)g->nsig * g->seeds * g->nlayers * g->nsplit * g->nmeth;
}
static int mine(const grid *g, long u) {
  if (g->shard_n <= 1) return 1;
  return (int)((double)u * g->shard_n / (double)units(g)) == g->shard_k - 1;
}

static int seed_ok(const grid *g, int s, int l, int p, int k) {
  return !g->bad_seed ||
         !g->bad_seed[(((size_t)s * g->nlayers + l) * g->nsplit + p) * g->seeds + k];
}
static int seeds_ok(const grid *g, int s, int l, int p) {
  int n = 0;
  for (int k = 0; k < g->seeds; k++) n += seed_ok(g, s, l, p, k);
  return n;
}
static int absent(const grid *g, int s, int l, int p) {
  return seeds_ok(g, s, l, p) == 0;
}

static void csv_row(FILE *f, const grid *g, int s, int l, int p, int m, int k);
static void put_record(FILE *f, int s, int l, int p, int m, int kind,
                       const rbpe_signal *x);

static int run_grid(rbpe_ctx *ctx, grid *g) {
  int total = 0, k = 0;
  long unit = 0;
  for (int k2 = 0; k2 < g->seeds; k2++)
    for (int s = 0; s < g->nsig; s++)
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++)
          for (int m = 0; m < g->nmeth; m++, unit++)
            if (mine(g, unit)) total += 1 + (g->val && validated(&g->meth[m]));
  double t0 = rbpe_now_s();
  unit = 0;
  for (int k2 = 0; k2 < g->seeds; k2++)
    for (int s = 0; s < g->nsig; s++)
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++)
          for (int m = 0; m < g->nmeth; m++) {
            if (!mine(g, unit++)) continue;
            int ndim = rbpe_signal_ndim(g->sig[s].sig);
            rbpe_fit_config c;
            method_config(g, &g->meth[m], g->layers[l], ndim, p, k2, &c);
            run_result *r = &g->res[at(g, s, l, p, m, k2)];
            int first = k2 == 0, learned = g->meth[m].kind == M_LEARNED;
            int rc = fit_one(ctx, g->sig[s].sig, &c, r,
                             first ? &g->recon[rat(g, s, l, p, m)] : NULL,
                             first && learned ? &g->sigmap[rat(g, s, l, p, m)]
                                              : NULL);
            if (rc != EXIT_OK) return rc;
            k++;
            if (g->val && validated(&g->meth[m])) {
              /* the same setting fitted on the training samples less a
               * validation part, scored on that part only */
              char spec[64];
              snprintf(spec, sizeof spec, "%s+val:" VAL_FRAC, c.split);
              c.split = spec;
              rc = fit_one(ctx, g->sig[s].sig, &c,
                           &g->val[at(g, s, l, p, m, k2)], NULL, NULL);
              if (rc != EXIT_OK) return rc;
              k++;
            }
            if (g->jcsv) {
              size_t i = rat(g, s, l, p, m);
              csv_row(g->jcsv, g, s, l, p, m, k2);
              if (first && g->recon[i]) put_record(g->jbin, s, l, p, m, 0, g->recon[i]);
              if (first && g->sigmap[i]) put_record(g->jbin, s, l, p, m, 1, g->sigmap[i]);
              if (fflush(g->jcsv) != 0 || fflush(g->jbin) != 0) {
                fprintf(stderr, "rbpe experiment: cannot write the journal: %s\n",
                        strerror(errno));
                return EXIT_OUTPUT;
              }
            }
            double el = rbpe_now_s() - t0, eta = el / k * (total - k);
            fprintf(stderr,
                    "[%d/%d] %s, %s, %dL, %s, seed %d: %.2f dB held-out "
                    "(%.1f s; ETA %d:%02d)\n",
                    k, total, g->sig[s].name, split_label(g, ndim, p),
                    g->layers[l], g->meth[m].name, k2, r->test, r->seconds,
                    (int)eta / 60, (int)eta % 60);
          }
  return EXIT_OK;
}

/* ---- summaries ------------------------------------------------------------ */

/* Mean and standard deviation over the seeds (the complete ones). */
static void stats(const grid *g, int s, int l, int p, int m, double *mean,
                  double *sd) {
  double a = 0, b = 0;
  int n = 0;
  for (int k = 0; k < g->seeds; k++)
    if (seed_ok(g, s, l, p, k)) a += g->res[at(g, s, l, p, m, k)].test, n++;
  a = n ? a / n : NAN;
  for (int k = 0; k < g->seeds; k++) {
    if (!seed_ok(g, s, l, p, k)) continue;
    double d = g->res[at(g, s, l, p, m, k)].test - a;
    b += d * d;
  }
  *mean = a;
  *sd = n > 1 ? sqrt(b / (n - 1)) : 0.0;
}

/* The method of the given kind with the best mean held-out PSNR (-1: none). */
static int best_of(const grid *g, int s, int l, int p, int kind) {
  int best = -1;
  double bm = -INFINITY, mean, sd;
  for (int m = 0; m < g->nmeth; m++) {
    if (g->meth[m].kind != kind) continue;
    stats(g, s, l, p, m, &mean, &sd);
    if (mean > bm) bm = mean, best = m;
  }
  return best;
}

/* The method of the kind that the validation part picks for seed k (the
 * best validation PSNR; -1: none). */
static int val_pick(const grid *g, int s, int l, int p, int kind, int k) {
  int best = -1;
  double bv = -INFINITY;
  for (int m = 0; g->val && m < g->nmeth; m++) {
    const run_result *v = &g->val[at(g, s, l, p, m, k)];
    if (g->meth[m].kind == kind && v->done && v->test > bv)
      bv = v->test, best = m;
  }
  return best;
}

/* Two-sided sign test: the chance of a split of n non-tied pairs at least
 * as lopsided as w wins, when wins and losses are equally likely. */
static double sign_test(int w, int n) {
  if (n <= 0) return 1.0;
  int lo = w < n - w ? w : n - w;
  double tail = 0;
  for (int i = 0; i <= lo; i++)
    tail += exp(lgamma(n + 1.0) - lgamma(i + 1.0) - lgamma(n - i + 1.0) -
                n * log(2.0));
  double p = 2 * tail;
  return p > 1 ? 1 : p;
}

/* The learned variant that the validation part picks for seed k. */
#define PICKED (-2)
static int learned_pick(const grid *g, int s, int l, int p, int k) {
  return val_pick(g, s, l, p, M_LEARNED, k);
}

/* The held-out PSNR of learned method lm (or PICKED) at seed k; NAN when
 * there is none. */
static double learned_at(const grid *g, int s, int l, int p, int lm, int k) {
  int m = lm == PICKED ? learned_pick(g, s, l, p, k) : lm;
  return m < 0 ? NAN : g->res[at(g, s, l, p, m, k)].test;
}

/* The baseline of a kind at seed k: chosen on the validation part
 * (oracle 0) or the best mean on the test samples (oracle 1). */
static int baseline_at(const grid *g, int s, int l, int p, int kind, int oracle,
                       int k) {
  return oracle ? best_of(g, s, l, p, kind) : val_pick(g, s, l, p, kind, k);
}

/* Paired differences, learned minus baseline, over (setting, seed) pairs;
 * worst: the lowest mean difference of a setting. */
typedef struct paired {
  int wins, losses, pairs, settings;
  double sum, worst;
  char worst_at[96];
} paired;

static int group_of(const grid *g, int s) {
  return rbpe_signal_ndim(g->sig[s].sig) == 1 ? 2 : g->heldout[s] ? 1 : 0;
}

static void compare(const grid *g, int lm, int kind, int oracle, int group,
                    paired *t) {
  memset(t, 0, sizeof *t);
  t->worst = INFINITY;
  for (int s = 0; s < g->nsig; s++) {
    if (group_of(g, s) != group) continue;
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++) {
        if (absent(g, s, l, p)) continue;
        double sum = 0;
        int n = 0;
        for (int k = 0; k < g->seeds; k++) {
          if (!seed_ok(g, s, l, p, k)) continue;
          int b = baseline_at(g, s, l, p, kind, oracle, k);
          double L = learned_at(g, s, l, p, lm, k);
          if (b < 0 || !isfinite(L)) continue;
          double d = L - g->res[at(g, s, l, p, b, k)].test;
          t->wins += d > 0;
          t->losses += d < 0;
          t->pairs++;
          t->sum += d;
          sum += d;
          n++;
        }
        if (!n) continue;
        t->settings++;
        if (sum / n < t->worst) {
          t->worst = sum / n;
          snprintf(t->worst_at, sizeof t->worst_at, "%s %s %dL", g->sig[s].name,
                   split_label(g, rbpe_signal_ndim(g->sig[s].sig), p),
                   g->layers[l]);
        }
      }
  }
}

/* One row's cells of the per-setting table: the baseline chosen on the
 * validation part, its picks per seed, and the paired difference. */
static void paired_cells(FILE *f, const grid *g, int s, int l, int p, int lm,
                         int kind) {
  double d[MAX_SEEDS], v[MAX_SEEDS];
  int n = 0;
  char picks[160] = "";
  for (int k = 0; k < g->seeds; k++) {
    if (!seed_ok(g, s, l, p, k)) continue;
    int m = val_pick(g, s, l, p, kind, k);
    double L = learned_at(g, s, l, p, lm, k);
    if (m < 0 || !isfinite(L)) continue;
    v[n] = g->res[at(g, s, l, p, m, k)].test;
    d[n] = L - v[n];
    size_t o = strlen(picks);
    snprintf(picks + o, sizeof picks - o, "%s%g", n ? "/" : "",
             (double)g->meth[m].param);
    n++;
  }
  if (!n) {
    fputs(" - | - | - |", f);
    return;
  }
  double mv = 0, md = 0, sd = 0;
  for (int i = 0; i < n; i++) mv += v[i] / n, md += d[i] / n;
  for (int i = 0; i < n; i++) sd += (d[i] - md) * (d[i] - md);
  sd = n > 1 ? sqrt(sd / (n - 1)) : 0;
  fprintf(f, " %.2f | %s |", mv, picks);
  if (n > 1) fprintf(f, " %+.2f ± %.2f |", md, sd);
  else fprintf(f, " %+.2f |", md);
}

static int find_kind(const grid *g, int kind) {
  for (int m = 0; m < g->nmeth; m++)
    if (g->meth[m].kind == kind) return m;
  return -1;
}

typedef struct report_job {
  const grid *g;
  const char *command;
  const char *notes;
  const char *device;
} report_job;

static void cell(FILE *f, const grid *g, int s, int l, int p, int m) {
  if (m < 0 || absent(g, s, l, p)) {
    fputs(" - |", f);
    return;
  }
  double mean, sd;
  stats(g, s, l, p, m, &mean, &sd);
  if (g->seeds > 1) fprintf(f, " %.2f ± %.2f |", mean, sd);
  else fprintf(f, " %.2f |", mean);
}

/* The validation-picked learned method's mean and spread over seeds. */
static void picked_cell(FILE *f, const grid *g, int s, int l, int p) {
  double v[MAX_SEEDS], mean = 0, sd = 0;
  int n = 0;
  for (int k = 0; k < g->seeds; k++) {
    if (!seed_ok(g, s, l, p, k)) continue;
    double L = learned_at(g, s, l, p, PICKED, k);
    if (isfinite(L)) v[n++] = L;
  }
  if (!n) {
    fputs(" - |", f);
    return;
  }
  for (int i = 0; i < n; i++) mean += v[i] / n;
  for (int i = 0; i < n; i++) sd += (v[i] - mean) * (v[i] - mean);
  if (n > 1) fprintf(f, " %.2f ± %.2f |", mean, sqrt(sd / (n - 1)));
  else fprintf(f, " %.2f |", mean);
}

static double mean_of(const grid *g, int s, int l, int p, int m) {
  double mean, sd;
  stats(g, s, l, p, m, &mean, &sd);
  return mean;
}

static void csv_header(FILE *f) {
  fputs("signal,split,hidden_layers,method,param,seed,test_psnr,train_psnr,"
        "seconds,val_psnr\n",
        f);
}

static void csv_row(FILE *f, const grid *g, int s, int l, int p, int m, int k) {
  const run_result *r = &g->res[at(g, s, l, p, m, k)];
  const method *me = &g->meth[m];
  if (!r->done) return; /* another shard's */
  char kind[64];
  if (me->kind == M_LEARNED)
    snprintf(kind, sizeof kind, "rbf:%s", me->recipe);
  else
    snprintf(kind, sizeof kind, "%s",
             me->kind == M_UNIFORM ? "rbf_uniform"
             : me->kind == M_RFF   ? "rff"
                                   : "nerf");
  fprintf(f, "%s,%s,%d,%s,%g,%d,%.4f,%.4f,%.2f,", g->sig[s].name,
          split_spec(g, rbpe_signal_ndim(g->sig[s].sig), p), g->layers[l], kind,
          me->kind == M_UNIFORM || me->kind == M_RFF ? (double)me->param : 0.0,
          k, r->test, r->train, r->seconds);
  const run_result *v = g->val ? &g->val[at(g, s, l, p, m, k)] : NULL;
  if (v && v->done) fprintf(f, "%.4f", v->test);
  fputc('\n', f);
}

static int write_csv(FILE *f, void *user) {
  const grid *g = user;
  csv_header(f);
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        for (int m = 0; m < g->nmeth; m++)
          for (int k = 0; k < g->seeds; k++) csv_row(f, g, s, l, p, m, k);
  return ferror(f) ? -1 : 0;
}

static const char *group_names[3] = {"photos used to choose the default",
                                     "photos held out from that choice",
                                     "1-D signals"};

/* One summary line per learned method (and the validation-picked one)
 * against the three baselines, over one group of signals. */
static void summary_table(FILE *f, const grid *g, int group) {
  fprintf(f, "| learned | vs val. uniform: mean (W/L, sign p) | vs oracle "
             "uniform: mean | worst setting vs oracle | vs val. RFF: mean "
             "(W/L) |\n|---|---|---|---|---|\n");
  for (int m = -1; m < g->nmeth; m++) {
    int lm = m < 0 ? PICKED : m;
    if (m >= 0 && g->meth[m].kind != M_LEARNED) continue;
    paired vu, ou, vr;
    compare(g, lm, M_UNIFORM, 0, group, &vu);
    compare(g, lm, M_UNIFORM, 1, group, &ou);
    compare(g, lm, M_RFF, 0, group, &vr);
    if (!vu.pairs && !ou.pairs) continue;
    fprintf(f, "| %s |", m < 0 ? "**validation-picked**" : g->meth[m].recipe);
    if (vu.pairs)
      fprintf(f, " %+.2f (%d/%d, %.2g) |", vu.sum / vu.pairs, vu.wins,
              vu.losses, sign_test(vu.wins, vu.wins + vu.losses));
    else fputs(" - |", f);
    if (ou.pairs)
      fprintf(f, " %+.2f | %+.2f (%s) |", ou.sum / ou.pairs, ou.worst,
              ou.worst_at);
    else fputs(" - | - |", f);
    if (vr.pairs)
      fprintf(f, " %+.2f (%d/%d) |\n", vr.sum / vr.pairs, vr.wins, vr.losses);
    else fputs(" - |\n", f);
  }
  fputc('\n', f);
}

static int write_md(FILE *f, void *user) {
  const report_job *j = user;
  const grid *g = j->g;
  int mg = find_kind(g, M_LEARNED), mn = find_kind(g, M_NERF);
  rbpe_fit_config d;
  rbpe_fit_config_default(&d);
  fprintf(f, "# rbpe experiment: learned sigma against uniform sigma, RFF "
             "and NeRF\n\n");
  fprintf(f, "Regenerate everything here with:\n\n```\n%s\n```\n\n", j->command);
  if (g->missing) {
    fprintf(f, "**A partial grid.** %ld of %ld fits are missing (shards that "
               "did not finish); a seed with a missing fit is left out of its "
               "setting's numbers. Settings with fewer than %d seeds:",
            g->missing, units(g), g->seeds);
    for (int s = 0; s < g->nsig; s++)
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++)
          if (seeds_ok(g, s, l, p) < g->seeds)
            fprintf(f, " %s %s %dL (%d);", g->sig[s].name,
                    split_label(g, rbpe_signal_ndim(g->sig[s].sig), p),
                    g->layers[l], seeds_ok(g, s, l, p));
    fprintf(f, " the rest is complete.\n\n");
  }
  fprintf(f, "Device: %s. Each fit: %d Adam steps at lr %g, full batch, "
             "hidden layers of %d (ReLU), sigmoid output; held-out PSNR in dB",
          j->device, g->steps, (double)g->lr, g->width);
  if (g->seeds > 1)
    fprintf(f, " as mean ± standard deviation over %d seeds (the seed sets "
               "the random split, the validation part, the RFF matrix and "
               "the initial weights)",
            g->seeds);
  fprintf(f, ". RBF: %d centres per direction, directions: the axes%s. RFF: "
             "256 features. NeRF: 10 frequencies.\n\n",
          d.embed.rbf_centres, g->diagonals ? " and the diagonals" : "");
  fprintf(f, "Learned sigma recipes are `rbpe fit`'s configuration with "
             "changes: `graph` = the sparse k-NN Laplacian solve (k %d, eps "
             "%g, gamma %g, lambda_n %g, sigma in [%g, %g]%s, sigma at "
             "held-out samples: %s); `poly` = the seed's polynomial of the "
             "gradient norm; `default` = what `rbpe fit` does without "
             "--sigma; `+norm` = the amplitude normalisation "
             "(--rbf-norm); `+smax=B` = the range's top; `+field=N` = a "
             "sigma field of N nodes per axis learned on held-back samples "
             "(--field N; `+zero` keeps its mean at 0, `+flr=X` its rate).\n\n",
          d.sig.k, (double)d.sig.eps, (double)d.sig.gamma,
          (double)d.sig.lambda_n, (double)d.sig.smin, (double)d.sig.smax,
          d.sig.relative ? " times the training spacing" : "",
          d.sigma_at == RBPE_SIGMA_AT_SMOOTH    ? "smooth"
          : d.sigma_at == RBPE_SIGMA_AT_NEAREST ? "nearest"
                                                : "poly");
  if (g->val)
    fprintf(f, "**Protocol.** Every method with a knob (each uniform sigma, "
               "each RFF scale, each learned recipe) is fitted twice per "
               "setting and seed: on the training samples (scored on the "
               "test samples) and on the training samples less a seeded "
               VAL_FRAC " of them (`SPLIT+val:" VAL_FRAC "`, scored on that "
               "part alone). *Validation-selected* picks, per setting and "
               "seed, the candidate with the best validation score and "
               "reports its test PSNR: no test sample takes part in the "
               "choice. *Oracle* picks the candidate with the best mean test "
               "PSNR over the seeds (in the baseline's favour). Differences "
               "are paired by seed; W/L counts (setting, seed) pairs won and "
               "lost, p is the two-sided sign test.\n\n");

  /* the summary */
  if (g->val) {
    fprintf(f, "## Summary\n\n");
    for (int grp = 0; grp < 3; grp++) {
      int any = 0;
      for (int s = 0; s < g->nsig; s++) any |= group_of(g, s) == grp;
      if (!any) continue;
      fprintf(f, "### %s:", group_names[grp]);
      for (int s = 0; s < g->nsig; s++)
        if (group_of(g, s) == grp) fprintf(f, " %s", g->sig[s].name);
      fprintf(f, "\n\n");
      summary_table(f, g, grp);
    }
  }

  /* the primary learned recipe, setting by setting */
  if (g->val && mg >= 0) {
    fprintf(f, "## `%s` against validation-selected baselines, setting by "
               "setting\n\n",
            g->meth[mg].recipe);
    fprintf(f, "| signal | split | MLP | %s | val.-picked learned | val. "
               "uniform | picks | learned - uniform | val. RFF | picks | "
               "learned - RFF |\n",
            g->meth[mg].recipe);
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < g->nsig; s++)
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++) {
          if (absent(g, s, l, p)) continue;
          int nd = rbpe_signal_ndim(g->sig[s].sig);
          fprintf(f, "| %s | %s | %dx%d |", g->sig[s].name,
                  split_label(g, nd, p), g->layers[l], g->width);
          cell(f, g, s, l, p, mg);
          picked_cell(f, g, s, l, p);
          paired_cells(f, g, s, l, p, mg, M_UNIFORM);
          paired_cells(f, g, s, l, p, mg, M_RFF);
          fputc('\n', f);
        }
    fputc('\n', f);
  }

  /* against the oracle choices */
  fprintf(f, "## `%s` against the oracle choices\n\n"
             "The best uniform sigma and RFF scale picked per setting by "
             "their mean held-out PSNR (on the test samples).\n\n",
          mg >= 0 ? g->meth[mg].recipe : "-");
  fprintf(f, "| signal | split | MLP | learned | best uniform | sigma | "
             "best RFF | scale | nerf | learned - uniform | learned - RFF |\n");
  fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++) {
        if (absent(g, s, l, p)) continue;
        int nd = rbpe_signal_ndim(g->sig[s].sig);
        int bu = best_of(g, s, l, p, M_UNIFORM), br = best_of(g, s, l, p, M_RFF);
        fprintf(f, "| %s | %s | %dx%d |", g->sig[s].name, split_label(g, nd, p),
                g->layers[l], g->width);
        cell(f, g, s, l, p, mg);
        cell(f, g, s, l, p, bu);
        if (bu >= 0) fprintf(f, " %g |", (double)g->meth[bu].param);
        else fputs(" - |", f);
        cell(f, g, s, l, p, br);
        if (br >= 0) fprintf(f, " %g |", (double)g->meth[br].param);
        else fputs(" - |", f);
        cell(f, g, s, l, p, mn);
        double G = mg >= 0 ? mean_of(g, s, l, p, mg) : NAN;
        double U = bu >= 0 ? mean_of(g, s, l, p, bu) : NAN;
        double R = br >= 0 ? mean_of(g, s, l, p, br) : NAN;
        if (isfinite(G - U)) fprintf(f, " %+.2f |", G - U);
        else fputs(" - |", f);
        if (isfinite(G - R)) fprintf(f, " %+.2f |\n", G - R);
        else fputs(" - |\n", f);
      }
  fputc('\n', f);

  fprintf(f, "## Panels\n\nOne per signal and MLP depth, seed 0. Columns: the "
             "splits, left to right:");
  for (int p = 0; p < g->nsplit; p++)
    fprintf(f, "%s %s", p ? "," : "", split_label(g, 2, p));
  fprintf(f, ". Rows, top to bottom: the truth, ");
  if (mg >= 0) fprintf(f, "`%s` and its sigma map (dark: small sigma), ",
                       g->meth[mg].recipe);
  fprintf(f, "the best uniform sigma, the best RFF%s. 1-D plots: truth gray, "
             "training samples blue (top row), fit red; the sigma row plots "
             "sigma.\n\n",
          mn >= 0 ? ", NeRF" : "");
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      fprintf(f, "![%s, %d hidden layer(s)](panel_%s_%dL.png)\n\n",
              g->sig[s].name, g->layers[l], g->sig[s].name, g->layers[l]);

  fprintf(f, "## Every method\n\nHeld-out PSNR (dB) of every method in every "
             "setting; all runs, seed by seed, with training PSNR, time and "
             "validation PSNR, are in `results.csv`.\n\n");
  for (int s = 0; s < g->nsig; s++) {
    int nd = rbpe_signal_ndim(g->sig[s].sig);
    fprintf(f, "### %s\n\n| method |", g->sig[s].name);
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        fprintf(f, " %dL %s |", g->layers[l], split_label(g, nd, p));
    fputs("\n|---|", f);
    for (int i = 0; i < g->nlayers * g->nsplit; i++) fputs("---|", f);
    fputc('\n', f);
    for (int m = 0; m < g->nmeth; m++) {
      fprintf(f, "| %s |", g->meth[m].name);
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++) cell(f, g, s, l, p, m);
      fputc('\n', f);
    }
    fputc('\n', f);
  }
  if (j->notes) {
    FILE *n = fopen(j->notes, "r");
    if (n) {
      char buf[4096];
      size_t got;
      while ((got = fread(buf, 1, sizeof buf, n)) > 0) fwrite(buf, 1, got, f);
      fclose(n);
    }
  }
  return ferror(f) ? -1 : 0;
}

/* ---- shards ---------------------------------------------------------------
 * A shard writes results.csv (its rows) and fits.bin: the grid's
 * fingerprint, then seed 0's reconstructions and sigma maps, each as
 * (u32 s, l, p, m, kind, ndim, u64 dims[ndim], u32 channels, f32 data). A
 * collect run, given the same grid options, reads any set of shard folders
 * and writes the report one process would have written. */

#define FITS_MAGIC "RBPEFIT1"

static void fingerprint(const grid *g, char *buf, size_t len) {
  size_t o = (size_t)snprintf(buf, len, "steps %d lr %g width %d seeds %d "
                                        "diag %d val %d;",
                              g->steps, (double)g->lr, g->width, g->seeds,
                              g->diagonals, g->val != NULL);
  for (int i = 0; i < g->nsig && o < len; i++) {
    const rbpe_signal *x = g->sig[i].sig;
    o += (size_t)snprintf(buf + o, len - o, " %s", g->sig[i].name);
    for (int a = 0; a < rbpe_signal_ndim(x) && o < len; a++)
      o += (size_t)snprintf(buf + o, len - o, "%c%zu", a ? 'x' : ':',
                            rbpe_signal_dim(x, a));
  }
  for (int i = 0; i < g->nlayers && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " L%d", g->layers[i]);
  for (int i = 0; i < g->nsplit && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " %s", split_names[g->split_id[i]]);
  for (int i = 0; i < g->nmeth && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " [%s]", g->meth[i].name);
}

static void put_u32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }

static void put_record(FILE *f, int s, int l, int p, int m, int kind,
                       const rbpe_signal *x) {
  int nd = rbpe_signal_ndim(x);
  size_t n = (size_t)rbpe_signal_channels(x);
  uint32_t head[6] = {(uint32_t)s, (uint32_t)l, (uint32_t)p, (uint32_t)m,
                      (uint32_t)kind, (uint32_t)nd};
  fwrite(head, 4, 6, f);
  for (int a = 0; a < nd; a++) {
    uint64_t d = rbpe_signal_dim(x, a);
    fwrite(&d, 8, 1, f);
    n *= (size_t)d;
  }
  put_u32(f, (uint32_t)rbpe_signal_channels(x));
  fwrite(rbpe_signal_data(x), sizeof(float), n, f);
}

static void fits_header(FILE *f, const grid *g) {
  char fp[4096];
  fingerprint(g, fp, sizeof fp);
  fwrite(FITS_MAGIC, 1, 8, f);
  put_u32(f, (uint32_t)strlen(fp));
  fwrite(fp, 1, strlen(fp), f);
  put_u32(f, (uint32_t)strlen(g->device));
  fwrite(g->device, 1, strlen(g->device), f);
}

static int write_fits(FILE *f, void *user) {
  const grid *g = user;
  fits_header(f, g);
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        for (int m = 0; m < g->nmeth; m++) {
          size_t i = rat(g, s, l, p, m);
          if (g->recon[i]) put_record(f, s, l, p, m, 0, g->recon[i]);
          if (g->sigmap[i]) put_record(f, s, l, p, m, 1, g->sigmap[i]);
        }
  return ferror(f) ? -1 : 0;
}

/* Reads one shard's fits.bin into the grid; 0, or -1 with why. A journal
 * (a shard stopped while writing) may end in a cut record: it ends there. */
static int read_fits(rbpe_ctx *ctx, grid *g, const char *path, int journal,
                     char *why, size_t wlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, wlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  char magic[8], fp[4096], mine_fp[4096];
  uint32_t len = 0;
  int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, FITS_MAGIC, 8) &&
           fread(&len, 4, 1, f) == 1 && len < sizeof fp &&
           fread(fp, 1, len, f) == len;
  if (!ok) {
    snprintf(why, wlen, "%s: not an rbpe experiment shard", path);
    fclose(f);
    return -1;
  }
  fp[len] = '\0';
  char dev[1024];
  if (fread(&len, 4, 1, f) != 1 || len >= sizeof dev || fread(dev, 1, len, f) != len) {
    snprintf(why, wlen, "%s: not an rbpe experiment shard", path);
    fclose(f);
    return -1;
  }
  dev[len] = '\0';
  if (!strstr(g->device, dev)) {
    size_t o = strlen(g->device);
    snprintf(g->device + o, sizeof g->device - o, "%s%s", o ? "; " : "", dev);
  }
  fingerprint(g, mine_fp, sizeof mine_fp);
  if (strcmp(fp, mine_fp)) {
    snprintf(why, wlen, "%s: a different grid (collect with the options the "
                        "shards ran with)", path);
    fclose(f);
    return -1;
  }
  uint32_t head[6];
  while (fread(head, 4, 6, f) == 6) {
    int s = (int)head[0], l = (int)head[1], p = (int)head[2], m = (int)head[3];
    ok = s < g->nsig && l < g->nlayers && p < g->nsplit && m < g->nmeth &&
         head[4] <= 1 && head[5] >= 1 && head[5] <= RBPE_MAX_DIMS;
    size_t dims[RBPE_MAX_DIMS], n = 1;
    uint32_t C = 0;
    for (uint32_t a = 0; ok && a < head[5]; a++) {
      uint64_t d;
      ok = fread(&d, 8, 1, f) == 1 && d >= 1 && d <= RBPE_MAX_SAMPLES;
      if (ok) n *= (dims[a] = (size_t)d);
      ok = ok && n <= RBPE_MAX_SAMPLES;
    }
    ok = ok && fread(&C, 4, 1, f) == 1 && C >= 1 && C <= 4;
    float *data = ok ? malloc(n * C * sizeof(float)) : NULL;
    ok = ok && data && fread(data, sizeof(float), n * C, f) == n * C;
    rbpe_signal *x = NULL;
    if (ok && rbpe_signal_from_data(ctx, (int)head[5], dims, (int)C, data, &x) != RBPE_OK)
      ok = 0;
    free(data);
    if (!ok && journal && feof(f)) break;
    if (!ok) {
      snprintf(why, wlen, "%s: a damaged record", path);
      fclose(f);
      return -1;
    }
    rbpe_signal **slot = head[4] ? &g->sigmap[rat(g, s, l, p, m)]
                                 : &g->recon[rat(g, s, l, p, m)];
    rbpe_signal_free(*slot);
    *slot = x;
  }
  fclose(f);
  return 0;
}

/* Reads one shard's results.csv into the grid; 0, or -1 with why. */
static int read_csv(grid *g, const char *path, char *why, size_t wlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(why, wlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  char line[1024];
  int row = 0;
  if (!fgets(line, sizeof line, f) || strncmp(line, "signal,split,", 13)) {
    snprintf(why, wlen, "%s: not an rbpe experiment results.csv", path);
    fclose(f);
    return -1;
  }
  while (fgets(line, sizeof line, f)) {
    row++;
    if (!strchr(line, '\n') && feof(f)) break; /* a journal's cut last row */
    char *fld[10];
    int nf = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *c = line; nf < 10;) {
      fld[nf++] = c;
      char *comma = strchr(c, ',');
      if (!comma) break;
      *comma = '\0';
      c = comma + 1;
    }
    int s = -1, l = -1, p = -1, m = -1, k = atoi(nf > 5 ? fld[5] : "-1");
    for (int i = 0; nf == 10 && i < g->nsig; i++)
      if (!strcmp(g->sig[i].name, fld[0])) s = i;
    for (int i = 0; s >= 0 && i < g->nsplit; i++)
      if (!strcmp(split_spec(g, rbpe_signal_ndim(g->sig[s].sig), i), fld[1])) p = i;
    for (int i = 0; nf == 10 && i < g->nlayers; i++)
      if (g->layers[i] == atoi(fld[2])) l = i;
    for (int i = 0; nf == 10 && i < g->nmeth; i++) {
      const method *me = &g->meth[i];
      char key[80], par[32];
      if (me->kind == M_LEARNED) snprintf(key, sizeof key, "rbf:%s", me->recipe);
      else snprintf(key, sizeof key, "%s", me->kind == M_UNIFORM ? "rbf_uniform"
                                           : me->kind == M_RFF   ? "rff"
                                                                 : "nerf");
      snprintf(par, sizeof par, "%g",
               me->kind == M_UNIFORM || me->kind == M_RFF ? (double)me->param : 0.0);
      if (!strcmp(key, fld[3]) && !strcmp(par, fld[4])) m = i;
    }
    if (s < 0 || l < 0 || p < 0 || m < 0 || k < 0 || k >= g->seeds) {
      snprintf(why, wlen, "%s: row %d is not a fit of this grid", path, row);
      fclose(f);
      return -1;
    }
    run_result *r = &g->res[at(g, s, l, p, m, k)];
    r->test = atof(fld[6]);
    r->train = atof(fld[7]);
    r->seconds = atof(fld[8]);
    r->done = 1;
    if (g->val && fld[9][0]) {
      run_result *v = &g->val[at(g, s, l, p, m, k)];
      v->test = atof(fld[9]);
      v->done = 1;
    }
  }
  fclose(f);
  return 0;
}

/* Reads every shard folder of a comma-separated list; then counts the
 * fits still missing. 0, or an exit code after saying why. */
static int collect(rbpe_ctx *ctx, grid *g, const char *dirs, int partial) {
  char list[4096], path[4200], why[4400];
  snprintf(list, sizeof list, "%s", dirs);
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    /* fits.bin first: its fingerprint says whether the shard is of this
     * grid; a shard that did not finish left its journal */
    struct stat st;
    snprintf(path, sizeof path, "%s/fits.bin", t);
    int done = stat(path, &st) == 0;
    if (!done) snprintf(path, sizeof path, "%s/journal.bin", t);
    if (read_fits(ctx, g, path, !done, why, sizeof why) != 0) goto bad;
    snprintf(path, sizeof path, "%s/%s", t, done ? "results.csv" : "journal.csv");
    if (read_csv(g, path, why, sizeof why) != 0) goto bad;
  }
  long missing = 0, first = -1, unit = 0;
  for (int k = 0; k < g->seeds; k++)
    for (int s = 0; s < g->nsig; s++)
      for (int l = 0; l < g->nlayers; l++)
        for (int p = 0; p < g->nsplit; p++)
          for (int m = 0; m < g->nmeth; m++, unit++) {
            size_t i = at(g, s, l, p, m, k);
            int done = g->res[i].done &&
                       (!g->val || !validated(&g->meth[m]) || g->val[i].done) &&
                       (k != 0 || g->recon[rat(g, s, l, p, m)]);
            if (!done && first < 0) first = unit;
            missing += !done;
            if (!done && partial)
              g->bad_seed[(((size_t)s * g->nlayers + l) * g->nsplit + p) *
                              g->seeds + k] = 1;
          }
  g->missing = partial ? missing : 0;
  if (missing && partial)
    fprintf(stderr, "rbpe experiment: %ld of %ld fits missing; their "
                    "settings are left out (--partial)\n",
            missing, unit);
  else if (missing) {
    fprintf(stderr, "rbpe experiment: %ld of %ld fits missing from %s (the "
                    "first: unit %ld; run the shards that hold them, or "
                    "--partial)\n",
            missing, unit, dirs, first);
    return EXIT_BAD_INPUT;
  }
  return EXIT_OK;
bad:
  fprintf(stderr, "rbpe experiment: %s\n", why);
  return EXIT_BAD_INPUT;
}

/* Row kinds of a panel beyond the methods. */
#define ROW_TRUTH (-1)
#define ROW_SIGMA (-2)

/* A copy of v scaled to [0, 1] by its own range (a constant: 0.5). */
static rbpe_signal *unit_copy(rbpe_ctx *ctx, const rbpe_signal *v) {
  size_t dims[RBPE_MAX_DIMS], n = 1;
  int nd = rbpe_signal_ndim(v);
  for (int a = 0; a < nd; a++) n *= (dims[a] = rbpe_signal_dim(v, a));
  const float *d = rbpe_signal_data(v);
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) lo = fminf(lo, d[i]), hi = fmaxf(hi, d[i]);
  float *u = malloc(n * sizeof(float));
  if (!u) return NULL;
  for (size_t i = 0; i < n; i++) u[i] = hi > lo ? (d[i] - lo) / (hi - lo) : 0.5f;
  rbpe_signal *out = NULL;
  if (rbpe_signal_from_data(ctx, nd, dims, 1, u, &out) != RBPE_OK) out = NULL;
  free(u);
  return out;
}

/* Methods as rows (truth first), splits as columns. */
static rbpe_status write_panel(rbpe_ctx *ctx, const grid *g, int s, int l,
                               const char *path) {
  const rbpe_signal *truth = g->sig[s].sig;
  int nd = rbpe_signal_ndim(truth);
  int rows_m[8], nrows = 0;
  int cw = nd == 1 ? 320 : (int)rbpe_signal_dim(truth, 1);
  int ch = nd == 1 ? 110 : (int)rbpe_signal_dim(truth, 0);
  const int gap = 4;
  int C = rbpe_signal_channels(truth);
  /* rows: truth, the primary learned recipe and its sigma map, best
   * uniform, best rff, nerf (per column the best uniform / rff may differ;
   * each column uses its own) */
  int mg = find_kind(g, M_LEARNED);
  int kinds[6] = {ROW_TRUTH, M_LEARNED, ROW_SIGMA, M_UNIFORM, M_RFF, M_NERF};
  for (int r = 0; r < 6; r++)
    if (kinds[r] == ROW_TRUTH || (kinds[r] == ROW_SIGMA && mg >= 0) ||
        find_kind(g, kinds[r]) >= 0)
      rows_m[nrows++] = kinds[r];
  cli_canvas cv;
  if (cli_canvas_init(&cv, g->nsplit * cw + (g->nsplit - 1) * gap,
                      nrows * ch + (nrows - 1) * gap) != 0)
    return RBPE_ERR_OUT_OF_MEMORY;
  for (int p = 0; p < g->nsplit; p++) {
    rbpe_split *split = NULL;
    rbpe_status st = rbpe_split_create(ctx, truth, split_spec(g, nd, p), 0, &split);
    if (st != RBPE_OK) {
      free(cv.px);
      return st;
    }
    for (int r = 0; r < nrows; r++) {
      int kind = rows_m[r];
      int m = kind == M_UNIFORM || kind == M_RFF ? best_of(g, s, l, p, kind)
              : kind == ROW_TRUTH                ? -1
              : kind == ROW_SIGMA                ? mg
                                                 : find_kind(g, kind);
      const rbpe_signal *img = m < 0 ? truth : g->recon[rat(g, s, l, p, m)];
      rbpe_signal *sig_unit = NULL;
      if (!img) continue; /* a setting a partial collect left out */
      if (kind == ROW_SIGMA) {
        const rbpe_signal *sm = g->sigmap[rat(g, s, l, p, mg)];
        if (!sm) continue; /* a learned recipe without a map */
        if (!(sig_unit = unit_copy(ctx, sm))) {
          rbpe_split_free(split);
          free(cv.px);
          return RBPE_ERR_OUT_OF_MEMORY;
        }
        img = sig_unit;
      }
      int left = p * (cw + gap), top = r * (ch + gap);
      if (nd == 1) {
        cli_draw_plot(&cv, left, top, cw, ch, kind == ROW_SIGMA ? img : truth,
                      kind == ROW_TRUTH ? split : NULL,
                      kind == ROW_TRUTH || kind == ROW_SIGMA ? NULL : img);
      } else {
        const float *d = rbpe_signal_data(img);
        int ic = rbpe_signal_channels(img);
        (void)C;
        for (int y = 0; y < ch; y++)
          for (int x = 0; x < cw; x++)
            for (int c = 0; c < 3; c++)
              cv.px[((size_t)(top + y) * cv.w + left + x) * 3 + c] =
                  d[((size_t)y * cw + x) * ic + (ic == 1 ? 0 : c)];
      }
      rbpe_signal_free(sig_unit);
    }
    rbpe_split_free(split);
  }
  rbpe_status st = cli_canvas_save(ctx, &cv, path);
  free(cv.px);
  return st;
}

int cmd_experiment(int argc, char **argv) {
  const char *images = NULL, *signals = NULL, *device = NULL, *outdir = NULL;
  const char *notes = NULL, *uniform = NULL, *rff = NULL, *layers = NULL;
  const char *learned = NULL, *splits = NULL, *heldout = NULL;
  const char *collect_dirs = NULL;
  int shard_k = 1, shard_n = 1, partial = 0;
  long size = 128, samples = 1024, steps = 1000, seeds = 3, width = 256;
  float lr = 1e-3f;
  int quick = 0, nerf = 1, validate = 1, diagonals = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (cli_flag(argv[i], "--help")) {
      fputs(experiment_help, stdout);
      return EXIT_OK;
    } else if (!strcmp(argv[i], "--quick")) {
      quick = 1;
    } else if (!strcmp(argv[i], "--no-nerf")) {
      nerf = 0;
    } else if (!strcmp(argv[i], "--no-validation")) {
      validate = 0;
    } else if (!strcmp(argv[i], "--partial")) {
      partial = 1;
    } else if (!strcmp(argv[i], "--diagonals")) {
      diagonals = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--learned", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--learned needs a list");
      learned = v;
    } else if ((r = cli_opt(argc, argv, &i, "--splits", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--splits needs a list");
      splits = v;
    } else if ((r = cli_opt(argc, argv, &i, "--shard", &v))) {
      char tail;
      if (r < 0 || sscanf(v, "%d/%d%c", &shard_k, &shard_n, &tail) != 2 ||
          shard_n < 1 || shard_n > 100000 || shard_k < 1 || shard_k > shard_n)
        return cli_usage_error("experiment", "--shard needs K/N with 1 <= K <= N");
    } else if ((r = cli_opt(argc, argv, &i, "--collect", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--collect needs folders");
      collect_dirs = v;
    } else if ((r = cli_opt(argc, argv, &i, "--heldout", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--heldout needs a list");
      heldout = v;
    } else if ((r = cli_opt(argc, argv, &i, "--images", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--images needs a list");
      images = v;
    } else if ((r = cli_opt(argc, argv, &i, "--signals", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--signals needs a list");
      signals = v;
    } else if ((r = cli_opt(argc, argv, &i, "--uniform", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--uniform needs a list");
      uniform = v;
    } else if ((r = cli_opt(argc, argv, &i, "--rff", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--rff needs a list");
      rff = v;
    } else if ((r = cli_opt(argc, argv, &i, "--layers", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--layers needs a list");
      layers = v;
    } else if ((r = cli_opt(argc, argv, &i, "--size", &v))) {
      if (r < 0 || !cli_parse_long(v, 0, 4096, &size))
        return cli_usage_error("experiment", "--size needs 0..4096 (0: as is)");
    } else if ((r = cli_opt(argc, argv, &i, "--samples", &v))) {
      if (r < 0 || !cli_parse_long(v, 16, 1 << 22, &samples))
        return cli_usage_error("experiment", "--samples needs 16..4194304");
    } else if ((r = cli_opt(argc, argv, &i, "--steps", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 10000000, &steps))
        return cli_usage_error("experiment", "--steps needs an integer >= 1");
    } else if ((r = cli_opt(argc, argv, &i, "--seeds", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, MAX_SEEDS, &seeds))
        return cli_usage_error("experiment", "--seeds needs 1..%d", MAX_SEEDS);
    } else if ((r = cli_opt(argc, argv, &i, "--width", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 4096, &width))
        return cli_usage_error("experiment", "--width needs 1..4096");
    } else if ((r = cli_opt(argc, argv, &i, "--lr", &v))) {
      if (r < 0 || !cli_parse_float(v, 1e-7, 1.0, &lr))
        return cli_usage_error("experiment", "--lr needs a number in (0, 1]");
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--device needs a value");
      device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--notes", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--notes needs a file");
      notes = v;
    } else if ((r = cli_opt(argc, argv, &i, "--out", &v))) {
      if (r < 0) return cli_usage_error("experiment", "--out needs a folder");
      outdir = v;
    } else {
      return cli_usage_error("experiment", "unknown argument '%s'", argv[i]);
    }
  }
  if (quick) {
    if (!images) images = "tests/data/camera256.png";
    if (!signals) signals = "chirp";
    size = 48;
    if (seeds == 3) seeds = 1;
    if (steps == 1000) steps = 60;
  }
  if (!images) images = "tests/data/camera256.png,tests/data/astronaut256.png";
  if (!signals) signals = "sines,chirp,jumps";
  if (!outdir) outdir = "rbpe-experiment";
  if (!notes) {
    struct stat stt;
    if (stat("docs/results_notes.md", &stt) == 0) notes = "docs/results_notes.md";
  }
  if (strlen(outdir) > 4000) return cli_usage_error("experiment", "--out too long");
  /* the output folder made and proved writable before any work */
  static cli_outset set;
  char why[4400];
  if (cli_outset_prepare(&set, outdir, NULL, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe experiment: %s\n", why);
    return EXIT_OUTPUT;
  }

  static grid g;
  memset(&g, 0, sizeof g);
  g.seeds = (int)seeds;
  g.steps = (int)steps;
  g.width = (int)width;
  g.lr = lr;
  g.diagonals = diagonals;
  if (collect_dirs && shard_n > 1)
    return cli_usage_error("experiment", "--collect and --shard do not mix");
  /* a shard of more than one writes its part for a collect run */
  int part = shard_n > 1;
  g.shard_k = shard_k;
  g.shard_n = shard_n;
  float vals[MAX_METHODS];
  int n;
  {
    char buf[1024], why[160];
    snprintf(buf, sizeof buf, "%s", learned ? learned : "default,graph,poly");
    int nl = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      rbpe_fit_config probe;
      rbpe_fit_config_default(&probe);
      if (strlen(t) >= sizeof g.meth[0].recipe || ++nl > MAX_LEARNED)
        return cli_usage_error("experiment", "--learned takes up to %d recipes "
                               "of up to %zu characters", MAX_LEARNED,
                               sizeof g.meth[0].recipe - 1);
      if (learned_apply(t, &probe, why, sizeof why) != 0)
        return cli_usage_error("experiment", "--learned: %s", why);
      add_method(&g, M_LEARNED, 0, t);
    }
    if (nl == 0) return cli_usage_error("experiment", "--learned needs a recipe");
    snprintf(buf, sizeof buf, "%s", splits ? splits : "regular25,random10");
    if (!strcmp(buf, "all")) snprintf(buf, sizeof buf, "regular25,regular11,random25,random10");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
      int id = -1;
      for (int k = 0; k < NSPLIT_ALL; k++)
        if (!strcmp(t, split_names[k])) id = k;
      for (int k = 0; k < g.nsplit && id >= 0; k++)
        if (g.split_id[k] == id) id = -2;
      if (id < 0)
        return cli_usage_error("experiment", "--splits: '%s' (%s; each once)", t,
                               "regular25, regular11, random25, random10 or all");
      g.split_id[g.nsplit++] = id;
    }
  }
  n = parse_floats(uniform ? uniform : "0.1,0.06,0.04,0.03,0.02,0.01", vals, 12,
                   1e-4, 10.0);
  if (n < 0) return cli_usage_error("experiment", "--uniform needs up to 12 sigmas in (0, 10]");
  for (int i = 0; i < n; i++) add_method(&g, M_UNIFORM, vals[i], NULL);
  n = parse_floats(rff ? rff : "5,10,20,40", vals, 12, 1e-3, 1e4);
  if (n < 0) return cli_usage_error("experiment", "--rff needs up to 12 scales");
  for (int i = 0; i < n; i++) add_method(&g, M_RFF, vals[i], NULL);
  if (nerf) add_method(&g, M_NERF, 0, NULL);
  n = parse_floats(layers ? layers : "1,3", vals, MAX_LAYERS, 0, 16);
  if (n <= 0) return cli_usage_error("experiment", "--layers needs up to %d depths 0..16", MAX_LAYERS);
  for (int i = 0; i < n; i++) {
    g.layers[i] = (int)vals[i];
    if ((float)g.layers[i] != vals[i])
      return cli_usage_error("experiment", "--layers needs whole numbers");
  }
  g.nlayers = n;

  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("experiment", device, 0, 0, &rc);
  if (!ctx) return rc;
  char list[4096];
  for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++) {
    snprintf(list, sizeof list, "%s", pass == 0 ? images : signals);
    if (!strcmp(list, "none")) continue;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && rc == EXIT_OK;
         t = strtok_r(NULL, ",", &save))
      rc = add_signal(ctx, &g, t, pass == 0, (size_t)size, (size_t)samples);
  }
  if (rc == EXIT_OK && g.nsig == 0)
    rc = cli_usage_error("experiment", "no images and no signals");
  if (rc == EXIT_OK && heldout) {
    snprintf(list, sizeof list, "%s", heldout);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && rc == EXIT_OK;
         t = strtok_r(NULL, ",", &save)) {
      int found = 0;
      for (int s = 0; s < g.nsig; s++)
        if (!strcmp(g.sig[s].name, t) && rbpe_signal_ndim(g.sig[s].sig) == 2)
          g.heldout[s] = 1, found = 1;
      if (!found)
        rc = cli_usage_error("experiment", "--heldout: no image named '%s'", t);
    }
  }
  size_t nres = (size_t)g.nsig * g.nlayers * g.nsplit * g.nmeth * g.seeds;
  if (rc == EXIT_OK) {
    g.res = calloc(nres ? nres : 1, sizeof *g.res);
    if (validate) {
      g.val = calloc(nres ? nres : 1, sizeof *g.val);
      if (!g.val) rc = EXIT_FAILURE_RUN;
    }
    g.recon = calloc((size_t)g.nsig * g.nlayers * g.nsplit * g.nmeth + 1,
                     sizeof *g.recon);
    g.sigmap = calloc((size_t)g.nsig * g.nlayers * g.nsplit * g.nmeth + 1,
                      sizeof *g.sigmap);
    g.bad_seed = calloc((size_t)g.nsig * g.nlayers * g.nsplit * g.seeds + 1, 1);
    if (!g.res || !g.recon || !g.sigmap || !g.bad_seed) rc = EXIT_FAILURE_RUN;
  }
  /* the files this grid writes, claimed before the fits: rbpe replaces
   * only its own (cli.h) */
  static char out_names[4 + MAX_SIGNALS * MAX_LAYERS][96];
  static const char *out_list[4 + MAX_SIGNALS * MAX_LAYERS + 1];
  int nout = 0;
  if (!part) snprintf(out_names[nout++], sizeof out_names[0], "RESULTS.md");
  snprintf(out_names[nout++], sizeof out_names[0], "results.csv");
  if (part) {
    snprintf(out_names[nout++], sizeof out_names[0], "fits.bin");
    snprintf(out_names[nout++], sizeof out_names[0], "journal.csv");
    snprintf(out_names[nout++], sizeof out_names[0], "journal.bin");
  }
  for (int s = 0; rc == EXIT_OK && !part && s < g.nsig; s++)
    for (int l = 0; l < g.nlayers; l++)
      snprintf(out_names[nout++], sizeof out_names[0], "panel_%s_%dL.png",
               g.sig[s].name, g.layers[l]);
  for (int k = 0; k < nout; k++) out_list[k] = out_names[k];
  out_list[nout] = NULL;
  if (rc == EXIT_OK && cli_outset_claim(&set, out_list, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe experiment: %s\n", why);
    rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK) {
    int nval = 0;
    for (int m = 0; m < g.nmeth; m++) nval += g.val && validated(&g.meth[m]);
    fprintf(stderr, "rbpe experiment: %d signal(s) x %d depth(s) x %d splits x "
                    "%d methods x %d seed(s) = %zu fits, and %zu validation "
                    "fits of the methods with a knob\n",
            g.nsig, g.nlayers, g.nsplit, g.nmeth, g.seeds, nres,
            (size_t)g.nsig * g.nlayers * g.nsplit * nval * g.seeds);
    if (!collect_dirs)
      snprintf(g.device, sizeof g.device, "%s", rbpe_ctx_device_description(ctx));
    if (part) {
      char jp[4200];
      snprintf(jp, sizeof jp, "%s/journal.csv", outdir);
      g.jcsv = fopen(jp, "w");
      snprintf(jp, sizeof jp, "%s/journal.bin", outdir);
      g.jbin = fopen(jp, "wb");
      if (!g.jcsv || !g.jbin) {
        fprintf(stderr, "rbpe experiment: cannot write %s: %s\n", jp, strerror(errno));
        rc = EXIT_OUTPUT;
      } else {
        csv_header(g.jcsv);
        fits_header(g.jbin, &g);
        fflush(g.jcsv);
        fflush(g.jbin);
      }
    }
    if (rc == EXIT_OK)
      rc = collect_dirs ? collect(ctx, &g, collect_dirs, partial) : run_grid(ctx, &g);
    if (g.jcsv) fclose(g.jcsv);
    if (g.jbin) fclose(g.jbin);
  }
  char path[4200];
  rbpe_status st = RBPE_OK;
  if (rc == EXIT_OK && part) {
    snprintf(path, sizeof path, "%s/fits.bin", outdir);
    st = rbpe_write_file(ctx, path, write_fits, &g);
  }
  for (int s = 0; rc == EXIT_OK && !part && st == RBPE_OK && s < g.nsig; s++)
    for (int l = 0; st == RBPE_OK && l < g.nlayers; l++) {
      snprintf(path, sizeof path, "%s/panel_%s_%dL.png", outdir, g.sig[s].name,
               g.layers[l]);
      st = write_panel(ctx, &g, s, l, path);
    }
  if (rc == EXIT_OK && st == RBPE_OK) {
    snprintf(path, sizeof path, "%s/results.csv", outdir);
    st = rbpe_write_file(ctx, path, write_csv, &g);
  }
  if (rc == EXIT_OK && !part && st == RBPE_OK) {
    char command[8192];
    int o = snprintf(command, sizeof command, "rbpe");
    for (int i = 0; i < argc && o < (int)sizeof command - 1; i++)
      o += snprintf(command + o, sizeof command - o, " %s", argv[i]);
    report_job job = {&g, command, notes, g.device};
    snprintf(path, sizeof path, "%s/RESULTS.md", outdir);
    st = rbpe_write_file(ctx, path, write_md, &job);
  }
  if (rc == EXIT_OK && st != RBPE_OK) {
    rc = cli_fail("experiment", ctx, st);
    if (st == RBPE_ERR_IO) rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK && cli_outset_record(&set, out_list) != 0) {
    fprintf(stderr, "rbpe experiment: cannot record the outputs in %s/%s: %s\n",
            outdir, CLI_MANIFEST, strerror(errno));
    rc = EXIT_OUTPUT;
  }
  if (rc == EXIT_OK && part)
    printf("shard %d/%d: %s/results.csv, %s/fits.bin (rbpe experiment "
           "--collect with the same options makes the report)\n",
           shard_k, shard_n, outdir, outdir);
  else if (rc == EXIT_OK)
    printf("results: %s/RESULTS.md, %s/results.csv, %s/panel_*.png\n", outdir,
           outdir, outdir);
  for (size_t i = 0; i < (size_t)g.nsig * g.nlayers * g.nsplit * g.nmeth; i++) {
    if (g.recon) rbpe_signal_free(g.recon[i]);
    if (g.sigmap) rbpe_signal_free(g.sigmap[i]);
  }
  free(g.recon);
  free(g.sigmap);
  free(g.bad_seed);
  free(g.res);
  free(g.val);
  for (int s = 0; s < g.nsig; s++) rbpe_signal_free(g.sig[s].sig);
  rbpe_ctx_free(ctx);
  return rc;
}
