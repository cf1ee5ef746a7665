/* `rbpe render MODEL`: evaluates a saved model on a grid of any size, on
 * any device: a PNG for 2-D models, a text file for 1-D ones. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *render_help =
    "usage: rbpe render MODEL -o OUT [--size WxH | --size N] [--device SPEC]\n"
    "                        [--bits 8|16] [--quiet]\n"
    "Renders MODEL on a regular grid (default: the grid it was trained on).\n"
    "                        [--rate HZ]\n"
    "The output name says the format: 2-D models write OUT.png (8-bit,\n"
    "--bits 16 for 16-bit); 1-D models write OUT.wav (32-bit float WAV at\n"
    "the sample rate of the audio they were fitted to, or --rate HZ) or text\n"
    "(OUT.txt or OUT.csv: one sample per line, channels as columns). -o -\n"
    "writes PNG (2-D) or text (1-D) to standard output; MODEL - reads\n"
    "standard input. SPEC: auto | cpu | ref | cl | cl:P:D | cl:NAME\n"
    "(rbpe devices lists them). Short forms: -o, -d, -q, -h.\n";

/* Whether name ends with ext, ignoring case. */
static int ends_with(const char *name, const char *ext) {
  size_t n = strlen(name), e = strlen(ext);
  if (n < e) return 0;
  for (size_t i = 0; i < e; i++)
    if (tolower((unsigned char)name[n - e + i]) != ext[i]) return 0;
  return 1;
}

int cmd_render(int argc, char **argv) {
  const char *model_path = NULL, *out = NULL, *size = NULL, *device = NULL;
  long bits = 8, rate = 0;
  int quiet = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (cli_flag(argv[i], "--help")) {
      fputs(render_help, stdout);
      return EXIT_OK;
    } else if ((r = cli_opt(argc, argv, &i, "-o", &v)) ||
               (r = cli_opt(argc, argv, &i, "--output", &v))) {
      if (r < 0) return cli_usage_error("render", "-o needs a file");
      out = v;
    } else if ((r = cli_opt(argc, argv, &i, "--size", &v))) {
      if (r < 0) return cli_usage_error("render", "--size needs WxH or N");
      size = v;
    } else if ((r = cli_opt(argc, argv, &i, "--rate", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 1000000, &rate))
        return cli_usage_error("render", "--rate needs samples per second, 1..1000000");
    } else if ((r = cli_opt(argc, argv, &i, "--bits", &v))) {
      if (r < 0 || !cli_parse_long(v, 8, 16, &bits) || (bits != 8 && bits != 16))
        return cli_usage_error("render", "--bits needs 8 or 16");
    } else if (cli_flag(argv[i], "--quiet")) {
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
  /* the format the output's name asks for, or a refusal before any work */
  enum { OUT_PNG, OUT_WAV, OUT_TEXT } kind;
  int is_std = !strcmp(out, "-");
  if (nd == 2 && (is_std || ends_with(out, ".png"))) {
    kind = OUT_PNG;
  } else if (nd == 1 && ends_with(out, ".wav")) {
    kind = OUT_WAV;
    if (!rate) rate = rbpe_model_sample_rate(m);
    if (!rate) {
      rc = cli_usage_error("render", "%s: this model was not fitted to audio, "
                                     "so WAV needs --rate HZ", out);
      goto done;
    }
  } else if (nd == 1 && (is_std || ends_with(out, ".txt") ||
                         ends_with(out, ".csv"))) {
    kind = OUT_TEXT;
  } else {
    rc = cli_usage_error("render", "%s: a %d-D model renders to %s", out, nd,
                         nd == 2 ? "PNG (name the output .png)"
                                 : "WAV or text (name the output .wav, .txt "
                                   "or .csv)");
    goto done;
  }
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
  if (st == RBPE_OK)
    st = kind == OUT_PNG   ? rbpe_signal_save_png(ctx, img, out, (int)bits)
         : kind == OUT_WAV ? rbpe_signal_save_wav(ctx, img, out, (int)rate)
                           : cli_save_text(ctx, out, img);
  if (st != RBPE_OK) {
    rc = cli_fail("render", ctx, st);
    if (st == RBPE_ERR_IO) rc = EXIT_OUTPUT; /* writing, not reading */
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
