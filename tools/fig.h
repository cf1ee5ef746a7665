/* Figures drawn with cairo (fig.c): a figure is recorded once in layout
 * units (1 unit = 1 PNG pixel = 1 SVG point) and written as PNG, SVG or
 * both. Text goes through fontconfig; on a machine without a usable font
 * the figures are drawn without text and fig_font_problem says why.
 * Built without cairo (meson: cairo not found) fig_available() is 0 and
 * the command line writes the plain pictures of cli_pictures.c. */
#ifndef RBPE_FIG_H
#define RBPE_FIG_H

#include "cli.h"

/* --figures: which kinds to write (a bit set) */
enum { FIG_PNG = 1, FIG_SVG = 2 };

/* 1 when this rbpe was built with cairo. */
int fig_available(void);
/* NULL when text can be drawn, else one line saying why not (checked once,
 * through fontconfig). */
const char *fig_font_problem(void);
/* Parses png|svg|both into a kind set; 0 on anything else. */
int fig_kinds_parse(const char *text);
/* --figures png|svg|both: a cli_option parser (0, or -1 for a bad
 * value), and after parsing the refusal of SVG in a build without cairo
 * (the exit code, or EXIT_OK). */
int fig_kinds_opt(void *at, const char *text);
int fig_kinds_check(const char *cmd, int kinds);

typedef struct fig fig;
/* A white w x h figure; NULL without memory (or without cairo). */
fig *fig_new(double w, double h);
void fig_free(fig *f);
/* Writes the figure to path (atomically, rbpe_write_file) as one kind. */
rbpe_status fig_save(rbpe_ctx *ctx, fig *f, const char *path, int kind);

/* Writes f as STEM.png and/or STEM.svg (kinds) at path(user, name) (the
 * name itself without path), then frees it; a NULL f (no memory) gives
 * RBPE_ERR_OUT_OF_MEMORY. */
typedef const char *(*fig_path_fn)(void *user, const char *name);
rbpe_status fig_save_kinds(rbpe_ctx *ctx, fig *f, const char *stem, int kinds,
                           fig_path_fn path, void *user);

/* Drawing state: colour, line width, dashes. */
void fig_rgb(fig *f, double r, double g, double b);
void fig_line_width(fig *f, double w);
void fig_dash(fig *f, double on); /* 0: solid */
/* Text with its baseline at y; align 0 left, 0.5 centred, 1 right;
 * vertical draws it rotated a quarter turn (bottom to top, x is then the
 * baseline). Returns the text's advance width (0 without a font). */
double fig_text(fig *f, double x, double y, double size, double align,
                int bold, int vertical, const char *text);
double fig_text_width(fig *f, double size, int bold, const char *text);
void fig_rect(fig *f, double x, double y, double w, double h, int fill);
void fig_polyline(fig *f, int n, const double *x, const double *y);
void fig_segment(fig *f, double x0, double y0, double x1, double y1);
void fig_dot(fig *f, double x, double y, double r);
/* An iw x ih RGB picture (rows top first, values in [0, 1], clamped)
 * drawn into the rectangle with visible pixels (no smoothing). */
void fig_image(fig *f, double x, double y, double w, double h, int iw,
               int ih, const float *rgb);
/* Everything drawn until fig_unclip stays inside the rectangle. */
void fig_clip(fig *f, double x, double y, double w, double h);
void fig_unclip(fig *f);

/* A perceptual colour map (viridis' published anchor colours, linearly
 * interpolated) at t in [0, 1]. */
void fig_viridis(double t, float rgb[3]);

/* Tick values at 1, 2 or 5 times a power of ten inside [lo, hi], about
 * want of them; returns how many (at most max). */
int fig_ticks(double lo, double hi, int want, double *out, int max);

/* A plot area: the rectangle (x, y, w, h) shows [x0, x1] x [y0, y1]. */
typedef struct fig_axes {
  double x, y, w, h;
  double x0, x1, y0, y1;
} fig_axes;
double fig_ax_x(const fig_axes *a, double v);
double fig_ax_y(const fig_axes *a, double v);
/* Frame, ticks and labels; side 0 puts the y axis on the left, 1 on the
 * right (a second axis over the same x); xlabel NULL skips the x axis. */
void fig_axes_draw(fig *f, const fig_axes *a, const char *xlabel,
                   const char *ylabel, int side);

/* The colours of truth, fit, training samples and sigma in every plot. */
extern const float FIG_GREY[3], FIG_RED[3], FIG_BLUE[3], FIG_GREEN[3];
/* The step that keeps n points to at most 8 per unit of width. */
size_t fig_stride(size_t n, double width);
/* n values v[i] at x = i as a line in the axes (at most 8 points per
 * unit of width: every st-th of a longer signal; NaN breaks the line). */
void fig_series(fig *f, const fig_axes *a, size_t n, const float *v,
                const float rgb[3], double lw, double dash);

/* A legend box at (x, y): per entry a sample (style 0 line, 1 dots,
 * 2 dashed line, 3 filled square) in its colour and the name. */
typedef struct fig_key {
  const char *name;
  float rgb[3];
  int style;
} fig_key;
void fig_legend(fig *f, double x, double y, int n, const fig_key *keys);
/* The same keys in one row, vertically centred on y. */
void fig_legend_row(fig *f, double x, double y, int n, const fig_key *keys);

/* A vertical colour bar (viridis, lo at the bottom) with ticks and values
 * on the right under title; with alt_unit > 0 also on the left in units
 * of alt_unit (value / alt_unit) under alt_title. */
void fig_colorbar(fig *f, double x, double y, double w, double h, double lo,
                  double hi, double alt_unit, const char *title,
                  const char *alt_title);

/* ---- rbpe fit's figures (fig_fit.c) ---- */
typedef struct fit_fig {
  const char *title, *subtitle;       /* two lines above everything */
  const rbpe_signal *truth, *recon;
  const rbpe_signal *sigma;           /* the learned map, or NULL */
  const rbpe_split *split;
  double test_psnr, train_psnr;       /* test: NaN when nothing held out */
  double spacing;                     /* training spacing, coordinate units */
  /* the loss curve, in the fitted units where the peak is unit_peak */
  int curve_len;
  const int *step;
  const float *loss, *heldout;        /* heldout may be NULL */
  size_t heldout_n;
  double unit_peak;
} fit_fig;
/* A 2-D fit's panel: truth | training samples | reconstruction | |error|
 * x4 [| sigma with its colour bar], each labelled. */
fig *fig_fit_panel(const fit_fig *d);
/* A 1-D fit's plot: truth, samples and fit over the coordinate, sigma on a
 * second axis when learned. */
fig *fig_fit_plot(const fit_fig *d);
/* PSNR over the training steps: training batch and held-out samples. */
fig *fig_fit_curve(const fit_fig *d);

#endif
