/* `rbpe info FILE`: loads a signal (PNG or 1-D text) and describes it; the
 * quickest way to see whether rbpe can read a file and why not. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: rbpe info FILE\nLoads FILE (PNG or a 1-D text signal: "
           "one value per line, # comments) and prints its shape.\n");
    return EXIT_OK;
  }
  if (argc != 2) return cli_usage_error("info", "expected one FILE");
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_signal *sig;
  rbpe_status st = rbpe_signal_load(ctx, argv[1], &sig);
  if (st != RBPE_OK) {
    int rc = cli_fail("info", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  const float *d = rbpe_signal_data(sig);
  size_t count = rbpe_signal_samples(sig) * rbpe_signal_channels(sig);
  float lo = d[0], hi = d[0];
  for (size_t i = 1; i < count; i++) {
    if (d[i] < lo) lo = d[i];
    if (d[i] > hi) hi = d[i];
  }
  printf("%s: %d-D", argv[1], rbpe_signal_ndim(sig));
  for (int a = 0; a < rbpe_signal_ndim(sig); a++)
    printf("%s%zu", a ? " x " : " ", rbpe_signal_dim(sig, a));
  printf(", %d channel(s), %d-bit source, values in [%g, %g]\n",
         rbpe_signal_channels(sig), rbpe_signal_source_bits(sig), (double)lo,
         (double)hi);
  rbpe_signal_free(sig);
  rbpe_ctx_free(ctx);
  return EXIT_OK;
}
