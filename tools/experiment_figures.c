/* `rbpe experiment`'s figures drawn with cairo: a labelled panel per
 * signal and depth, and a summary plot per signal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "fig.h"

#define MARGIN 14.0

/* A label in a tile's corner, on a white box so it reads on any image. */
static void corner(fig *f, double x, double y, const char *text) {
  double w = fig_text_width(f, 10, 0, text);
  if (w <= 0) return;
  fig_rgb(f, 1, 1, 1);
  fig_rect(f, x + 2, y + 2, w + 6, 14, 1);
  fig_rgb(f, 0, 0, 0);
  fig_text(f, x + 5, y + 13, 10, 0, 0, 0, text);
}

/* A 1-D tile: the sigma map alone (green, its own range), or the truth
 * (grey) with a fit (red) or its training samples (blue dots), scaled to
 * their range. */
static void tile_1d(fig *f, double x, double y, double w, double h,
                    const rbpe_signal *truth, const rbpe_signal *fit,
                    const rbpe_signal *sigma, const rbpe_split *split) {
  size_t n = rbpe_signal_dim(truth, 0);
  const float *t = rbpe_signal_data(truth);
  const float *v = fit ? rbpe_signal_data(fit) : NULL;
  const float *sg = sigma ? rbpe_signal_data(sigma) : NULL;
  float lo = INFINITY, hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    float a = sg ? sg[i] : t[i], b = v ? v[i] : a;
    lo = fminf(lo, fminf(a, b));
    hi = fmaxf(hi, fmaxf(a, b));
  }
  if (!(hi > lo)) lo -= 0.5f, hi += 0.5f;
  fig_axes a = {x, y + 4, w, h - 8, 0, n > 1 ? (double)n - 1 : 1, lo, hi};
  fig_rgb(f, 0.7, 0.7, 0.7);
  fig_line_width(f, 0.8);
  fig_rect(f, x, y, w, h, 0);
  fig_clip(f, x, y, w, h);
  if (sg) {
    fig_series(f, &a, n, sg, FIG_GREEN, 1.1, 0);
  } else {
    fig_series(f, &a, n, t, FIG_GREY, 1.1, 0);
    if (v) fig_series(f, &a, n, v, FIG_RED, 1.1, 0);
  }
  if (split) {
    fig_rgb(f, FIG_BLUE[0], FIG_BLUE[1], FIG_BLUE[2]);
    size_t L = rbpe_split_train_count(split), sk = fig_stride(L, w / 8);
    for (size_t k = 0; k < L; k += sk) {
      size_t i = rbpe_split_train(split)[k];
      fig_dot(f, fig_ax_x(&a, (double)i), fig_ax_y(&a, t[i]), 1.3);
    }
  }
  fig_unclip(f);
}

static void row_name(const grid *g, int kind, int mg, int nd, char *buf,
                     size_t n, char *sub, size_t ns) {
  sub[0] = '\0';
  switch (kind) {
  case ROW_TRUTH:
    snprintf(buf, n, "truth");
    if (nd == 1) snprintf(sub, ns, "training samples: blue dots");
    break;
  case ROW_SIGMA:
    snprintf(buf, n, "its sigma");
    snprintf(sub, ns, nd == 1 ? "green, each tile's own range"
                              : "viridis, each tile's own range");
    break;
  case M_LEARNED:
    snprintf(buf, n, "learned sigma");
    snprintf(sub, ns, "recipe: %s", g->meth[mg].recipe);
    break;
  case M_UNIFORM:
    snprintf(buf, n, "uniform sigma");
    snprintf(sub, ns, "best on the held-out mean");
    break;
  case M_RFF:
    snprintf(buf, n, "RFF");
    snprintf(sub, ns, "best scale on the held-out mean");
    break;
  default:
    snprintf(buf, n, "NeRF PE");
    break;
  }
}

rbpe_status write_panel_figure(rbpe_ctx *ctx, const grid *g, int s, int l,
                               const char *stem, int kinds) {
  const rbpe_signal *truth = g->sig[s].sig;
  int nd = rbpe_signal_ndim(truth);
  int mg = find_kind(g, M_LEARNED), rows[PANEL_ROWS];
  int nrows = panel_rows(g, rows);
  size_t ih = nd == 1 ? 1 : rbpe_signal_dim(truth, 0);
  size_t iw = nd == 1 ? rbpe_signal_dim(truth, 0) : rbpe_signal_dim(truth, 1);
  double zoom = nd == 1 ? 1 : fmax(1.0, floor(160.0 / (double)(ih > iw ? ih : iw)));
  if (nd == 2 && ih * zoom > 320) zoom = 320.0 / ih;
  double cw = nd == 1 ? 300 : iw * zoom, ch = nd == 1 ? 100 : ih * zoom;
  double gap = 8, left = 200, top = 92;
  double W = fmax(560, left + g->nsplit * cw + (g->nsplit - 1) * gap + MARGIN);
  double H = top + nrows * (ch + gap) + MARGIN;
  fig *f = fig_new(W, H);
  float *px = malloc(ih * iw * 3 * sizeof(float));
  if (!f || !px) {
    fig_free(f);
    free(px);
    return RBPE_ERR_OUT_OF_MEMORY;
  }
  char buf[256], sub[256];
  snprintf(buf, sizeof buf, "%s, %d hidden layer(s) of %d, %d steps: seed 0's fits",
           g->sig[s].name, g->layers[l], g->width, g->steps);
  fig_rgb(f, 0, 0, 0);
  fig_text(f, MARGIN, MARGIN + 13, 14, 0, 1, 0, buf);
  fig_text(f, MARGIN, MARGIN + 31, 11, 0, 0, 0,
           "rows: methods, columns: splits; in each corner the fit's held-out");
  fig_text(f, MARGIN, MARGIN + 45, 11, 0, 0, 0,
           "PSNR and the sigma or scale chosen (best mean over the seeds)");
  rbpe_status st = RBPE_OK;
  for (int p = 0; p < g->nsplit && st == RBPE_OK; p++) {
    double x = left + p * (cw + gap);
    fig_rgb(f, 0, 0, 0);
    fig_text(f, x + cw / 2, top - 8, 12, 0.5, 1, 0, split_label(g, nd, p));
    rbpe_split *split = NULL;
    st = rbpe_split_create(ctx, truth, split_spec(g, nd, p), 0, &split);
    for (int r = 0; r < nrows && st == RBPE_OK; r++) {
      int kind = rows[r];
      double y = top + r * (ch + gap);
      if (p == 0) {
        row_name(g, kind, mg, nd, buf, sizeof buf, sub, sizeof sub);
        fig_rgb(f, 0, 0, 0);
        fig_text(f, MARGIN, y + ch / 2, 12, 0, 1, 0, buf);
        if (sub[0]) fig_text(f, MARGIN, y + ch / 2 + 15, 9.5, 0, 0, 0, sub);
      }
      int m;
      const rbpe_signal *img = panel_tile(g, s, l, p, kind, &m);
      if (!img) continue; /* a setting a partial collect left out */
      const float *d = rbpe_signal_data(img);
      float lo = INFINITY, hi = -INFINITY;
      if (kind == ROW_SIGMA)
        for (size_t i = 0; i < ih * iw; i++) lo = fminf(lo, d[i]), hi = fmaxf(hi, d[i]);
      if (nd == 1) {
        tile_1d(f, x, y, cw, ch, truth,
                kind == ROW_TRUTH || kind == ROW_SIGMA ? NULL : img,
                kind == ROW_SIGMA ? img : NULL, kind == ROW_TRUTH ? split : NULL);
      } else {
        int ic = rbpe_signal_channels(img);
        for (size_t i = 0; i < ih * iw; i++) {
          if (kind == ROW_SIGMA)
            fig_viridis(hi > lo ? (d[i] - lo) / (hi - lo) : 0.5, px + 3 * i);
          else
            for (int c = 0; c < 3; c++) px[3 * i + c] = d[i * ic + (ic == 1 ? 0 : c)];
        }
        fig_image(f, x, y, cw, ch, (int)iw, (int)ih, px);
      }
      if (kind == ROW_SIGMA) {
        snprintf(buf, sizeof buf, "%.3g..%.3g", (double)lo, (double)hi);
        corner(f, x, y, buf);
      } else if (m >= 0) {
        const method *me = &g->meth[m];
        double psnr = g->res[at(g, s, l, p, m, 0)].test;
        if (me->kind == M_UNIFORM || me->kind == M_RFF)
          snprintf(buf, sizeof buf, "%.2f dB, %s %g", psnr,
                   me->kind == M_UNIFORM ? "sigma" : "scale", (double)me->param);
        else
          snprintf(buf, sizeof buf, "%.2f dB", psnr);
        corner(f, x, y, buf);
      }
    }
    rbpe_split_free(split);
  }
  free(px);
  if (st != RBPE_OK) {
    fig_free(f);
    return st;
  }
  return fig_save_kinds(ctx, f, stem, kinds, NULL, NULL);
}

/* The bars of the summary: the method chosen per setting and seed. */
enum { B_LEARNED, B_UNIFORM_VAL, B_UNIFORM_ORACLE, B_RFF_VAL, B_NERF, NBARS };
static const char *bar_names[NBARS] = {
    "learned sigma (default recipe)", "uniform sigma, picked on validation",
    "uniform sigma, best on test (oracle)", "RFF, scale picked on validation",
    "NeRF PE"};
static const float bar_rgb[NBARS][3] = {{0.84f, 0.15f, 0.12f},
                                        {0.12f, 0.35f, 0.85f},
                                        {0.60f, 0.72f, 0.95f},
                                        {0.95f, 0.60f, 0.10f},
                                        {0.45f, 0.45f, 0.45f}};

/* Mean and spread of a bar over the complete seeds; 0 when there is none. */
static int bar_value(const grid *g, int s, int l, int p, int b, double *mean,
                     double *sd) {
  double v[MAX_SEEDS];
  int n = 0;
  int oracle = best_of(g, s, l, p, M_UNIFORM);
  for (int k = 0; k < g->seeds; k++) {
    if (!seed_ok(g, s, l, p, k)) continue;
    int m = b == B_LEARNED          ? find_kind(g, M_LEARNED)
            : b == B_UNIFORM_VAL    ? val_pick(g, s, l, p, M_UNIFORM, k)
            : b == B_UNIFORM_ORACLE ? oracle
            : b == B_RFF_VAL        ? val_pick(g, s, l, p, M_RFF, k)
                                    : find_kind(g, M_NERF);
    if (m >= 0) v[n++] = g->res[at(g, s, l, p, m, k)].test;
  }
  mean_sd(v, n, mean, sd);
  return n;
}

rbpe_status write_summary_figure(rbpe_ctx *ctx, const grid *g, int s,
                                 const char *stem, int kinds) {
  int nd = rbpe_signal_ndim(g->sig[s].sig), groups = g->nlayers * g->nsplit;
  int have[NBARS] = {0}, nb = 0;
  double lo = INFINITY, hi = -INFINITY, mean, sd;
  for (int b = 0; b < NBARS; b++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        if (!absent(g, s, l, p) && bar_value(g, s, l, p, b, &mean, &sd) &&
            isfinite(mean)) {
          have[b] = 1;
          lo = fmin(lo, mean - sd);
          hi = fmax(hi, mean + sd);
        }
  for (int b = 0; b < NBARS; b++) nb += have[b];
  if (!nb) lo = 0, hi = 1;
  double span = hi - lo > 0.5 ? hi - lo : 0.5;
  lo = floor(lo - 0.15 * span), hi = ceil(hi + 0.1 * span);
  double bw = 14, gw = fmax(nb * bw + 22, 520.0 / groups);
  double W = fmax(640, 90 + groups * gw + 40), top = 64;
  double H = top + 300 + 48 + 18 * ((nb + 1) / 2);
  fig *f = fig_new(W, H);
  if (!f) return RBPE_ERR_OUT_OF_MEMORY;
  char buf[256];
  snprintf(buf, sizeof buf, "%s: held-out PSNR by method, depth and split",
           g->sig[s].name);
  fig_rgb(f, 0, 0, 0);
  fig_text(f, MARGIN, MARGIN + 13, 14, 0, 1, 0, buf);
  snprintf(buf, sizeof buf, "bars: mean over %s%d seed(s)%s; whiskers: +- one "
                            "sd; %d steps, width %d",
           g->missing ? "the complete seeds (up to " : "", g->seeds,
           g->missing ? ")" : "", g->steps, g->width);
  fig_text(f, MARGIN, MARGIN + 31, 11, 0, 0, 0, buf);
  fig_axes a = {70, top, groups * gw, 300, 0, groups, lo, hi};
  /* light horizontal grid lines at the ticks */
  double t[32];
  int nt = fig_ticks(lo, hi, 8, t, 32);
  fig_rgb(f, 0.9, 0.9, 0.9);
  fig_line_width(f, 0.8);
  for (int i = 0; i < nt; i++)
    fig_segment(f, a.x, fig_ax_y(&a, t[i]), a.x + a.w, fig_ax_y(&a, t[i]));
  for (int l = 0; l < g->nlayers; l++)
    for (int p = 0; p < g->nsplit; p++) {
      int gi = l * g->nsplit + p;
      double x = a.x + gi * gw + (gw - nb * bw) / 2;
      for (int b = 0, j = 0; b < NBARS; b++) {
        if (!have[b]) continue;
        double bx = x + j++ * bw;
        int nv = absent(g, s, l, p) ? 0 : bar_value(g, s, l, p, b, &mean, &sd);
        if (!nv || !isfinite(mean)) continue;
        fig_rgb(f, bar_rgb[b][0], bar_rgb[b][1], bar_rgb[b][2]);
        double y0 = fig_ax_y(&a, fmax(mean, lo)), yb = fig_ax_y(&a, lo);
        fig_rect(f, bx + 1, y0, bw - 2, yb - y0, 1);
        if (nv > 1) {
          fig_rgb(f, 0, 0, 0);
          fig_line_width(f, 1);
          double cx = bx + bw / 2;
          fig_segment(f, cx, fig_ax_y(&a, mean - sd), cx, fig_ax_y(&a, mean + sd));
          fig_segment(f, cx - 3, fig_ax_y(&a, mean - sd), cx + 3, fig_ax_y(&a, mean - sd));
          fig_segment(f, cx - 3, fig_ax_y(&a, mean + sd), cx + 3, fig_ax_y(&a, mean + sd));
        }
      }
      fig_rgb(f, 0, 0, 0);
      fig_text(f, a.x + gi * gw + gw / 2, a.y + a.h + 15, 10, 0.5, 0, 0,
               split_label(g, nd, p));
      snprintf(buf, sizeof buf, "%d hidden layer(s)", g->layers[l]);
      if (p == 0)
        fig_text(f, a.x + gi * gw + g->nsplit * gw / 2, a.y + a.h + 30, 11,
                 0.5, 1, 0, buf);
      if (l > 0 && p == 0) {
        fig_rgb(f, 0.5, 0.5, 0.5);
        fig_segment(f, a.x + gi * gw, a.y, a.x + gi * gw, a.y + a.h + 32);
      }
    }
  /* the y axis only: the x "axis" is the groups' labels */
  fig_axes_draw(f, &a, NULL, "held-out PSNR (dB)", 0);
  fig_key keys[NBARS];
  char learned[96];
  int nk = 0, mg = find_kind(g, M_LEARNED);
  if (mg >= 0) snprintf(learned, sizeof learned, "learned sigma: %s", g->meth[mg].recipe);
  for (int b = 0; b < NBARS; b++)
    if (have[b]) {
      keys[nk].name = b == B_LEARNED && mg >= 0 ? learned : bar_names[b];
      memcpy(keys[nk].rgb, bar_rgb[b], sizeof keys[nk].rgb);
      keys[nk++].style = 3;
    }
  double ly = a.y + a.h + 52;
  for (int i = 0; i < nk; i += 2)
    fig_legend_row(f, a.x, ly + 18 * (i / 2), nk - i < 2 ? nk - i : 2, keys + i);
  return fig_save_kinds(ctx, f, stem, kinds, NULL, NULL);
}
