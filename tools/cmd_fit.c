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

static const char *fit_help =
    "usage: rbpe fit INPUT [options]\n"
    "Fits a coordinate-MLP to INPUT and writes to --out DIR. INPUT (read once:\n"
    "a pipe works, - is standard input) is a PNG or JPEG image, audio\n"
    "(WAV, FLAC, AIFF, Ogg) or a 1-D text signal (one sample per line,\n"
    "columns as channels). Outputs: reconstruction.png (1-D: plot.png and\n"
    "reconstruction.txt), panel.png (truth | training samples |\n"
    "reconstruction | 4x |error| [| sigma]), metrics.json and model.rbpe;\n"
    "with a learned sigma also sigma.png (the map, smin black .. smax white)\n"
    "and sigma_train.png (the training samples' sigma; 1-D: sigma.txt).\n"
    "\n"
    "embedding:\n"
    "  --embed rbf|rff|nerf    positional embedding (rbf)\n"
    "  --centres D             rbf centres per direction (128)\n"
    "  --diagonals             rbf: also project on the diagonals\n"
    "  --rbf-norm, --no-rbf-norm\n"
    "                          rbf: scale each coordinate's embedding by\n"
    "                          sqrt(s_ref / sigma(x)), s_ref the geometric mean\n"
    "                          of the training sigma, or not (a Gibbs kernel;\n"
    "                          on; no change for a uniform sigma)\n"
    "  --order b               rbf super-Gaussian order >= 1 (1)\n"
    "  --sigma MODE            rbf sigma: uniform:S | graph | poly[:P]\n"
    "                          (graph; README \"Learning sigma\")\n"
    "  --sigma-at RULE         sigma at held-out samples: nearest | smooth |\n"
    "                          poly (smooth)\n"
    "  --knn K --eps E --gamma G --lambda-n L --smin A --smax B\n"
    "                          graph objective (8, 0.5, 0.01, 0, 0.5, 2)\n"
    "  --sigma-iters N --sigma-lr X --sigma-tol T\n"
    "                          sigma solver: Adam cap, rate, and stop when J's\n"
    "                          change over 10 iterations is below T times its\n"
    "                          change so far (200, 0.1, 1e-3)\n"
    "  --poly-subset M --poly-subsets B --poly-from-sparse\n"
    "                          poly: B dense subsets of M points (64 x 20), or\n"
    "                          fit beta on the sparse solve\n"
    "  --smooth-width W        smooth: Gaussian width in training spacings (2.5)\n"
    "  --range abs|rel         smin/smax in coordinate units, or in units of\n"
    "                          the training spacing L^(-1/N) (rel)\n"
    "  --field N               learn a sigma field on held-back samples: a\n"
    "                          grid of N nodes per axis of log-factors on the\n"
    "                          sigma map (0 = off; README \"Learning sigma\")\n"
    "  --field-holdout P --field-lr X --field-every K --field-window A:B\n"
    "  --field-range R --field-mean free|zero\n"
    "                          field: fraction of training samples held back,\n"
    "                          Adam rate, steps between updates, the part of\n"
    "                          training it learns in, |log factor| bound, and\n"
    "                          whether its mean is kept at 0 (0.1, 0.05, 10,\n"
    "                          0.2:0.8, 2, free)\n"
    "  --features F            rff features (256)\n"
    "  --scale s               rff scale (10)\n"
    "  --freqs L               nerf frequencies per axis (10)\n"
    "data and model:\n"
    "  --split SPEC            regular:S | random:P | tancik | all (regular:2);\n"
    "                          all: train and evaluate on every sample (a\n"
    "                          fitting PSNR, not a held-out one)\n"
    "  --layers H              hidden layers (3)\n"
    "  --width W               hidden width (256)\n"
    "  --out-act auto|none|relu|sigmoid\n"
    "                          output activation; auto: sigmoid when every\n"
    "                          value lies in [0, 1], none otherwise (auto)\n"
    "training:\n"
    "  --steps N               Adam steps (1000)\n"
    "  --lr X                  learning rate (1e-3)\n"
    "  --batch N               mini-batch size, 0 = full batch (0)\n"
    "  --seed N                seed of split, RFF matrix, weights, shuffling (0)\n"
    "  --channel K             fit only channel K (from 1) of an image, audio\n"
    "                          file or text table (all)\n"
    "  --log-every N           read the loss every N steps (25)\n"
    "run:\n"
    "  -d, --device SPEC       auto | cpu | ref | cl | cl:P:D | cl:NAME\n"
    "                          ($RBPE_DEVICE; rbpe devices lists them)\n"
    "  --max-memory BYTES      cap device memory, e.g. 512M\n"
    "  -o, --out DIR           output folder (rbpe-out), made if missing; rbpe\n"
    "                          replaces only files it wrote there\n"
    "  --figures png|svg|both  the figures' formats (png); svg needs an rbpe\n"
    "                          built with cairo\n"
    "  -q, --quiet             no progress output\n"
    "  --json                  the summary as one JSON object on stdout\n"
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

static int parse_act(const char *t, rbpe_act *a) {
  for (int i = RBPE_ACT_NONE; i <= RBPE_ACT_AUTO; i++)
    if (!strcmp(t, rbpe_act_string((rbpe_act)i))) {
      *a = (rbpe_act)i;
      return 1;
    }
  return 0;
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

static int write_metrics(FILE *f, const metrics_job *j) {
  const rbpe_fit_config *c = j->cfg;
  const rbpe_fit_report *r = j->rep;
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
  fputs("  \"config\": {\"embed\": ", f);
  cli_json_str(f, rbpe_embed_kind_string(c->embed.kind));
  switch (c->embed.kind) {
  case RBPE_EMBED_RBF: {
    fprintf(f, ", \"centres\": %d, \"diagonals\": %s, \"order\": ",
            c->embed.rbf_centres, c->embed.rbf_diagonals ? "true" : "false");
    cli_json_num(f, c->embed.rbf_order);
    fputs(", \"norm_ref\": ", f);
    cli_json_num(f, r->rbf_norm_ref);
    fprintf(f, ", \"sigma\": \"%s\"", rbpe_sigma_mode_string(c->sigma_mode));
    if (c->sigma_mode == RBPE_SIGMA_UNIFORM) {
      fputs(", \"sigma_value\": ", f);
      cli_json_num(f, c->sigma);
    } else {
      const rbpe_sigma_config *g = &c->sig;
      fprintf(f, ", \"sigma_at\": \"%s\", \"knn\": %d, \"eps\": ",
              rbpe_sigma_at_string(c->sigma_at), g->k);
      cli_json_num(f, g->eps);
      fputs(", \"gamma\": ", f);
      cli_json_num(f, g->gamma);
      fputs(", \"lambda_n\": ", f);
      cli_json_num(f, g->lambda_n);
      fputs(", \"smin\": ", f);
      cli_json_num(f, g->smin);
      fputs(", \"smax\": ", f);
      cli_json_num(f, g->smax);
      fprintf(f, ", \"sigma_iterations_cap\": %d, \"sigma_lr\": ", g->iterations);
      cli_json_num(f, g->lr);
      fputs(", \"sigma_tol\": ", f);
      cli_json_num(f, g->tol);
      fprintf(f, ", \"poly_degree\": %d, \"poly_subset\": %d, "
                 "\"poly_subsets\": %d, \"poly_from_sparse\": %s, "
                 "\"range\": \"%s\", \"smooth_width\": ",
              g->poly_degree, g->poly_subset, g->poly_subsets,
              g->poly_from_sparse ? "true" : "false", g->relative ? "rel" : "abs");
      cli_json_num(f, g->smooth_width);
    }
    if (c->field.cells > 0) {
      const rbpe_field_config *fd = &c->field;
      fprintf(f, ", \"field\": {\"nodes_per_axis\": %d, \"holdout\": ",
              fd->cells);
      cli_json_num(f, fd->holdout);
      fputs(", \"lr\": ", f);
      cli_json_num(f, fd->lr);
      fprintf(f, ", \"every\": %d, \"window\": [", fd->every);
      cli_json_num(f, fd->from);
      fputs(", ", f);
      cli_json_num(f, fd->until);
      fputs("], \"range\": ", f);
      cli_json_num(f, fd->range);
      fprintf(f, ", \"mean\": \"%s\"}", fd->zero_mean ? "zero" : "free");
    }
    break;
  }
  case RBPE_EMBED_RFF:
    fprintf(f, ", \"features\": %d, \"scale\": ", c->embed.rff_features);
    cli_json_num(f, c->embed.rff_scale);
    break;
  case RBPE_EMBED_NERF:
    fprintf(f, ", \"freqs\": %d", c->embed.nerf_freqs);
    break;
  }
  fputs(", \"split\": ", f);
  cli_json_str(f, c->split);
  fprintf(f, ", \"hidden_layers\": %d, \"width\": %d, \"out_act\": \"%s\", "
             "\"steps\": %d, \"lr\": ",
          c->hidden_layers, c->width, rbpe_act_string(c->out_act), c->steps);
  cli_json_num(f, c->lr);
  fprintf(f, ", \"batch\": %zu, \"seed\": %llu},\n", c->batch,
          (unsigned long long)c->seed);
  fprintf(f, "  \"embedded_set\": \"%s\",\n",
          r->embed_on_the_fly ? "on the fly per batch" : "kept on the device");
  fprintf(f, "  \"n_train\": %zu,\n  \"n_test\": %zu,\n  \"embed_dim\": %zu,\n",
          r->n_train, r->n_test, r->embed_dim);
  fprintf(f, "  \"steps_done\": %d,\n  \"interrupted\": %s,\n", r->steps_done,
          r->interrupted ? "true" : "false");
  int unit = r->data_min_f >= 0 && r->data_max_f <= 1;
  double scale, offset;
  rbpe_fit_value_map(r->out_act, r->data_min_f, r->data_max_f, &scale, &offset);
  fprintf(f, "  \"out_act_used\": \"%s\",\n  \"data_range\": [",
          rbpe_act_string(r->out_act));
  cli_json_num(f, r->data_min_f);
  fputs(", ", f);
  cli_json_num(f, r->data_max_f);
  if (unit)
    fputs("],\n  \"values_fitted\": \"as they are (in [0, 1])\",\n", f);
  else
    fprintf(f, "],\n  \"values_fitted\": \"mapped onto [%g, %g] (the loss "
               "curve is in those units); the model maps predictions back\",\n",
            ((double)r->data_min_f - offset) / scale,
            ((double)r->data_max_f - offset) / scale);
  fputs("  \"psnr_peak\": ", f);
  cli_json_num(f, r->psnr_peak);
  fprintf(f, ",\n  \"psnr_peak_rule\": \"%s\",\n",
          unit ? "1: every value lies in [0, 1]"
               : "the data's peak-to-peak range (max - min)");
  fprintf(f, "  \"psnr_kind\": \"%s\",\n",
          c->split && !strcmp(c->split, "all")
              ? "fitting: every sample trained and evaluated (split all)"
              : "held-out: test_psnr over samples never trained on");
  fputs("  \"train_psnr\": ", f);
  cli_json_num(f, r->train_psnr);
  fputs(",\n  \"test_psnr\": ", f);
  cli_json_num(f, r->test_psnr);
  fputs(",\n  \"final_train_mse\": ", f);
  cli_json_num(f, r->final_loss);
  if (r->sigma_map) {
    fputs(",\n  \"sigma_stats\": {\"range\": [", f);
    cli_json_num(f, r->sigma_lo);
    fputs(", ", f);
    cli_json_num(f, r->sigma_hi);
    fputs("], \"grid_min\": ", f);
    cli_json_num(f, r->sigma_min);
    fputs(", \"grid_max\": ", f);
    cli_json_num(f, r->sigma_max);
    fputs(", \"grid_mean\": ", f);
    cli_json_num(f, r->sigma_mean);
    fputs(", \"train_min\": ", f);
    cli_json_num(f, r->sigma_train_min);
    fputs(", \"train_max\": ", f);
    cli_json_num(f, r->sigma_train_max);
    fputs(", \"train_mean\": ", f);
    cli_json_num(f, r->sigma_train_mean);
    fprintf(f, ", \"solve_iterations\": %d, \"J_initial\": ", r->sigma_iterations);
    cli_json_num(f, r->sigma_J0);
    fputs(", \"J_final\": ", f);
    cli_json_num(f, r->sigma_J);
    fputs(", \"time_s\": ", f);
    cli_json_num(f, r->time_sigma_s);
    if (c->field.cells > 0) { /* updates happen only then */
      fprintf(f, ", \"field\": {\"held_back\": %zu, \"updates\": %d, "
                 "\"held_back_mse_first\": ",
              r->field_heldback, r->field_updates);
      cli_json_num(f, r->field_mse_first);
      fputs(", \"held_back_mse_last\": ", f);
      cli_json_num(f, r->field_mse_last);
      fputs(", \"factor_min\": ", f);
      cli_json_num(f, r->field_factor_min);
      fputs(", \"factor_max\": ", f);
      cli_json_num(f, r->field_factor_max);
      fputc('}', f);
    }
    if (r->poly_degree > 0 || c->sigma_mode == RBPE_SIGMA_POLY ||
        c->sigma_at == RBPE_SIGMA_AT_POLY) {
      fputs(", \"poly_beta_of_g_over_gmax\": [", f);
      for (int p = 0; p <= r->poly_degree; p++) {
        if (p) fputs(", ", f);
        cli_json_num(f, r->poly_beta[p]);
      }
      fputc(']', f);
    }
    fputc('}', f);
  }
  fputs(",\n  \"timings_s\": {\"embed\": ", f);
  cli_json_num(f, r->time_embed_s);
  fputs(", \"train\": ", f);
  cli_json_num(f, r->time_train_s);
  fputs(", \"eval\": ", f);
  cli_json_num(f, r->time_eval_s);
  fputs(", \"total\": ", f);
  cli_json_num(f, j->wall_s);
  fputs("},\n  \"train_samples_per_s\": ", f);
  cli_json_num(f, r->train_samples_per_s);
  fputs(",\n  \"loss_curve\": [", f);
  for (int i = 0; i < r->curve_len; i++) {
    fprintf(f, "%s[%d, ", i ? ", " : "", r->curve_step[i]);
    cli_json_num(f, r->curve_loss[i]);
    fputc(']', f);
  }
  fputs("]", f);
  if (r->curve_heldout) {
    /* the same steps, after the step's update, on an evenly strided
     * subset of the held-out samples (reported, never used to choose) */
    fprintf(f, ",\n  \"heldout_curve_samples\": %zu,\n  \"heldout_curve\": [",
            r->curve_heldout_n);
    for (int i = 0; i < r->curve_len; i++) {
      fprintf(f, "%s[%d, ", i ? ", " : "", r->curve_step[i]);
      cli_json_num(f, r->curve_heldout[i]);
      fputc(']', f);
    }
    fputc(']', f);
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

/* The embedding's and sigma's options with their own syntax: 1 when
 * argv[*ip] was one (stored), 0 when not, else the usage error's exit code
 * negated. */
static int fit_method_opt(fit_opts *o, int argc, char **argv, int *ip) {
  const char *v = NULL, *a = argv[*ip];
  long n;
  float x;
  int r, i = *ip;
  (void)a;
  if (0) {
    } else if ((r = cli_opt(argc, argv, &i, "--embed", &v))) {
      if (r < 0 || (strcmp(v, "rbf") && strcmp(v, "rff") && strcmp(v, "nerf")))
        return -cli_usage_error("fit", "--embed needs rbf, rff or nerf");
      o->cfg.embed.kind = !strcmp(v, "rbf") ? RBPE_EMBED_RBF
                       : !strcmp(v, "rff") ? RBPE_EMBED_RFF
                                           : RBPE_EMBED_NERF;
    } else if ((r = cli_opt(argc, argv, &i, "--sigma", &v))) {
      if (r < 0) return -cli_usage_error("fit", "--sigma needs a mode");
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
        return -cli_usage_error("fit", "--sigma needs uniform:S (S > 0), graph "
                                      "or poly[:P] (P 0..7)");
      }
    } else if ((r = cli_opt(argc, argv, &i, "--sigma-at", &v))) {
      if (r < 0 || (strcmp(v, "nearest") && strcmp(v, "smooth") && strcmp(v, "poly")))
        return -cli_usage_error("fit", "--sigma-at needs nearest, smooth or poly");
      o->cfg.sigma_at = !strcmp(v, "nearest") ? RBPE_SIGMA_AT_NEAREST
                     : !strcmp(v, "smooth") ? RBPE_SIGMA_AT_SMOOTH
                                            : RBPE_SIGMA_AT_POLY;
    } else if ((r = cli_opt(argc, argv, &i, "--range", &v))) {
      if (r < 0 || (strcmp(v, "abs") && strcmp(v, "rel")))
        return -cli_usage_error("fit", "--range needs abs or rel");
      o->cfg.sig.relative = !strcmp(v, "rel");
    } else if (!strcmp(a, "--poly-from-sparse")) {
      o->cfg.sig.poly_from_sparse = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--field", &v))) {
      if (r < 0 || !cli_parse_long(v, 0, 64, &n) || n == 1)
        return -cli_usage_error("fit", "--field needs 0 (off) or an integer 2..64");
      o->cfg.field.cells = (int)n;
    } else if ((r = cli_opt(argc, argv, &i, "--field-window", &v))) {
      float from, until;
      char tail;
      if (r < 0 || sscanf(v, "%f:%f%c", &from, &until, &tail) != 2 ||
          !(from >= 0.0f && from < until && until <= 1.0f))
        return -cli_usage_error("fit", "--field-window needs A:B with 0 <= A < B <= 1");
      o->cfg.field.from = from;
      o->cfg.field.until = until;
    } else if ((r = cli_opt(argc, argv, &i, "--field-mean", &v))) {
      if (r < 0 || (strcmp(v, "free") && strcmp(v, "zero")))
        return -cli_usage_error("fit", "--field-mean needs free or zero");
      o->cfg.field.zero_mean = !strcmp(v, "zero");
    } else if ((r = cli_opt(argc, argv, &i, "--freqs", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, RBPE_MAX_NERF_FREQS, &n))
        return -cli_usage_error("fit", "--freqs needs an integer 1..%d",
                               RBPE_MAX_NERF_FREQS);
      o->cfg.embed.nerf_freqs = (int)n;
  } else {
    return 0;
  }
  *ip = i;
  return 1;
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
  int input_at = -1;
  /* the numeric options: their targets, bounds and messages */
  const cli_int_opt ints[] = {
      {"--centres", CLI_INT, &o->cfg.embed.rbf_centres, 1, 65536, "--centres needs an integer 1..65536"},
      {"--knn", CLI_INT, &o->cfg.sig.k, 1, 1024, "--knn needs an integer 1..1024"},
      {"--sigma-iters", CLI_INT, &o->cfg.sig.iterations, 1, 1000000, "--sigma-iters needs an integer >= 1"},
      {"--poly-subset", CLI_INT, &o->cfg.sig.poly_subset, 2, 4096, "--poly-subset needs an integer 2..4096"},
      {"--poly-subsets", CLI_INT, &o->cfg.sig.poly_subsets, 1, 100000, "--poly-subsets needs an integer >= 1"},
      {"--field-every", CLI_INT, &o->cfg.field.every, 1, 1000000, "--field-every needs an integer >= 1"},
      {"--features", CLI_INT, &o->cfg.embed.rff_features, 1, 65536, "--features needs an integer 1..65536"},
      {"--layers", CLI_INT, &o->cfg.hidden_layers, 0, 16, "--layers needs an integer 0..16"},
      {"--width", CLI_INT, &o->cfg.width, 1, 8192, "--width needs an integer 1..8192"},
      {"--steps", CLI_INT, &o->cfg.steps, 1, 100000000, "--steps needs an integer >= 1"},
      {"--batch", CLI_SIZE, &o->cfg.batch, 0, 1L << 40, "--batch needs an integer >= 0"},
      {"--seed", CLI_U64, &o->cfg.seed, 0, 0x7fffffffffffffffL, "--seed needs an integer >= 0"},
      {"--log-every", CLI_INT, &o->cfg.log_every, 1, 100000000, "--log-every needs an integer >= 1"},
  };
  const cli_float_opt floats[] = {
      {"--order", &o->cfg.embed.rbf_order, 1.0, 64.0, "--order needs a number in [1, 64]"},
      {"--eps", &o->cfg.sig.eps, 1e-6, 1e6, "--eps needs a number > 0"},
      {"--gamma", &o->cfg.sig.gamma, -1e6, 1e6, "--gamma needs a number"},
      {"--lambda-n", &o->cfg.sig.lambda_n, 0.0, 100.0, "--lambda-n needs a number in [0, 100]"},
      {"--smin", &o->cfg.sig.smin, 1e-6, 1e3, "--smin needs a number > 0"},
      {"--smax", &o->cfg.sig.smax, 1e-6, 1e3, "--smax needs a number > 0"},
      {"--sigma-lr", &o->cfg.sig.lr, 1e-9, 100.0, "--sigma-lr needs a number > 0"},
      {"--sigma-tol", &o->cfg.sig.tol, 0.0, 1.0, "--sigma-tol needs a number in [0, 1]"},
      {"--smooth-width", &o->cfg.sig.smooth_width, 1e-3, 1e3, "--smooth-width needs a number > 0"},
      {"--field-holdout", &o->cfg.field.holdout, 1e-6, 0.999999, "--field-holdout needs a fraction in (0, 1)"},
      {"--field-lr", &o->cfg.field.lr, 1e-9, 1e3, "--field-lr needs a number > 0"},
      {"--field-range", &o->cfg.field.range, 1e-6, 10, "--field-range needs a number in (0, 10]"},
      {"--scale", &o->cfg.embed.rff_scale, 1e-6, 1e6, "--scale needs a number > 0"},
      {"--lr", &o->cfg.lr, 1e-12, 10.0, "--lr needs a number in (0, 10]"},
  };
  for (int i = 1; i < argc; i++) {
    const char *v = NULL;
    long n;
    int r;
    const char *a = argv[i];
    int num = cli_number_opts("fit", argc, argv, &i, ints,
                              sizeof ints / sizeof ints[0], floats,
                              sizeof floats / sizeof floats[0]);
    if (!num) num = fit_method_opt(o, argc, argv, &i);
    if (num < 0) return -num;
    if (num > 0) continue;
    if (cli_flag(a, "--help")) {
      fputs(fit_help, stdout);
      return EXIT_OK;
    } else if (cli_flag(a, "--quiet")) {
      o->quiet = 1;
    } else if (!strcmp(a, "--json")) {
      o->json = 1;
    } else if (!strcmp(a, "--rbf-norm")) {
      o->cfg.embed.rbf_norm_ref = -1.0f; /* the fit picks the reference */
    } else if (!strcmp(a, "--no-rbf-norm")) {
      o->cfg.embed.rbf_norm_ref = 0.0f;
    } else if (!strcmp(a, "--diagonals")) {
      o->cfg.embed.rbf_diagonals = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--split", &v))) {
      if (r < 0) return cli_usage_error("fit", "--split needs a value");
      o->cfg.split = v;
    } else if ((r = cli_opt(argc, argv, &i, "--out-act", &v))) {
      if (r < 0 || !parse_act(v, &o->cfg.out_act))
        return cli_usage_error("fit", "--out-act needs none, relu or sigmoid");
    } else if ((r = cli_opt(argc, argv, &i, "--channel", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 65536, &n))
        return cli_usage_error("fit", "--channel needs a channel number from 1");
      o->load.channel = (int)n - 1;
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("fit", "--device needs a value");
      o->device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--max-memory", &v))) {
      if (r < 0 || !cli_parse_bytes(v, &o->max_memory))
        return cli_usage_error("fit", "--max-memory needs a size such as 512M");
    } else if ((r = cli_opt(argc, argv, &i, "--out", &v))) {
      if (r < 0) return cli_usage_error("fit", "--out needs a folder");
      o->outdir = v;
    } else if ((r = cli_opt(argc, argv, &i, "--figures", &v))) {
      int bad = fig_kinds_option("fit", r < 0 ? NULL : v, &o->figures);
      if (bad) return bad;
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

static int fit_main(int argc, char **argv, const cli_args *ca) {
  static fit_opts fo;
  int prc = parse_fit(argc, argv, ca, &fo);
  if (prc >= 0) return prc;
  rbpe_fit_config cfg = fo.cfg;
  rbpe_load_options load_opt = fo.load;
  const char *input = fo.input, *device = fo.device, *outdir = fo.outdir;
  int quiet = fo.quiet, figures = fo.figures;
  uint64_t max_memory = fo.max_memory;
  double t0 = rbpe_seconds();
  int rc = EXIT_OK;
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_ctx_set_memory_limit(ctx, max_memory);
  rbpe_signal *sig = NULL;
  rbpe_model *model = NULL;
  rbpe_fit_report rep;
  memset(&rep, 0, sizeof rep);
  /* The output folder first: made, proved writable and its files' owner
   * known before any work, so a run never trains only to fail there. */
  static cli_outset set;
  char why[4400];
  if (cli_outset_prepare(&set, outdir, fit_outputs, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe fit: %s\n", why);
    rc = EXIT_OUTPUT;
    goto out;
  }
  /* Input and split next: a mistake there needs no device. */
  rbpe_model *not_signal = NULL;
  rbpe_status st = rbpe_load_ex(ctx, input, &load_opt, &sig, &not_signal);
  if (st == RBPE_OK && not_signal) {
    rbpe_model_free(not_signal);
    fprintf(stderr, "rbpe fit: %s is an rbpe model, not a signal (rbpe "
                    "render draws it)\n", input);
    rc = EXIT_BAD_INPUT;
    goto out;
  }
  if (st == RBPE_OK && rbpe_signal_ndim(sig) > 2) {
    fprintf(stderr, "rbpe fit: %s: only 1-D and 2-D signals are supported\n", input);
    rc = EXIT_BAD_INPUT;
    goto out;
  }
  int learned = cfg.embed.kind == RBPE_EMBED_RBF &&
                cfg.sigma_mode != RBPE_SIGMA_UNIFORM;
  const char *names[16];
  if (st == RBPE_OK)
    cli_fit_figure_names(names, rbpe_signal_ndim(sig) == 1, learned, figures);
  if (st == RBPE_OK && cli_outset_claim(&set, names, why, sizeof why) != 0) {
    fprintf(stderr, "rbpe fit: %s\n", why);
    rc = EXIT_OUTPUT;
    goto out;
  }
  /* every setting against this signal, before a device is loaded */
  if (st == RBPE_OK) st = rbpe_fit_config_check(ctx, &cfg, sig);
  if (st != RBPE_OK) {
    rc = cli_fail("fit", ctx, st);
    goto out;
  }
  rc = cli_select("fit", ctx, device, quiet);
  if (rc != EXIT_OK) goto out;
  if (st == RBPE_OK) {
    /* what the data's range means for the output activation, said before
     * the work, by the rule rbpe_fit itself follows */
    float lo, hi;
    double scale, offset;
    rbpe_signal_range(sig, &lo, &hi);
    rbpe_act act = rbpe_fit_value_map(cfg.out_act, lo, hi, &scale, &offset);
    if (!(lo >= 0.0f && hi <= 1.0f) && !quiet)
      fprintf(stderr, "rbpe fit: values in [%g, %g], fitted mapped onto "
                      "[%g, %g] with output activation %s%s; PSNR over their "
                      "peak-to-peak range, %g\n",
              (double)lo, (double)hi, ((double)lo - offset) / scale,
              ((double)hi - offset) / scale, rbpe_act_string(act),
              cfg.out_act == RBPE_ACT_AUTO ? " (auto)" : "",
              (double)hi - (double)lo);
  }
  if (st == RBPE_OK) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    progress_state ps = {isatty(2), quiet, -1};
    cfg.progress = on_progress;
    cfg.progress_user = &ps;
    cfg.cancel = &cancel_flag;
    st = rbpe_fit(ctx, sig, &cfg, &model, &rep);
  }
  if (st != RBPE_OK) {
    rc = cli_fail("fit", ctx, st);
    goto out;
  }
  if (rep.embed_on_the_fly && !quiet)
    fprintf(stderr, "rbpe fit: the embedded training set did not fit the "
                    "device: each batch was embedded on the fly\n");
  if (rep.interrupted && rep.steps_done == 0) {
    /* nothing trained: nothing to write, the previous outputs stay */
    fprintf(stderr, "\nrbpe fit: interrupted before the first training step; "
                    "nothing written, %s left as it was\n", outdir);
    rc = EXIT_INTERRUPTED;
    goto out;
  }
  if (rep.interrupted && !quiet)
    fprintf(stderr, "\nrbpe fit: interrupted after %d of %d steps; writing the "
                    "outputs of the model as it stands\n",
            rep.steps_done, cfg.steps);
  rc = fit_write(ctx, &set, &fo, &cfg, sig, model, &rep, t0, argc, argv);
out:
  if (rc != EXIT_OK && rc != EXIT_INTERRUPTED) cli_outset_release(&set);
  if (rc == EXIT_INTERRUPTED && rep.steps_done == 0) cli_outset_release(&set);
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
