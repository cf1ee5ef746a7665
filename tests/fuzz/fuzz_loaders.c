/* libFuzzer harnesses for the parsers of untrusted files: PNG, 1-D text,
 * model files, and JPEG and audio through rbpe_load's detection. The loaders take paths and read each input once
 * as a stream: the PNG and text harnesses hand it over through a pipe
 * (/dev/fd/N, as a shell's process substitution does), the model harness
 * through one private temporary file. Built with -Dfuzz=true (clang); run
 * by tools/fuzz.sh. RBPE_FUZZ_TARGET selects the loader at build time. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rbpe.h"

static char path[64];

static void setup(void) {
  if (path[0]) return;
  snprintf(path, sizeof path, "/tmp/rbpe_fuzz.XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0) abort();
  close(fd);
}

/* The input in a pipe whose write end is closed: the loader reads it to its
 * end through "/dev/fd/N". Inputs up to the pipe's buffer (64 KiB, the
 * harness's -max_len) fit without a writer thread; longer ones go through
 * the file. Returns the read end, or -1. */
static int as_pipe(const uint8_t *data, size_t size, char *name, size_t len) {
  int fds[2];
  if (size > 65536 || pipe(fds) != 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fds[1], data + done, size - done);
    if (w <= 0) abort();
    done += (size_t)w;
  }
  close(fds[1]);
  snprintf(name, len, "/dev/fd/%d", fds[0]);
  return fds[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  char piped[32];
  int rfd = RBPE_FUZZ_TARGET != 2 ? as_pipe(data, size, piped, sizeof piped) : -1;
  if (rfd < 0) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
  }
  const char *src = rfd >= 0 ? piped : path;
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) {
    if (rfd >= 0) close(rfd);
    return 0;
  }
#if RBPE_FUZZ_TARGET == 0
  rbpe_signal *s = NULL;
  if (rbpe_signal_load_png(ctx, src, &s) == RBPE_OK) {
    /* a loaded image must be whole and in range */
    const float *d = rbpe_signal_data(s);
    size_t n = rbpe_signal_samples(s) * rbpe_signal_channels(s);
    for (size_t i = 0; i < n; i++)
      if (!(d[i] >= 0.0f && d[i] <= 1.0f)) abort();
  }
  rbpe_signal_free(s);
#elif RBPE_FUZZ_TARGET == 1
  rbpe_signal *s = NULL;
  if (rbpe_signal_load_text(ctx, src, &s) == RBPE_OK && rbpe_signal_samples(s) == 0)
    abort();
  rbpe_signal_free(s);
#elif RBPE_FUZZ_TARGET == 3 || RBPE_FUZZ_TARGET == 4
  /* by content, as rbpe fit and info load: whatever the bytes say they are
   * must load whole and finite, or be refused */
  rbpe_signal *s = NULL;
  rbpe_load_options opt = {RBPE_FUZZ_TARGET == 4 && size % 2 ? 0 : -1};
  if (rbpe_load_ex(ctx, src, &opt, &s, NULL) == RBPE_OK) {
    const float *d = rbpe_signal_data(s);
    size_t n = rbpe_signal_samples(s) * rbpe_signal_channels(s);
    if (n == 0) abort();
    for (size_t i = 0; i < n; i++)
      if (!isfinite(d[i])) abort();
  }
  rbpe_signal_free(s);
#else
  rbpe_model *m = NULL;
  if (rbpe_model_load(ctx, src, &m) == RBPE_OK) {
    /* a model that loads must also render (on ref) */
    size_t dims[3] = {3, 2, 2};
    rbpe_signal *out = NULL;
    if (rbpe_ctx_select_device(ctx, "ref") != RBPE_OK) abort();
    rbpe_status st = rbpe_model_render(ctx, m, dims, &out);
    if (st != RBPE_OK && st != RBPE_ERR_DEVICE_MEMORY && st != RBPE_ERR_OUT_OF_MEMORY &&
        st != RBPE_ERR_TOO_LARGE)
      abort();
    rbpe_signal_free(out);
  }
  rbpe_model_free(m);
#endif
  rbpe_ctx_free(ctx);
  if (rfd >= 0) close(rfd);
  return 0;
}
