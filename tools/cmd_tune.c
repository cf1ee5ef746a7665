/* `rbpe tune`: tunes CLBlast's GEMM for an OpenCL device on the MLP's
 * shapes and caches the winner, which every later run on that device (same
 * name and driver version) uses automatically. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *tune_help =
    "usage: rbpe tune [--device SPEC] [--batch N] [--width W] [--candidates N]\n"
    "                 [--seconds S] [--dry-run]\n"
    "Times up to N valid CLBlast GEMM parameter sets (48; half for each of\n"
    "CLBlast's two GEMM kernels) on the training step's products for batch\n"
    "N (16384) and width W (256), about S seconds each (0.3) after building\n"
    "it (minutes in all on a CPU device: every set is compiled), rejects\n"
    "any whose result differs from the untuned one, and caches the fastest\n"
    "if it beats CLBlast's defaults by 5 % there and is no slower at 4x the\n"
    "batch ($RBPE_CACHE_DIR, else $XDG_CACHE_HOME/rbpe, else\n"
    "~/.cache/rbpe). OpenCL devices only; the device defaults to cl (the\n"
    "first usable OpenCL device).\n";

static void on_progress(int done, int total, double gflops, void *user) {
  (void)user;
  if (gflops < 0)
    fprintf(stderr, "[%d/%d] rejected (failed to build or run, or wrong)\n",
            done, total);
  else
    fprintf(stderr, "[%d/%d] %.2f GFLOP/s\n", done, total, gflops);
}

int cmd_tune(int argc, char **argv) {
  const char *device = "cl";
  long batch = 16384, width = 256, cand = 48;
  float seconds = 0.3f;
  int dry = 0, quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (cli_flag(argv[i], "--help")) {
      fputs(tune_help, stdout);
      return EXIT_OK;
    } else if (!strcmp(argv[i], "--dry-run")) {
      dry = 1;
    } else if (cli_flag(argv[i], "--quiet")) {
      quiet = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("tune", "--device needs a value");
      device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--batch", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 1 << 24, &batch))
        return cli_usage_error("tune", "--batch needs 1..16777216");
    } else if ((r = cli_opt(argc, argv, &i, "--width", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 8192, &width))
        return cli_usage_error("tune", "--width needs 1..8192");
    } else if ((r = cli_opt(argc, argv, &i, "--candidates", &v))) {
      if (r < 0 || !cli_parse_long(v, 0, 100000, &cand))
        return cli_usage_error("tune", "--candidates needs 0.. (0: all)");
    } else if ((r = cli_opt(argc, argv, &i, "--seconds", &v))) {
      if (r < 0 || !cli_parse_float(v, 0.001, 60.0, &seconds))
        return cli_usage_error("tune", "--seconds needs a number in (0, 60]");
    } else {
      return cli_usage_error("tune", "unknown argument '%s'", argv[i]);
    }
  }
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("tune", device, 0, quiet, &rc);
  if (!ctx) return rc;
  rbpe_tune_request req = {(size_t)batch, (int)width, (int)cand, seconds, dry,
                           quiet ? NULL : on_progress, NULL};
  rbpe_tune_report rep;
  rbpe_status st = rbpe_tune(ctx, &req, &rep);
  if (st != RBPE_OK) {
    rc = cli_fail("tune", ctx, st);
  } else {
    printf("GEMM on %s, batch %ld, width %ld: CLBlast's defaults %.2f GFLOP/s, "
           "best of %d candidates (%d valid) %.2f GFLOP/s (%.2fx)\n",
           rbpe_ctx_device_description(ctx), batch, width, rep.default_gflops,
           rep.candidates, rep.valid, rep.best_gflops,
           rep.default_gflops > 0 ? rep.best_gflops / rep.default_gflops : 0.0);
    if (rep.large_rows && rep.best_large_gflops > 0)
      printf("at %zu rows: CLBlast's defaults %.2f GFLOP/s, best set %.2f GFLOP/s (%.2fx)\n",
             rep.large_rows, rep.default_large_gflops, rep.best_large_gflops,
             rep.best_large_gflops / rep.default_large_gflops);
    printf("chosen: %s%s%s\n", rep.best,
           rep.saved ? "; cached in " : (dry ? " (dry run: not cached)" : " (cache unchanged)"),
           rep.saved ? rep.cache_path : "");
  }
  rbpe_ctx_free(ctx);
  return rc;
}
