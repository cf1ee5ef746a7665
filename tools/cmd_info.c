/* `rbpe info FILE`: loads a signal (PNG or 1-D text) or a model file and
 * describes it; the quickest way to see whether rbpe can read a file and
 * why not. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void model_info(const char *path, rbpe_model *m) {
  const rbpe_fit_config *c = rbpe_model_config(m);
  printf("%s: model of a %d-D", path, rbpe_model_ndim(m));
  for (int a = 0; a < rbpe_model_ndim(m); a++)
    printf("%s%zu", a ? " x " : " ", rbpe_model_dim(m, a));
  printf(" signal, %d channel(s); %s embedding, %d hidden layer(s) of %d, "
         "%s output, trained %d steps\n",
         rbpe_model_channels(m), rbpe_embed_kind_string(c->embed.kind),
         c->hidden_layers, c->width, rbpe_act_string(c->out_act), c->steps);
}

int cmd_info(int argc, char **argv) {
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    printf("usage: rbpe info FILE\nLoads FILE (PNG, a 1-D text signal: "
           "one value per line, # comments, or a model file written by "
           "`rbpe fit`) and prints its shape. FILE is read once, as a "
           "stream: a pipe or FIFO works, and - is standard input.\n");
    return EXIT_OK;
  }
  if (argc != 2) return cli_usage_error("info", "expected one FILE");
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return EXIT_FAILURE_RUN;
  rbpe_signal *sig = NULL;
  rbpe_model *model = NULL;
  rbpe_status st = rbpe_load(ctx, argv[1], &sig, &model);
  if (st != RBPE_OK) {
    int rc = cli_fail("info", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  if (model) {
    model_info(strcmp(argv[1], "-") ? argv[1] : "standard input", model);
    rbpe_model_free(model);
    rbpe_ctx_free(ctx);
    return EXIT_OK;
  }
  const float *d = rbpe_signal_data(sig);
  size_t count = rbpe_signal_samples(sig) * rbpe_signal_channels(sig);
  float lo = d[0], hi = d[0];
  for (size_t i = 1; i < count; i++) {
    if (d[i] < lo) lo = d[i];
    if (d[i] > hi) hi = d[i];
  }
  printf("%s: %d-D", strcmp(argv[1], "-") ? argv[1] : "standard input",
         rbpe_signal_ndim(sig));
  for (int a = 0; a < rbpe_signal_ndim(sig); a++)
    printf("%s%zu", a ? " x " : " ", rbpe_signal_dim(sig, a));
  printf(", %d channel(s), %zu values, %d-bit source, values in [%g, %g]\n",
         rbpe_signal_channels(sig), count, rbpe_signal_source_bits(sig), (double)lo,
         (double)hi);
  rbpe_signal_free(sig);
  rbpe_ctx_free(ctx);
  return EXIT_OK;
}
