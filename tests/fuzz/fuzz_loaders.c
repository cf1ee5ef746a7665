/* libFuzzer harnesses for the three parsers of untrusted files: PNG, 1-D
 * text and model files. The loaders take paths, so each input is written
 * to one private temporary file first. Built with -Dfuzz=true (clang);
 * run by tools/fuzz.sh. RBPE_FUZZ_TARGET selects the loader at build
 * time. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return 0;
#if RBPE_FUZZ_TARGET == 0
  rbpe_signal *s = NULL;
  if (rbpe_signal_load_png(ctx, path, &s) == RBPE_OK) {
    /* a loaded image must be whole and in range */
    const float *d = rbpe_signal_data(s);
    size_t n = rbpe_signal_samples(s) * rbpe_signal_channels(s);
    for (size_t i = 0; i < n; i++)
      if (!(d[i] >= 0.0f && d[i] <= 1.0f)) abort();
  }
  rbpe_signal_free(s);
#elif RBPE_FUZZ_TARGET == 1
  rbpe_signal *s = NULL;
  if (rbpe_signal_load_text(ctx, path, &s) == RBPE_OK && rbpe_signal_samples(s) == 0)
    abort();
  rbpe_signal_free(s);
#else
  rbpe_model *m = NULL;
  if (rbpe_model_load(ctx, path, &m) == RBPE_OK) {
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
  return 0;
}
