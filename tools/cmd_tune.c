/* `rbpe tune`: tunes the GEMM of an OpenCL device (rbpe's own kernels'
 * tiles, or CLBlast's parameters) on the MLP's shapes and caches the winner, which every later run on that device (same
 * name and driver version) uses automatically. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *tune_usage =
    "usage: rbpe tune [options]\n"
    "Times up to N choices of GEMM on the training step's products for the\n"
    "batch and width -- tile configurations of rbpe's own kernels, CLBlast's\n"
    "defaults and CLBlast parameter sets (a third for each of its two\n"
    "kernels) -- about S seconds each after building it (minutes in all on\n"
    "a CPU device: every choice is compiled), rejects any whose result\n"
    "differs from CLBlast's untuned one, and caches the fastest if it beats\n"
    "the default (own kernels, default tiles) by 5 % there and is no slower\n"
    "at 4x the batch ($RBPE_CACHE_DIR, else $XDG_CACHE_HOME/rbpe, else\n"
    "~/.cache/rbpe). OpenCL devices only.\n";

static void on_progress(int done, int total, double gflops, const char *choice,
                        void *user) {
  (void)user;
  if (gflops < 0)
    fprintf(stderr, "[%d/%d] %s: rejected (failed to build or run, or wrong)\n",
            done, total, choice);
  else
    fprintf(stderr, "[%d/%d] %s: %.2f GFLOP/s\n", done, total, choice, gflops);
}

int cmd_tune(int argc, char **argv) {
  const char *device = "cl";
  long batch = 16384, width = 256, cand = 48;
  float seconds = 0.3f;
  int dry = 0, quiet = 0, only = -1;
  static const char *const only_names[2] = {"own", "clblast"};
  const cli_option table[] = {
      {"--device", CLI_STRING, &device, 0, 0, "SPEC", "an OpenCL device (%D: the first usable one)"},
      {"--batch", CLI_LONG, &batch, 1, 1 << 24, "N", "the training batch (%D)"},
      {"--width", CLI_LONG, &width, 1, RBPE_MAX_WIDTH, "W", "the hidden width (%D)"},
      {"--candidates", CLI_LONG, &cand, 0, 1e5, "N", "parameter sets to time, 0: all (%D)", "an integer >= 0 (0: all)"},
      {"--seconds", CLI_FLOAT, &seconds, 0.001, 60, "S", "timing per set (%D)", "a number in (0, 60]"},
      {"--gemm", CLI_CHOICE, &only, 0, 0, "own|clblast", "search that GEMM's choices alone (both)"},
      {"--dry-run", CLI_FLAG, &dry, 1, 0, NULL, "time, but cache nothing"},
      {"--quiet", CLI_FLAG, &quiet, 1, 0, NULL, "no progress output"},
      {NULL}};
  int prc = cli_options_run("tune", tune_usage, table, argc, argv, NULL, 0);
  if (prc >= 0) return prc;
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("tune", device, 0, quiet, &rc);
  if (!ctx) return rc;
  rbpe_tune_request req = {(size_t)batch, (int)width, (int)cand, seconds, dry,
                           only >= 0 ? only_names[only] : NULL,
                           quiet ? NULL : on_progress, NULL};
  rbpe_tune_report rep;
  rbpe_status st = rbpe_tune(ctx, &req, &rep);
  if (st != RBPE_OK) {
    rc = cli_fail("tune", ctx, st);
  } else {
    printf("GEMM on %s, batch %ld, width %ld: own default %.2f GFLOP/s, "
           "CLBlast's defaults %.2f GFLOP/s, best of %d candidates (%d valid) "
           "%.2f GFLOP/s (%.2fx the default)\n",
           rbpe_ctx_device_description(ctx), batch, width, rep.default_gflops,
           rep.clblast_gflops, rep.candidates, rep.valid, rep.best_gflops,
           rep.default_gflops > 0 ? rep.best_gflops / rep.default_gflops : 0.0);
    if (rep.large_rows && rep.best_large_gflops > 0)
      printf("at %zu rows: own default %.2f GFLOP/s, CLBlast's defaults "
             "%.2f GFLOP/s, best %.2f GFLOP/s (%.2fx the default)\n",
             rep.large_rows, rep.default_large_gflops, rep.clblast_large_gflops,
             rep.best_large_gflops,
             rep.best_large_gflops / rep.default_large_gflops);
    printf("chosen: %s%s%s\n", rep.best,
           rep.saved ? "; cached in " : (dry ? " (dry run: not cached)" : " (cache unchanged)"),
           rep.saved ? rep.cache_path : "");
  }
  rbpe_ctx_free(ctx);
  return rc;
}
