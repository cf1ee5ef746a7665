/* `rbpe tune`: tunes CLBlast's GEMM for an OpenCL device on the MLP's
 * shapes and caches the winner, which every later run on that device (same
 * name and driver version) uses automatically. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *tune_usage =
    "usage: rbpe tune [options]\n"
    "Times up to N valid CLBlast GEMM parameter sets (half for each of\n"
    "CLBlast's two GEMM kernels) on the training step's products for the\n"
    "batch and width, about S seconds each after building it (minutes in\n"
    "all on a CPU device: every set is compiled), rejects any whose result\n"
    "differs from the untuned one, and caches the fastest if it beats\n"
    "CLBlast's defaults by 5 % there and is no slower at 4x the batch\n"
    "($RBPE_CACHE_DIR, else $XDG_CACHE_HOME/rbpe, else ~/.cache/rbpe).\n"
    "OpenCL devices only.\n";

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
  const cli_option table[] = {
      {"--device", CLI_STRING, &device, 0, 0, "SPEC", "an OpenCL device (%D: the first usable one)"},
      {"--batch", CLI_LONG, &batch, 1, 1 << 24, "N", "the training batch (%D)"},
      {"--width", CLI_LONG, &width, 1, RBPE_MAX_WIDTH, "W", "the hidden width (%D)"},
      {"--candidates", CLI_LONG, &cand, 0, 1e5, "N", "parameter sets to time, 0: all (%D)", "an integer >= 0 (0: all)"},
      {"--seconds", CLI_FLOAT, &seconds, 0.001, 60, "S", "timing per set (%D)", "a number in (0, 60]"},
      {"--dry-run", CLI_FLAG, &dry, 1, 0, NULL, "time, but cache nothing"},
      {"--quiet", CLI_FLAG, &quiet, 1, 0, NULL, "no progress output"},
      {NULL}};
  int prc = cli_options_run("tune", tune_usage, table, argc, argv, NULL, 0);
  if (prc >= 0) return prc;
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
