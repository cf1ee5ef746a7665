/* 1-D text signals: comments, blank lines, CRLF; and every kind of bad
 * line gets an error naming the line, with nothing leaked. */
#include <unistd.h>

#include "rbpe.h"
#include "testutil.h"

static char path[] = "/tmp/rbpe_test_text.XXXXXX";

static void put(const char *text, size_t n) {
  FILE *f = fopen(path, "wb");
  fwrite(text, 1, n, f);
  fclose(f);
}

static rbpe_status load(rbpe_ctx *ctx, const char *text, rbpe_signal **s) {
  put(text, strlen(text));
  *s = NULL;
  return rbpe_signal_load(ctx, path, s);
}

static void expect(rbpe_ctx *ctx, const char *text, rbpe_status want,
                   const char *needle) {
  rbpe_signal *s;
  rbpe_status st = load(ctx, text, &s);
  CHECK(st == want, "'%s': got %s (%s)", text, rbpe_status_string(st),
        rbpe_last_error(ctx));
  CHECK(s == NULL || st == RBPE_OK, "'%s': output set on error", text);
  if (needle)
    CHECK(strstr(rbpe_last_error(ctx), needle) != NULL,
          "'%s': message '%s' lacks '%s'", text, rbpe_last_error(ctx), needle);
  rbpe_signal_free(s);
}

int main(void) {
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  close(fd);
  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_signal *s;

  CHECK(load(ctx, "# a ramp\n0\n0.25  # quarter\n\n  0.5\r\n1e-1\n-2\n", &s) ==
            RBPE_OK,
        "%s", rbpe_last_error(ctx));
  if (s) {
    const float want[] = {0.0f, 0.25f, 0.5f, 0.1f, -2.0f};
    CHECK(rbpe_signal_ndim(s) == 1 && rbpe_signal_dim(s, 0) == 5 &&
              rbpe_signal_channels(s) == 1,
          "shape");
    CHECK(!memcmp(rbpe_signal_data(s), want, sizeof want), "values");
    float x[5];
    size_t idx[5] = {0, 1, 2, 3, 4};
    CHECK(rbpe_signal_coords(ctx, s, idx, 5, x) == RBPE_OK, "coords");
    CHECK(x[0] == 0.1f && x[4] == 0.9f, "x = (k + 0.5) / n: %g %g",
          (double)x[0], (double)x[4]);
    rbpe_signal_free(s);
  }
  expect(ctx, "0.5\nabc\n", RBPE_ERR_BAD_FORMAT, ":2:");
  expect(ctx, "0.5\n1.5abc\n", RBPE_ERR_BAD_FORMAT, ":2:");
  expect(ctx, "1 2\n3\n", RBPE_ERR_BAD_FORMAT, ":2: 1 column(s) where earlier lines have 2");
  expect(ctx, "1,2,3,4,5\n", RBPE_ERR_BAD_FORMAT, "more than 4 columns");
  expect(ctx, "1,,2\n", RBPE_ERR_BAD_FORMAT, ":1:");
  expect(ctx, "a,b\n1,2\nc,d\n", RBPE_ERR_BAD_FORMAT, ":3:");
  /* columns as channels: CSV with a header, and white space */
  const char *tables[] = {"t,left,right # a header\n0.1,0.2,0.3\n0.4, 0.5 ,0.6\n",
                          "0.1 0.2\t0.3\n\n  0.4 0.5 0.6  \r\n",
                          "0.1;0.2;0.3\n0.4;0.5;0.6\n"};
  for (int t = 0; t < 3; t++) {
    s = NULL;
    CHECK(load(ctx, tables[t], &s) == RBPE_OK, "table %d: %s", t,
          rbpe_last_error(ctx));
    if (s) {
      const float want[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
      CHECK(rbpe_signal_dim(s, 0) == 2 && rbpe_signal_channels(s) == 3 &&
                !memcmp(rbpe_signal_data(s), want, sizeof want),
            "table %d: %zu samples x %d channels", t, rbpe_signal_dim(s, 0),
            rbpe_signal_channels(s));
      rbpe_signal_free(s);
    }
  }
  expect(ctx, "0.1\nnan\n", RBPE_ERR_BAD_FORMAT, ":2:");
  expect(ctx, "NaN\n", RBPE_ERR_BAD_FORMAT, ":1:");
  expect(ctx, "inf\n", RBPE_ERR_BAD_FORMAT, ":1:");
  expect(ctx, "-infinity\n", RBPE_ERR_BAD_FORMAT, NULL);
  expect(ctx, "1e999\n", RBPE_ERR_BAD_FORMAT, NULL);
  expect(ctx, "4e38\n", RBPE_ERR_BAD_FORMAT, NULL);
  expect(ctx, "", RBPE_ERR_BAD_FORMAT, "no values");
  expect(ctx, "# only a comment\n\n", RBPE_ERR_BAD_FORMAT, "no values");
  put("0.5\n\0\n0.7\n", 10);
  s = NULL;
  CHECK(rbpe_signal_load_text(ctx, path, &s) == RBPE_ERR_BAD_FORMAT,
        "NUL byte accepted");
  rbpe_signal_free(s);
  CHECK(rbpe_signal_load(ctx, "/nonexistent/signal.txt", &s) == RBPE_ERR_IO,
        "missing file");
  /* A damaged PNG signature is reported as a PNG problem, not as text. */
  put("\x89PNX\r\n\x1a\nrest", 12);
  CHECK(rbpe_signal_load(ctx, path, &s) == RBPE_ERR_BAD_FORMAT, "bad magic");

  unlink(path);
  rbpe_ctx_free(ctx);
  return test_summary("test_text");
}
