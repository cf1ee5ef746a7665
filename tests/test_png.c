/* PNG input for every colour type and bit depth, round trips through
 * rbpe_signal_save_png, and damaged input: missing, empty, foreign,
 * truncated at every byte, absurd header sizes, corrupt data. */
#include <png.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

#include "rbpe.h"
#include "testutil.h"

static char dir[] = "/tmp/rbpe_test_png.XXXXXX";

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s", dir, name);
}

/* Writes a PNG with libpng directly: values[] are raw sample values. */
static int write_raw(const char *path, int w, int h, int depth, int ctype,
                     const unsigned *values, int interlace, int with_trns) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, 0, 0, 0);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    return 0;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, ctype,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (ctype == PNG_COLOR_TYPE_PALETTE) {
    png_color pal[16];
    for (int i = 0; i < 16; i++) {
      pal[i].red = (png_byte)(i * 16);
      pal[i].green = (png_byte)(255 - i * 16);
      pal[i].blue = (png_byte)(i * 5);
    }
    png_set_PLTE(png, info, pal, 1 << (depth < 4 ? depth : 4));
    if (with_trns) {
      png_byte t[2] = {0, 128};
      png_set_tRNS(png, info, t, 2, NULL);
    }
  }
  png_write_info(png, info);
  int ch = ctype == PNG_COLOR_TYPE_GRAY ? 1
           : ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
           : ctype == PNG_COLOR_TYPE_RGB ? 3
           : ctype == PNG_COLOR_TYPE_RGBA ? 4
                                           : 1;
  /* Pack into bytes (MSB-first for sub-byte depths, big-endian for 16). */
  size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
  png_bytep *rows = calloc(h, sizeof *rows);
  for (int y = 0; y < h; y++) {
    rows[y] = calloc(rowbytes, 1);
    for (int i = 0; i < w * ch; i++) {
      unsigned v = values[(size_t)y * w * ch + i];
      if (depth == 16) {
        rows[y][2 * i] = (png_byte)(v >> 8);
        rows[y][2 * i + 1] = (png_byte)v;
      } else if (depth == 8) {
        rows[y][i] = (png_byte)v;
      } else {
        size_t bit = (size_t)i * depth;
        rows[y][bit / 8] |= (png_byte)(v << (8 - depth - bit % 8));
      }
    }
  }
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  for (int y = 0; y < h; y++) free(rows[y]);
  free(rows);
  fclose(f);
  return 1;
}

static void check_format(rbpe_ctx *ctx, int depth, int ctype, int interlace,
                         int trns) {
  const int w = 13, h = 7; /* odd sizes exercise padding and Adam7 */
  int ch = ctype == PNG_COLOR_TYPE_GRAY ? 1
           : ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
           : ctype == PNG_COLOR_TYPE_RGB ? 3
           : ctype == PNG_COLOR_TYPE_RGBA ? 4
                                           : 1;
  unsigned maxv = ctype == PNG_COLOR_TYPE_PALETTE ? (1u << (depth < 4 ? depth : 4)) - 1
                                                  : (1u << depth) - 1;
  unsigned *vals = malloc(sizeof(unsigned) * w * h * ch);
  for (int i = 0; i < w * h * ch; i++) vals[i] = (unsigned)(i * 7919u) % (maxv + 1);
  char path[256];
  snprintf(path, sizeof path, "%s/fmt_%d_%d_%d_%d.png", dir, depth, ctype,
           interlace, trns);
  CHECK(write_raw(path, w, h, depth, ctype, vals, interlace, trns),
        "writing %s", path);
  rbpe_signal *s = NULL;
  rbpe_status st = rbpe_signal_load_png(ctx, path, &s);
  CHECK(st == RBPE_OK, "loading depth %d type %d: %s", depth, ctype,
        rbpe_last_error(ctx));
  if (s) {
    int outc = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    CHECK(rbpe_signal_ndim(s) == 2 && rbpe_signal_dim(s, 0) == (size_t)h &&
              rbpe_signal_dim(s, 1) == (size_t)w &&
              rbpe_signal_channels(s) == outc,
          "shape of depth %d type %d", depth, ctype);
    const float *d = rbpe_signal_data(s);
    int bad = 0;
    for (int p = 0; p < w * h; p++)
      for (int c = 0; c < outc; c++) {
        float want;
        if (ctype == PNG_COLOR_TYPE_PALETTE) {
          unsigned idx = vals[p];
          unsigned rgb[3] = {idx * 16, 255 - idx * 16, idx * 5};
          want = rgb[c] / 255.0f;
        } else {
          int srcch = ch; /* alpha, if any, is the last channel: skipped */
          unsigned v = vals[p * srcch + c];
          int outbits = depth < 8 ? 8 : depth;
          /* sub-8-bit gray is scaled up by libpng to 8 bits exactly */
          unsigned scaled = depth < 8 ? v * (255u / maxv) : v;
          want = (float)scaled / (float)((1u << outbits) - 1);
        }
        if (d[p * outc + c] != want) bad++;
      }
    CHECK(bad == 0, "depth %d type %d interlace %d: %d values differ", depth,
          ctype, interlace, bad);
    rbpe_signal_free(s);
  }
  free(vals);
}

static void check_roundtrip(rbpe_ctx *ctx, int channels, int depth) {
  size_t dims[2] = {5, 9};
  float data[5 * 9 * 3];
  unsigned maxv = depth == 8 ? 255 : 65535;
  for (int i = 0; i < 5 * 9 * channels; i++)
    data[i] = (float)((i * 37u) % (maxv + 1)) / (float)maxv;
  rbpe_signal *s = NULL, *back = NULL;
  CHECK(rbpe_signal_from_data(ctx, 2, dims, channels, data, &s) == RBPE_OK,
        "%s", rbpe_last_error(ctx));
  char path[256];
  path_of(path, sizeof path, "roundtrip.png");
  CHECK(rbpe_signal_save_png(ctx, s, path, depth) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  CHECK(rbpe_signal_load(ctx, path, &back) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  if (back) {
    CHECK(rbpe_signal_channels(back) == channels &&
              rbpe_signal_source_bits(back) == depth,
          "round trip shape");
    CHECK(!memcmp(rbpe_signal_data(back), data,
                  sizeof(float) * 5 * 9 * channels),
          "round trip %d ch %d bit values differ", channels, depth);
  }
  rbpe_signal_free(s);
  rbpe_signal_free(back);
  unlink(path);
}

static void expect_error(rbpe_ctx *ctx, const char *path, rbpe_status want,
                         const char *what) {
  rbpe_signal *s = (rbpe_signal *)0x1;
  rbpe_status st = rbpe_signal_load_png(ctx, path, &s);
  CHECK(st == want, "%s: status %s, expected %s (%s)", what,
        rbpe_status_string(st), rbpe_status_string(want), rbpe_last_error(ctx));
  CHECK(s == NULL, "%s: output not cleared", what);
  CHECK(strlen(rbpe_last_error(ctx)) > 10, "%s: no message", what);
  if (st == RBPE_OK) rbpe_signal_free(s);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  if (n) fwrite(b, 1, n, f);
  fclose(f);
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n);
  *n = fread(b, 1, *n, f);
  fclose(f);
  return b;
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* A PNG signature and a valid IHDR claiming w x h, then nothing. */
static void write_header_only(const char *path, uint32_t w, uint32_t h) {
  unsigned char b[8 + 25] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put32(b + 8, 13);
  memcpy(b + 12, "IHDR", 4);
  put32(b + 16, w);
  put32(b + 20, h);
  b[24] = 8; /* depth */
  b[25] = 0; /* gray */
  b[26] = b[27] = b[28] = 0;
  put32(b + 29, (uint32_t)crc32(0, b + 12, 17));
  write_bytes(path, b, sizeof b);
}

int main(void) {
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  rbpe_ctx *ctx = rbpe_ctx_new();

  static const int gray_depths[] = {1, 2, 4, 8, 16};
  for (int i = 0; i < 5; i++) check_format(ctx, gray_depths[i], PNG_COLOR_TYPE_GRAY, 0, 0);
  for (int d = 8; d <= 16; d += 8) {
    check_format(ctx, d, PNG_COLOR_TYPE_GRAY_ALPHA, 0, 0);
    check_format(ctx, d, PNG_COLOR_TYPE_RGB, 0, 0);
    check_format(ctx, d, PNG_COLOR_TYPE_RGBA, 0, 0);
    check_format(ctx, d, PNG_COLOR_TYPE_RGB, 1, 0);
  }
  static const int pal_depths[] = {1, 2, 4, 8};
  for (int i = 0; i < 4; i++) {
    check_format(ctx, pal_depths[i], PNG_COLOR_TYPE_PALETTE, 0, 0);
    check_format(ctx, pal_depths[i], PNG_COLOR_TYPE_PALETTE, 0, 1);
  }
  check_format(ctx, 16, PNG_COLOR_TYPE_GRAY, 1, 0);

  check_roundtrip(ctx, 1, 8);
  check_roundtrip(ctx, 3, 8);
  check_roundtrip(ctx, 1, 16);
  check_roundtrip(ctx, 3, 16);

  char path[256];
  path_of(path, sizeof path, "does-not-exist.png");
  expect_error(ctx, path, RBPE_ERR_IO, "missing file");
  path_of(path, sizeof path, "empty.png");
  write_bytes(path, NULL, 0);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "empty file");
  path_of(path, sizeof path, "text.png");
  write_bytes(path, (const unsigned char *)"hello, not a png\n", 17);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "text file");
  path_of(path, sizeof path, "jpeg.png");
  write_bytes(path, (const unsigned char *)"\xff\xd8\xff\xe0\0\x10JFIF\0", 11);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "JPEG header");

  /* Truncated at every length: always an error, never a crash or leak. */
  char good[256];
  snprintf(good, sizeof good, "%s/fmt_8_2_0_0.png", dir);
  size_t n;
  unsigned char *bytes = read_all(good, &n);
  path_of(path, sizeof path, "truncated.png");
  int truncation_failures = 0;
  for (size_t len = 0; len < n; len++) {
    write_bytes(path, bytes, len);
    rbpe_signal *s = NULL;
    if (rbpe_signal_load_png(ctx, path, &s) == RBPE_OK) {
      truncation_failures++;
      rbpe_signal_free(s);
    }
  }
  CHECK(truncation_failures == 0, "%d truncated lengths of %zu were accepted",
        truncation_failures, n);
  /* A flipped byte inside the image data breaks its CRC. */
  bytes[n / 2] ^= 0x55;
  write_bytes(path, bytes, n);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "corrupt IDAT");
  free(bytes);

  /* Absurd dimensions: refused from the header, before allocating. */
  path_of(path, sizeof path, "huge.png");
  write_header_only(path, 1000000, 1000000);
  expect_error(ctx, path, RBPE_ERR_TOO_LARGE, "1e6 x 1e6 header");
  write_header_only(path, 0x7fffffffu, 1);
  expect_error(ctx, path, RBPE_ERR_TOO_LARGE, "2^31-1 wide header");
  write_header_only(path, 0, 5);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "zero width header");
  write_header_only(path, 0x80000000u, 1);
  expect_error(ctx, path, RBPE_ERR_BAD_FORMAT, "2^31 wide header");

  /* Saving refuses what PNG cannot hold, and a bad path loses nothing. */
  size_t d1 = 10;
  float v[10] = {0};
  rbpe_signal *one = NULL;
  CHECK(rbpe_signal_from_data(ctx, 1, &d1, 1, v, &one) == RBPE_OK, "1-D");
  path_of(path, sizeof path, "one.png");
  CHECK(rbpe_signal_save_png(ctx, one, path, 8) == RBPE_ERR_INVALID_ARGUMENT,
        "1-D signal saved as PNG");
  rbpe_signal_free(one);
  rbpe_signal *img = NULL;
  size_t d2[2] = {2, 2};
  CHECK(rbpe_signal_from_data(ctx, 2, d2, 1, v, &img) == RBPE_OK, "2-D");
  CHECK(rbpe_signal_save_png(ctx, img, "/nonexistent-dir/x.png", 8) ==
            RBPE_ERR_IO,
        "save into a missing folder");
  CHECK(rbpe_signal_save_png(ctx, img, good, 12) == RBPE_ERR_INVALID_ARGUMENT,
        "bit depth 12");
  rbpe_signal_free(img);

  rbpe_ctx_free(ctx);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return test_summary("test_png");
}
