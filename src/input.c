/* Inputs read once from a single stream (input.h). */
#include "input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

rbpe_status rbpe_input_open(rbpe_err *err, const char *path, rbpe_input *in) {
  memset(in, 0, sizeof *in);
  if (!strcmp(path, "-")) {
    in->f = stdin;
    in->name = "standard input";
  } else {
    in->f = fopen(path, "rb");
    RBPE_FAIL_IF(!in->f, err, RBPE_ERR_IO, "cannot open %s: %s", path,
                 strerror(errno));
    in->owned = 1;
    in->name = path;
  }
  /* fread returns short only at the end of the input or on an error (it
   * waits on a pipe until enough arrives) */
  in->head_n = fread(in->head, 1, sizeof in->head, in->f);
  if (in->head_n < sizeof in->head && ferror(in->f)) {
    int e = errno;
    rbpe_input_close(in);
    return rbpe_err_set(err, RBPE_ERR_IO, "reading %s failed: %s", in->name,
                        strerror(e));
  }
  return RBPE_OK;
}

size_t rbpe_input_read(rbpe_input *in, void *buf, size_t n) {
  size_t done = 0;
  if (in->head_pos < in->head_n) {
    size_t k = in->head_n - in->head_pos;
    if (k > n) k = n;
    memcpy(buf, in->head + in->head_pos, k);
    in->head_pos += k;
    done = k;
  }
  if (done < n) {
    size_t want = n - done;
    size_t got = fread((unsigned char *)buf + done, 1, want, in->f);
    if (got < want && ferror(in->f)) {
      in->error = 1;
      in->error_errno = errno;
    }
    done += got;
  }
  return done;
}

int rbpe_input_getc(rbpe_input *in) {
  if (in->head_pos < in->head_n) return in->head[in->head_pos++];
  int c = getc(in->f);
  if (c == EOF && ferror(in->f)) {
    in->error = 1;
    in->error_errno = errno;
  }
  return c;
}

void rbpe_input_close(rbpe_input *in) {
  if (in->f && in->owned) fclose(in->f);
  in->f = NULL;
}

rbpe_status rbpe_input_slurp(rbpe_err *err, rbpe_input *in, size_t max,
                             unsigned char **bytes, size_t *len) {
  *bytes = NULL;
  *len = 0;
  unsigned char *b = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      if (cap >= max) {
        free(b);
        return rbpe_err_set(err, RBPE_ERR_TOO_LARGE, "%s: larger than %zu bytes",
                            in->name, max);
      }
      size_t nc = cap ? cap * 2 : 65536;
      if (nc > max) nc = max;
      unsigned char *nb = realloc(b, nc);
      if (!nb) {
        free(b);
        return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
      }
      b = nb;
      cap = nc;
    }
    size_t want = cap - n;
    size_t got = rbpe_input_read(in, b + n, want);
    n += got;
    if (got < want) break;
  }
  if (in->error) {
    free(b);
    return rbpe_err_set(err, RBPE_ERR_IO, "reading %s failed: %s", in->name,
                        strerror(in->error_errno));
  }
  *bytes = b;
  *len = n;
  return RBPE_OK;
}

static int at(const rbpe_input *in, size_t off, const char *magic, size_t n) {
  return in->head_n >= off + n && !memcmp(in->head + off, magic, n);
}

rbpe_input_kind rbpe_input_sniff(const rbpe_input *in, const char **format) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  *format = NULL;
  if (in->head_n >= 8 && !memcmp(in->head, png, 8)) return RBPE_INPUT_PNG;
  /* PNG-looking but damaged signature: a PNG error is clearer than text */
  if (at(in, 1, "PNG", 3)) return RBPE_INPUT_PNG;
  if (at(in, 0, "\xff\xd8\xff", 3)) return RBPE_INPUT_JPEG;
  if (at(in, 0, "RBPEMODL", 8)) return RBPE_INPUT_MODEL;
  if ((at(in, 0, "RIFF", 4) || at(in, 0, "RIFX", 4) || at(in, 0, "RF64", 4)) &&
      at(in, 8, "WAVE", 4))
    return RBPE_INPUT_AUDIO;
  if (at(in, 0, "FORM", 4) && (at(in, 8, "AIFF", 4) || at(in, 8, "AIFC", 4)))
    return RBPE_INPUT_AUDIO;
  if (at(in, 0, "fLaC", 4) || at(in, 0, "OggS", 4) || at(in, 0, ".snd", 4) ||
      at(in, 0, "caff", 4))
    return RBPE_INPUT_AUDIO;
  static const struct {
    size_t off;
    const char *magic;
    size_t n;
    const char *name;
  } other[] = {
      {0, "GIF87a", 6, "GIF"},          {0, "GIF89a", 6, "GIF"},
      {0, "BM", 2, "BMP"}, /* with its reserved zero bytes: checked below */
      {0, "II*\0", 4, "TIFF"},
      {0, "MM\0*", 4, "TIFF"},          {8, "WEBP", 4, "WebP"},
      {4, "ftypavif", 8, "AVIF"},       {4, "ftypheic", 8, "HEIC"},
      {4, "ftypmif1", 8, "HEIF"},       {4, "ftyp", 4, "MP4/QuickTime"},
      {0, "ID3", 3, "MP3"},             {0, "\x1f\x8b", 2, "gzip"},
      {0, "PK\x03\x04", 4, "ZIP"},      {0, "%PDF", 4, "PDF"},
      {0, "\x93NUMPY", 6, "NumPy .npy"}, {0, "\x89HDF", 4, "HDF5"},
      {0, "\x00\x00\x00\x0cjP  ", 8, "JPEG 2000"},
      {0, "\xff\x4f\xff\x51", 4, "JPEG 2000"},
      {0, "qoif", 4, "QOI"},            {0, "\x76\x2f\x31\x01", 4, "OpenEXR"},
  };
  for (size_t k = 0; k < sizeof other / sizeof other[0]; k++)
    if (at(in, other[k].off, other[k].magic, other[k].n) &&
        (strcmp(other[k].name, "BMP") || at(in, 6, "\0\0\0\0", 4))) {
      *format = other[k].name;
      return RBPE_INPUT_UNSUPPORTED;
    }
  return RBPE_INPUT_TEXT;
}
