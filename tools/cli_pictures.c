/* The pictures `rbpe fit` writes: a side-by-side panel for images and a
 * plot for 1-D signals, drawn into rbpe signals and saved as PNG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PANEL_GAP 4
/* |error| is drawn amplified so that small errors are visible. */
#define ERROR_GAIN 4.0f

static float unit(float v, float lo, float hi) {
  float u = (v - lo) / (hi - lo);
  return u < 0.0f ? 0.0f : u > 1.0f ? 1.0f : u;
}

rbpe_status cli_save_sigma_maps(rbpe_ctx *ctx, const rbpe_signal *sigma,
                                const rbpe_split *split, float smin,
                                float smax, const char *map_path,
                                const char *train_path) {
  size_t n = rbpe_signal_samples(sigma);
  size_t dims[2] = {rbpe_signal_dim(sigma, 0), rbpe_signal_dim(sigma, 1)};
  float *a = malloc(n * sizeof(float)), *b = calloc(n, sizeof(float));
  if (!a || !b) {
    free(a);
    free(b);
    return RBPE_ERR_OUT_OF_MEMORY;
  }
  const float *s = rbpe_signal_data(sigma);
  for (size_t i = 0; i < n; i++) a[i] = unit(s[i], smin, smax);
  for (size_t i = 0; i < rbpe_split_train_count(split); i++) {
    size_t k = rbpe_split_train(split)[i];
    b[k] = a[k];
  }
  rbpe_signal *img = NULL;
  rbpe_status st = rbpe_signal_from_data(ctx, 2, dims, 1, a, &img);
  if (st == RBPE_OK) st = rbpe_signal_save_png(ctx, img, map_path, 8);
  rbpe_signal_free(img);
  img = NULL;
  if (st == RBPE_OK) st = rbpe_signal_from_data(ctx, 2, dims, 1, b, &img);
  if (st == RBPE_OK) st = rbpe_signal_save_png(ctx, img, train_path, 8);
  rbpe_signal_free(img);
  free(a);
  free(b);
  return st;
}

rbpe_status cli_save_panel(rbpe_ctx *ctx, const rbpe_signal *truth,
                           const rbpe_split *split, const rbpe_signal *recon,
                           const rbpe_signal *sigma, float smin, float smax,
                           const char *path) {
  size_t h = rbpe_signal_dim(truth, 0), w = rbpe_signal_dim(truth, 1);
  int C = rbpe_signal_channels(truth), OC = C == 1 ? 1 : 3;
  int np = sigma ? 5 : 4;
  size_t W = np * w + (np - 1) * PANEL_GAP;
  size_t dims[2] = {h, W};
  float *img = malloc(h * W * OC * sizeof(float));
  unsigned char *is_train = calloc(h * w, 1);
  if (!img || !is_train) {
    free(img);
    free(is_train);
    return RBPE_ERR_OUT_OF_MEMORY;
  }
  for (size_t i = 0; i < h * W * OC; i++) img[i] = 1.0f; /* white gaps */
  for (size_t i = 0; i < rbpe_split_train_count(split); i++)
    is_train[rbpe_split_train(split)[i]] = 1;
  const float *t = rbpe_signal_data(truth), *r = rbpe_signal_data(recon);
  for (size_t y = 0; y < h; y++)
    for (size_t x = 0; x < w; x++) {
      size_t s = y * w + x;
      float err = 0;
      for (int c = 0; c < C; c++) err += fabsf(t[s * C + c] - r[s * C + c]);
      err = ERROR_GAIN * err / C;
      for (int c = 0; c < OC; c++) {
        int cc = C == 1 ? 0 : c;
        float v[5] = {t[s * C + cc], is_train[s] ? t[s * C + cc] : 0.0f,
                      r[s * C + cc], err,
                      sigma ? unit(rbpe_signal_data(sigma)[s], smin, smax) : 0.0f};
        for (int p = 0; p < np; p++)
          img[(y * W + p * (w + PANEL_GAP) + x) * OC + c] = v[p];
      }
    }
  rbpe_signal *panel = NULL;
  rbpe_status st = rbpe_signal_from_data(ctx, 2, dims, OC, img, &panel);
  if (st == RBPE_OK) st = rbpe_signal_save_png(ctx, panel, path, 8);
  rbpe_signal_free(panel);
  free(img);
  free(is_train);
  return st;
}

/* ---- 1-D plot ---------------------------------------------------------- */

#define PLOT_W 960
#define PLOT_H 360
#define PLOT_MARGIN 20

static void dot(cli_canvas *cv, int x, int y, const float rgb[3], int r) {
  for (int dy = -r; dy <= r; dy++)
    for (int dx = -r; dx <= r; dx++) {
      int xx = x + dx, yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= cv->w || yy >= cv->h) continue;
      memcpy(cv->px + ((size_t)yy * cv->w + xx) * 3, rgb, 3 * sizeof(float));
    }
}

static void line(cli_canvas *cv, int x0, int y0, int x1, int y1,
                 const float rgb[3]) {
  int n = abs(x1 - x0) > abs(y1 - y0) ? abs(x1 - x0) : abs(y1 - y0);
  if (n == 0) n = 1;
  for (int k = 0; k <= n; k++)
    dot(cv, x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n, rgb, 0);
}

void cli_draw_plot(cli_canvas *cv, int left, int top, int width, int height,
                   const rbpe_signal *truth, const rbpe_split *split,
                   const rbpe_signal *recon) {
  size_t n = rbpe_signal_dim(truth, 0);
  const float *t = rbpe_signal_data(truth);
  const float *r = recon ? rbpe_signal_data(recon) : NULL;
  float lo = t[0], hi = t[0];
  for (size_t i = 0; i < n; i++) {
    lo = fminf(lo, t[i]);
    hi = fmaxf(hi, t[i]);
    if (r) {
      lo = fminf(lo, r[i]);
      hi = fmaxf(hi, r[i]);
    }
  }
  if (hi - lo < 1e-6f) hi = lo + 1.0f;
  const float gray[3] = {0.6f, 0.6f, 0.6f}, red[3] = {0.85f, 0.1f, 0.1f},
              blue[3] = {0.1f, 0.25f, 0.9f}, black[3] = {0, 0, 0};
  int m = width > 200 ? PLOT_MARGIN : 4;
  int x0 = left + m, x1 = left + width - m, y0 = top + m, y1 = top + height - m;
  line(cv, x0, y0, x1, y0, black);
  line(cv, x0, y1, x1, y1, black);
  line(cv, x0, y0, x0, y1, black);
  line(cv, x1, y0, x1, y1, black);
  int pad = (y1 - y0) / 20 + 1;
#define PX(i) (x0 + (int)((double)((i) + 0.5) / n * (x1 - x0)))
#define PY(v) (y1 - pad - (int)(((v) - lo) / (hi - lo) * (y1 - y0 - 2 * pad)))
  for (size_t i = 1; i < n; i++)
    line(cv, PX(i - 1), PY(t[i - 1]), PX(i), PY(t[i]), gray);
  for (size_t i = 1; r && i < n; i++)
    line(cv, PX(i - 1), PY(r[i - 1]), PX(i), PY(r[i]), red);
  for (size_t k = 0; split && k < rbpe_split_train_count(split); k++) {
    size_t i = rbpe_split_train(split)[k];
    dot(cv, PX(i), PY(t[i]), blue, width > 200 ? 2 : 1);
  }
#undef PX
#undef PY
}

rbpe_status cli_canvas_save(rbpe_ctx *ctx, const cli_canvas *cv,
                            const char *path) {
  size_t dims[2] = {(size_t)cv->h, (size_t)cv->w};
  rbpe_signal *img = NULL;
  rbpe_status st = rbpe_signal_from_data(ctx, 2, dims, 3, cv->px, &img);
  if (st == RBPE_OK) st = rbpe_signal_save_png(ctx, img, path, 8);
  rbpe_signal_free(img);
  return st;
}

int cli_canvas_init(cli_canvas *cv, int w, int h) {
  cv->w = w;
  cv->h = h;
  cv->px = malloc((size_t)w * h * 3 * sizeof(float));
  if (!cv->px) return -1;
  for (size_t i = 0; i < (size_t)w * h * 3; i++) cv->px[i] = 1.0f;
  return 0;
}

rbpe_status cli_save_plot(rbpe_ctx *ctx, const rbpe_signal *truth,
                          const rbpe_split *split, const rbpe_signal *recon,
                          const char *path) {
  cli_canvas cv;
  if (cli_canvas_init(&cv, PLOT_W, PLOT_H) != 0) return RBPE_ERR_OUT_OF_MEMORY;
  cli_draw_plot(&cv, 0, 0, PLOT_W, PLOT_H, truth, split, recon);
  rbpe_status st = cli_canvas_save(ctx, &cv, path);
  free(cv.px);
  return st;
}
