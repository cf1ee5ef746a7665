/* `rbpe render MODEL`: evaluates a saved model on a grid of any size, on
 * any device: a PNG for 2-D models, a text file for 1-D ones. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *render_usage =
    "usage: rbpe render MODEL -o OUT [options]\n"
    "Renders MODEL on a regular grid (default: the grid it was trained on).\n"
    "The output name says the format: 2-D models write OUT.png (8-bit,\n"
    "--bits 16 for 16-bit); 1-D models write OUT.wav (32-bit float WAV at\n"
    "the sample rate of the audio they were fitted to, or --rate HZ) or text\n"
    "(OUT.txt or OUT.csv: one sample per line, channels as columns). -o -\n"
    "writes PNG (2-D) or text (1-D) to standard output; MODEL - reads\n"
    "standard input.\n";

static int bits_opt(void *at, const char *v) {
  long b;
  if (!cli_parse_long(v, 8, 16, &b) || (b != 8 && b != 16)) return -1;
  *(long *)at = b;
  return 0;
}

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
  const cli_option table[] = {
      {"--output", CLI_STRING, &out, 0, 0, "OUT", "the file to write (.png, .wav, .txt, .csv, or -)"},
      {"--size", CLI_STRING, &size, 0, 0, "WxH|N", "the grid (2-D: WxH, 1-D: N; 1..65536 per axis)"},
      {"--bits", CLI_CUSTOM, &bits, 0, 0, "8|16", "PNG bit depth (8)", "8 or 16", bits_opt},
      {"--rate", CLI_LONG, &rate, 1, 1e6, "HZ", "WAV samples per second (the model's)", "samples per second, 1..1000000"},
      {"--device", CLI_STRING, &device, 0, 0, "SPEC", "auto | cpu | ref | cl | cl:P:D | cl:NAME (rbpe devices lists them)"},
      {"--quiet", CLI_FLAG, &quiet, 1, 0, NULL, "no device line"},
      {NULL}};
  int prc = cli_options_run("render", render_usage, table, argc, argv,
                            &model_path, 1);
  if (prc >= 0) return prc;
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
    if (!ok || w < 1 || w > RBPE_MAX_SIDE ||
        (nd == 2 && (h < 1 || h > RBPE_MAX_SIDE))) {
      rc = cli_usage_error("render", "--size needs %s (1..%d)",
                           nd == 2 ? "WxH" : "N", RBPE_MAX_SIDE);
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
