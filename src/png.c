/* PNG input and output through libpng. libpng reports errors by longjmp;
 * everything allocated across the setjmp is reachable from volatile
 * locals so every error path frees it. Warnings are silenced: the library
 * never prints. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "internal.h"

typedef struct png_errctx {
  char msg[256];
} png_errctx;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_errctx *e = png_get_error_ptr(png);
  if (e) snprintf(e->msg, sizeof e->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

/* libpng's reads come from the input: its head first, then the stream. */
static void read_input(png_structp png, png_bytep data, png_size_t len) {
  rbpe_input *in = png_get_io_ptr(png);
  if (rbpe_input_read(in, data, len) != len)
    png_error(png, in->error ? "read error" : "the file ends early (truncated)");
}

rbpe_status rbpe_signal_load_png(rbpe_ctx *ctx, const char *path,
                                 rbpe_signal **out) {
  rbpe_err_clear(&ctx->err);
  *out = NULL;
  rbpe_input in;
  RBPE_TRY(rbpe_input_open(&ctx->err, path, &in));
  rbpe_status st = rbpe_png_read(&ctx->err, &in, out);
  rbpe_input_close(&in);
  return st;
}

/* The signature, and absurd sizes refused from the IHDR itself, before
 * libpng reads further or anything is allocated (a valid PNG starts with
 * IHDR). Sizes PNG itself forbids (0, >= 2^31) are left to libpng. */
static rbpe_status check_head(rbpe_err *err, const rbpe_input *in) {
  const char *path = in->name;
  const unsigned char *head = in->head;
  size_t got = in->head_n;
  RBPE_FAIL_IF(got == 0, err, RBPE_ERR_BAD_FORMAT, "%s: empty file", path);
  RBPE_FAIL_IF(got < 8 || png_sig_cmp(head, 0, 8) != 0, err,
               RBPE_ERR_BAD_FORMAT, "%s: not a PNG file", path);
  if (got >= 24 && memcmp(head + 12, "IHDR", 4) == 0) {
    uint32_t w = (uint32_t)head[16] << 24 | (uint32_t)head[17] << 16 |
                 (uint32_t)head[18] << 8 | head[19];
    uint32_t h = (uint32_t)head[20] << 24 | (uint32_t)head[21] << 16 |
                 (uint32_t)head[22] << 8 | head[23];
    RBPE_FAIL_IF(w && h && w <= PNG_UINT_31_MAX && h <= PNG_UINT_31_MAX &&
                     (uint64_t)w * h > RBPE_MAX_SAMPLES,
                 err, RBPE_ERR_TOO_LARGE,
                 "%s: %ux%u pixels exceed the limit of %zu samples", path,
                 (unsigned)w, (unsigned)h, RBPE_MAX_SAMPLES);
  }
  return RBPE_OK;
}

/* 8- or 16-bit big-endian samples to [0, 1]. */
static void to_unit(const unsigned char *px, size_t count, int depth, float *d) {
  if (depth == 8) {
    for (size_t i = 0; i < count; i++) d[i] = px[i] / 255.0f;
  } else {
    for (size_t i = 0; i < count; i++)
      d[i] = (float)((px[2 * i] << 8) | px[2 * i + 1]) / 65535.0f;
  }
}

rbpe_status rbpe_png_read(rbpe_err *err, rbpe_input *in, rbpe_signal **out) {
  *out = NULL;
  const char *path = in->name;
  RBPE_TRY(check_head(err, in));
  in->head_pos = 8; /* the signature is read */
  png_errctx ectx = {{0}};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &ectx, on_png_error,
                             on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  rbpe_signal *volatile sig = NULL;
  unsigned char *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  volatile rbpe_status st = RBPE_OK;

  if (setjmp(png_jmpbuf(png))) {
    if (st == RBPE_OK)
      st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT, "%s: damaged PNG: %s", path,
                        ectx.msg[0] ? ectx.msg : "libpng error");
    goto done;
  }
  png_set_read_fn(png, in, read_input);
  png_set_sig_bytes(png, 8);
  /* libpng checks only the PNG format limit here; rbpe_signal_alloc below
   * refuses absurd sizes with its own message before anything is allocated. */
  png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
  png_read_info(png, info);

  png_uint_32 w = png_get_image_width(png, info);
  png_uint_32 h = png_get_image_height(png, info);
  int depth = png_get_bit_depth(png, info);
  int ctype = png_get_color_type(png, info);
  size_t dims[2] = {h, w};
  {
    rbpe_signal *s;
    int ch = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    st = rbpe_signal_alloc(err, 2, dims, ch, &s);
    if (st != RBPE_OK) {
      if (st == RBPE_ERR_TOO_LARGE)
        st = rbpe_err_set(err, RBPE_ERR_TOO_LARGE,
                          "%s: %ux%u pixels exceed the limit of %zu samples",
                          path, (unsigned)w, (unsigned)h, RBPE_MAX_SAMPLES);
      goto done;
    }
    sig = s;
  }
  /* Everything becomes 8- or 16-bit gray or RGB without alpha. */
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_strip_alpha(png);
  int passes = png_set_interlace_handling(png);
  (void)passes;
  png_read_update_info(png, info);

  int channels = png_get_channels(png, info);
  int outdepth = png_get_bit_depth(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if (channels != sig->channels || (outdepth != 8 && outdepth != 16) ||
      rowbytes != (size_t)w * channels * (outdepth / 8)) {
    st = rbpe_err_set(err, RBPE_ERR_BAD_FORMAT,
                      "%s: unsupported PNG layout (%d channels, %d bits)",
                      path, channels, outdepth);
    goto done;
  }
  pixels = malloc(rowbytes * h);
  rows = malloc(sizeof(png_bytep) * h);
  if (!pixels || !rows) {
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY,
                      "out of memory for a %ux%u PNG", (unsigned)w,
                      (unsigned)h);
    goto done;
  }
  for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);

  to_unit(pixels, (size_t)w * h * channels, outdepth, sig->data);
  sig->source_bits = outdepth;

done:
  png_destroy_read_struct(&png, &info, NULL);
  free(pixels);
  free(rows);
  return rbpe_signal_hand_over(st, sig, out);
}

typedef struct png_job {
  const rbpe_signal *sig;
  int depth;
  const char *path;
} png_job;

static unsigned quantise(float v, unsigned maxv) {
  if (!(v > 0.0f)) return 0; /* also NaN */
  if (v >= 1.0f) return maxv;
  return (unsigned)(v * (float)maxv + 0.5f);
}

static rbpe_status write_png(FILE *f, void *user, rbpe_err *err) {
  png_job *job = user;
  const rbpe_signal *s = job->sig;
  size_t h = s->dims[0], w = s->dims[1];
  int ch = s->channels, bytes = job->depth / 8;
  size_t rowbytes = w * ch * bytes;
  png_errctx ectx = {{0}};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ectx,
                                            on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  unsigned char *volatile row = malloc(rowbytes);
  if (!info || !row) {
    png_destroy_write_struct(png ? &png : NULL, NULL);
    free(row);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(row);
    return rbpe_err_set(err, RBPE_ERR_IO, "writing PNG %s failed: %s",
                        job->path, ectx.msg);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, job->depth,
               ch == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  unsigned maxv = job->depth == 8 ? 255u : 65535u;
  for (size_t y = 0; y < h; y++) {
    const float *src = s->data + y * w * ch;
    for (size_t i = 0; i < w * ch; i++) {
      unsigned q = quantise(src[i], maxv);
      if (bytes == 1) {
        row[i] = (unsigned char)q;
      } else {
        row[2 * i] = (unsigned char)(q >> 8);
        row[2 * i + 1] = (unsigned char)(q & 0xff);
      }
    }
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(row);
  return RBPE_OK;
}

rbpe_status rbpe_signal_save_png(rbpe_ctx *ctx, const rbpe_signal *sig,
                                 const char *path, int bit_depth) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  RBPE_FAIL_IF(sig->ndim != 2, err, RBPE_ERR_INVALID_ARGUMENT,
               "only 2-D signals can be saved as PNG (this one has %d axes)",
               sig->ndim);
  RBPE_FAIL_IF(sig->channels != 1 && sig->channels != 3, err,
               RBPE_ERR_INVALID_ARGUMENT,
               "PNG output needs 1 or 3 channels, not %d", sig->channels);
  RBPE_FAIL_IF(bit_depth != 8 && bit_depth != 16, err,
               RBPE_ERR_INVALID_ARGUMENT, "PNG bit depth %d (8 or 16)",
               bit_depth);
  RBPE_FAIL_IF(sig->dims[0] > (size_t)RBPE_MAX_SIDE ||
                   sig->dims[1] > (size_t)RBPE_MAX_SIDE,
               err, RBPE_ERR_TOO_LARGE, "image side exceeds %d pixels",
               RBPE_MAX_SIDE);
  png_job job = {sig, bit_depth, path};
  return rbpe_write_atomic(path, write_png, &job, err);
}
