/* The figures `rbpe fit` writes with cairo: the panel (2-D), the plot
 * (1-D) and the curve; see fig.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fig.h"

#define MARGIN 14.0
#define ERROR_GAIN 4.0 /* |error| is drawn amplified: white = 0.25 */


/* The subtitle's parts (" | "-separated) wrapped into lines that fit
 * width; returns the count (at most max). */
static int wrap(const char *text, double size, double width,
                char lines[][400], int max) {
  fig *scratch = fig_new(1, 1);
  int n = 0;
  lines[0][0] = '\0';
  for (const char *p = text; p && *p && n < max;) {
    const char *bar = strstr(p, " | ");
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    char cand[400];
    snprintf(cand, sizeof cand, "%s%s%.*s", lines[n], lines[n][0] ? " | " : "",
             (int)len, p);
    if (lines[n][0] && scratch && fig_text_width(scratch, size, 0, cand) > width) {
      if (++n == max) break;
      snprintf(lines[n], 400, "%.*s", (int)len, p);
    } else {
      memcpy(lines[n], cand, sizeof cand);
    }
    p = bar ? bar + 3 : NULL;
  }
  fig_free(scratch);
  return n < max ? n + 1 : max;
}

#define MAX_SUB 4
/* The height the title and the wrapped subtitle take. */
static double title_height(const fit_fig *d, double width) {
  char lines[MAX_SUB][400];
  int n = d->subtitle ? wrap(d->subtitle, 12, width - 2 * MARGIN, lines, MAX_SUB) : 0;
  return MARGIN + 20 + 16 * n + 14;
}

static void title_lines(fig *f, const fit_fig *d, double width) {
  char lines[MAX_SUB][400];
  int n = d->subtitle ? wrap(d->subtitle, 12, width - 2 * MARGIN, lines, MAX_SUB) : 0;
  fig_rgb(f, 0, 0, 0);
  if (d->title) fig_text(f, MARGIN, MARGIN + 13, 14, 0, 1, 0, d->title);
  for (int i = 0; i < n; i++)
    fig_text(f, MARGIN, MARGIN + 31 + 16 * i, 12, 0, 0, 0, lines[i]);
}

/* Tiles are shown at an integer zoom of at least 200 units on the longer
 * side, or shrunk to 480 when the image is larger. */
static double tile_scale(size_t h, size_t w) {
  double m = (double)(h > w ? h : w);
  if (m > 480) return 480 / m;
  double k = ceil(200 / m);
  return k < 1 ? 1 : k;
}

fig *fig_fit_panel(const fit_fig *d) {
  size_t h = rbpe_signal_dim(d->truth, 0), w = rbpe_signal_dim(d->truth, 1);
  int C = rbpe_signal_channels(d->truth);
  int np = d->sigma ? 5 : 4;
  double k = tile_scale(h, w), tw = w * k, th = h * k, gap = 18;
  double bar = d->sigma ? 150 : 0;
  double W = 2 * MARGIN + np * tw + (np - 1) * gap + bar;
  double top = title_height(d, W) + 16;
  double H = top + th + 62;
  float *px = malloc(h * w * 3 * sizeof(float));
  unsigned char *is_train = calloc(h * w, 1);
  fig *f = px && is_train ? fig_new(W, H) : NULL;
  if (!f) {
    free(px);
    free(is_train);
    return NULL;
  }
  for (size_t i = 0; i < rbpe_split_train_count(d->split); i++)
    is_train[rbpe_split_train(d->split)[i]] = 1;
  const float *t = rbpe_signal_data(d->truth), *r = rbpe_signal_data(d->recon);
  const float *sg = d->sigma ? rbpe_signal_data(d->sigma) : NULL;
  float slo = INFINITY, shi = -INFINITY;
  for (size_t i = 0; sg && i < h * w; i++)
    slo = fminf(slo, sg[i]), shi = fmaxf(shi, sg[i]);
  if (sg && !(shi > slo)) slo *= 0.95f, shi = shi * 1.05f + 1e-6f;
  char label[160];
  double frac = 100.0 * (double)rbpe_split_train_count(d->split) / (double)(h * w);
  title_lines(f, d, W);
  for (int p = 0; p < np; p++) {
    for (size_t s = 0; s < h * w; s++) {
      float *o = px + 3 * s;
      double err = 0;
      for (int c = 0; p == 3 && c < C; c++)
        err += fabs((double)t[s * C + c] - r[s * C + c]);
      for (int c = 0; c < 3; c++) {
        int cc = C == 1 ? 0 : c;
        o[c] = p == 0   ? t[s * C + cc]
               : p == 1 ? (is_train[s] ? t[s * C + cc] : 0.0f)
               : p == 2 ? r[s * C + cc]
                        : (float)(ERROR_GAIN * err / C);
      }
      if (p == 4) fig_viridis((sg[s] - slo) / (shi - slo), o);
    }
    double x = MARGIN + p * (tw + gap);
    fig_image(f, x, top, tw, th, (int)w, (int)h, px);
    fig_rgb(f, 0, 0, 0);
    const char *name[5] = {"truth", "training samples", "reconstruction",
                           "|error| x4", "sigma (learned)"};
    fig_text(f, x, top - 8, 12, 0, 1, 0, name[p]);
    /* what each tile's scale means, under it */
    double y1 = top + th + 16;
    if (p == 1) {
      snprintf(label, sizeof label, "%.1f %% of the pixels, the rest black", frac);
      fig_text(f, x, y1, 10, 0, 0, 0, label);
    } else if (p == 2) {
      if (isfinite(d->test_psnr))
        snprintf(label, sizeof label, "held-out PSNR %.2f dB", d->test_psnr);
      else
        snprintf(label, sizeof label, "training PSNR %.2f dB", d->train_psnr);
      fig_text(f, x, y1, 10, 0, 0, 0, label);
    } else if (p == 3) {
      /* a grey ramp: black no error, white an error of 0.25 or more */
      enum { N = 64 };
      float ramp[N * 3];
      for (int i = 0; i < N; i++)
        ramp[3 * i] = ramp[3 * i + 1] = ramp[3 * i + 2] = (i + 0.5f) / N;
      fig_image(f, x, y1 - 8, tw, 9, N, 1, ramp);
      fig_rgb(f, 0, 0, 0);
      fig_line_width(f, 0.6);
      fig_rect(f, x, y1 - 8, tw, 9, 0);
      fig_text(f, x, y1 + 12, 10, 0, 0, 0, "0");
      fig_text(f, x + tw / 2, y1 + 12, 10, 0.5, 0, 0, "|error| 0.125");
      fig_text(f, x + tw, y1 + 12, 10, 1, 0, 0, "0.25");
    } else if (p == 4) {
      double bx = x + tw + 62, bh = th;
      fig_colorbar(f, bx, top, 14, bh, slo, shi,
                   d->spacing > 0 ? d->spacing : 0, "coord.", "spacings");
      snprintf(label, sizeof label, "spacing h = %.4g", d->spacing);
      if (d->spacing > 0) fig_text(f, x, y1, 10, 0, 0, 0, label);
    }
  }
  free(px);
  free(is_train);
  return f;
}

static void range_of(size_t n, const float *v, double *lo, double *hi) {
  for (size_t i = 0; v && i < n; i++)
    if (isfinite(v[i])) {
      if (v[i] < *lo) *lo = v[i];
      if (v[i] > *hi) *hi = v[i];
    }
}

static void pad_range(double *lo, double *hi) {
  if (!(*hi > *lo)) *lo -= 0.5, *hi += 0.5;
  double p = 0.05 * (*hi - *lo);
  *lo -= p, *hi += p;
}

fig *fig_fit_plot(const fit_fig *d) {
  size_t n = rbpe_signal_dim(d->truth, 0);
  const double W = 980, top = title_height(d, 980) + 4, H = top + 390;
  fig *f = fig_new(W, H);
  if (!f) return NULL;
  title_lines(f, d, W);
  const float *t = rbpe_signal_data(d->truth), *r = rbpe_signal_data(d->recon);
  double lo = INFINITY, hi = -INFINITY;
  range_of(n, t, &lo, &hi);
  range_of(n, r, &lo, &hi);
  pad_range(&lo, &hi);
  fig_axes a = {70, top, W - 70 - (d->sigma ? 90 : 30), H - top - 74,
                0, n > 1 ? (double)(n - 1) : 1, lo, hi};
  fig_clip(f, a.x, a.y, a.w, a.h);
  fig_series(f, &a, n, t, FIG_GREY, 1.5, 0);
  fig_series(f, &a, n, r, FIG_RED, 1.2, 0);
  size_t L = rbpe_split_train_count(d->split);
  size_t st = fig_stride(L, a.w / 4);
  fig_rgb(f, FIG_BLUE[0], FIG_BLUE[1], FIG_BLUE[2]);
  for (size_t k = 0; k < L; k += st) {
    size_t i = rbpe_split_train(d->split)[k];
    fig_dot(f, fig_ax_x(&a, (double)i), fig_ax_y(&a, t[i]), L > 300 ? 1.4 : 2.5);
  }
  fig_unclip(f);
  fig_axes_draw(f, &a, "sample index", "value", 0);
  fig_key keys[4] = {{"truth", {FIG_GREY[0], FIG_GREY[1], FIG_GREY[2]}, 0},
                     {"training samples", {FIG_BLUE[0], FIG_BLUE[1], FIG_BLUE[2]}, 1},
                     {"fit", {FIG_RED[0], FIG_RED[1], FIG_RED[2]}, 0},
                     {"sigma (right axis)", {FIG_GREEN[0], FIG_GREEN[1], FIG_GREEN[2]}, 2}};
  if (d->sigma) {
    const float *s = rbpe_signal_data(d->sigma);
    double slo = 0, shi = -INFINITY; /* sigma from zero: its ratios read off directly */
    range_of(n, s, &slo, &shi);
    pad_range(&slo, &shi);
    slo = 0;
    fig_axes b = a;
    b.y0 = slo;
    b.y1 = shi;
    fig_clip(f, a.x, a.y, a.w, a.h);
    fig_series(f, &b, n, s, FIG_GREEN, 1.4, 5);
    fig_unclip(f);
    fig_axes_draw(f, &b, NULL, "sigma (coordinate units)", 1);
  }
  fig_legend_row(f, a.x, H - 14, d->sigma ? 4 : 3, keys);
  return f;
}

fig *fig_fit_curve(const fit_fig *d) {
  const double W = 640, top = title_height(d, 640) + 4, H = top + 336;
  fig *f = fig_new(W, H);
  if (!f) return NULL;
  title_lines(f, d, W);
  int n = d->curve_len;
  float *pt = malloc((n > 0 ? n : 1) * sizeof(float));
  float *ph = malloc((n > 0 ? n : 1) * sizeof(float));
  if (!pt || !ph) {
    free(pt);
    free(ph);
    fig_free(f);
    return NULL;
  }
  double lo = INFINITY, hi = -INFINITY, P2 = d->unit_peak * d->unit_peak;
  for (int i = 0; i < n; i++) {
    pt[i] = (float)(10 * log10(P2 / d->loss[i]));
    ph[i] = d->heldout ? (float)(10 * log10(P2 / d->heldout[i])) : NAN;
  }
  range_of((size_t)n, pt, &lo, &hi);
  range_of((size_t)n, ph, &lo, &hi);
  if (!isfinite(lo)) lo = 0, hi = 1;
  pad_range(&lo, &hi);
  double s1 = n ? d->step[n - 1] : 1;
  fig_axes a = {64, top, W - 64 - 24, H - top - 50, 0, s1 > 0 ? s1 : 1, lo, hi};
  double *xs = malloc((n > 0 ? n : 1) * sizeof(double));
  double *ys = malloc((n > 0 ? n : 1) * sizeof(double));
  if (xs && ys) {
    for (int pass = 0; pass < (d->heldout ? 2 : 1); pass++) {
      const float *v = pass ? ph : pt;
      for (int i = 0; i < n; i++) {
        xs[i] = fig_ax_x(&a, d->step[i]);
        ys[i] = isfinite(v[i]) ? fig_ax_y(&a, v[i]) : NAN;
      }
      const float *c = pass ? FIG_RED : FIG_BLUE;
      fig_rgb(f, c[0], c[1], c[2]);
      fig_line_width(f, 1.6);
      fig_clip(f, a.x, a.y, a.w, a.h);
      fig_polyline(f, n, xs, ys);
      fig_unclip(f);
    }
  }
  free(xs);
  free(ys);
  fig_axes_draw(f, &a, "training step", "PSNR (dB)", 0);
  char held[96];
  snprintf(held, sizeof held, "held-out (%zu samples)", d->heldout_n);
  fig_key keys[2] = {{"training batch (before the step)", {FIG_BLUE[0], FIG_BLUE[1], FIG_BLUE[2]}, 0},
                     {held, {FIG_RED[0], FIG_RED[1], FIG_RED[2]}, 0}};
  fig_legend(f, a.x + a.w - 250, a.y + a.h - 46, d->heldout ? 2 : 1, keys);
  free(pt);
  free(ph);
  return f;
}
