/* The pictures of one fit: cairo figures (fig_fit.c) in the kinds asked
 * for, or without cairo the plain pictures of cli_pictures.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fig.h"

void cli_figures_note(const char *cmd, int quiet) {
  const char *why = fig_available() ? fig_font_problem() : NULL;
  if (why) /* said even with --quiet: it is about what the figures show */
    fprintf(stderr, "rbpe %s: warning: %s\n", cmd, why);
  else if (!fig_available() && !quiet)
    fprintf(stderr, "rbpe %s: this rbpe was built without cairo: plain "
                    "pictures (no labels, no SVG, no curve)\n", cmd);
}

int cli_fit_figure_names(const char **out, int one_d, int learned,
                         int figures) {
  int n = 0, cairo = fig_available();
  out[n++] = one_d ? "reconstruction.txt" : "reconstruction.png";
  if (figures & FIG_PNG) out[n++] = one_d ? "plot.png" : "panel.png";
  if (figures & FIG_SVG) out[n++] = one_d ? "plot.svg" : "panel.svg";
  if (cairo && (figures & FIG_PNG)) out[n++] = "curve.png";
  if (cairo && (figures & FIG_SVG)) out[n++] = "curve.svg";
  if (learned && one_d) out[n++] = "sigma.txt";
  if (learned && !one_d) {
    out[n++] = "sigma.png";
    out[n++] = "sigma_train.png";
  }
  out[n++] = "model.rbpe";
  out[n++] = "metrics.json";
  out[n] = NULL;
  return n;
}

/* "rbf (128 centres, 8 directions), sigma graph (learned, 0.5..2
 * training spacings, normalised)" and the like. */
static void describe_embedding(char *buf, size_t n, const rbpe_fit_config *c) {
  const rbpe_embed_config *e = &c->embed;
  char dirs[32] = "";
  if (e->rbf_angles > 0)
    snprintf(dirs, sizeof dirs, ", %d directions", e->rbf_angles);
  else if (e->rbf_diagonals)
    snprintf(dirs, sizeof dirs, ", diagonals");
  if (e->kind == RBPE_EMBED_RFF) {
    snprintf(buf, n, "rff (%d features, scale %g)", e->rff_features,
             (double)e->rff_scale);
  } else if (e->kind == RBPE_EMBED_NERF) {
    snprintf(buf, n, "nerf (%d frequencies)", e->nerf_freqs);
  } else if (c->sigma_mode == RBPE_SIGMA_UNIFORM) {
    snprintf(buf, n, "rbf (%d centres%s), sigma uniform %g", e->rbf_centres,
             dirs, (double)c->sigma);
  } else {
    snprintf(buf, n, "rbf (%d centres%s), sigma %s (learned, %g..%g %s%s)",
             e->rbf_centres, dirs, rbpe_sigma_mode_string(c->sigma_mode), (double)c->sig.smin,
             (double)c->sig.smax,
             c->sig.relative == RBPE_RANGE_LOCAL ? "local spacings"
             : c->sig.relative                   ? "spacings"
                                                 : "coord.",
             e->rbf_norm_ref != 0.0f ? ", normalised" : "");
  }
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s && s[1] ? s + 1 : path;
}

static const char *staged(void *set, const char *name) {
  return cli_outset_path(set, name);
}

rbpe_status cli_fit_figures(rbpe_ctx *ctx, cli_outset *set,
                            const cli_fit_info *in) {
  const rbpe_fit_report *rep = in->rep;
  const rbpe_signal *sig = in->sig;
  int one_d = rbpe_signal_ndim(sig) == 1;
  if (!fig_available()) /* the plain pictures, PNG only */
    return one_d ? cli_save_plot(ctx, sig, rep->split, rep->reconstruction,
                                 cli_outset_path(set, "plot.png"))
                 : cli_save_panel(ctx, sig, rep->split, rep->reconstruction,
                                  rep->sigma_map, (float)rep->sigma_lo,
                                  (float)rep->sigma_hi,
                                  cli_outset_path(set, "panel.png"));
  char title[512], sub[768], emb[256];
  int fitting = in->fitting; /* split all: "held out" = trained on */
  if (fitting)
    snprintf(title, sizeof title, "%s: training PSNR %.2f dB (every sample trained on)",
             base_name(in->input), rep->train_psnr);
  else
    snprintf(title, sizeof title, "%s: held-out PSNR %.2f dB (training %.2f dB)",
             base_name(in->input), rep->test_psnr, rep->train_psnr);
  describe_embedding(emb, sizeof emb, in->cfg);
  snprintf(sub, sizeof sub, "split %s (%zu training / %zu held out) | %s | %dx%d MLP, %d steps | %s",
           in->cfg->split ? in->cfg->split : "regular:2", rep->n_train,
           rep->n_test, emb, in->cfg->hidden_layers, in->cfg->width,
           rep->steps_done, in->device);
  /* the curve is in the fitted units (rbpe_fit_value_map's, which the fit
   * used): their peak is the data's divided by the map's scale */
  double scale, offset;
  rbpe_fit_value_map(rep->out_act, rep->data_min_f, rep->data_max_f, &scale,
                     &offset);
  /* the spacing a relative sigma range is in, as the fit resolved it (the
   * training samples', or the rbf centres' when coarser), else the
   * training samples' */
  const rbpe_sigma_config *sc = &in->cfg->sig;
  double spacing = sc->relative && rep->sigma_spacing > 0
                       ? rep->sigma_spacing
                       : pow((double)rep->n_train, -1.0 / rbpe_signal_ndim(sig));
  fit_fig d = {title, sub, sig, rep->reconstruction, rep->sigma_map,
               rep->split, fitting ? NAN : rep->test_psnr, rep->train_psnr,
               spacing, rep->curve_len, rep->curve_step, rep->curve_loss,
               fitting ? NULL : rep->curve_heldout, rep->curve_heldout_n,
               rep->psnr_peak / scale};
  rbpe_status st =
      fig_save_kinds(ctx, one_d ? fig_fit_plot(&d) : fig_fit_panel(&d),
                     one_d ? "plot" : "panel", in->figures, staged, set);
  if (st == RBPE_OK)
    st = fig_save_kinds(ctx, fig_fit_curve(&d), "curve", in->figures, staged, set);
  return st;
}
