/* JPEG input through libjpeg-turbo, read from the single input stream
 * (input.h) by a source manager of its own. libjpeg reports errors by
 * calling error_exit, which longjmps back here; messages are kept, never
 * printed. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "input.h"
#include "internal.h"

typedef struct jerr_ctx {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_error(j_common_ptr cinfo) {
  jerr_ctx *e = (jerr_ctx *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, e->msg);
  longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo) { (void)cinfo; }

typedef struct jsrc {
  struct jpeg_source_mgr pub;
  rbpe_input *in;
  JOCTET buf[16384];
  int ended; /* the input ran out before the end-of-image marker */
} jsrc;

static void src_init(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean src_fill(j_decompress_ptr cinfo) {
  jsrc *s = (jsrc *)cinfo->src;
  size_t n = rbpe_input_read(s->in, s->buf, sizeof s->buf);
  if (n == 0) {
    /* libjpeg's own convention: a fake end-of-image marker, and a note that
     * the file was cut short, turned into an error once decoding stops */
    s->ended = 1;
    s->buf[0] = 0xFF;
    s->buf[1] = JPEG_EOI;
    n = 2;
  }
  s->pub.next_input_byte = s->buf;
  s->pub.bytes_in_buffer = n;
  return TRUE;
}

static void src_skip(j_decompress_ptr cinfo, long count) {
  jsrc *s = (jsrc *)cinfo->src;
  while (count > 0) {
    if ((size_t)count <= s->pub.bytes_in_buffer) {
      s->pub.next_input_byte += count;
      s->pub.bytes_in_buffer -= (size_t)count;
      return;
    }
    count -= (long)s->pub.bytes_in_buffer;
    src_fill(cinfo);
    if (s->ended) return;
  }
}

static void src_term(j_decompress_ptr cinfo) { (void)cinfo; }

rbpe_status rbpe_jpeg_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out) {
  *out = NULL;
  const char *path = in->name;
  struct jpeg_decompress_struct cinfo;
  jerr_ctx jerr;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = on_error;
  jerr.pub.output_message = on_message;
  jsrc *src = calloc(1, sizeof *src);
  RBPE_FAIL_IF(!src, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  rbpe_signal *volatile sig = NULL;
  unsigned char *volatile row = NULL;
  volatile rbpe_status st = RBPE_OK;
  volatile int created = 0;
  if (setjmp(jerr.jump)) {
    if (st == RBPE_OK)
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT, "%s: damaged JPEG: %s", path,
                        src->ended ? "the file ends early (truncated)"
                                   : jerr.msg);
    goto done;
  }
  jpeg_create_decompress(&cinfo);
  created = 1;
  src->in = in;
  src->pub.init_source = src_init;
  src->pub.fill_input_buffer = src_fill;
  src->pub.skip_input_data = src_skip;
  src->pub.resync_to_restart = jpeg_resync_to_restart;
  src->pub.term_source = src_term;
  cinfo.src = &src->pub;
  jpeg_read_header(&cinfo, TRUE);
  if (src->ended) {
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: damaged JPEG: the file ends early (truncated)", path);
    goto done;
  }
  /* sizes first, before anything is decoded or allocated */
  if ((size_t)cinfo.image_width * cinfo.image_height > RBPE_MAX_SAMPLES) {
    st = rbpe_err_set(err, RBPE_ERR_TOO_LARGE,
                      "%s: %ux%u pixels exceed the limit of %zu samples", path,
                      (unsigned)cinfo.image_width,
                      (unsigned)cinfo.image_height, RBPE_MAX_SAMPLES);
    goto done;
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: a CMYK JPEG (print colours); rbpe reads gray and "
                      "colour (RGB) JPEGs",
                      path);
    goto done;
  }
  int gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
  cinfo.out_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  {
    size_t dims[2] = {cinfo.output_height, cinfo.output_width};
    int ch = cinfo.output_components;
    rbpe_signal *s;
    st = rbpe_signal_alloc(err, 2, dims, ch, &s);
    if (st != RBPE_OK) goto done;
    sig = s;
    row = malloc((size_t)cinfo.output_width * (size_t)ch);
    if (!row) {
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
      goto done;
    }
    size_t w = cinfo.output_width * (size_t)ch;
    while (cinfo.output_scanline < cinfo.output_height) {
      size_t y = cinfo.output_scanline;
      JSAMPROW rows[1] = {row};
      jpeg_read_scanlines(&cinfo, rows, 1);
      for (size_t i = 0; i < w; i++) s->data[y * w + i] = row[i] / 255.0f;
    }
    s->source_bits = 8;
  }
  jpeg_finish_decompress(&cinfo);
  if (src->ended)
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: damaged JPEG: the file ends early (truncated)", path);
done:
  if (created) jpeg_destroy_decompress(&cinfo);
  free(row);
  free(src);
  return rbpe_signal_hand_over(st, sig, out);
}
