/* Audio input through libsndfile (WAV, AIFF, FLAC, Ogg/Vorbis and the
 * other formats it reads) and WAV output. The input is read once into
 * memory (many audio headers need seeking, which a pipe cannot do) and
 * libsndfile reads it through a virtual file over that memory. */
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "internal.h"

/* The most an audio input may hold: the largest signal at 32-bit samples
 * in every channel a signal can have, plus room for headers. */
#define AUDIO_MAX_BYTES (RBPE_MAX_SAMPLES * sizeof(float) * RBPE_MAX_CHANNELS + (1u << 20))

typedef struct memfile {
  const unsigned char *p;
  sf_count_t len, pos;
} memfile;

static sf_count_t vf_len(void *u) { return ((memfile *)u)->len; }
static sf_count_t vf_seek(sf_count_t off, int whence, void *u) {
  memfile *m = u;
  sf_count_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->len : 0;
  sf_count_t to = base + off;
  if (to < 0 || to > m->len) return -1;
  m->pos = to;
  return to;
}
static sf_count_t vf_read(void *buf, sf_count_t n, void *u) {
  memfile *m = u;
  if (n > m->len - m->pos) n = m->len - m->pos;
  if (n > 0) memcpy(buf, m->p + m->pos, (size_t)n);
  m->pos += n;
  return n;
}
static sf_count_t vf_write(const void *buf, sf_count_t n, void *u) {
  (void)buf, (void)n, (void)u;
  return 0;
}
static sf_count_t vf_tell(void *u) { return ((memfile *)u)->pos; }

rbpe_status rbpe_audio_read(rbpe_err *err, rbpe_input *in, int channel,
                            rbpe_signal **out) {
  *out = NULL;
  const char *path = in->name;
  unsigned char *bytes = NULL;
  size_t len = 0;
  RBPE_TRY(rbpe_input_slurp(err, in, AUDIO_MAX_BYTES, &bytes, &len));
  memfile mf = {bytes, (sf_count_t)len, 0};
  SF_VIRTUAL_IO vio = {vf_len, vf_seek, vf_read, vf_write, vf_tell};
  SF_INFO info;
  memset(&info, 0, sizeof info);
  SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &mf);
  if (!sf) {
    rbpe_status st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                                  "%s: damaged or unsupported audio: %s", path,
                                  sf_strerror(NULL));
    free(bytes);
    return st;
  }
  rbpe_status st = RBPE_OK;
  int C = info.channels;
  float *frame = NULL;
  rbpe_signal *s = NULL;
  if (info.frames <= 0 || C < 1)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT, "%s: no audio samples", path);
  else if ((uint64_t)info.frames > RBPE_MAX_SAMPLES)
    st = rbpe_err_set(err, RBPE_ERR_TOO_LARGE,
                      "%s: %lld samples exceed the limit of %zu", path,
                      (long long)info.frames, RBPE_MAX_SAMPLES);
  else if (channel >= C)
    st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                      "%s: channel %d asked for, the audio has %d", path,
                      channel + 1, C);
  else if (channel < 0 && C > RBPE_MAX_CHANNELS)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: %d audio channels, and a signal holds 1 to %d: "
                      "choose one (--channel)",
                      path, C, RBPE_MAX_CHANNELS);
  if (st == RBPE_OK) {
    size_t n = (size_t)info.frames;
    int keep = channel < 0 ? C : 1;
    st = rbpe_signal_alloc(err, 1, &n, keep, &s);
    frame = st == RBPE_OK ? malloc(4096 * (size_t)C * sizeof(float)) : NULL;
    if (st == RBPE_OK && !frame)
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    size_t done = 0;
    while (st == RBPE_OK && done < n) {
      sf_count_t want = (sf_count_t)(n - done < 4096 ? n - done : 4096);
      sf_count_t got = sf_readf_float(sf, frame, want);
      if (got <= 0) {
        st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                          "%s: damaged audio: the samples end early at %zu of "
                          "%zu",
                          path, done, n);
        break;
      }
      for (sf_count_t i = 0; i < got; i++)
        for (int c = 0; c < keep; c++)
          s->data[(done + (size_t)i) * keep + c] =
              frame[i * C + (channel < 0 ? c : channel)];
      done += (size_t)got;
    }
    for (size_t i = 0; st == RBPE_OK && i < n * (size_t)keep; i++)
      if (!isfinite(s->data[i]))
        st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                          "%s: audio sample %zu is not a finite number", path,
                          i / (size_t)keep);
  }
  if (st == RBPE_OK) {
    s->sample_rate = info.samplerate > 0 ? info.samplerate : 0;
    int sub = info.format & SF_FORMAT_SUBMASK;
    s->source_bits = sub == SF_FORMAT_PCM_S8 || sub == SF_FORMAT_PCM_U8 ? 8
                     : sub == SF_FORMAT_PCM_16                          ? 16
                     : sub == SF_FORMAT_PCM_24                          ? 24
                                                                        : 32;
  }
  sf_close(sf);
  free(frame);
  free(bytes);
  return rbpe_signal_hand_over(st, s, out);
}

/* ---- WAV output ------------------------------------------------------------ */

typedef struct wav_job {
  const rbpe_signal *sig;
  int rate;
} wav_job;

static sf_count_t fvf_len(void *u) {
  FILE *f = u;
  long here = ftell(f);
  fseek(f, 0, SEEK_END);
  long end = ftell(f);
  fseek(f, here, SEEK_SET);
  return end;
}
static sf_count_t fvf_seek(sf_count_t off, int whence, void *u) {
  FILE *f = u;
  if (fseek(f, (long)off, whence) != 0) return -1;
  return ftell(f);
}
static sf_count_t fvf_read(void *buf, sf_count_t n, void *u) {
  return (sf_count_t)fread(buf, 1, (size_t)n, u);
}
static sf_count_t fvf_write(const void *buf, sf_count_t n, void *u) {
  return (sf_count_t)fwrite(buf, 1, (size_t)n, u);
}
static sf_count_t fvf_tell(void *u) { return ftell(u); }

static rbpe_status write_wav(FILE *f, void *user, rbpe_err *err) {
  wav_job *j = user;
  SF_INFO info;
  memset(&info, 0, sizeof info);
  info.samplerate = j->rate;
  info.channels = j->sig->channels;
  /* 32-bit float: the model's values as computed, any range */
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SF_VIRTUAL_IO vio = {fvf_len, fvf_seek, fvf_read, fvf_write, fvf_tell};
  SNDFILE *sf = sf_open_virtual(&vio, SFM_WRITE, &info, f);
  RBPE_FAIL_IF(!sf, err, RBPE_ERR_IO, "cannot write WAV: %s", sf_strerror(NULL));
  sf_count_t n = (sf_count_t)j->sig->samples;
  sf_count_t put = sf_writef_float(sf, j->sig->data, n);
  int rc = sf_close(sf);
  RBPE_FAIL_IF(put != n || rc != 0, err, RBPE_ERR_IO, "writing WAV failed");
  return RBPE_OK;
}

rbpe_status rbpe_signal_save_wav(rbpe_ctx *ctx, const rbpe_signal *sig,
                                 const char *path, int sample_rate) {
  rbpe_err_clear(&ctx->err);
  RBPE_FAIL_IF(!sig || !path, &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "save_wav: NULL argument");
  RBPE_FAIL_IF(sig->ndim != 1, &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "WAV holds 1-D signals, not %d-D", sig->ndim);
  RBPE_FAIL_IF(sample_rate < 1 || sample_rate > 1000000, &ctx->err,
               RBPE_ERR_INVALID_ARGUMENT, "sample rate %d Hz (1..1000000)",
               sample_rate);
  RBPE_FAIL_IF(!strcmp(path, "-"), &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "WAV needs a seekable file, not standard output");
  wav_job j = {sig, sample_rate};
  return rbpe_write_atomic(path, write_wav, &j, &ctx->err);
}
