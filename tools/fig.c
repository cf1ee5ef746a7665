/* Figures drawn with cairo; see fig.h. */
#include "fig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fig_kinds_parse(const char *text) {
  if (!text) return 0;
  if (!strcmp(text, "png")) return FIG_PNG;
  if (!strcmp(text, "svg")) return FIG_SVG;
  if (!strcmp(text, "both")) return FIG_PNG | FIG_SVG;
  return 0;
}

int fig_kinds_opt(void *at, const char *text) {
  int k = fig_kinds_parse(text);
  if (!k) return -1;
  *(int *)at = k;
  return 0;
}

int fig_kinds_check(const char *cmd, int kinds) {
  if ((kinds & FIG_SVG) && !fig_available())
    return cli_usage_error(cmd, "--figures %s needs cairo, and this rbpe was "
                                "built without it",
                           kinds & FIG_PNG ? "both" : "svg");
  return EXIT_OK;
}

/* viridis at t = 0, 1/8, ..., 1 (matplotlib's published table) */
static const float VIRIDIS[9][3] = {
    {0.267004f, 0.004874f, 0.329415f}, {0.282623f, 0.140926f, 0.457517f},
    {0.253935f, 0.265254f, 0.529983f}, {0.206756f, 0.371758f, 0.553117f},
    {0.163625f, 0.471133f, 0.558148f}, {0.127568f, 0.566949f, 0.550556f},
    {0.134692f, 0.658636f, 0.517649f}, {0.266941f, 0.748751f, 0.440573f},
    {0.993248f, 0.906157f, 0.143936f}};

void fig_viridis(double t, float rgb[3]) {
  if (!(t > 0.0)) t = 0.0; /* NaN too */
  if (t > 1.0) t = 1.0;
  double u = t * 8.0;
  int i = (int)u;
  if (i > 7) i = 7;
  double w = u - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (float)((1.0 - w) * VIRIDIS[i][c] + w * VIRIDIS[i + 1][c]);
}

int fig_ticks(double lo, double hi, int want, double *out, int max) {
  if (!(hi > lo) || !isfinite(lo) || !isfinite(hi) || want < 1) return 0;
  double raw = (hi - lo) / want, p = pow(10.0, floor(log10(raw)));
  double step = raw / p < 1.5 ? p : raw / p < 3.5 ? 2 * p : raw / p < 7.5 ? 5 * p : 10 * p;
  int n = 0;
  for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max;
       v += step)
    out[n++] = fabs(v) < step * 1e-9 ? 0.0 : v;
  return n;
}

double fig_ax_x(const fig_axes *a, double v) {
  return a->x + (v - a->x0) / (a->x1 - a->x0) * a->w;
}

double fig_ax_y(const fig_axes *a, double v) {
  return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h;
}

#ifdef RBPE_HAVE_CAIRO

#include <cairo-svg.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <unistd.h>

#define FONT "DejaVu Sans"
#define FIG_PI 3.14159265358979323846

struct fig {
  cairo_surface_t *rec;
  cairo_t *cr;
  double w, h;
};

int fig_available(void) { return 1; }

const char *fig_font_problem(void) {
  static int checked;
  static char why[256];
  if (checked) return why[0] ? why : NULL;
  checked = 1;
  FcConfig *cfg = FcInitLoadConfigAndFonts();
  FcPattern *pat = FcNameParse((const FcChar8 *)FONT);
  FcPattern *got = NULL;
  FcResult res = FcResultNoMatch;
  if (cfg && pat) {
    FcConfigSubstitute(cfg, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    got = FcFontMatch(cfg, pat, &res);
  }
  FcChar8 *file = NULL;
  if (!got || FcPatternGetString(got, FC_FILE, 0, &file) != FcResultMatch ||
      access((const char *)file, R_OK) != 0)
    snprintf(why, sizeof why,
             "no font found through fontconfig (install fonts-dejavu-core): "
             "figures are drawn without text");
  if (got) FcPatternDestroy(got);
  if (pat) FcPatternDestroy(pat);
  if (cfg) FcConfigDestroy(cfg);
  return why[0] ? why : NULL;
}

fig *fig_new(double w, double h) {
  fig *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  cairo_rectangle_t ext = {0, 0, w, h};
  f->rec = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
  f->cr = cairo_create(f->rec);
  f->w = w;
  f->h = h;
  if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) {
    fig_free(f);
    return NULL;
  }
  cairo_set_source_rgb(f->cr, 1, 1, 1);
  cairo_paint(f->cr);
  cairo_set_source_rgb(f->cr, 0, 0, 0);
  cairo_set_line_width(f->cr, 1.0);
  return f;
}

void fig_free(fig *f) {
  if (!f) return;
  if (f->cr) cairo_destroy(f->cr);
  if (f->rec) cairo_surface_destroy(f->rec);
  free(f);
}

static cairo_status_t to_file(void *closure, const unsigned char *data,
                              unsigned int len) {
  return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS
                                              : CAIRO_STATUS_WRITE_ERROR;
}

typedef struct save_job {
  fig *f;
  int kind;
} save_job;

/* Replays the recording onto a PNG image or an SVG stream into file. */
static int write_fig(FILE *file, void *user) {
  save_job *j = user;
  fig *f = j->f;
  cairo_surface_t *s =
      j->kind == FIG_SVG
          ? cairo_svg_surface_create_for_stream(to_file, file, f->w, f->h)
          : cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(f->w),
                                       (int)ceil(f->h));
  if (j->kind == FIG_SVG)
    cairo_svg_surface_restrict_to_version(s, CAIRO_SVG_VERSION_1_1);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_surface(cr, f->rec, 0, 0);
  cairo_paint(cr);
  int bad = cairo_status(cr) != CAIRO_STATUS_SUCCESS;
  cairo_destroy(cr);
  if (!bad && j->kind == FIG_PNG)
    bad = cairo_surface_write_to_png_stream(s, to_file, file) !=
          CAIRO_STATUS_SUCCESS;
  cairo_surface_finish(s); /* the SVG's last bytes */
  bad = bad || cairo_surface_status(s) != CAIRO_STATUS_SUCCESS;
  cairo_surface_destroy(s);
  return bad || ferror(file) ? -1 : 0;
}

rbpe_status fig_save(rbpe_ctx *ctx, fig *f, const char *path, int kind) {
  if (cairo_status(f->cr) != CAIRO_STATUS_SUCCESS) return RBPE_ERR_OUT_OF_MEMORY;
  save_job j = {f, kind};
  return rbpe_write_file(ctx, path, write_fig, &j);
}

void fig_rgb(fig *f, double r, double g, double b) {
  cairo_set_source_rgb(f->cr, r, g, b);
}

void fig_line_width(fig *f, double w) { cairo_set_line_width(f->cr, w); }

void fig_dash(fig *f, double on) {
  double d[2] = {on, on * 0.7};
  cairo_set_dash(f->cr, d, on > 0 ? 2 : 0, 0);
}

static int set_font(fig *f, double size, int bold) {
  if (fig_font_problem()) return 0;
  cairo_select_font_face(f->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(f->cr, size);
  return 1;
}

double fig_text_width(fig *f, double size, int bold, const char *text) {
  if (!set_font(f, size, bold)) return 0;
  cairo_text_extents_t e;
  cairo_text_extents(f->cr, text, &e);
  return e.x_advance;
}

double fig_text(fig *f, double x, double y, double size, double align,
                int bold, int vertical, const char *text) {
  if (!set_font(f, size, bold)) return 0;
  cairo_text_extents_t e;
  cairo_text_extents(f->cr, text, &e);
  cairo_save(f->cr);
  cairo_translate(f->cr, x, y);
  if (vertical) cairo_rotate(f->cr, -FIG_PI / 2);
  cairo_move_to(f->cr, -align * e.x_advance, 0);
  cairo_show_text(f->cr, text);
  cairo_new_path(f->cr);
  cairo_restore(f->cr);
  return e.x_advance;
}

void fig_rect(fig *f, double x, double y, double w, double h, int fill) {
  cairo_rectangle(f->cr, x, y, w, h);
  if (fill)
    cairo_fill(f->cr);
  else
    cairo_stroke(f->cr);
}

void fig_polyline(fig *f, int n, const double *x, const double *y) {
  int pen = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) { /* a gap */
      pen = 0;
      continue;
    }
    if (pen)
      cairo_line_to(f->cr, x[i], y[i]);
    else
      cairo_move_to(f->cr, x[i], y[i]);
    pen = 1;
  }
  cairo_stroke(f->cr);
}

void fig_segment(fig *f, double x0, double y0, double x1, double y1) {
  cairo_move_to(f->cr, x0, y0);
  cairo_line_to(f->cr, x1, y1);
  cairo_stroke(f->cr);
}

void fig_dot(fig *f, double x, double y, double r) {
  cairo_new_sub_path(f->cr);
  cairo_arc(f->cr, x, y, r, 0, 2 * FIG_PI);
  cairo_fill(f->cr);
}

static unsigned byte_of(float v) {
  if (!(v > 0.0f)) return 0;
  if (v >= 1.0f) return 255;
  return (unsigned)(v * 255.0f + 0.5f);
}

void fig_image(fig *f, double x, double y, double w, double h, int iw,
               int ih, const float *rgb) {
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, iw, ih);
  if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(img);
    return;
  }
  cairo_surface_flush(img);
  unsigned char *d = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int r = 0; r < ih; r++) {
    uint32_t *row = (uint32_t *)(d + (size_t)r * stride);
    for (int c = 0; c < iw; c++) {
      const float *p = rgb + ((size_t)r * iw + c) * 3;
      row[c] = byte_of(p[0]) << 16 | byte_of(p[1]) << 8 | byte_of(p[2]);
    }
  }
  cairo_surface_mark_dirty(img);
  cairo_save(f->cr);
  cairo_translate(f->cr, x, y);
  cairo_scale(f->cr, w / iw, h / ih);
  cairo_set_source_surface(f->cr, img, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(f->cr), CAIRO_FILTER_NEAREST);
  cairo_paint(f->cr);
  cairo_restore(f->cr);
  cairo_surface_destroy(img);
}

void fig_clip(fig *f, double x, double y, double w, double h) {
  cairo_save(f->cr);
  cairo_rectangle(f->cr, x, y, w, h);
  cairo_clip(f->cr);
}

void fig_unclip(fig *f) { cairo_restore(f->cr); }

#else /* built without cairo: no figures, the plain pictures instead */

int fig_available(void) { return 0; }
const char *fig_font_problem(void) { return "built without cairo"; }
fig *fig_new(double w, double h) {
  (void)w;
  (void)h;
  return NULL;
}
void fig_free(fig *f) { (void)f; }
rbpe_status fig_save(rbpe_ctx *ctx, fig *f, const char *path, int kind) {
  (void)ctx, (void)f, (void)path, (void)kind;
  return RBPE_ERR_UNSUPPORTED;
}
void fig_rgb(fig *f, double r, double g, double b) { (void)f, (void)r, (void)g, (void)b; }
void fig_line_width(fig *f, double w) { (void)f, (void)w; }
void fig_dash(fig *f, double on) { (void)f, (void)on; }
double fig_text(fig *f, double x, double y, double size, double align,
                int bold, int vertical, const char *text) {
  (void)f, (void)x, (void)y, (void)size, (void)align, (void)bold,
      (void)vertical, (void)text;
  return 0;
}
double fig_text_width(fig *f, double size, int bold, const char *text) {
  (void)f, (void)size, (void)bold, (void)text;
  return 0;
}
void fig_rect(fig *f, double x, double y, double w, double h, int fill) {
  (void)f, (void)x, (void)y, (void)w, (void)h, (void)fill;
}
void fig_polyline(fig *f, int n, const double *x, const double *y) {
  (void)f, (void)n, (void)x, (void)y;
}
void fig_segment(fig *f, double x0, double y0, double x1, double y1) {
  (void)f, (void)x0, (void)y0, (void)x1, (void)y1;
}
void fig_dot(fig *f, double x, double y, double r) { (void)f, (void)x, (void)y, (void)r; }
void fig_image(fig *f, double x, double y, double w, double h, int iw,
               int ih, const float *rgb) {
  (void)f, (void)x, (void)y, (void)w, (void)h, (void)iw, (void)ih, (void)rgb;
}
void fig_clip(fig *f, double x, double y, double w, double h) {
  (void)f, (void)x, (void)y, (void)w, (void)h;
}
void fig_unclip(fig *f) { (void)f; }

#endif

/* ---- built from the primitives above ---------------------------------- */

const float FIG_GREY[3] = {0.55f, 0.55f, 0.55f}, FIG_RED[3] = {0.84f, 0.15f, 0.12f},
            FIG_BLUE[3] = {0.12f, 0.35f, 0.85f}, FIG_GREEN[3] = {0.10f, 0.55f, 0.25f};

size_t fig_stride(size_t n, double width) {
  size_t most = (size_t)(8 * width) + 1;
  return n > most ? (n + most - 1) / most : 1;
}

void fig_series(fig *f, const fig_axes *a, size_t n, const float *v,
                const float rgb[3], double lw, double dash) {
  size_t st = fig_stride(n, a->w), m = (n + st - 1) / st;
  double *xs = malloc((m ? m : 1) * sizeof(double));
  double *ys = malloc((m ? m : 1) * sizeof(double));
  if (xs && ys) {
    for (size_t i = 0, j = 0; i < n; i += st, j++) {
      xs[j] = fig_ax_x(a, (double)i);
      ys[j] = isfinite(v[i]) ? fig_ax_y(a, v[i]) : NAN;
    }
    fig_rgb(f, rgb[0], rgb[1], rgb[2]);
    fig_line_width(f, lw);
    fig_dash(f, dash);
    fig_polyline(f, (int)m, xs, ys);
    fig_dash(f, 0);
  }
  free(xs);
  free(ys);
}

rbpe_status fig_save_kinds(rbpe_ctx *ctx, fig *f, const char *stem, int kinds,
                           fig_path_fn path, void *user) {
  if (!f) return RBPE_ERR_OUT_OF_MEMORY;
  char name[4400];
  rbpe_status st = RBPE_OK;
  for (int k = FIG_PNG; k <= FIG_SVG && st == RBPE_OK; k <<= 1) {
    if (!(kinds & k)) continue;
    snprintf(name, sizeof name, "%s.%s", stem, k == FIG_PNG ? "png" : "svg");
    st = fig_save(ctx, f, path ? path(user, name) : name, k);
  }
  fig_free(f);
  return st;
}

static void tick_label(char *buf, size_t n, double v) {
  snprintf(buf, n, "%g", fabs(v) < 1e-12 ? 0.0 : v);
}

void fig_axes_draw(fig *f, const fig_axes *a, const char *xlabel,
                   const char *ylabel, int side) {
  const double fs = 11, tl = 4;
  double t[32];
  char buf[32];
  fig_rgb(f, 0, 0, 0);
  fig_line_width(f, 1);
  fig_dash(f, 0);
  fig_rect(f, a->x, a->y, a->w, a->h, 0);
  if (xlabel) {
    int n = fig_ticks(a->x0, a->x1, (int)(a->w / 90) + 2, t, 32);
    for (int i = 0; i < n; i++) {
      double px = fig_ax_x(a, t[i]);
      fig_segment(f, px, a->y + a->h, px, a->y + a->h + tl);
      tick_label(buf, sizeof buf, t[i]);
      fig_text(f, px, a->y + a->h + tl + fs, fs, 0.5, 0, 0, buf);
    }
    if (*xlabel)
      fig_text(f, a->x + a->w / 2, a->y + a->h + tl + 2.3 * fs, fs, 0.5, 0, 0,
               xlabel);
  }
  int n = fig_ticks(a->y0, a->y1, (int)(a->h / 45) + 2, t, 32);
  double xe = side ? a->x + a->w : a->x, dir = side ? 1 : -1, widest = 0;
  for (int i = 0; i < n; i++) {
    double py = fig_ax_y(a, t[i]);
    fig_segment(f, xe, py, xe + dir * tl, py);
    tick_label(buf, sizeof buf, t[i]);
    double w = fig_text(f, xe + dir * (tl + 2), py + fs * 0.35, fs,
                        side ? 0.0 : 1.0, 0, 0, buf);
    if (w > widest) widest = w;
  }
  if (ylabel && *ylabel)
    fig_text(f, xe + dir * (tl + 6 + widest + (side ? fs : 2)),
             a->y + a->h / 2, fs, 0.5, 0, 1, ylabel);
}

/* A key's sample (line, dots, dashes or a square) from x, centred on y. */
static void key_sample(fig *f, const fig_key *k, double x, double y,
                       double sample) {
  fig_rgb(f, k->rgb[0], k->rgb[1], k->rgb[2]);
  fig_line_width(f, 2);
  fig_dash(f, k->style == 2 ? 4 : 0);
  if (k->style == 1)
    for (int d = 0; d < 3; d++) fig_dot(f, x + 2 + d * sample / 2.5, y, 2.2);
  else if (k->style == 3)
    fig_rect(f, x + 5, y - 6, 12, 12, 1);
  else
    fig_segment(f, x, y, x + sample, y);
  fig_dash(f, 0);
  fig_rgb(f, 0, 0, 0);
}

void fig_legend(fig *f, double x, double y, int n, const fig_key *keys) {
  const double fs = 11, row = 16, sample = 22;
  double w = 0;
  for (int i = 0; i < n; i++) {
    double tw = fig_text_width(f, fs, 0, keys[i].name);
    if (tw > w) w = tw;
  }
  fig_rgb(f, 1, 1, 1);
  fig_rect(f, x, y, w + sample + 18, n * row + 6, 1);
  fig_rgb(f, 0.6, 0.6, 0.6);
  fig_line_width(f, 0.8);
  fig_rect(f, x, y, w + sample + 18, n * row + 6, 0);
  for (int i = 0; i < n; i++) {
    const fig_key *k = keys + i;
    double cy = y + 3 + row * i + row / 2;
    key_sample(f, k, x + 5, cy, sample);
    fig_text(f, x + sample + 11, cy + fs * 0.35, fs, 0, 0, 0, k->name);
  }
  fig_line_width(f, 1);
}

void fig_legend_row(fig *f, double x, double y, int n, const fig_key *keys) {
  const double fs = 11, sample = 22;
  for (int i = 0; i < n; i++) {
    const fig_key *k = keys + i;
    key_sample(f, k, x, y, sample);
    x += sample + 6 + fig_text(f, x + sample + 6, y + fs * 0.35, fs, 0, 0, 0, k->name) + 22;
  }
  fig_line_width(f, 1);
}

void fig_colorbar(fig *f, double x, double y, double w, double h, double lo,
                  double hi, double alt_unit, const char *title,
                  const char *alt_title) {
  enum { STEPS = 128 };
  float px[STEPS * 3];
  for (int i = 0; i < STEPS; i++) fig_viridis(1.0 - (i + 0.5) / STEPS, px + 3 * i);
  fig_image(f, x, y, w, h, 1, STEPS, px);
  fig_rgb(f, 0, 0, 0);
  fig_line_width(f, 0.8);
  fig_dash(f, 0);
  fig_rect(f, x, y, w, h, 0);
  if (title) fig_text(f, x + w / 2 + 3, y - 7, 10, 0, 0, 0, title);
  if (alt_title && alt_unit > 0)
    fig_text(f, x + w / 2 - 3, y - 7, 10, 1, 0, 0, alt_title);
  if (!(hi > lo)) return;
  double t[32];
  char buf[32];
  for (int side = 0; side < (alt_unit > 0 ? 2 : 1); side++) {
    double u = side ? alt_unit : 1.0;
    fig_axes a = {x, y, w, h, 0, 1, lo / u, hi / u};
    int n = fig_ticks(lo / u, hi / u, (int)(h / 30) + 2, t, 32);
    for (int i = 0; i < n; i++) {
      double py = fig_ax_y(&a, t[i]);
      double xe = side ? x : x + w, d = side ? -1 : 1;
      fig_segment(f, xe, py, xe + 4 * d, py);
      tick_label(buf, sizeof buf, t[i]);
      fig_text(f, xe + 6 * d, py + 4, 10, side ? 1.0 : 0.0, 0, 0, buf);
    }
  }
}
