/* `rbpe fit INPUT`: fits a coordinate-MLP to a PNG image or a 1-D text
 * signal and writes the reconstruction, pictures, metrics.json and the
 * model into an output folder. Ctrl-C stops training early; the outputs
 * then describe the model as it stood (metrics say "interrupted"). A
 * second Ctrl-C quits at once: every file is written under a temporary
 * name and renamed, so none is ever left truncated. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fig.h"

static const char *fit_usage =
    "usage: rbpe fit INPUT [options]\n"
    "Fits a coordinate-MLP to INPUT and writes to --out DIR. INPUT (read once:\n"
    "a pipe works, - is standard input) is a PNG or JPEG image, audio\n"
    "(WAV, FLAC, AIFF, Ogg) or a 1-D text signal (one sample per line,\n"
    "columns as channels). Outputs: reconstruction.png (1-D: plot.png and\n"
    "reconstruction.txt), panel.png (truth | training samples |\n"
    "reconstruction | 4x |error| [| sigma]), metrics.json and model.rbpe;\n"
    "with a learned sigma also sigma.png (the map, smin black .. smax white)\n"
    "and sigma_train.png (the training samples' sigma; 1-D: sigma.txt).\n"
    "Defaults in parentheses.\n"
    "\n";
static const char *fit_usage_tail =
    "  --config FILE           rerun the fit a metrics.json records (its\n"
    "                          command_line); options after it override, and\n"
    "                          an INPUT after it replaces the recorded one\n"
    "  -h, --help              this text\n";

/* Everything fit can write into --out; a new run replaces them as a set
 * (only files rbpe wrote: cli.h). The names a 1-D and a 2-D fit may write. */
static const char *const fit_outputs[] = {
    "reconstruction.png", "reconstruction.txt", "panel.png", "plot.png",
    "panel.svg", "plot.svg", "curve.png", "curve.svg", "sigma.png",
    "sigma_train.png", "sigma.txt", "model.rbpe", "metrics.json", NULL};
static volatile sig_atomic_t interrupted;
static volatile int cancel_flag;

static void on_signal(int sig) {
  if (interrupted) { /* second signal: default action, now */
    /* while outputs are staged: acted on at the next file or after the
     * commit, by the thread writing them */
    if (!cli_outset_on_fatal_signal(sig)) return;
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  interrupted = 1;
  cancel_flag = 1;
}

typedef struct progress_state {
  int tty, quiet, last_decile;
} progress_state;

static void on_progress(const rbpe_progress *p, void *user) {
  progress_state *ps = user;
  if (ps->quiet) return;
  double eta = p->step > 0 ? p->elapsed_s * (p->steps - p->step) / p->step : 0;
  if (ps->tty) {
    int filled = (int)(30.0 * p->step / p->steps);
    char bar[31];
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr,
            "\r[%s] step %d/%d  loss %.3e  train %.2f dB  %.0f samples/s  "
            "ETA %d:%02d ",
            bar, p->step, p->steps, (double)p->loss, (double)p->train_psnr,
            p->samples_per_s, (int)eta / 60, (int)eta % 60);
    if (p->step == p->steps) fputc('\n', stderr);
  } else {
    int decile = (int)(10.0 * p->step / p->steps);
    if (decile == ps->last_decile && p->step != 1) return;
    ps->last_decile = decile;
    fprintf(stderr,
            "step %d/%d  loss %.4e  train %.2f dB  %.0f samples/s  ETA %.0f s\n",
            p->step, p->steps, (double)p->loss, (double)p->train_psnr,
            p->samples_per_s, eta);
  }
}

typedef struct metrics_job {
  const char *input, *device, *backend;
  const rbpe_signal *sig;
  const rbpe_fit_config *cfg;
  const rbpe_fit_report *rep;
  double wall_s;
  int argc;       /* the arguments after `fit`, --config expanded: */
  char **argv;    /* argv[1..argc) */
  int dropped;    /* one of them left out (a replaced INPUT), or -1 */
} metrics_job;

/* pre, then v as a JSON number ("null" when not finite) */
static void num(FILE *f, const char *pre, double v) {
  fputs(pre, f);
  cli_json_num(f, v);
}

/* metrics.json: what ran, where, on what (and what reruns it). */
static void metrics_head(FILE *f, const metrics_job *j) {
  fprintf(f, "{\n  \"rbpe_version\": \"%d.%d.%d\",\n", RBPE_VERSION_MAJOR,
          RBPE_VERSION_MINOR, RBPE_VERSION_PATCH);
  /* what reruns this fit: rbpe fit --config metrics.json */
  fputs("  \"command_line\": [", f);
  for (int i = 1, first = 1; i < j->argc; i++) {
    /* a replaced INPUT and the output style are not part of the fit */
    if (i == j->dropped || !strcmp(j->argv[i], "--json")) continue;
    if (!first) fputs(", ", f);
    cli_json_str(f, j->argv[i]);
    first = 0;
  }
  fputs("],\n  \"working_directory\": ", f);
  char cwd[4096];
  cli_json_str(f, getcwd(cwd, sizeof cwd) ? cwd : "");
  fputs(",\n  \"input\": ", f);
  cli_json_str(f, j->input);
  fputs(",\n  \"device\": ", f);
  cli_json_str(f, j->device);
  fputs(",\n  \"backend\": ", f);
  cli_json_str(f, j->backend);
  fprintf(f, ",\n  \"signal\": {\"ndim\": %d, \"dims\": [", rbpe_signal_ndim(j->sig));
  for (int a = 0; a < rbpe_signal_ndim(j->sig); a++)
    fprintf(f, "%s%zu", a ? ", " : "", rbpe_signal_dim(j->sig, a));
  fprintf(f, "], \"channels\": %d},\n", rbpe_signal_channels(j->sig));
}

/* The rbf embedding's settings: sigma (uniform, or the solve's) and the
 * field. */
static void metrics_rbf(FILE *f, const rbpe_fit_config *c, const rbpe_fit_report *r) {
  fprintf(f, ", \"centres\": %d, \"diagonals\": %s, \"angles\": %d",
          c->embed.rbf_centres, c->embed.rbf_diagonals ? "true" : "false",
          c->embed.rbf_angles);
  num(f, ", \"order\": ", c->embed.rbf_order);
  num(f, ", \"norm_ref\": ", r->rbf_norm_ref);
  fprintf(f, ", \"sigma\": \"%s\"", rbpe_sigma_mode_string(c->sigma_mode));
  if (c->sigma_mode == RBPE_SIGMA_UNIFORM) {
    num(f, ", \"sigma_value\": ", c->sigma);
  } else {
    const rbpe_sigma_config *g = &c->sig;
    fprintf(f, ", \"sigma_at\": \"%s\", \"knn\": %d",
            rbpe_sigma_at_string(c->sigma_at), g->k);
    num(f, ", \"eps\": ", g->eps);
    num(f, ", \"gamma\": ", g->gamma);
    num(f, ", \"lambda_n\": ", g->lambda_n);
    num(f, ", \"smin\": ", g->smin);
    num(f, ", \"smax\": ", g->smax);
    fprintf(f, ", \"sigma_iterations_cap\": %d", g->iterations);
    num(f, ", \"sigma_lr\": ", g->lr);
    num(f, ", \"sigma_tol\": ", g->tol);
    fprintf(f, ", \"poly_degree\": %d, \"poly_subset\": %d, "
               "\"poly_subsets\": %d, \"poly_from_sparse\": %s, "
               "\"range\": \"%s\"",
            g->poly_degree, g->poly_subset, g->poly_subsets,
            g->poly_from_sparse ? "true" : "false",
            rbpe_enum_string(RBPE_ENUM_RANGE, g->relative));
    num(f, ", \"smooth_width\": ", g->smooth_width);
  }
  if (c->field.cells > 0) {
    const rbpe_field_config *fd = &c->field;
    fprintf(f, ", \"field\": {\"nodes_per_axis\": %d", fd->cells);
    num(f, ", \"holdout\": ", fd->holdout);
    num(f, ", \"lr\": ", fd->lr);
    fprintf(f, ", \"every\": %d", fd->every);
    num(f, ", \"window\": [", fd->from);
    num(f, ", ", fd->until);
    num(f, "], \"range\": ", fd->range);
    fprintf(f, ", \"mean\": \"%s\"}", fd->zero_mean ? "zero" : "free");
  }
}

/* The configuration the model was fitted with. */
static void metrics_config(FILE *f, const rbpe_fit_config *c, const rbpe_fit_report *r) {
  fputs("  \"config\": {\"embed\": ", f);
  cli_json_str(f, rbpe_embed_kind_string(c->embed.kind));
  if (c->embed.kind == RBPE_EMBED_RBF) {
    metrics_rbf(f, c, r);
  } else if (c->embed.kind == RBPE_EMBED_RFF) {
    fprintf(f, ", \"features\": %d", c->embed.rff_features);
    num(f, ", \"scale\": ", c->embed.rff_scale);
  } else {
    fprintf(f, ", \"freqs\": %d", c->embed.nerf_freqs);
  }
  fputs(", \"split\": ", f);
  cli_json_str(f, c->split);
  fprintf(f, ", \"hidden_layers\": %d, \"width\": %d, \"out_act\": \"%s\", "
             "\"steps\": %d",
          c->hidden_layers, c->width, rbpe_act_string(c->out_act), c->steps);
  num(f, ", \"lr\": ", c->lr);
  fprintf(f, ", \"batch\": %zu, \"seed\": %llu},\n", c->batch,
          (unsigned long long)c->seed);
}

/* What the fit measured: counts, the values' range and PSNR. */
static void metrics_results(FILE *f, const rbpe_fit_config *c, const rbpe_fit_report *r) {
  fprintf(f, "  \"embedded_set\": \"%s\",\n",
          r->embed_on_the_fly ? "on the fly per batch" : "kept on the device");
  fprintf(f, "  \"n_train\": %zu,\n  \"n_test\": %zu,\n  \"embed_dim\": %zu,\n",
          r->n_train, r->n_test, r->embed_dim);
  fprintf(f, "  \"first_layer_band\": %d,\n", r->first_layer_band);
  fprintf(f, "  \"steps_done\": %d,\n  \"interrupted\": %s,\n", r->steps_done,
          r->interrupted ? "true" : "false");
  int unit = r->data_min_f >= 0 && r->data_max_f <= 1;
  double scale, offset;
  rbpe_fit_value_map(r->out_act, r->data_min_f, r->data_max_f, &scale, &offset);
  fprintf(f, "  \"out_act_used\": \"%s\",\n", rbpe_act_string(r->out_act));
  num(f, "  \"data_range\": [", r->data_min_f);
  num(f, ", ", r->data_max_f);
  if (unit)
    fputs("],\n  \"values_fitted\": \"as they are (in [0, 1])\",\n", f);
  else
    fprintf(f, "],\n  \"values_fitted\": \"mapped onto [%g, %g] (the loss "
               "curve is in those units); the model maps predictions back\",\n",
            ((double)r->data_min_f - offset) / scale,
            ((double)r->data_max_f - offset) / scale);
  num(f, "  \"psnr_peak\": ", r->psnr_peak);
  fprintf(f, ",\n  \"psnr_peak_rule\": \"%s\",\n",
          unit ? "1: every value lies in [0, 1]"
               : "the data's peak-to-peak range (max - min)");
  fprintf(f, "  \"psnr_kind\": \"%s\",\n",
          c->split && !strcmp(c->split, "all")
              ? "fitting: every sample trained and evaluated (split all)"
              : "held-out: test_psnr over samples never trained on");
  num(f, "  \"train_psnr\": ", r->train_psnr);
  num(f, ",\n  \"test_psnr\": ", r->test_psnr);
  num(f, ",\n  \"final_train_mse\": ", r->final_loss);
}

/* The learned sigma: its range, statistics, solve, field and polynomial. */
static void metrics_sigma(FILE *f, const rbpe_fit_config *c, const rbpe_fit_report *r) {
  num(f, ",\n  \"sigma_stats\": {\"range\": [", r->sigma_lo);
  num(f, ", ", r->sigma_hi);
  num(f, "], \"spacing\": ", r->sigma_spacing);
  num(f, ", \"grid_min\": ", r->sigma_min);
  num(f, ", \"grid_max\": ", r->sigma_max);
  num(f, ", \"grid_mean\": ", r->sigma_mean);
  num(f, ", \"train_min\": ", r->sigma_train_min);
  num(f, ", \"train_max\": ", r->sigma_train_max);
  num(f, ", \"train_mean\": ", r->sigma_train_mean);
  fprintf(f, ", \"solve_iterations\": %d", r->sigma_iterations);
  num(f, ", \"J_initial\": ", r->sigma_J0);
  num(f, ", \"J_final\": ", r->sigma_J);
  num(f, ", \"time_s\": ", r->time_sigma_s);
  if (c->field.cells > 0) { /* updates happen only then */
    fprintf(f, ", \"field\": {\"held_back\": %zu, \"updates\": %d",
            r->field_heldback, r->field_updates);
    num(f, ", \"held_back_mse_first\": ", r->field_mse_first);
    num(f, ", \"held_back_mse_last\": ", r->field_mse_last);
    num(f, ", \"factor_min\": ", r->field_factor_min);
    num(f, ", \"factor_max\": ", r->field_factor_max);
    fputc('}', f);
  }
  if (r->poly_degree > 0 || c->sigma_mode == RBPE_SIGMA_POLY ||
      c->sigma_at == RBPE_SIGMA_AT_POLY) {
    fputs(", \"poly_beta_of_g_over_gmax\": [", f);
    for (int p = 0; p <= r->poly_degree; p++) num(f, p ? ", " : "", r->poly_beta[p]);
    fputc(']', f);
  }
  fputc('}', f);
}

/* name: [[step, value], ...] at the loss curve's steps. */
static void curve(FILE *f, const char *name, const rbpe_fit_report *r,
                  const float *v) {
  fprintf(f, ",\n  \"%s\": [", name);
  for (int i = 0; i < r->curve_len; i++) {
    fprintf(f, "%s[%d", i ? ", " : "", r->curve_step[i]);
    num(f, ", ", v[i]);
    fputc(']', f);
  }
  fputc(']', f);
}

static int write_metrics(FILE *f, const metrics_job *j) {
  const rbpe_fit_config *c = j->cfg;
  const rbpe_fit_report *r = j->rep;
  metrics_head(f, j);
  metrics_config(f, c, r);
  metrics_results(f, c, r);
  if (r->sigma_map) metrics_sigma(f, c, r);
  num(f, ",\n  \"timings_s\": {\"embed\": ", r->time_embed_s);
  num(f, ", \"train\": ", r->time_train_s);
  num(f, ", \"eval\": ", r->time_eval_s);
  num(f, ", \"total\": ", j->wall_s);
  num(f, "},\n  \"train_samples_per_s\": ", r->train_samples_per_s);
  curve(f, "loss_curve", r, r->curve_loss);
  if (r->curve_heldout) {
    /* the same steps, after the step's update, on an evenly strided
     * subset of the held-out samples (reported, never used to choose) */
    fprintf(f, ",\n  \"heldout_curve_samples\": %zu", r->curve_heldout_n);
    curve(f, "heldout_curve", r, r->curve_heldout);
  }
  fputs("\n}\n", f);
  return ferror(f) ? -1 : 0;
}

static int write_metrics_cb(FILE *f, void *user) {
  return write_metrics(f, user);
}

static void print_summary(const rbpe_fit_report *r, int fitting,
                          const char *outdir, const char *picture,
                          const char *device,
                          double seconds) {
  if (fitting)
    printf("fitting PSNR %.2f dB after %d steps on all %zu samples (none "
           "held out), %.1f s on %s\n",
           r->train_psnr, r->steps_done, r->n_train, seconds, device);
  else
    printf("held-out PSNR %.2f dB (train %.2f dB) after %d steps, %zu "
           "training / %zu held-out samples, %.1f s on %s\n",
           r->test_psnr, r->train_psnr, r->steps_done, r->n_train, r->n_test,
           seconds, device);
  if (r->sigma_map)
    printf("sigma: %.4f..%.4f (mean %.4f) over the grid, %d solver iterations, "
           "%.1f s\n",
           r->sigma_min, r->sigma_max, r->sigma_mean, r->sigma_iterations,
           r->time_sigma_s);
  if (r->field_updates > 0)
    printf("sigma field: %d updates on %zu held-back samples (their MSE "
           "%.3g -> %.3g), factor %.3f..%.3f\n",
           r->field_updates, r->field_heldback, r->field_mse_first,
           r->field_mse_last, r->field_factor_min, r->field_factor_max);
  printf("pictures: %s/%s, model: %s/model.rbpe, metrics: %s/metrics.json\n",
         outdir, picture, outdir, outdir);
}

/* The same summary as one JSON object on standard output (--json). */
static void print_summary_json(const rbpe_fit_report *r, int fitting,
                               const char *outdir, const char *picture,
                               const char *device, double seconds) {
  FILE *f = stdout;
  fputs("{\"psnr_kind\": ", f);
  cli_json_str(f, fitting ? "fitting" : "held-out");
  fputs(", \"test_psnr\": ", f);
  cli_json_num(f, r->test_psnr);
  fputs(", \"train_psnr\": ", f);
  cli_json_num(f, r->train_psnr);
  fputs(", \"psnr_peak\": ", f);
  cli_json_num(f, r->psnr_peak);
  fprintf(f, ", \"steps_done\": %d, \"interrupted\": %s, \"n_train\": %zu, "
             "\"n_test\": %zu, \"seconds\": ",
          r->steps_done, r->interrupted ? "true" : "false", r->n_train,
          r->n_test);
  cli_json_num(f, seconds);
  fputs(", \"device\": ", f);
  cli_json_str(f, device);
  if (r->sigma_map) {
    fputs(", \"sigma\": {\"grid_min\": ", f);
    cli_json_num(f, r->sigma_min);
    fputs(", \"grid_max\": ", f);
    cli_json_num(f, r->sigma_max);
    fputs(", \"grid_mean\": ", f);
    cli_json_num(f, r->sigma_mean);
    fprintf(f, ", \"solver_iterations\": %d}", r->sigma_iterations);
  }
  fputs(", \"out\": ", f);
  cli_json_str(f, outdir);
  fputs(", \"picture\": ", f);
  cli_json_str(f, picture);
  fputs(", \"model\": \"model.rbpe\", \"metrics\": \"metrics.json\"}\n", f);
}

/* What rbpe fit's command line asks for. */
typedef struct fit_opts {
  rbpe_fit_config cfg;
  rbpe_load_options load;
  const char *input, *device, *outdir;
  int quiet, json, dropped, figures, sigma_given;
  uint64_t max_memory;
} fit_opts;

/* The options with a syntax of their own: 0, or -1 for a bad value. */
static int sigma_opt(void *at, const char *v) {
  fit_opts *o = at;
  long n;
  float x;
  o->sigma_given = 1;
  if (!strncmp(v, "uniform:", 8) && cli_parse_float(v + 8, 1e-6, 1e3, &x)) {
    o->cfg.sigma_mode = RBPE_SIGMA_UNIFORM;
    o->cfg.sigma = x;
  } else if (!strcmp(v, "graph")) {
    o->cfg.sigma_mode = RBPE_SIGMA_GRAPH;
  } else if (!strcmp(v, "poly")) {
    o->cfg.sigma_mode = RBPE_SIGMA_POLY;
  } else if (!strncmp(v, "poly:", 5) && cli_parse_long(v + 5, 0, 7, &n)) {
    o->cfg.sigma_mode = RBPE_SIGMA_POLY;
    o->cfg.sig.poly_degree = (int)n;
  } else {
    return -1;
  }
  return 0;
}

static int field_opt(void *at, const char *v) {
  long n;
  if (!cli_parse_long(v, 0, 64, &n) || n == 1) return -1;
  *(int *)at = (int)n;
  return 0;
}

static int window_opt(void *at, const char *v) {
  rbpe_field_config *fc = at;
  float from, until;
  char tail;
  if (sscanf(v, "%f:%f%c", &from, &until, &tail) != 2 ||
      !(from >= 0.0f && from < until && until <= 1.0f))
    return -1;
  fc->from = from;
  fc->until = until;
  return 0;
}

/* fit's options: parsing, messages and --help (defaults from o). */
static const cli_option *fit_table(fit_opts *o) {
  rbpe_fit_config *c = &o->cfg;
  const cli_option table[] = {
      {"embedding", CLI_SECTION},
      {"--embed", CLI_ENUM, &c->embed.kind, RBPE_ENUM_EMBED, 0, NULL, "positional embedding (%D)"},
      {"--centres", CLI_INT, &c->embed.rbf_centres, 1, RBPE_MAX_FEATURES, "D", "rbf centres per direction (%D)"},
      {"--directions", CLI_INT, &c->embed.rbf_angles, 0, RBPE_MAX_ANGLES, "A", "rbf, 2-D: A directions at the angles k 180/A degrees, the axes among them (%D); 0: the axes alone (and --diagonals); 1-D signals use the axis"},
      {"--diagonals", CLI_FLAG, &c->embed.rbf_diagonals, 1, 0, NULL, "rbf: also project on the diagonals (with --directions 0)"},
      {"--rbf-norm", CLI_FLAGF, &c->embed.rbf_norm_ref, -1, 0, NULL, "rbf: scale each coordinate's embedding by sqrt(s_ref / sigma(x)), s_ref the geometric mean of the training sigma (on; no change for a uniform sigma)"},
      {"--no-rbf-norm", CLI_FLAGF, &c->embed.rbf_norm_ref, 0, 0, NULL, "rbf: no amplitude normalisation (a Gibbs kernel)"},
      {"--order", CLI_FLOAT, &c->embed.rbf_order, 1, 64, "b", "rbf super-Gaussian order (%D)"},
      {"--sigma", CLI_CUSTOM, o, 0, 0, "MODE", "rbf sigma: uniform:S | graph | poly[:P] (graph; README \"Learning sigma\")", "uniform:S (S > 0), graph or poly[:P] (P 0..7)", sigma_opt},
      {"--sigma-at", CLI_ENUM, &c->sigma_at, RBPE_ENUM_SIGMA_AT, 0, NULL, "sigma at held-out samples (%D)"},
      {"--knn", CLI_INT, &c->sig.k, 1, 1024, "K", "graph: neighbours per training point (%D)"},
      {"--eps", CLI_FLOAT, &c->sig.eps, 1e-6, 1e6, "E", "graph: edge kernel width (%D)"},
      {"--gamma", CLI_FLOAT, &c->sig.gamma, -1e6, 1e6, "G", "graph: value-difference offset (%D)", "a number"},
      {"--lambda-n", CLI_FLOAT, &c->sig.lambda_n, 0, 100, "L", "graph: degree regulariser (%D)"},
      {"--smin", CLI_FLOAT, &c->sig.smin, 1e-6, 1e3, "A", "smallest sigma (%D)"},
      {"--smax", CLI_FLOAT, &c->sig.smax, 1e-6, 1e3, "B", "largest sigma (%D)"},
      {"--range", CLI_ENUM, &c->sig.relative, RBPE_ENUM_RANGE, 0, NULL, "smin/smax in coordinate units, in units of the training spacing L^(-1/N), or local: that times each training sample's local spacing over their mean (graph; %D)"},
      {"--sigma-iters", CLI_INT, &c->sig.iterations, 1, 1e6, "N", "sigma solver: Adam iterations at most (%D)"},
      {"--sigma-lr", CLI_FLOAT, &c->sig.lr, 1e-9, 100, "X", "sigma solver: Adam rate (%D)", "a number > 0"},
      {"--sigma-tol", CLI_FLOAT, &c->sig.tol, 0, 1, "T", "sigma solver: stop when J's change over 10 iterations is below T times its change so far (%D)"},
      {"--poly-subset", CLI_INT, &c->sig.poly_subset, 2, 4096, "M", "poly: points per dense subset (%D)"},
      {"--poly-subsets", CLI_INT, &c->sig.poly_subsets, 1, 1e5, "B", "poly: dense subsets (%D)", "an integer >= 1"},
      {"--poly-from-sparse", CLI_FLAG, &c->sig.poly_from_sparse, 1, 0, NULL, "poly: fit beta on the sparse solve"},
      {"--smooth-width", CLI_FLOAT, &c->sig.smooth_width, 1e-3, 1e3, "W", "smooth: Gaussian width in training spacings (%D)", "a number > 0"},
      {"--field", CLI_CUSTOM, &c->field.cells, 0, 0, "N", "learn a sigma field on held-back samples: a grid of N nodes per axis of log-factors on the sigma map (0 = off; README \"Learning sigma\")", "0 (off) or an integer 2..64", field_opt},
      {"--field-holdout", CLI_FLOAT, &c->field.holdout, 1e-6, 0.999999, "P", "field: fraction of training samples held back (%D)", "a fraction in (0, 1)"},
      {"--field-lr", CLI_FLOAT, &c->field.lr, 1e-9, 1e3, "X", "field: Adam rate (%D)", "a number > 0"},
      {"--field-every", CLI_INT, &c->field.every, 1, 1e6, "K", "field: steps between updates (%D)"},
      {"--field-window", CLI_CUSTOM, &c->field, 0, 0, "A:B", "field: the part of training it learns in (0.2:0.8)", "A:B with 0 <= A < B <= 1", window_opt},
      {"--field-range", CLI_FLOAT, &c->field.range, 1e-6, 10, "R", "field: |log factor| bound (%D)", "a number in (0, 10]"},
      {"--field-mean", CLI_CHOICE, &c->field.zero_mean, 0, 0, "free|zero", "field: whether its mean is kept at 0 (%D)"},
      {"--features", CLI_INT, &c->embed.rff_features, 1, RBPE_MAX_FEATURES, "F", "rff features (%D)"},
      {"--scale", CLI_FLOAT, &c->embed.rff_scale, 1e-6, 1e6, "s", "rff scale (%D)"},
      {"--freqs", CLI_INT, &c->embed.nerf_freqs, 1, RBPE_MAX_NERF_FREQS, "L", "nerf frequencies per axis (%D)"},
      {"data and model", CLI_SECTION},
      {"--split", CLI_STRING, &c->split, 0, 0, "SPEC", "regular:S | random:P | tancik | all, +val:P for a validation part (%D); all: train and evaluate on every sample (a fitting PSNR, not a held-out one)"},
      {"--layers", CLI_INT, &c->hidden_layers, 0, RBPE_MAX_HIDDEN, "H", "hidden layers (%D)"},
      {"--width", CLI_INT, &c->width, 1, RBPE_MAX_WIDTH, "W", "hidden width (%D)"},
      {"--out-act", CLI_ENUM, &c->out_act, RBPE_ENUM_ACT, 0, NULL, "output activation; auto: sigmoid when every value lies in [0, 1], none otherwise (%D)"},
      {"training", CLI_SECTION},
      {"--steps", CLI_INT, &c->steps, 1, 1e8, "N", "Adam steps (%D)"},
      {"--lr", CLI_FLOAT, &c->lr, 1e-12, 10, "X", "learning rate (%D)", "a number in (0, 10]"},
      {"--batch", CLI_SIZE, &c->batch, 0, (double)(1L << 40), "N", "mini-batch size, 0 = full batch (%D)"},
      {"--seed", CLI_U64, &c->seed, 0, 9.2e18, "N", "seed of split, RFF matrix, weights, shuffling (%D)"},
      {"--channel", CLI_CUSTOM, &o->load.channel, 0, 0, "K", "fit only channel K (from 1) of an image, audio file or text table (all)", "a channel number 1..4", cli_channel_opt},
      {"--log-every", CLI_INT, &c->log_every, 1, 1e8, "N", "read the loss every N steps (%D)"},
      {"run", CLI_SECTION},
      {"--device", CLI_STRING, &o->device, 0, 0, "SPEC", "auto | cpu | ref | cl | cl:P:D | cl:NAME ($RBPE_DEVICE; rbpe devices lists them)"},
      {"--max-memory", CLI_BYTES, &o->max_memory, 0, 0, "BYTES", "cap device memory, e.g. 512M"},
      {"--out", CLI_STRING, &o->outdir, 0, 0, "DIR", "output folder (%D), made if missing; rbpe replaces only files it wrote there"},
      {"--figures", CLI_CUSTOM, &o->figures, 0, 0, "png|svg|both", "the figures' formats (png); svg needs an rbpe built with cairo", "png, svg or both", fig_kinds_opt},
      {"--quiet", CLI_FLAG, &o->quiet, 1, 0, NULL, "no progress output"},
      {"--json", CLI_FLAG, &o->json, 1, 0, NULL, "the summary as one JSON object on stdout"},
      {NULL}};
  /* kept for the whole parse and --help, sized by the table itself */
  static cli_option kept[sizeof table / sizeof table[0]];
  memcpy(kept, table, sizeof table);
  return kept;
}

/* The options into o: -1 to go on, else the exit code (after --help, or
 * a usage error said). */
static int parse_fit(int argc, char **argv, const cli_args *ca, fit_opts *o) {
  memset(o, 0, sizeof *o);
  rbpe_fit_config_default(&o->cfg);
  o->load = (rbpe_load_options){-1};
  o->outdir = "rbpe-out";
  o->dropped = -1;
  o->figures = FIG_PNG;
  const cli_option *table = fit_table(o);
  int input_at = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r = cli_options_parse("fit", table, argc, argv, &i);
    if (r < 0) return -r;
    if (r > 0) continue;
    if (cli_flag(a, "--help")) {
      fputs(fit_usage, stdout);
      cli_options_help(stdout, table);
      fputs(fit_usage_tail, stdout);
      return EXIT_OK;
    } else if (a[0] == '-' && a[1]) {
      return cli_usage_error("fit", "unknown option '%s'", a);
    } else if (!o->input || (input_at < ca->user_from && i >= ca->user_from)) {
      /* an INPUT after --config FILE replaces the recorded one */
      if (o->input) o->dropped = input_at;
      o->input = a;
      input_at = i;
    } else {
      return cli_usage_error("fit", "more than one INPUT ('%s')", a);
    }
  }
  int bad = fig_kinds_check("fit", o->figures);
  if (bad) return bad;
  if (!o->input) return cli_usage_error("fit", "no INPUT given");
  /* the learned sigma is the rbf embedding's default: another embedding
   * has no sigma unless one is asked for (which the library refuses) */
  if (o->cfg.embed.kind != RBPE_EMBED_RBF && !o->sigma_given)
    o->cfg.sigma_mode = RBPE_SIGMA_UNIFORM;
  if (strlen(o->outdir) > 4000) return cli_usage_error("fit", "--out path too long");
  return -1;
}

/* The outputs of a finished (or interrupted) fit, staged and then moved
 * into the folder as a set; the summary. The exit code. */
static int fit_write(rbpe_ctx *ctx, cli_outset *set_p, const fit_opts *fo,
                     rbpe_fit_config *cfg_p, const rbpe_signal *sig,
                     const rbpe_model *model, rbpe_fit_report *rep_p,
                     double t0, int argc, char **argv) {
  int rc = EXIT_OK, figures = fo->figures, quiet = fo->quiet;
  const char *input = fo->input, *outdir = fo->outdir;
  rbpe_status st;
  /* Every output is staged, then the set replaces the previous run's. */
  int fitting = cfg_p->split && !strcmp(cfg_p->split, "all");
  cli_outset_begin(set_p);
  int one_d = rbpe_signal_ndim(sig) == 1;
  const char *picture = one_d ? (figures & FIG_PNG ? "plot.png" : "plot.svg")
                              : (figures & FIG_PNG ? "panel.png" : "panel.svg");
  if (one_d) {
    st = cli_save_text(ctx, cli_outset_path(set_p, "reconstruction.txt"),
                       rep_p->reconstruction);
    if (st == RBPE_OK && rep_p->sigma_map)
      st = cli_save_text(ctx, cli_outset_path(set_p, "sigma.txt"),
                         rep_p->sigma_map);
  } else {
    st = rbpe_signal_save_png(ctx, rep_p->reconstruction,
                              cli_outset_path(set_p, "reconstruction.png"), 8);
    if (st == RBPE_OK && rep_p->sigma_map)
      st = cli_save_sigma_maps(ctx, rep_p->sigma_map, rep_p->split,
                               (float)rep_p->sigma_lo, (float)rep_p->sigma_hi,
                               cli_outset_path(set_p, "sigma.png"),
                               cli_outset_path(set_p, "sigma_train.png"));
  }
  cli_figures_note("fit", quiet);
  cli_fit_info fi = {input, rbpe_ctx_device_description(ctx), sig, cfg_p,
                     rep_p, figures, fitting};
  if (st == RBPE_OK) st = cli_fit_figures(ctx, set_p, &fi);
  if (st == RBPE_OK)
    st = rbpe_model_save(ctx, model, cli_outset_path(set_p, "model.rbpe"));
  cfg_p->progress = NULL;
  metrics_job job = {input, rbpe_ctx_device_description(ctx),
                     rbpe_ctx_backend_kind(ctx), sig, cfg_p, rep_p,
                     rbpe_seconds() - t0, argc, argv, fo->dropped};
  if (st == RBPE_OK)
    st = rbpe_write_file(ctx, cli_outset_path(set_p, "metrics.json"),
                         write_metrics_cb, &job);
  if (st != RBPE_OK) {
    cli_outset_abort(set_p);
    rc = cli_fail("fit", ctx, st);
    if (st == RBPE_ERR_IO) rc = EXIT_OUTPUT; /* writing, not reading */
    return rc;
  }
  if (cli_outset_commit(set_p) != 0) {
    if (errno == EEXIST)
      fprintf(stderr, "rbpe fit: a file rbpe did not write took an output's "
                      "name in %s during the run; nothing replaced\n",
              outdir);
    else
      fprintf(stderr, "rbpe fit: cannot move the outputs into %s: %s\n",
              outdir, strerror(errno));
    rc = EXIT_OUTPUT;
    return rc;
  }
  if (fo->json)
    print_summary_json(rep_p, fitting, outdir, picture,
                       rbpe_ctx_device_description(ctx), rbpe_seconds() - t0);
  else
    print_summary(rep_p, fitting, outdir, picture,
                  rbpe_ctx_device_description(ctx), rbpe_seconds() - t0);
  if (rep_p->interrupted) rc = EXIT_INTERRUPTED;
  return rc;
}

/* The input, checked before any device: a signal of 1 or 2 dimensions,
 * the output names claimed, every setting against it
 * (rbpe_fit_config_check). The exit code. */
static int fit_input(rbpe_ctx *ctx, const fit_opts *fo, cli_outset *set,
                     rbpe_signal **sig) {
  const char *input = fo->input;
  rbpe_model *not_signal = NULL;
  char why[4400];
  rbpe_status st = rbpe_load_ex(ctx, input, &fo->load, sig, &not_signal);
  if (st == RBPE_OK && not_signal) {
    rbpe_model_free(not_signal);
    fprintf(stderr, "rbpe fit: %s is an rbpe model, not a signal (rbpe "
                    "render draws it)\n", input);
    return EXIT_BAD_INPUT;
  }
  if (st == RBPE_OK && rbpe_signal_ndim(*sig) > 2) {
    fprintf(stderr, "rbpe fit: %s: only 1-D and 2-D signals are supported\n", input);
    return EXIT_BAD_INPUT;
  }
  int learned = fo->cfg.embed.kind == RBPE_EMBED_RBF &&
                fo->cfg.sigma_mode != RBPE_SIGMA_UNIFORM;
  const char *names[16];
  if (st == RBPE_OK) {
    cli_fit_figure_names(names, rbpe_signal_ndim(*sig) == 1, learned, fo->figures);
    if (cli_outset_claim(set, names, why, sizeof why) != 0) {
      fprintf(stderr, "rbpe fit: %s\n", why);
      return EXIT_OUTPUT;
    }
    st = rbpe_fit_config_check(ctx, &fo->cfg, *sig);
  }
  return st == RBPE_OK ? EXIT_OK : cli_fail("fit", ctx, st);
}

/* What the data's range means for the output activation, said before the
 * work, by the rule rbpe_fit itself follows. */
static void say_value_map(const rbpe_signal *sig, const rbpe_fit_config *cfg) {
  float lo, hi;
  double scale, offset;
  rbpe_signal_range(sig, &lo, &hi);
  rbpe_act act = rbpe_fit_value_map(cfg->out_act, lo, hi, &scale, &offset);
  if (lo >= 0.0f && hi <= 1.0f) return;
  fprintf(stderr, "rbpe fit: values in [%g, %g], fitted mapped onto "
                  "[%g, %g] with output activation %s%s; PSNR over their "
                  "peak-to-peak range, %g\n",
          (double)lo, (double)hi, ((double)lo - offset) / scale,
          ((double)hi - offset) / scale, rbpe_act_string(act),
          cfg->out_act == RBPE_ACT_AUTO ? " (auto)" : "", (double)hi - (double)lo);
}

/* The fit itself, with progress on stderr and Ctrl-C stopping it early. */
static rbpe_status run_fit(rbpe_ctx *ctx, const rbpe_signal *sig,
                           rbpe_fit_config *cfg, int quiet, rbpe_model **model,
                           rbpe_fit_report *rep) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  progress_state ps = {isatty(2), quiet, -1};
  cfg->progress = on_progress;
  cfg->progress_user = &ps;
  cfg->cancel = &cancel_flag;
  rbpe_status st = rbpe_fit(ctx, sig, cfg, model, rep);
  cfg->progress = NULL;
  cfg->progress_user = NULL;
  return st;
}

static int fit_main(int argc, char **argv, const cli_args *ca) {
  static fit_opts fo;
  int rc = parse_fit(argc, argv, ca, &fo);
  if (rc >= 0) return rc;
  rbpe_fit_config cfg = fo.cfg;
  const char *outdir = fo.outdir;
  double t0 = rbpe_seconds();
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_ctx_set_memory_limit(ctx, fo.max_memory);
  rbpe_signal *sig = NULL;
  rbpe_model *model = NULL;
  rbpe_fit_report rep;
  memset(&rep, 0, sizeof rep);
  /* The output folder first: made, proved writable and its files' owner
   * known before any work, so a run never trains only to fail there;
   * then the input and the settings, which need no device. */
  static cli_outset set;
  char why[4400];
  if (cli_outset_prepare(&set, outdir, fit_outputs, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe fit: %s\n", why);
    rc = EXIT_OUTPUT;
  } else {
    rc = fit_input(ctx, &fo, &set, &sig);
  }
  if (rc == EXIT_OK) rc = cli_select("fit", ctx, fo.device, fo.quiet);
  if (rc == EXIT_OK) {
    if (!fo.quiet) say_value_map(sig, &cfg);
    rbpe_status st = run_fit(ctx, sig, &cfg, fo.quiet, &model, &rep);
    if (st != RBPE_OK) rc = cli_fail("fit", ctx, st);
    /* the directions the fit used (by angle on 2-D signals only) and the
     * sigma range's unit (local with graph sigma only), for metrics.json
     * and the panel's title */
    else {
      cfg.embed.rbf_angles = rbpe_model_config(model)->embed.rbf_angles;
      cfg.sig.relative = rbpe_model_config(model)->sig.relative;
    }
  }
  if (rc == EXIT_OK && rep.embed_on_the_fly && !fo.quiet)
    fprintf(stderr, "rbpe fit: the embedded training set did not fit the "
                    "device: each batch was embedded on the fly\n");
  if (rc == EXIT_OK && rep.interrupted && rep.steps_done == 0) {
    /* nothing trained: nothing to write, the previous outputs stay */
    fprintf(stderr, "\nrbpe fit: interrupted before the first training step; "
                    "nothing written, %s left as it was\n", outdir);
    rc = EXIT_INTERRUPTED;
  } else if (rc == EXIT_OK) {
    if (rep.interrupted && !fo.quiet)
      fprintf(stderr, "\nrbpe fit: interrupted after %d of %d steps; writing "
                      "the outputs of the model as it stands\n",
              rep.steps_done, cfg.steps);
    rc = fit_write(ctx, &set, &fo, &cfg, sig, model, &rep, t0, argc, argv);
  }
  /* a run that wrote nothing leaves no folder it made */
  if ((rc != EXIT_OK && rc != EXIT_INTERRUPTED) ||
      (rc == EXIT_INTERRUPTED && rep.steps_done == 0))
    cli_outset_release(&set);
  rbpe_fit_report_clear(&rep);
  rbpe_model_free(model);
  rbpe_signal_free(sig);
  rbpe_ctx_free(ctx);
  return rc;
}

int cmd_fit(int argc, char **argv) {
  cli_args args;
  char why[4400];
  if (cli_expand_config(argc, argv, &args, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe fit: %s\n", why);
    return strstr(why, "needs a") ? EXIT_USAGE : EXIT_BAD_INPUT;
  }
  int rc = fit_main(args.argc, args.argv, &args);
  cli_args_free(&args);
  return rc;
}
