/* The model file: little-endian, versioned and CRC-32 checked
 * (ARCHITECTURE.md "Model file"):
 *   "RBPEMODL" | u32 version | u32 flags | u64 payload bytes | payload |
 *   u32 CRC-32 of everything before it.
 * Its payload is written and read field by field below (put_/get_); what
 * a model does with it is model.c. */
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
/* bit 4: two f32 right after the sigma-map flag, the learned sigma's range
 * in coordinate units as the fit resolved it (smin, smax) */
#define MODEL_FLAG_RANGE 16u
#define MODEL_FLAGS_KNOWN                                                   \
  (MODEL_FLAG_RATE | MODEL_FLAG_AFFINE | MODEL_FLAG_NORM | MODEL_FLAG_FIELD | \
   MODEL_FLAG_RANGE)
#define MODEL_HEADER 24
#define MODEL_MAX_BYTES ((size_t)1 << 31)
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
  int range = m->sigma_lo > 0.0f;
  put_u32(&w, (m->sample_rate > 0 ? MODEL_FLAG_RATE : 0u) |
                  (affine ? MODEL_FLAG_AFFINE : 0u) |
                  (norm ? MODEL_FLAG_NORM : 0u) |
                  (field ? MODEL_FLAG_FIELD : 0u) |
                  (range ? MODEL_FLAG_RANGE : 0u));
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
  /* bit 0: diagonals; bits 8..15: the 2-D angles (0 in files before
   * them, so those read as the axes and diagonals they were) */
  put_u32(&w, (uint32_t)(c->embed.rbf_diagonals ? 1 : 0) |
                  ((uint32_t)c->embed.rbf_angles << 8));
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
  if (range) {
    put_f32(&w, m->sigma_lo);
    put_f32(&w, m->sigma_hi);
  }
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

/* The envelope: magic, version, flags, payload size and checksum; leaves
 * r at the payload's start, its end before the checksum. */
static const char *read_header(rbuf *r, uint32_t *version, uint32_t *flags) {
  size_t len = r->len;
  if (len < 8 || memcmp(r->p, MODEL_MAGIC, 8) != 0)
    return "wrong magic (not a model file)";
  if (len < MODEL_HEADER + 4) return "truncated header";
  r->pos = 8;
  *version = get_u32(r);
  if (*version != MODEL_VERSION) return NULL; /* said by the caller */
  *flags = get_u32(r);
  uint64_t payload = get_u64(r);
  if (payload != len - MODEL_HEADER - 4)
    return payload > len - MODEL_HEADER - 4 ? "truncated" : "trailing bytes";
  const unsigned char *b = r->p;
  uint32_t want = (uint32_t)b[len - 4] | (uint32_t)b[len - 3] << 8 |
                  (uint32_t)b[len - 2] << 16 | (uint32_t)b[len - 1] << 24;
  /* Fuzz builds (libFuzzer's convention) read on past a bad checksum so
   * mutated files reach the field checks, which must hold alone. */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  if ((uint32_t)crc32(0L, b, (uInt)(len - 4)) != want)
    return "checksum mismatch (damaged)";
#else
  (void)want;
#endif
  r->len = len - 4;
  return NULL;
}

/* The fixed fields and the optional ones the flags announce, unchecked. */
static void read_fields(rbuf *r, uint32_t flags, rbpe_model *m,
                        uint32_t *has_map) {
  rbpe_fit_config *c = &m->cfg;
  rbpe_fit_config_default(c);
  m->ndim = (int)get_u32(r);
  m->channels = (int)get_u32(r);
  for (int a = 0; a < RBPE_MAX_DIMS; a++) {
    uint64_t d = get_u64(r);
    m->dims[a] = d > RBPE_MAX_SAMPLES ? 0 : (size_t)d;
  }
  c->embed.kind = (rbpe_embed_kind)get_u32(r);
  c->embed.nerf_freqs = (int)get_u32(r);
  c->embed.rff_features = (int)get_u32(r);
  c->embed.rff_scale = get_f32(r);
  c->embed.rbf_centres = (int)get_u32(r);
  uint32_t dirs = get_u32(r);
  c->embed.rbf_diagonals = (int)(dirs & 0xffu);
  c->embed.rbf_angles = (int)(dirs >> 8);
  c->embed.rbf_order = get_f32(r);
  c->embed.seed = get_u64(r);
  c->sigma_mode = (rbpe_sigma_mode)get_u32(r);
  c->sigma = get_f32(r);
  c->sigma_at = (rbpe_sigma_at)get_u32(r);
  c->hidden_layers = (int)get_u32(r);
  c->width = (int)get_u32(r);
  c->out_act = (rbpe_act)get_u32(r);
  c->steps = (int)get_u32(r);
  c->lr = get_f32(r);
  c->batch = (size_t)get_u64(r);
  c->seed = get_u64(r);
  if (r->len - r->pos < sizeof m->split) {
    r->short_read = 1;
  } else {
    memcpy(m->split, r->p + r->pos, sizeof m->split);
    m->split[sizeof m->split - 1] = '\0';
    r->pos += sizeof m->split;
  }
  c->split = m->split;
  *has_map = get_u32(r);
  if (flags & MODEL_FLAG_RANGE) {
    m->sigma_lo = get_f32(r);
    m->sigma_hi = get_f32(r);
  }
  if (flags & MODEL_FLAG_RATE) {
    uint32_t rate = get_u32(r);
    m->sample_rate = rate >= 1 && rate <= 1000000 ? (int)rate : -1;
  }
  m->out_scale = 1.0f;
  m->out_offset = 0.0f;
  if (flags & MODEL_FLAG_AFFINE) {
    m->out_scale = get_f32(r);
    m->out_offset = get_f32(r);
  }
  c->embed.rbf_norm_ref = 0.0f;
  if (flags & MODEL_FLAG_NORM) c->embed.rbf_norm_ref = get_f32(r);
  if (flags & MODEL_FLAG_FIELD) {
    c->field.cells = (int)get_u32(r);
    c->field.holdout = get_f32(r);
    c->field.lr = get_f32(r);
    c->field.every = (int)get_u32(r);
    c->field.from = get_f32(r);
    c->field.until = get_f32(r);
    c->field.range = get_f32(r);
    c->field.zero_mean = (int)get_u32(r);
  }
}

/* Every field validated before it sizes anything: NULL, or what is wrong. */
static const char *check_fields(rbpe_err *err, uint32_t flags,
                                const rbpe_model *m, uint32_t has_map) {
  const rbpe_fit_config *c = &m->cfg;
  if (m->ndim < 1 || m->ndim > RBPE_MAX_DIMS) return "bad dimension count";
  if (m->channels < 1 || m->channels > RBPE_MAX_CHANNELS)
    return "bad channel count";
  if (c->hidden_layers < 0 || c->hidden_layers > RBPE_MAX_HIDDEN)
    return "bad layer count";
  if (c->width < 1 || c->width > RBPE_MAX_WIDTH) return "bad width";
  if ((unsigned)c->out_act > RBPE_ACT_SIGMOID) return "bad activation";
  if (m->sample_rate < 0) return "bad sample rate";
  if (flags & ~MODEL_FLAGS_KNOWN) return "unknown flags";
  if ((flags & MODEL_FLAG_FIELD) &&
      (c->embed.kind != RBPE_EMBED_RBF || !has_map || c->field.cells == 0 ||
       (unsigned)c->field.zero_mean > 1 ||
       rbpe_field_check_config(err, &c->field) != RBPE_OK))
    return "bad sigma field settings";
  if ((flags & MODEL_FLAG_NORM) &&
      (c->embed.kind != RBPE_EMBED_RBF || !(c->embed.rbf_norm_ref > 0.0f) ||
       !isfinite(c->embed.rbf_norm_ref)))
    return "bad normalisation reference";
  if (!(m->out_scale > 0.0f) || !isfinite(m->out_scale) ||
      !isfinite(m->out_offset))
    return "bad output scale";
  if ((unsigned)c->sigma_mode > RBPE_SIGMA_POLY ||
      (unsigned)c->sigma_at > RBPE_SIGMA_AT_POLY || has_map > 1 ||
      (has_map == 0 && (!(c->sigma > 0.0f) || !isfinite(c->sigma))))
    return "bad sigma model";
  if ((flags & MODEL_FLAG_RANGE) &&
      (!has_map || !(m->sigma_lo > 0.0f) || !(m->sigma_hi > m->sigma_lo) ||
       !isfinite(m->sigma_hi)))
    return "bad sigma range";
  size_t samples = 1;
  for (int a = 0; a < m->ndim; a++)
    if (m->dims[a] == 0 || !rbpe_mul_ok(samples, m->dims[a], &samples) ||
        samples > RBPE_MAX_SAMPLES)
      return "bad grid size";
  return NULL;
}

/* The arrays: the sigma map, the RFF matrix and the weights, which must
 * be exactly what is left. */
static const char *read_arrays(rbpe_err *err, rbuf *r, rbpe_model *m,
                               uint32_t has_map, rbpe_status *st) {
  const rbpe_fit_config *c = &m->cfg;
  if (has_map) {
    size_t ns = rbpe_model_samples(m);
    int ok = (m->sigma_map = malloc(ns * sizeof(float))) != NULL &&
             get_f32s(r, m->sigma_map, ns);
    for (size_t i = 0; ok && i < ns; i++)
      if (!(m->sigma_map[i] > 0.0f)) ok = 0;
    if (!ok) return r->short_read ? "truncated sigma map" : "bad sigma map";
  }
  if (c->embed.kind == RBPE_EMBED_RFF) {
    size_t nb = (size_t)c->embed.rff_features * m->ndim;
    float *B = malloc(nb * sizeof(float));
    int ok = B && get_f32s(r, B, nb);
    if (ok) rbpe_embedding_set_rff(m->emb, B);
    free(B);
    if (!ok) return r->short_read ? "truncated RFF matrix" : "non-finite RFF matrix";
  }
  rbpe_mlp_shape shape;
  rbpe_model_shape(c, rbpe_embedding_dim(m->emb), m->channels, &shape);
  size_t want = rbpe_mlp_param_count(&shape);
  if ((r->len - r->pos) / 4 != want || (r->len - r->pos) % 4)
    return "weight count does not match the layer sizes";
  *st = rbpe_mlp_host_alloc(err, &shape, &m->mlp);
  if (*st != RBPE_OK) return NULL;
  for (int l = 0; l < shape.nlin; l++)
    if (!get_f32s(r, m->mlp.W[l], (size_t)shape.sizes[l] * shape.sizes[l + 1]) ||
        !get_f32s(r, m->mlp.b[l], (size_t)shape.sizes[l + 1]))
      return "non-finite weights";
  return NULL;
}

rbpe_status rbpe_model_read(rbpe_ctx *ctx, rbpe_input *in, rbpe_model **out) {
  rbpe_err *err = &ctx->err;
  *out = NULL;
  const char *path = in->name;
  unsigned char *bytes = NULL;
  size_t len = 0;
  RBPE_TRY(rbpe_input_slurp(err, in, MODEL_MAX_BYTES, &bytes, &len));
  rbuf r = {bytes, len, 0, 0};
  uint32_t version = MODEL_VERSION, flags = 0, has_map = 0;
  rbpe_status st = RBPE_OK;
  rbpe_model *m = NULL;
  const char *why = read_header(&r, &version, &flags);
  if (!why && version != MODEL_VERSION)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: model file version %u, this rbpe reads version %u",
                      path, (unsigned)version, MODEL_VERSION);
  if (!why && st == RBPE_OK && !(m = calloc(1, sizeof *m)))
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (!why && st == RBPE_OK) {
    read_fields(&r, flags, m, &has_map);
    why = r.short_read ? "truncated fields" : check_fields(err, flags, m, has_map);
  }
  if (!why && st == RBPE_OK &&
      rbpe_embedding_create(ctx, &m->cfg.embed, m->ndim, &m->emb) != RBPE_OK)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: not a usable rbpe model: %s", path, err->msg);
  if (!why && st == RBPE_OK) why = read_arrays(err, &r, m, has_map, &st);
  if (why) st = bad(err, path, why);
  free(bytes);
  if (st != RBPE_OK) {
    rbpe_model_free(m);
    return st;
  }
  *out = m;
  return RBPE_OK;
}
