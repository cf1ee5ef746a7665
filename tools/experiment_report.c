/* `rbpe experiment`'s report: the summary per group of signals, the
 * per-setting tables against validation-selected and oracle choices,
 * every method's table, results.csv and the panels. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment.h"
#include "fig.h"

const char *const split_names[NSPLIT_ALL] = {"regular25", "regular11",
                                              "random25", "random10"};
const char *split_spec(const grid *g, int ndim, int p) {
  static const char *two[NSPLIT_ALL] = {"regular:2", "regular:3", "random:0.25",
                                        "random:0.1"};
  static const char *one[NSPLIT_ALL] = {"regular:4", "regular:10", "random:0.25",
                                        "random:0.1"};
  return ndim == 1 ? one[g->split_id[p]] : two[g->split_id[p]];
}
const char *split_label(const grid *g, int ndim, int p) {
  static const char *two[NSPLIT_ALL] = {"regular 25%", "regular 11%",
                                        "random 25%", "random 10%"};
  static const char *one[NSPLIT_ALL] = {"regular 25%", "regular 10%",
                                        "random 25%", "random 10%"};
  return ndim == 1 ? one[g->split_id[p]] : two[g->split_id[p]];
}


/* Mean and sample standard deviation of n values (NAN and 0 for none;
 * 0 for one). */
void mean_sd(const double *v, int n, double *mean, double *sd) {
  double a = 0, b = 0;
  for (int i = 0; i < n; i++) a += v[i];
  a = n ? a / n : NAN;
  for (int i = 0; i < n; i++) b += (v[i] - a) * (v[i] - a);
  *mean = a;
  *sd = n > 1 ? sqrt(b / (n - 1)) : 0.0;
}

/* " mean ± sd |", or " mean |" for one value. */
static void put_mean_sd(FILE *f, const char *fmt_mean, double mean, double sd,
                        int n) {
  fputc(' ', f);
  fprintf(f, fmt_mean, mean);
  if (n > 1) fprintf(f, " ± %.2f", sd);
  fputs(" |", f);
}

/* Mean and standard deviation over the seeds (the complete ones). */
void stats(const grid *g, int s, int l, int p, int m, double *mean,
                  double *sd) {
  double v[MAX_SEEDS];
  int n = 0;
  for (int k = 0; k < g->seeds; k++)
    if (seed_ok(g, s, l, p, k)) v[n++] = g->res[at(g, s, l, p, m, k)].test;
  mean_sd(v, n, mean, sd);
}

/* The method of the given kind with the best mean held-out PSNR (-1: none). */
int best_of(const grid *g, int s, int l, int p, int kind) {
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
int val_pick(const grid *g, int s, int l, int p, int kind, int k) {
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

/* lm == PICKED: the learned recipe the validation part picks per seed */
#define PICKED (-2)

/* The held-out PSNR of learned method lm (or PICKED) at seed k; NAN when
 * there is none. */
static double learned_at(const grid *g, int s, int l, int p, int lm, int k) {
  int m = lm == PICKED ? val_pick(g, s, l, p, M_LEARNED, k) : lm;
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
  double mv, vsd, md, sd;
  mean_sd(v, n, &mv, &vsd);
  mean_sd(d, n, &md, &sd);
  fprintf(f, " %.2f | %s |", mv, picks);
  put_mean_sd(f, "%+.2f", md, sd, n);
}

int find_kind(const grid *g, int kind) {
  for (int m = 0; m < g->nmeth; m++)
    if (g->meth[m].kind == kind) return m;
  return -1;
}

static void cell(FILE *f, const grid *g, int s, int l, int p, int m) {
  if (m < 0 || absent(g, s, l, p)) {
    fputs(" - |", f);
    return;
  }
  double mean, sd;
  stats(g, s, l, p, m, &mean, &sd);
  /* the spread shown whenever the grid has seeds, as the header says */
  put_mean_sd(f, "%.2f", mean, sd, g->seeds);
}

/* The validation-picked learned method's mean and spread over seeds. */
static void picked_cell(FILE *f, const grid *g, int s, int l, int p) {
  double v[MAX_SEEDS], mean, sd;
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
  mean_sd(v, n, &mean, &sd);
  put_mean_sd(f, "%.2f", mean, sd, n);
}

static double mean_of(const grid *g, int s, int l, int p, int m) {
  double mean, sd;
  stats(g, s, l, p, m, &mean, &sd);
  return mean;
}

void csv_header(FILE *f) {
  fputs("signal,split,hidden_layers,method,param,seed,test_psnr,train_psnr,"
        "seconds,val_psnr,device\n",
        f);
}

void method_key(const method *me, char *kind, size_t klen, char *param,
                size_t plen) {
  if (me->kind == M_LEARNED)
    snprintf(kind, klen, "rbf:%s", me->recipe);
  else
    snprintf(kind, klen, "%s",
             me->kind == M_UNIFORM ? "rbf_uniform"
             : me->kind == M_RFF   ? "rff"
                                   : "nerf");
  snprintf(param, plen, "%g",
           me->kind == M_UNIFORM || me->kind == M_RFF ? (double)me->param : 0.0);
}

void csv_row(FILE *f, const grid *g, int s, int l, int p, int m, int k) {
  const run_result *r = &g->res[at(g, s, l, p, m, k)];
  if (!r->done) return; /* another shard's */
  char kind[80], param[32];
  method_key(&g->meth[m], kind, sizeof kind, param, sizeof param);
  fprintf(f, "%s,%s,%d,%s,%s,%d,%.4f,%.4f,%.2f,", g->sig[s].name,
          split_spec(g, rbpe_signal_ndim(g->sig[s].sig), p), g->layers[l], kind,
          param, k, r->test, r->train, r->seconds);
  const run_result *v = g->val ? &g->val[at(g, s, l, p, m, k)] : NULL;
  if (v && v->done) fprintf(f, "%.4f", v->test);
  fprintf(f, ",%s\n", r->dev);
}

int write_csv(FILE *f, void *user) {
  const grid *g = user;
  csv_header(f);
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        for (int m = 0; m < g->nmeth; m++)
          for (int k = 0; k < g->seeds; k++) csv_row(f, g, s, l, p, m, k);
  return ferror(f) ? -1 : 0;
}

/* A per-setting table row's first cells: signal, split, MLP. */
static void row_head(FILE *f, const grid *g, int s, int l, int p) {
  fprintf(f, "| %s | %s | %dx%d |", g->sig[s].name,
          split_label(g, rbpe_signal_ndim(g->sig[s].sig), p), g->layers[l],
          g->width);
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

/* RESULTS.md's opening: the command, a partial grid's gaps, the settings
 * and the protocol. */
static void md_head(FILE *f, const report_job *j) {
  const grid *g = j->g;
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
  char dirs[96];
  if (g->angles > 0)
    snprintf(dirs, sizeof dirs, "%d at the angles k 180/%d degrees on images "
             "(1-D: the axis)", g->angles, g->angles);
  else
    snprintf(dirs, sizeof dirs, "the axes%s",
             g->diagonals ? " and the diagonals" : "");
  fprintf(f, ". RBF: %d centres per direction, directions: %s. RFF: "
             "%d features. NeRF: 10 frequencies.\n\n",
          d.embed.rbf_centres, dirs,
          g->rff_features > 0 ? g->rff_features : d.embed.rff_features);
  fprintf(f, "Learned sigma recipes are `rbpe fit`'s configuration with "
             "changes: `graph` = the sparse k-NN Laplacian solve (k %d, eps "
             "%g, gamma %g, lambda_n %g, sigma in [%g, %g]%s, sigma at "
             "held-out samples: %s); `poly` = the seed's polynomial of the "
             "gradient norm; `default` = what `rbpe fit` does without "
             "--sigma; `+norm` = the amplitude normalisation "
             "(--rbf-norm); `+smax=B` = the range's top; `+local` = the "
             "range scaled by each training sample's local spacing (--range "
             "local; `+rel`: not); `+field=N` = a "
             "sigma field of N nodes per axis learned on held-back samples "
             "(--field N; `+zero` keeps its mean at 0, `+flr=X` its rate).\n\n",
          d.sig.k, (double)d.sig.eps, (double)d.sig.gamma,
          (double)d.sig.lambda_n, (double)d.sig.smin, (double)d.sig.smax,
          d.sig.relative == RBPE_RANGE_LOCAL
              ? " times each training sample's local spacing"
          : d.sig.relative ? " times the training spacing"
                           : "",
          rbpe_sigma_at_string(d.sigma_at));
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

}

/* The summary per group of signals. */
static void md_summary(FILE *f, const grid *g) {
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

}

/* The primary learned recipe (method mg) setting by setting against the
 * validation-selected baselines. */
static void md_per_setting(FILE *f, const grid *g, int mg) {
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
          row_head(f, g, s, l, p);
          cell(f, g, s, l, p, mg);
          picked_cell(f, g, s, l, p);
          paired_cells(f, g, s, l, p, mg, M_UNIFORM);
          paired_cells(f, g, s, l, p, mg, M_RFF);
          fputc('\n', f);
        }
    fputc('\n', f);
  }

}

/* The primary learned recipe against the oracle choices. */
static void md_oracle(FILE *f, const grid *g, int mg, int mn) {
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
        int bu = best_of(g, s, l, p, M_UNIFORM), br = best_of(g, s, l, p, M_RFF);
        row_head(f, g, s, l, p);
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

}

/* What the figures show, and the figures. */
static void md_panels(FILE *f, const grid *g, int mg, int mn) {
  int cairo = fig_available();
  const char *ext = g->figures & FIG_PNG ? "png" : "svg";
  fprintf(f, "## Figures\n\n");
  if (cairo) {
    fprintf(f, "Per signal, a summary: held-out PSNR by depth and split "
               "(bars: mean over the seeds, whiskers: one standard deviation) "
               "of the learned sigma, the uniform sigma picked on validation "
               "and the best on test, RFF picked on validation and NeRF.\n\n");
    for (int s = 0; s < g->nsig; s++)
      fprintf(f, "![%s: held-out PSNR by method, depth and split](summary_%s.%s)\n\n",
              g->sig[s].name, g->sig[s].name, ext);
  }
  if (g->no_pictures) { /* collected from the CSV alone */
    fprintf(f, "No panels: this report was collected from results.csv alone "
               "(--no-pictures).\n\n");
    return;
  }
  fprintf(f, "Panels, one per signal and MLP depth, seed 0. Columns: the "
             "splits, left to right:");
  for (int p = 0; p < g->nsplit; p++)
    fprintf(f, "%s %s", p ? "," : "", split_label(g, 2, p));
  fprintf(f, ". Rows, top to bottom: the truth, ");
  if (mg >= 0) fprintf(f, "`%s` and its sigma map (%s), ", g->meth[mg].recipe,
                       cairo ? "viridis: dark small, yellow large" : "dark: small sigma");
  fprintf(f, "the best uniform sigma, the best RFF%s. 1-D plots: truth gray, "
             "training samples blue (top row), fit red; the sigma row plots "
             "sigma.%s\n\n",
          mn >= 0 ? ", NeRF" : "",
          cairo ? " Each tile's corner gives that fit's held-out PSNR." : "");
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      fprintf(f, "![%s, %d hidden layer(s)](panel_%s_%dL.%s)\n\n",
              g->sig[s].name, g->layers[l], g->sig[s].name, g->layers[l],
              cairo ? ext : "png");
}

/* Every method in every setting. */
static void md_every_method(FILE *f, const grid *g) {
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
}

int write_md(FILE *f, void *user) {
  const report_job *j = user;
  const grid *g = j->g;
  int mg = find_kind(g, M_LEARNED), mn = find_kind(g, M_NERF);
  md_head(f, j);
  md_summary(f, g);
  md_per_setting(f, g, mg);
  md_oracle(f, g, mg, mn);
  md_panels(f, g, mg, mn);
  md_every_method(f, g);
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

int panel_rows(const grid *g, int rows[PANEL_ROWS]) {
  static const int order[PANEL_ROWS] = {ROW_TRUTH, M_LEARNED, ROW_SIGMA,
                                        M_UNIFORM, M_RFF,     M_NERF};
  int n = 0, mg = find_kind(g, M_LEARNED);
  for (int r = 0; r < PANEL_ROWS; r++)
    if (order[r] == ROW_TRUTH || (order[r] == ROW_SIGMA && mg >= 0) ||
        find_kind(g, order[r]) >= 0)
      rows[n++] = order[r];
  return n;
}

const rbpe_signal *panel_tile(const grid *g, int s, int l, int p, int kind,
                              int *method) {
  int m = kind == M_UNIFORM || kind == M_RFF ? best_of(g, s, l, p, kind)
          : kind == ROW_TRUTH                ? -1
          : kind == ROW_SIGMA                ? find_kind(g, M_LEARNED)
                                             : find_kind(g, kind);
  *method = m;
  if (kind == ROW_TRUTH) return g->sig[s].sig;
  if (m < 0) return NULL;
  return kind == ROW_SIGMA ? g->sigmap[rat(g, s, l, p, m)]
                           : g->recon[rat(g, s, l, p, m)];
}

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
rbpe_status write_panel(rbpe_ctx *ctx, const grid *g, int s, int l,
                               const char *path) {
  const rbpe_signal *truth = g->sig[s].sig;
  int nd = rbpe_signal_ndim(truth);
  int rows_m[PANEL_ROWS], nrows = panel_rows(g, rows_m);
  int cw = nd == 1 ? 320 : (int)rbpe_signal_dim(truth, 1);
  int ch = nd == 1 ? 110 : (int)rbpe_signal_dim(truth, 0);
  const int gap = 4;
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
      int kind = rows_m[r], m;
      const rbpe_signal *img = panel_tile(g, s, l, p, kind, &m);
      rbpe_signal *sig_unit = NULL;
      if (!img) continue; /* a setting a partial collect left out */
      if (kind == ROW_SIGMA) {
        if (!(sig_unit = unit_copy(ctx, img))) {
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
