/* One input, opened once and read once: a file, a pipe, a FIFO, process
 * substitution, or standard input ("-"). Loaders sniff the format from the
 * first bytes (kept in head) and then read on from the same stream, so
 * nothing depends on seeking or opening a path twice. */
#ifndef RBPE_INPUT_H
#define RBPE_INPUT_H

#include <stdio.h>

#include "base/error.h"

#define RBPE_INPUT_HEAD 64

typedef struct rbpe_input {
  FILE *f;
  int owned;              /* fclose on close (not standard input) */
  const char *name;       /* for messages: the path, or "standard input" */
  unsigned char head[RBPE_INPUT_HEAD];
  size_t head_n, head_pos;
  int error;              /* a read failed (errno in error_errno) */
  int error_errno;
} rbpe_input;

/* Opens path ("-": standard input) and reads up to RBPE_INPUT_HEAD bytes
 * into head (fewer only at the end of the input). */
rbpe_status rbpe_input_open(rbpe_err *err, const char *path, rbpe_input *in);
/* Up to n bytes: the unread part of head first, then the stream; fewer
 * only at the end of the input or on a read error (in->error set). */
size_t rbpe_input_read(rbpe_input *in, void *buf, size_t n);
/* Everything left in the input (head included) into a malloc'd buffer;
 * RBPE_ERR_TOO_LARGE past max bytes. */
rbpe_status rbpe_input_slurp(rbpe_err *err, rbpe_input *in, size_t max,
                             unsigned char **bytes, size_t *len);
/* The next byte, or EOF. */
int rbpe_input_getc(rbpe_input *in);
void rbpe_input_close(rbpe_input *in);

/* The loaders, each reading from an input whose head is unread. */
rbpe_status rbpe_png_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out);
rbpe_status rbpe_text_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out);
rbpe_status rbpe_model_read(rbpe_ctx *ctx, rbpe_input *in, rbpe_model **out);
rbpe_status rbpe_jpeg_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out);
/* channel: -1 every channel (at most RBPE_MAX_CHANNELS), else that one */
rbpe_status rbpe_audio_read(rbpe_err *err, rbpe_input *in, int channel,
                            rbpe_signal **out);

/* Which loader an input's first bytes ask for. */
typedef enum {
  RBPE_INPUT_PNG,
  RBPE_INPUT_JPEG,
  RBPE_INPUT_AUDIO,
  RBPE_INPUT_MODEL,
  RBPE_INPUT_TEXT,
  RBPE_INPUT_UNSUPPORTED /* a known format rbpe does not read */
} rbpe_input_kind;
/* The kind, and for RBPE_INPUT_UNSUPPORTED the format's name. */
rbpe_input_kind rbpe_input_sniff(const rbpe_input *in, const char **format);

#endif
