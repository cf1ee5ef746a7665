/* Models: evaluation at any coordinates on any backend, rendering on a
 * grid, and the model file. The file is little-endian, versioned and
 * CRC-32 checked (ARCHITECTURE.md "Model file"):
 *   "RBPEMODL" | u32 version | u32 flags | u64 payload bytes | payload |
 *   u32 CRC-32 of everything before it.
 * Its payload is written and read field by field below (put_/get_). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "field.h"
#include "input.h"
#include "model.h"

#define MODEL_MAGIC "RBPEMODL"
#define MODEL_VERSION 1u
/* header flags: bit 0, a u32 sample rate follows the sigma-map flag; bit
 * 1, then two f32, the output's scale and offset */
#define MODEL_FLAG_RATE 1u
#define MODEL_FLAG_AFFINE 2u
/* bit 2: then one f32, the rbf amplitude normalisation's reference */
#define MODEL_FLAG_NORM 4u
/* bit 3: then the sigma field's settings (u32 nodes per axis, f32
 * hold-out, f32 learning rate, u32 every, f32 from, f32 until, f32
 * range, u32 zero mean); the field itself is part of the sigma map */
#define MODEL_FLAG_FIELD 8u
#define MODEL_HEADER 24
#define MODEL_MAX_BYTES ((size_t)1 << 31)
/* Rows per evaluation batch unless memory asks for fewer. */
#define PREDICT_ROWS 16384

const char *rbpe_sigma_mode_string(rbpe_sigma_mode mode) {
  switch (mode) {
  case RBPE_SIGMA_UNIFORM: return "uniform";
  case RBPE_SIGMA_GRAPH: return "graph";
  case RBPE_SIGMA_POLY: return "poly";
  }
  return "?";
}

const char *rbpe_sigma_at_string(rbpe_sigma_at at) {
  switch (at) {
  case RBPE_SIGMA_AT_NEAREST: return "nearest";
  case RBPE_SIGMA_AT_SMOOTH: return "smooth";
  case RBPE_SIGMA_AT_POLY: return "poly";
  }
  return "?";
}

const char *rbpe_act_string(rbpe_act a) {
  switch (a) {
  case RBPE_ACT_NONE: return "none";
  case RBPE_ACT_RELU: return "relu";
  case RBPE_ACT_SIGMOID: return "sigmoid";
  case RBPE_ACT_AUTO: return "auto";
  }
  return "?";
}

void rbpe_model_free(rbpe_model *m) {
  if (!m) return;
  free(m->sigma_map);
  rbpe_embedding_free(m->emb);
  rbpe_mlp_host_free(&m->mlp);
  free(m);
}

int rbpe_model_ndim(const rbpe_model *m) { return m->ndim; }
int rbpe_model_channels(const rbpe_model *m) { return m->channels; }
size_t rbpe_model_dim(const rbpe_model *m, int axis) {
  return axis >= 0 && axis < m->ndim ? m->dims[axis] : 1;
}
const rbpe_fit_config *rbpe_model_config(const rbpe_model *m) { return &m->cfg; }
int rbpe_model_sample_rate(const rbpe_model *m) { return m->sample_rate; }

void rbpe_model_shape(const rbpe_fit_config *cfg, size_t M, int channels,
                      rbpe_mlp_shape *s) {
  memset(s, 0, sizeof *s);
  s->nlin = cfg->hidden_layers + 1;
  s->sizes[0] = (int)M;
  for (int l = 1; l <= cfg->hidden_layers; l++) s->sizes[l] = cfg->width;
  s->sizes[s->nlin] = channels;
  s->out_act = cfg->out_act;
}

size_t rbpe_model_samples(const rbpe_model *m) {
  size_t n = 1;
  for (int a = 0; a < m->ndim; a++) n *= m->dims[a];
  return n;
}

/* Sigma at a coordinate: uniform, or the N-linear interpolation of the
 * map (clamped at the borders). At a sample's own coordinate it returns
 * that sample's value exactly: the grid position is snapped when it lies
 * within 1e-4 of a sample. */
void rbpe_model_sigma(const rbpe_model *m, size_t n, const float *coords,
                      float *sigma) {
  if (!m->sigma_map) {
    for (size_t i = 0; i < n; i++) sigma[i] = m->cfg.sigma;
    return;
  }
  int N = m->ndim;
  for (size_t i = 0; i < n; i++) {
    size_t k0[RBPE_MAX_DIMS], k1[RBPE_MAX_DIMS];
    double fr[RBPE_MAX_DIMS];
    for (int a = 0; a < N; a++) {
      double u = (double)coords[i * N + a] * (double)m->dims[a] - 0.5;
      double fl = floor(u), f = u - fl;
      if (f > 1.0 - 1e-4) {
        fl += 1.0;
        f = 0.0;
      } else if (f < 1e-4) {
        f = 0.0;
      }
      double hi = (double)m->dims[a] - 1.0;
      double a0 = fl < 0 ? 0 : fl > hi ? hi : fl;
      double a1 = fl + 1 < 0 ? 0 : fl + 1 > hi ? hi : fl + 1;
      k0[a] = (size_t)a0;
      k1[a] = (size_t)a1;
      fr[a] = fl < 0 || fl > hi ? 0.0 : f;
    }
    double v = 0.0;
    for (int corner = 0; corner < (1 << N); corner++) {
      double w = 1.0;
      size_t idx = 0;
      for (int a = 0; a < N; a++) {
        int up = (corner >> a) & 1;
        w *= up ? fr[a] : 1.0 - fr[a];
        idx = idx * m->dims[a] + (up ? k1[a] : k0[a]);
      }
      if (w != 0.0) v += w * m->sigma_map[idx];
    }
    sigma[i] = (float)v;
  }
}

rbpe_status rbpe_model_predict_be(rbpe_backend *be, const rbpe_model *m,
                                  size_t n, const float *coords, float *out) {
  size_t M = rbpe_embedding_dim(m->emb);
  const rbpe_mlp_shape *s = &m->mlp.shape;
  size_t widest = M;
  for (int l = 1; l <= s->nlin; l++)
    if ((size_t)s->sizes[l] > widest) widest = (size_t)s->sizes[l];
  /* Rows per batch: the network, the embedding and every activation must
   * fit what the device (or the memory limit) has left, each buffer its
   * largest allocation. */
  const char *what;
  uint64_t bound, largest;
  uint64_t budget = rbpe_backend_budget(be, &what, &bound);
  size_t rows = PREDICT_ROWS;
  if (rows > n) rows = n ? n : 1;
  for (;;) {
    uint64_t need = rbpe_mlp_trainer_bytes(s, rows, &largest) +
                    (uint64_t)rows * (m->ndim + 1 + M) * sizeof(float);
    if ((need <= budget && largest <= be->max_alloc &&
         (uint64_t)rows * widest * sizeof(float) <= be->max_alloc) ||
        rows == 1) {
      char b1[32], b2[32];
      RBPE_FAIL_IF(need > budget, be->err, RBPE_ERR_DEVICE_MEMORY,
                   "evaluating the model needs %s on %s, above %s (%s)",
                   rbpe_fmt_bytes(need, b1), be->description, what,
                   rbpe_fmt_bytes(bound, b2));
      break;
    }
    rows /= 2;
  }
  int rbf = m->cfg.embed.kind == RBPE_EMBED_RBF;

  rbpe_mlp_trainer *t = NULL;
  rbpe_buf *x = NULL, *sg = NULL, *X = NULL;
  float *sigma = rbf ? malloc(rows * sizeof(float)) : NULL;
  rbpe_status st = RBPE_OK;
  if (rbf && !sigma)
    st = rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) st = rbpe_mlp_trainer_create(be, &m->mlp, rows, 0.0f, &t);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, rows * m->ndim * sizeof(float), &x);
  if (st == RBPE_OK && rbf) st = rbpe_buf_alloc(be, rows * sizeof(float), &sg);
  if (st == RBPE_OK) st = rbpe_buf_alloc(be, rows * M * sizeof(float), &X);
  for (size_t i0 = 0; i0 < n && st == RBPE_OK; i0 += rows) {
    size_t r = n - i0 < rows ? n - i0 : rows;
    const float *c = coords + i0 * m->ndim;
    st = rbpe_buf_write(be, x, 0, r * m->ndim * sizeof(float), c);
    if (st == RBPE_OK && rbf) {
      rbpe_model_sigma(m, r, c, sigma);
      st = rbpe_buf_write(be, sg, 0, r * sizeof(float), sigma);
    }
    if (st == RBPE_OK) st = rbpe_embedding_run(be, m->emb, r, x, sg, X, 0);
    const rbpe_buf *y = NULL;
    if (st == RBPE_OK) st = rbpe_mlp_forward(t, r, X, &y);
    if (st == RBPE_OK)
      st = rbpe_buf_read(be, y, 0, r * m->channels * sizeof(float),
                         out + i0 * m->channels);
    if (st == RBPE_OK && (m->out_scale != 1.0f || m->out_offset != 0.0f))
      for (size_t k = 0; k < r * (size_t)m->channels; k++) {
        float *v = out + i0 * m->channels + k;
        *v = *v * m->out_scale + m->out_offset;
      }
  }
  rbpe_mlp_trainer_free(t);
  rbpe_buf_free(be, x);
  rbpe_buf_free(be, sg);
  rbpe_buf_free(be, X);
  free(sigma);
  return st;
}

rbpe_status rbpe_model_predict(rbpe_ctx *ctx, const rbpe_model *m, size_t n,
                               const float *coords, float *out) {
  rbpe_err_clear(&ctx->err);
  RBPE_FAIL_IF(!m || (n && (!coords || !out)), &ctx->err,
               RBPE_ERR_INVALID_ARGUMENT, "predict: NULL argument");
  for (size_t i = 0; i < n * m->ndim; i++)
    RBPE_FAIL_IF(!isfinite(coords[i]), &ctx->err, RBPE_ERR_NUMERIC,
                 "coordinate %zu is not finite", i / m->ndim);
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  return rbpe_model_predict_be(be, m, n, coords, out);
}

rbpe_status rbpe_model_render(rbpe_ctx *ctx, const rbpe_model *m,
                              const size_t *dims, rbpe_signal **out) {
  rbpe_err_clear(&ctx->err);
  *out = NULL;
  rbpe_signal *s;
  RBPE_TRY(rbpe_signal_alloc(&ctx->err, m->ndim, dims, m->channels, &s));
  float *coords = malloc(s->samples * m->ndim * sizeof(float));
  size_t *idx = malloc(s->samples * sizeof(size_t));
  rbpe_status st = RBPE_OK;
  if (!coords || !idx)
    st = rbpe_err_set(&ctx->err, RBPE_ERR_OUT_OF_MEMORY,
                      "out of memory for %zu coordinates", s->samples);
  if (st == RBPE_OK) {
    for (size_t i = 0; i < s->samples; i++) idx[i] = i;
    st = rbpe_signal_coords(ctx, s, idx, s->samples, coords);
  }
  if (st == RBPE_OK) st = rbpe_model_predict(ctx, m, s->samples, coords, s->data);
  free(coords);
  free(idx);
  if (st != RBPE_OK) {
    rbpe_signal_free(s);
    return st;
  }
  *out = s;
  return RBPE_OK;
}

void rbpe_signal_range(const rbpe_signal *s, float *lo, float *hi) {
  size_t count = s->samples * (size_t)s->channels;
  float a = count ? s->data[0] : 0.0f, b = a;
  for (size_t i = 1; i < count; i++) {
    if (s->data[i] < a) a = s->data[i];
    if (s->data[i] > b) b = s->data[i];
  }
  *lo = a;
  *hi = b;
}

double rbpe_psnr_peak(const rbpe_signal *a, const rbpe_signal *b,
                      const size_t *idx, size_t n, double peak) {
  return rbpe_psnr(a, b, idx, n) + 20.0 * log10(peak);
}

double rbpe_psnr(const rbpe_signal *a, const rbpe_signal *b,
                 const size_t *idx, size_t n) {
  if (!a || !b || a->channels != b->channels || a->samples != b->samples || !n)
    return NAN;
  double sum = 0;
  int C = a->channels;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < C; c++) {
      double d = (double)a->data[idx[i] * C + c] - (double)b->data[idx[i] * C + c];
      sum += d * d;
    }
  double mse = sum / ((double)n * C);
  return mse > 0 ? -10.0 * log10(mse) : INFINITY;
}

/* ---- model file ------------------------------------------------------------ */

typedef struct wbuf {
  unsigned char *p;
  size_t len, cap;
  int oom;
} wbuf;

static void put(wbuf *w, const void *src, size_t n) {
  if (w->oom) return;
  if (w->len + n > w->cap) {
    size_t nc = (w->cap ? w->cap * 2 : 4096);
    while (nc < w->len + n) nc *= 2;
    unsigned char *np = realloc(w->p, nc);
    if (!np) {
      w->oom = 1;
      return;
    }
    w->p = np;
    w->cap = nc;
  }
  memcpy(w->p + w->len, src, n);
  w->len += n;
}

static void put_u32(wbuf *w, uint32_t v) {
  unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  put(w, b, 4);
}

static void put_u64(wbuf *w, uint64_t v) {
  put_u32(w, (uint32_t)v);
  put_u32(w, (uint32_t)(v >> 32));
}

static void put_f32(wbuf *w, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  put_u32(w, v);
}

static void put_f32s(wbuf *w, const float *f, size_t n) {
  for (size_t i = 0; i < n; i++) put_f32(w, f[i]);
}

typedef struct rbuf {
  const unsigned char *p;
  size_t len, pos;
  int short_read;
} rbuf;

static uint32_t get_u32(rbuf *r) {
  if (r->len - r->pos < 4) {
    r->short_read = 1;
    r->pos = r->len;
    return 0;
  }
  const unsigned char *b = r->p + r->pos;
  r->pos += 4;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
         (uint32_t)b[3] << 24;
}

static uint64_t get_u64(rbuf *r) {
  uint64_t lo = get_u32(r);
  return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(rbuf *r) {
  uint32_t v = get_u32(r);
  float f;
  memcpy(&f, &v, 4);
  return f;
}

/* Reads n floats; refuses non-finite values (a damaged file, not a model). */
static int get_f32s(rbuf *r, float *f, size_t n) {
  if ((r->len - r->pos) / 4 < n) {
    r->short_read = 1;
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    f[i] = get_f32(r);
    if (!isfinite(f[i])) return 0;
  }
  return 1;
}

typedef struct save_job {
  const unsigned char *bytes;
  size_t len;
} save_job;

static rbpe_status write_bytes(FILE *f, void *user, rbpe_err *err) {
  save_job *j = user;
  if (fwrite(j->bytes, 1, j->len, f) != j->len)
    return rbpe_err_set(err, RBPE_ERR_IO, "writing the model failed: %s",
                        strerror(errno));
  return RBPE_OK;
}

rbpe_status rbpe_model_save(rbpe_ctx *ctx, const rbpe_model *m,
                            const char *path) {
  rbpe_err_clear(&ctx->err);
  wbuf w = {0};
  const rbpe_fit_config *c = &m->cfg;
  put(&w, MODEL_MAGIC, 8);
  put_u32(&w, MODEL_VERSION);
  int affine = m->out_scale != 1.0f || m->out_offset != 0.0f;
  int norm = c->embed.kind == RBPE_EMBED_RBF && c->embed.rbf_norm_ref > 0.0f;
  int field = c->field.cells > 0;
  put_u32(&w, (m->sample_rate > 0 ? MODEL_FLAG_RATE : 0u) |
                  (affine ? MODEL_FLAG_AFFINE : 0u) |
                  (norm ? MODEL_FLAG_NORM : 0u) |
                  (field ? MODEL_FLAG_FIELD : 0u));
  put_u64(&w, 0); /* payload size, patched below */
  put_u32(&w, (uint32_t)m->ndim);
  put_u32(&w, (uint32_t)m->channels);
  for (int a = 0; a < RBPE_MAX_DIMS; a++)
    put_u64(&w, a < m->ndim ? m->dims[a] : 1);
  put_u32(&w, (uint32_t)c->embed.kind);
  put_u32(&w, (uint32_t)c->embed.nerf_freqs);
  put_u32(&w, (uint32_t)c->embed.rff_features);
  put_f32(&w, c->embed.rff_scale);
  put_u32(&w, (uint32_t)c->embed.rbf_centres);
  put_u32(&w, (uint32_t)c->embed.rbf_diagonals);
  put_f32(&w, c->embed.rbf_order);
  put_u64(&w, c->embed.seed);
  put_u32(&w, (uint32_t)c->sigma_mode);
  put_f32(&w, c->sigma);
  put_u32(&w, (uint32_t)c->sigma_at);
  put_u32(&w, (uint32_t)c->hidden_layers);
  put_u32(&w, (uint32_t)c->width);
  put_u32(&w, (uint32_t)c->out_act);
  put_u32(&w, (uint32_t)c->steps);
  put_f32(&w, c->lr);
  put_u64(&w, (uint64_t)c->batch);
  put_u64(&w, c->seed);
  char split[64] = {0};
  snprintf(split, sizeof split, "%s", m->split);
  put(&w, split, sizeof split);
  put_u32(&w, m->sigma_map ? 1u : 0u);
  if (m->sample_rate > 0) put_u32(&w, (uint32_t)m->sample_rate);
  if (affine) {
    put_f32(&w, m->out_scale);
    put_f32(&w, m->out_offset);
  }
  if (norm) put_f32(&w, c->embed.rbf_norm_ref);
  if (field) {
    put_u32(&w, (uint32_t)c->field.cells);
    put_f32(&w, c->field.holdout);
    put_f32(&w, c->field.lr);
    put_u32(&w, (uint32_t)c->field.every);
    put_f32(&w, c->field.from);
    put_f32(&w, c->field.until);
    put_f32(&w, c->field.range);
    put_u32(&w, (uint32_t)c->field.zero_mean);
  }
  if (m->sigma_map) put_f32s(&w, m->sigma_map, rbpe_model_samples(m));
  if (c->embed.kind == RBPE_EMBED_RFF)
    put_f32s(&w, rbpe_embedding_rff_matrix(m->emb),
             (size_t)c->embed.rff_features * m->ndim);
  const rbpe_mlp_shape *s = &m->mlp.shape;
  for (int l = 0; l < s->nlin; l++) {
    put_f32s(&w, m->mlp.W[l], (size_t)s->sizes[l] * s->sizes[l + 1]);
    put_f32s(&w, m->mlp.b[l], (size_t)s->sizes[l + 1]);
  }
  if (!w.oom) {
    uint64_t payload = w.len - MODEL_HEADER;
    for (int i = 0; i < 8; i++)
      w.p[16 + i] = (unsigned char)(payload >> (8 * i));
    put_u32(&w, (uint32_t)crc32(0L, w.p, (uInt)w.len));
  }
  if (w.oom) {
    free(w.p);
    return rbpe_err_set(&ctx->err, RBPE_ERR_OUT_OF_MEMORY,
                        "out of memory writing the model");
  }
  save_job job = {w.p, w.len};
  rbpe_status st = rbpe_write_atomic(path, write_bytes, &job, &ctx->err);
  free(w.p);
  return st;
}

static rbpe_status bad(rbpe_err *err, const char *path, const char *why) {
  return rbpe_err_set(err, RBPE_ERR_BAD_FORMAT, "%s: not a usable rbpe model: %s",
                      path, why);
}

rbpe_status rbpe_model_load(rbpe_ctx *ctx, const char *path, rbpe_model **out) {
  rbpe_err_clear(&ctx->err);
  *out = NULL;
  rbpe_input in;
  RBPE_TRY(rbpe_input_open(&ctx->err, path, &in));
  rbpe_status st = rbpe_model_read(ctx, &in, out);
  rbpe_input_close(&in);
  return st;
}

rbpe_status rbpe_model_read(rbpe_ctx *ctx, rbpe_input *in, rbpe_model **out) {
  rbpe_err *err = &ctx->err;
  *out = NULL;
  const char *path = in->name;
  unsigned char *bytes = NULL;
  size_t len = 0;
  RBPE_TRY(rbpe_input_slurp(err, in, MODEL_MAX_BYTES, &bytes, &len));
  rbpe_status st = RBPE_OK;
  rbpe_model *m = NULL;
  rbuf r = {bytes, len, 0, 0};
  if (len < 8 || memcmp(bytes, MODEL_MAGIC, 8) != 0) {
    st = bad(err, path, "wrong magic (not a model file)");
    goto done;
  }
  if (len < MODEL_HEADER + 4) {
    st = bad(err, path, "truncated header");
    goto done;
  }
  r.pos = 8;
  uint32_t version = get_u32(&r);
  if (version != MODEL_VERSION) {
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: model file version %u, this rbpe reads version %u",
                      path, (unsigned)version, MODEL_VERSION);
    goto done;
  }
  uint32_t flags = get_u32(&r);
  uint64_t payload = get_u64(&r);
  if (payload != len - MODEL_HEADER - 4) {
    st = bad(err, path, payload > len - MODEL_HEADER - 4 ? "truncated"
                                                         : "trailing bytes");
    goto done;
  }
  {
    uint32_t want = (uint32_t)bytes[len - 4] | (uint32_t)bytes[len - 3] << 8 |
                    (uint32_t)bytes[len - 2] << 16 |
                    (uint32_t)bytes[len - 1] << 24;
    /* Fuzz builds (libFuzzer's convention) read on past a bad checksum so
     * mutated files reach the field checks below, which must hold alone. */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if ((uint32_t)crc32(0L, bytes, (uInt)(len - 4)) != want) {
      st = bad(err, path, "checksum mismatch (damaged)");
      goto done;
    }
#else
    (void)want;
#endif
  }
  r.len = len - 4;
  m = calloc(1, sizeof *m);
  if (!m) {
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  rbpe_fit_config *c = &m->cfg;
  rbpe_fit_config_default(c);
  m->ndim = (int)get_u32(&r);
  m->channels = (int)get_u32(&r);
  for (int a = 0; a < RBPE_MAX_DIMS; a++) {
    uint64_t d = get_u64(&r);
    m->dims[a] = d > RBPE_MAX_SAMPLES ? 0 : (size_t)d;
  }
  c->embed.kind = (rbpe_embed_kind)get_u32(&r);
  c->embed.nerf_freqs = (int)get_u32(&r);
  c->embed.rff_features = (int)get_u32(&r);
  c->embed.rff_scale = get_f32(&r);
  c->embed.rbf_centres = (int)get_u32(&r);
  c->embed.rbf_diagonals = (int)get_u32(&r);
  c->embed.rbf_order = get_f32(&r);
  c->embed.seed = get_u64(&r);
  c->sigma_mode = (rbpe_sigma_mode)get_u32(&r);
  c->sigma = get_f32(&r);
  c->sigma_at = (rbpe_sigma_at)get_u32(&r);
  c->hidden_layers = (int)get_u32(&r);
  c->width = (int)get_u32(&r);
  c->out_act = (rbpe_act)get_u32(&r);
  c->steps = (int)get_u32(&r);
  c->lr = get_f32(&r);
  c->batch = (size_t)get_u64(&r);
  c->seed = get_u64(&r);
  if (r.len - r.pos < sizeof m->split) r.short_read = 1;
  else {
    memcpy(m->split, bytes + r.pos, sizeof m->split);
    m->split[sizeof m->split - 1] = '\0';
    r.pos += sizeof m->split;
  }
  c->split = m->split;
  uint32_t has_map = get_u32(&r);
  if (flags & MODEL_FLAG_RATE) {
    uint32_t rate = get_u32(&r);
    m->sample_rate = rate >= 1 && rate <= 1000000 ? (int)rate : -1;
  }
  m->out_scale = 1.0f;
  m->out_offset = 0.0f;
  if (flags & MODEL_FLAG_AFFINE) {
    m->out_scale = get_f32(&r);
    m->out_offset = get_f32(&r);
  }
  c->embed.rbf_norm_ref = 0.0f;
  if (flags & MODEL_FLAG_NORM) c->embed.rbf_norm_ref = get_f32(&r);
  if (flags & MODEL_FLAG_FIELD) {
    c->field.cells = (int)get_u32(&r);
    c->field.holdout = get_f32(&r);
    c->field.lr = get_f32(&r);
    c->field.every = (int)get_u32(&r);
    c->field.from = get_f32(&r);
    c->field.until = get_f32(&r);
    c->field.range = get_f32(&r);
    c->field.zero_mean = (int)get_u32(&r);
  }
  if (r.short_read) {
    st = bad(err, path, "truncated fields");
    goto done;
  }
  {
    /* Every field is validated before it sizes anything. */
    const char *why = NULL;
    if (m->ndim < 1 || m->ndim > RBPE_MAX_DIMS) why = "bad dimension count";
    else if (m->channels < 1 || m->channels > 4) why = "bad channel count";
    else if (c->hidden_layers < 0 || c->hidden_layers > RBPE_MAX_HIDDEN)
      why = "bad layer count";
    else if (c->width < 1 || c->width > RBPE_MAX_WIDTH) why = "bad width";
    else if ((unsigned)c->out_act > RBPE_ACT_SIGMOID) why = "bad activation";
    else if (m->sample_rate < 0) why = "bad sample rate";
    else if (flags & ~(MODEL_FLAG_RATE | MODEL_FLAG_AFFINE | MODEL_FLAG_NORM |
                       MODEL_FLAG_FIELD))
      why = "unknown flags";
    else if ((flags & MODEL_FLAG_FIELD) &&
             (c->embed.kind != RBPE_EMBED_RBF || !has_map || c->field.cells == 0 ||
              (unsigned)c->field.zero_mean > 1 ||
              rbpe_field_check_config(err, &c->field) != RBPE_OK))
      why = "bad sigma field settings";
    else if ((flags & MODEL_FLAG_NORM) &&
             (c->embed.kind != RBPE_EMBED_RBF ||
              !(c->embed.rbf_norm_ref > 0.0f) ||
              !isfinite(c->embed.rbf_norm_ref)))
      why = "bad normalisation reference";
    else if (!(m->out_scale > 0.0f) || !isfinite(m->out_scale) ||
             !isfinite(m->out_offset))
      why = "bad output scale";
    else if ((unsigned)c->sigma_mode > RBPE_SIGMA_POLY ||
             (unsigned)c->sigma_at > RBPE_SIGMA_AT_POLY || has_map > 1 ||
             (has_map == 0 && (!(c->sigma > 0.0f) || !isfinite(c->sigma))))
      why = "bad sigma model";
    size_t samples = 1;
    for (int a = 0; a < m->ndim && !why; a++)
      if (m->dims[a] == 0 || !rbpe_mul_ok(samples, m->dims[a], &samples) ||
          samples > RBPE_MAX_SAMPLES)
        why = "bad grid size";
    if (why) {
      st = bad(err, path, why);
      goto done;
    }
  }
  st = rbpe_embedding_create(ctx, &c->embed, m->ndim, &m->emb);
  if (st != RBPE_OK) {
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: not a usable rbpe model: %s", path, err->msg);
    goto done;
  }
  if (has_map) {
    size_t ns = rbpe_model_samples(m);
    int ok = (m->sigma_map = malloc(ns * sizeof(float))) != NULL &&
             get_f32s(&r, m->sigma_map, ns);
    for (size_t i = 0; ok && i < ns; i++)
      if (!(m->sigma_map[i] > 0.0f)) ok = 0;
    if (!ok) {
      st = bad(err, path, r.short_read ? "truncated sigma map" : "bad sigma map");
      goto done;
    }
  }
  if (c->embed.kind == RBPE_EMBED_RFF) {
    size_t nb = (size_t)c->embed.rff_features * m->ndim;
    float *B = malloc(nb * sizeof(float));
    int ok = B && get_f32s(&r, B, nb);
    if (ok) rbpe_embedding_set_rff(m->emb, B);
    free(B);
    if (!ok) {
      st = bad(err, path, r.short_read ? "truncated RFF matrix"
                                       : "non-finite RFF matrix");
      goto done;
    }
  }
  {
    rbpe_mlp_shape shape;
    rbpe_model_shape(c, rbpe_embedding_dim(m->emb), m->channels, &shape);
    /* the weights the shape implies must be exactly what is left */
    size_t want = rbpe_mlp_param_count(&shape);
    if ((r.len - r.pos) / 4 != want || (r.len - r.pos) % 4) {
      st = bad(err, path, "weight count does not match the layer sizes");
      goto done;
    }
    st = rbpe_mlp_host_alloc(err, &shape, &m->mlp);
    if (st != RBPE_OK) goto done;
    for (int l = 0; l < shape.nlin; l++)
      if (!get_f32s(&r, m->mlp.W[l], (size_t)shape.sizes[l] * shape.sizes[l + 1]) ||
          !get_f32s(&r, m->mlp.b[l], (size_t)shape.sizes[l + 1])) {
        st = bad(err, path, "non-finite weights");
        goto done;
      }
  }
done:
  free(bytes);
  if (st != RBPE_OK) {
    rbpe_model_free(m);
    return st;
  }
  *out = m;
  return RBPE_OK;
}
