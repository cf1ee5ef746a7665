/* `rbpe render MODEL`: evaluates a saved model on a grid of any size, on
 * any device: a PNG for 2-D models, a text file for 1-D ones. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *render_help =
    "usage: rbpe render MODEL -o OUT [--size WxH | --size N] [--device SPEC]\n"
    "                        [--bits 8|16] [--quiet]\n"
    "Renders MODEL on a regular grid (default: the grid it was trained on).\n"
    "2-D models write a PNG (8-bit, --bits 16 for 16-bit); 1-D models write\n"
    "one value per line. -o - writes to standard output; MODEL - reads\n"
    "standard input.\n";

int cmd_render(int argc, char **argv) {
  const char *model_path = NULL, *out = NULL, *size = NULL, *device = NULL;
  long bits = 8;
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(render_help, stdout);
      return EXIT_OK;
    } else if ((r = cli_opt(argc, argv, &i, "-o", &v)) ||
               (r = cli_opt(argc, argv, &i, "--output", &v))) {
      if (r < 0) return cli_usage_error("render", "-o needs a file");
      out = v;
    } else if ((r = cli_opt(argc, argv, &i, "--size", &v))) {
      if (r < 0) return cli_usage_error("render", "--size needs WxH or N");
      size = v;
    } else if ((r = cli_opt(argc, argv, &i, "--bits", &v))) {
      if (r < 0 || !cli_parse_long(v, 8, 16, &bits) || (bits != 8 && bits != 16))
        return cli_usage_error("render", "--bits needs 8 or 16");
    } else if (!strcmp(argv[i], "--quiet")) {
      quiet = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("render", "--device needs a value");
      device = v;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return cli_usage_error("render", "unknown option '%s'", argv[i]);
    } else if (!model_path) {
      model_path = argv[i];
    } else {
      return cli_usage_error("render", "more than one MODEL");
    }
  }
  if (!model_path || !out) return cli_usage_error("render", "needs MODEL and -o OUT");
  if (!strcmp(out, "-") && isatty(STDOUT_FILENO))
    return cli_usage_error("render", "-o - writes to standard output, which "
                                     "is a terminal here: redirect it");
  int rc = EXIT_OK;
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_model *m = NULL;
  rbpe_signal *img = NULL;
  rbpe_status st = rbpe_model_load(ctx, model_path, &m);
  if (st != RBPE_OK) {
    rc = cli_fail("render", ctx, st);
    goto done;
  }
  size_t dims[RBPE_MAX_DIMS];
  int nd = rbpe_model_ndim(m);
  for (int a = 0; a < nd; a++) dims[a] = rbpe_model_dim(m, a);
  if (size) {
    long w = 0, h = 0;
    char tail;
    int ok = nd == 2 ? sscanf(size, "%ldx%ld%c", &w, &h, &tail) == 2
                     : sscanf(size, "%ld%c", &w, &tail) == 1;
    if (!ok || w < 1 || w > 65536 || (nd == 2 && (h < 1 || h > 65536))) {
      rc = cli_usage_error("render", "--size needs %s (1..65536)",
                           nd == 2 ? "WxH" : "N");
      goto done;
    }
    if (nd == 2) {
      dims[0] = (size_t)h;
      dims[1] = (size_t)w;
    } else {
      dims[0] = (size_t)w;
    }
  }
  rc = cli_select("render", ctx, device, quiet);
  if (rc != EXIT_OK) goto done;
  st = rbpe_model_render(ctx, m, dims, &img);
  if (st == RBPE_OK && nd == 2) st = rbpe_signal_save_png(ctx, img, out, (int)bits);
  if (st != RBPE_OK) {
    rc = cli_fail("render", ctx, st);
    goto done;
  }
  if (nd == 1 && (st = cli_save_text(ctx, out, img)) != RBPE_OK) {
    rc = cli_fail("render", ctx, st);
    goto done;
  }
  fprintf(stderr, "rbpe render: wrote %s (",
          strcmp(out, "-") ? out : "standard output");
  for (int a = 0; a < nd; a++)
    fprintf(stderr, "%s%zu", a ? " x " : "", dims[nd == 2 ? 1 - a : a]);
  fprintf(stderr, ")\n");
done:
  rbpe_signal_free(img);
  rbpe_model_free(m);
  rbpe_ctx_free(ctx);
  return rc;
}
