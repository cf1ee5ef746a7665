/* Inputs read once from a single stream (input.h). */
#include "input.h"

#include <errno.h>
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
    return rbpe_err_set(err, RBPE_ERR_IO, "reading %s failed: %s",
                        !strcmp(path, "-") ? "standard input" : path,
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

rbpe_input_kind rbpe_input_sniff(const rbpe_input *in) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (in->head_n >= 8 && !memcmp(in->head, png, 8)) return RBPE_INPUT_PNG;
  /* PNG-looking but damaged signature: a PNG error is clearer than text */
  if (in->head_n >= 4 && !memcmp(in->head + 1, "PNG", 3)) return RBPE_INPUT_PNG;
  if (in->head_n >= 8 && !memcmp(in->head, "RBPEMODL", 8)) return RBPE_INPUT_MODEL;
  return RBPE_INPUT_TEXT;
}
