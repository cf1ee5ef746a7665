/* Signals on a regular grid (METHOD.md section 1): allocation with size
 * limits, 1-D text signals, and sample coordinates. PNG I/O is in png.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "internal.h"

rbpe_status rbpe_signal_alloc(rbpe_err *err, int ndim, const size_t *dims,
                              int channels, rbpe_signal **out) {
  *out = NULL;
  RBPE_FAIL_IF(ndim < 1 || ndim > RBPE_MAX_DIMS, err,
               RBPE_ERR_INVALID_ARGUMENT, "a signal has 1 to %d axes, not %d",
               RBPE_MAX_DIMS, ndim);
  RBPE_FAIL_IF(channels < 1 || channels > RBPE_MAX_CHANNELS, err,
               RBPE_ERR_INVALID_ARGUMENT, "a signal has 1 to %d channels, not %d",
               RBPE_MAX_CHANNELS, channels);
  size_t samples = 1;
  for (int a = 0; a < ndim; a++) {
    RBPE_FAIL_IF(dims[a] == 0, err, RBPE_ERR_INVALID_ARGUMENT,
                 "axis %d of the signal is empty", a);
    RBPE_FAIL_IF(!rbpe_mul_ok(samples, dims[a], &samples) ||
                     samples > RBPE_MAX_SAMPLES,
                 err, RBPE_ERR_TOO_LARGE,
                 "signal too large: more than %zu samples", RBPE_MAX_SAMPLES);
  }
  rbpe_signal *s = calloc(1, sizeof *s);
  float *data = calloc(samples * (size_t)channels, sizeof(float));
  if (!s || !data) {
    free(s);
    free(data);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY,
                        "out of memory for a signal of %zu samples", samples);
  }
  s->ndim = ndim;
  for (int a = 0; a < ndim; a++) s->dims[a] = dims[a];
  s->channels = channels;
  s->samples = samples;
  s->data = data;
  *out = s;
  return RBPE_OK;
}

void rbpe_signal_free(rbpe_signal *s) {
  if (!s) return;
  free(s->data);
  free(s);
}

rbpe_status rbpe_signal_from_data(rbpe_ctx *ctx, int ndim, const size_t *dims,
                                  int channels, const float *data,
                                  rbpe_signal **out) {
  rbpe_err_clear(&ctx->err);
  RBPE_FAIL_IF(!dims || !data || !out, &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "rbpe_signal_from_data: NULL argument");
  rbpe_signal *s;
  RBPE_TRY(rbpe_signal_alloc(&ctx->err, ndim, dims, channels, &s));
  size_t count = s->samples * (size_t)channels;
  for (size_t i = 0; i < count; i++)
    if (!isfinite(data[i])) {
      rbpe_signal_free(s);
      return rbpe_err_set(&ctx->err, RBPE_ERR_NUMERIC,
                          "signal value %zu is not finite", i);
    }
  memcpy(s->data, data, count * sizeof(float));
  *out = s;
  return RBPE_OK;
}

int rbpe_signal_ndim(const rbpe_signal *s) { return s->ndim; }
size_t rbpe_signal_dim(const rbpe_signal *s, int axis) {
  return axis >= 0 && axis < s->ndim ? s->dims[axis] : 1;
}
int rbpe_signal_channels(const rbpe_signal *s) { return s->channels; }
size_t rbpe_signal_samples(const rbpe_signal *s) { return s->samples; }
int rbpe_signal_source_bits(const rbpe_signal *s) { return s->source_bits; }
const float *rbpe_signal_data(const rbpe_signal *s) { return s->data; }
float *rbpe_signal_data_mut(rbpe_signal *s) { return s->data; }

rbpe_status rbpe_signal_hand_over(rbpe_status st, rbpe_signal *s,
                                  rbpe_signal **out) {
  if (st != RBPE_OK) {
    rbpe_signal_free(s);
    return st;
  }
  *out = s;
  return RBPE_OK;
}

rbpe_status rbpe_signal_coords(rbpe_ctx *ctx, const rbpe_signal *s,
                               const size_t *idx, size_t n, float *out) {
  for (size_t i = 0; i < n; i++) {
    RBPE_FAIL_IF(idx[i] >= s->samples, &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
                 "sample index %zu outside a signal of %zu samples", idx[i],
                 s->samples);
    size_t rem = idx[i];
    for (int a = s->ndim - 1; a >= 0; a--) {
      size_t k = rem % s->dims[a];
      rem /= s->dims[a];
      out[i * s->ndim + a] = ((float)k + 0.5f) / (float)s->dims[a];
    }
  }
  return RBPE_OK;
}

/* ---- 1-D text signals ----------------------------------------------------- */

/* One line of the input into *line (without its newline); 0 at the end of
 * the input. *nul is set when the line held a NUL byte. */
static int read_line(rbpe_input *in, char **line, size_t *cap, int *nul,
                     rbpe_status *oom) {
  size_t n = 0;
  int c, any = 0;
  *nul = 0;
  while ((c = rbpe_input_getc(in)) != EOF) {
    any = 1;
    if (c == '\n') break;
    if (c == 0) *nul = 1;
    if (n + 2 > *cap) {
      size_t nc = *cap ? *cap * 2 : 256;
      char *nl = realloc(*line, nc);
      if (!nl) {
        *oom = RBPE_ERR_OUT_OF_MEMORY;
        return 0;
      }
      *line = nl;
      *cap = nc;
    }
    (*line)[n++] = (char)c;
  }
  if (!any) return 0;
  if (!*line) { /* an empty line at the start */
    *line = malloc(1);
    if (!*line) {
      *oom = RBPE_ERR_OUT_OF_MEMORY;
      return 0;
    }
    *cap = 1;
  }
  (*line)[n] = '\0';
  return 1;
}

rbpe_status rbpe_signal_load_text(rbpe_ctx *ctx, const char *path,
                                  rbpe_signal **out) {
  rbpe_err_clear(&ctx->err);
  *out = NULL;
  rbpe_input in;
  RBPE_TRY(rbpe_input_open(&ctx->err, path, &in));
  rbpe_status st = rbpe_text_read(&ctx->err, &in, out);
  rbpe_input_close(&in);
  return st;
}

/* Splits a line into fields at commas, semicolons, tabs and runs of
 * spaces (CSV or whitespace columns); returns their count, at most max. */
static int split_fields(char *p, char **field, int max) {
  int n = 0;
  while (*p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    if (!*p) break;
    if (n == max) return max + 1;
    field[n++] = p;
    while (*p && *p != ',' && *p != ';' && *p != '\t' && *p != ' ' &&
           *p != '\r')
      p++;
    char *endf = p;
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    if (*p == ',' || *p == ';') {
      p++;
      if (n && !*p) { /* a trailing separator: an empty last field */
        *endf = '\0';
        if (n == max) return max + 1;
        field[n++] = endf;
        break;
      }
    }
    *endf = '\0';
  }
  return n;
}

/* Text signals: one sample per line, one or more columns (CSV or white
 * space) as channels; blank lines and text after '#' skipped; a first line
 * of column names (no field a number) is a header. */
rbpe_status rbpe_text_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out) {
  *out = NULL;
  const char *path = in->name;
  float *vals = NULL;
  size_t n = 0, cap = 0, lineno = 0;
  char *line = NULL;
  size_t linecap = 0;
  int nul = 0, cols = 0, seen = 0;
  rbpe_status st = RBPE_OK, oom = RBPE_OK;
  while (st == RBPE_OK && read_line(in, &line, &linecap, &nul, &oom)) {
    lineno++;
    if (nul) {
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                        lineno == 1
                            ? "%s: binary data of a format rbpe does not read "
                              "(it reads PNG, JPEG, WAV/FLAC/AIFF/Ogg audio "
                              "and text)"
                            : "%s:%zu: binary data (a NUL byte) in a text "
                              "signal",
                        path, lineno);
      break;
    }
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *field[RBPE_MAX_CHANNELS + 1];
    int nf = split_fields(line, field, RBPE_MAX_CHANNELS);
    if (nf == 0) continue;
    if (nf > RBPE_MAX_CHANNELS) {
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                        "%s:%zu: more than %d columns (rbpe fits 1 to %d "
                        "channels; pick columns, e.g. with cut)",
                        path, lineno, RBPE_MAX_CHANNELS, RBPE_MAX_CHANNELS);
      break;
    }
    double v[RBPE_MAX_CHANNELS];
    int numbers = 0, bad = -1;
    for (int k = 0; k < nf; k++) {
      char *end;
      errno = 0;
      v[k] = strtod(field[k], &end);
      if (end != field[k] && !*end)
        numbers++;
      else if (bad < 0)
        bad = k;
    }
    if (!seen && numbers == 0 && nf > 0) { /* a header of column names */
      seen = 1;
      cols = nf;
      continue;
    }
    seen = 1;
    if (bad >= 0) {
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                        "%s:%zu: '%.40s' is not a number", path, lineno,
                        field[bad]);
      break;
    }
    if (cols && nf != cols) {
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                        "%s:%zu: %d column(s) where earlier lines have %d",
                        path, lineno, nf, cols);
      break;
    }
    cols = nf;
    for (int k = 0; k < nf && st == RBPE_OK; k++)
      if (!isfinite(v[k]) || fabs(v[k]) > 3.0e38)
        st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                          "%s:%zu: %.40s is not a finite float value (|v| <= "
                          "3e38)",
                          path, lineno, field[k]);
    if (st != RBPE_OK) break;
    if (n / (size_t)cols >= RBPE_MAX_SAMPLES) {
      st = rbpe_err_set(err, RBPE_ERR_TOO_LARGE, "%s: more than %zu samples",
                        path, RBPE_MAX_SAMPLES);
      break;
    }
    if (n + (size_t)cols > cap) {
      size_t nc = cap ? cap * 2 : 1024;
      float *nv = realloc(vals, nc * sizeof *nv);
      if (!nv) {
        st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
        break;
      }
      vals = nv;
      cap = nc;
    }
    for (int k = 0; k < nf; k++) vals[n++] = (float)v[k];
  }
  if (st == RBPE_OK && oom != RBPE_OK)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK && in->error)
    st = rbpe_err_set(err, RBPE_ERR_IO, "reading %s failed: %s", path,
                      strerror(in->error_errno));
  if (st == RBPE_OK && n == 0)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT, "%s: no values (empty signal)",
                      path);
  free(line);
  if (st == RBPE_OK) {
    rbpe_signal *s;
    size_t samples = n / (size_t)cols;
    st = rbpe_signal_alloc(err, 1, &samples, cols, &s);
    if (st == RBPE_OK) {
      memcpy(s->data, vals, n * sizeof(float));
      *out = s;
    }
  }
  free(vals);
  return st;
}

rbpe_status rbpe_signal_load(rbpe_ctx *ctx, const char *path,
                             rbpe_signal **out) {
  rbpe_model *model = NULL;
  rbpe_status st = rbpe_load(ctx, path, out, &model);
  if (st == RBPE_OK && model) {
    rbpe_model_free(model);
    st = rbpe_err_set(&ctx->err, RBPE_ERR_BAD_FORMAT,
                      "%s is an rbpe model, not a signal (try `rbpe render`)",
                      path);
  }
  return st;
}

rbpe_status rbpe_load(rbpe_ctx *ctx, const char *path, rbpe_signal **signal,
                      rbpe_model **model) {
  return rbpe_load_ex(ctx, path, NULL, signal, model);
}

/* One channel of a signal, as a signal of its own. */
static rbpe_status pick_channel(rbpe_err *err, const char *name, int channel,
                                rbpe_signal **s) {
  rbpe_signal *src = *s;
  if (channel < 0 || (channel == 0 && src->channels == 1)) return RBPE_OK;
  if (channel >= src->channels) {
    rbpe_status st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                                  "%s: channel %d asked for, it has %d", name,
                                  channel + 1, src->channels);
    rbpe_signal_free(src);
    *s = NULL;
    return st;
  }
  rbpe_signal *one;
  rbpe_status st = rbpe_signal_alloc(err, src->ndim, src->dims, 1, &one);
  if (st == RBPE_OK) {
    for (size_t i = 0; i < src->samples; i++)
      one->data[i] = src->data[i * src->channels + channel];
    one->source_bits = src->source_bits;
    one->sample_rate = src->sample_rate;
  }
  rbpe_signal_free(src);
  *s = st == RBPE_OK ? one : NULL;
  return st;
}

rbpe_status rbpe_load_ex(rbpe_ctx *ctx, const char *path,
                         const rbpe_load_options *opt, rbpe_signal **signal,
                         rbpe_model **model) {
  RBPE_FAIL_IF(!ctx || !path || !signal, ctx ? &ctx->err : NULL,
               RBPE_ERR_INVALID_ARGUMENT, "rbpe_load: NULL argument");
  rbpe_err_clear(&ctx->err);
  *signal = NULL;
  if (model) *model = NULL;
  int channel = opt ? opt->channel : -1;
  RBPE_FAIL_IF(channel < -1 || channel > 65535, &ctx->err,
               RBPE_ERR_INVALID_ARGUMENT, "channel %d (0-based, or -1 for all)",
               channel);
  rbpe_input in;
  RBPE_TRY(rbpe_input_open(&ctx->err, path, &in));
  rbpe_status st;
  const char *format = NULL;
  switch (rbpe_input_sniff(&in, &format)) {
  case RBPE_INPUT_PNG:
    st = rbpe_png_read(&ctx->err, &in, signal);
    break;
  case RBPE_INPUT_JPEG:
    st = rbpe_jpeg_read(&ctx->err, &in, signal);
    break;
  case RBPE_INPUT_AUDIO:
    st = rbpe_audio_read(&ctx->err, &in, channel, signal);
    channel = -1; /* chosen while reading */
    break;
  case RBPE_INPUT_MODEL:
    if (model)
      st = rbpe_model_read(ctx, &in, model);
    else
      st = rbpe_err_set(&ctx->err, RBPE_ERR_BAD_FORMAT,
                        "%s is an rbpe model, not a signal", in.name);
    break;
  case RBPE_INPUT_UNSUPPORTED:
    st = rbpe_err_set(&ctx->err, RBPE_ERR_BAD_FORMAT,
                      "%s: a %s file, which rbpe does not read (it reads PNG, "
                      "JPEG, WAV/FLAC/AIFF/Ogg audio, text columns and its "
                      "model files)",
                      in.name, format);
    break;
  default:
    st = rbpe_text_read(&ctx->err, &in, signal);
  }
  if (st == RBPE_OK && *signal)
    st = pick_channel(&ctx->err, in.name, channel, signal);
  rbpe_input_close(&in);
  return st;
}

int rbpe_signal_sample_rate(const rbpe_signal *s) { return s->sample_rate; }
