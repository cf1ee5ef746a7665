/* `rbpe info FILE`: loads a signal (PNG or 1-D text) or a model file and
 * describes it; the quickest way to see whether rbpe can read a file and
 * why not. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* How an rbf model's sigma was chosen, in words: "graph in [0.0156,
 * 0.0625], normalised, field 4" or "uniform 0.04". */
static void sigma_words(const rbpe_model *m, char *buf, size_t len) {
  const rbpe_fit_config *c = rbpe_model_config(m);
  double lo, hi;
  size_t o = c->sigma_mode == RBPE_SIGMA_UNIFORM
                 ? (size_t)snprintf(buf, len, "uniform %g", (double)c->sigma)
                 : (size_t)snprintf(buf, len, "%s",
                                    rbpe_sigma_mode_string(c->sigma_mode));
  if (o < len && rbpe_model_sigma_range(m, &lo, &hi))
    o += (size_t)snprintf(buf + o, len - o, " in [%.4g, %.4g]", lo, hi);
  /* a uniform sigma is its own reference: the normalisation is a no-op */
  int varies = c->sigma_mode != RBPE_SIGMA_UNIFORM || c->field.cells > 0;
  if (o < len && varies && c->embed.rbf_norm_ref > 0.0f)
    o += (size_t)snprintf(buf + o, len - o, ", normalised");
  if (o < len && c->field.cells > 0)
    snprintf(buf + o, len - o, ", field %d", c->field.cells);
}

static void model_info(const char *path, rbpe_model *m, int json) {
  const rbpe_fit_config *c = rbpe_model_config(m);
  int nd = rbpe_model_ndim(m), rate = rbpe_model_sample_rate(m);
  int rbf = c->embed.kind == RBPE_EMBED_RBF;
  int ndir = rbpe_model_rbf_directions(m);
  char sw[96] = "";
  if (rbf) sigma_words(m, sw, sizeof sw);
  if (json) {
    fputs("{\"file\": ", stdout);
    cli_json_str(stdout, path);
    fprintf(stdout, ", \"kind\": \"model\", \"ndim\": %d, \"dims\": [", nd);
    for (int a = 0; a < nd; a++)
      printf("%s%zu", a ? ", " : "", rbpe_model_dim(m, a));
    printf("], \"channels\": %d, \"embedding\": \"%s\", \"hidden_layers\": %d, "
           "\"width\": %d, \"out_act\": \"%s\", \"steps\": %d, "
           "\"sample_rate\": %d",
           rbpe_model_channels(m), rbpe_embed_kind_string(c->embed.kind),
           c->hidden_layers, c->width, rbpe_act_string(c->out_act), c->steps,
           rate);
    if (rbf) {
      printf(", \"rbf_centres\": %d, \"rbf_directions\": %d, \"sigma\": ",
             c->embed.rbf_centres, ndir);
      cli_json_str(stdout, sw);
    }
    double lo, hi;
    if (rbpe_model_sigma_range(m, &lo, &hi)) {
      fputs(", \"sigma_range\": [", stdout);
      cli_json_num(stdout, lo);
      fputs(", ", stdout);
      cli_json_num(stdout, hi);
      fputs("]", stdout);
    }
    fputs("}\n", stdout);
    return;
  }
  printf("%s: model of a %d-D", path, nd);
  for (int a = 0; a < nd; a++)
    printf("%s%zu", a ? " x " : " ", rbpe_model_dim(m, a));
  printf(" signal, %d channel(s); %s embedding", rbpe_model_channels(m),
         rbpe_embed_kind_string(c->embed.kind));
  if (rbf)
    printf(" (%d centres x %d directions, sigma: %s)", c->embed.rbf_centres,
           ndir, sw);
  printf(", %d hidden layer(s) of %d, %s output, trained %d steps",
         c->hidden_layers, c->width, rbpe_act_string(c->out_act), c->steps);
  if (rate) printf(", %d Hz audio", rate);
  printf("\n");
}

static void signal_info(const char *path, const rbpe_signal *sig, int json) {
  float lo, hi;
  rbpe_signal_range(sig, &lo, &hi);
  size_t count = rbpe_signal_samples(sig) * rbpe_signal_channels(sig);
  int nd = rbpe_signal_ndim(sig), rate = rbpe_signal_sample_rate(sig),
      bits = rbpe_signal_source_bits(sig);
  if (json) {
    fputs("{\"file\": ", stdout);
    cli_json_str(stdout, path);
    printf(", \"kind\": \"signal\", \"ndim\": %d, \"dims\": [", nd);
    for (int a = 0; a < nd; a++) printf("%s%zu", a ? ", " : "", rbpe_signal_dim(sig, a));
    printf("], \"channels\": %d, \"values\": %zu, \"sample_rate\": %d, "
           "\"source_bits\": %d, \"min\": ",
           rbpe_signal_channels(sig), count, rate, bits);
    cli_json_num(stdout, lo);
    fputs(", \"max\": ", stdout);
    cli_json_num(stdout, hi);
    fputs("}\n", stdout);
    return;
  }
  printf("%s: %d-D", path, nd);
  for (int a = 0; a < nd; a++)
    printf("%s%zu", a ? " x " : " ", rbpe_signal_dim(sig, a));
  printf(", %d channel(s), %zu values", rbpe_signal_channels(sig), count);
  if (rate) printf(", %d Hz audio", rate);
  if (bits) printf(", %d-bit source", bits);
  printf(", values in [%g, %g]\n", (double)lo, (double)hi);
}

static const char *info_usage =
    "usage: rbpe info FILE [--channel K] [--json]\n"
    "Loads FILE (a PNG or JPEG image, WAV/FLAC/AIFF/Ogg audio, a 1-D text\n"
    "signal: one sample per line, columns as channels, # comments; or a\n"
    "model file written by `rbpe fit`) and prints its shape. FILE is read\n"
    "once, as a stream: a pipe or FIFO works, and - is standard input.\n";

int cmd_info(int argc, char **argv) {
  const char *file = NULL;
  rbpe_load_options opt = {-1};
  int json = 0;
  const cli_option table[] = {
      {"--channel", CLI_CUSTOM, &opt.channel, 0, 0, "K", "keep channel K (from 1) only", "a channel number 1..4", cli_channel_opt},
      {"--json", CLI_FLAG, &json, 1, 0, NULL, "one JSON object"},
      {NULL}};
  int prc = cli_options_run("info", info_usage, table, argc, argv, &file, 1);
  if (prc >= 0) return prc;
  if (!file) return cli_usage_error("info", "expected one FILE");
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_signal *sig = NULL;
  rbpe_model *model = NULL;
  rbpe_status st = rbpe_load_ex(ctx, file, &opt, &sig, &model);
  if (st != RBPE_OK) {
    int rc = cli_fail("info", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  const char *shown = strcmp(file, "-") ? file : "standard input";
  if (model)
    model_info(shown, model, json);
  else
    signal_info(shown, sig, json);
  rbpe_model_free(model);
  rbpe_signal_free(sig);
  rbpe_ctx_free(ctx);
  return EXIT_OK;
}
