/* `rbpe bench`: training-step and inference throughput and achieved
 * GFLOP/s per device for the seed's configurations (rbf, D = 128 per axis
 * in 2-D; 1 and 3 hidden layers of 256) over batch sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"

static const char *bench_help =
    "usage: rbpe bench [--device SPEC] [--batches LO:HI] [--layers LIST]\n"
    "                  [--seconds S] [--json]\n"
    "Times training steps (forward, backward, Adam; the embedded training set\n"
    "stays on the device) and inference (embedding + forward) of an MLP of\n"
    "width 256 on an rbf embedding with 128 centres per axis of 2-D\n"
    "coordinates (M = 256), for batch sizes 2^LO..2^HI (default 12:18; sizes\n"
    "that do not fit the device are reported and skipped) and hidden layer\n"
    "counts LIST (default 1,3). GEMM share: a step's time spent in GEMM, from\n"
    "a run synchronised around every op. --seconds: minimum timed time per\n"
    "point (default 1).\n"
    "\n"
    "rbpe bench --sigma [--sides LIST] [--sigma-iters N] [--centres D] [--knn K]\n"
    "times the sparse sigma solve on side x side grids of 2-D points (default\n"
    "sides 64,128,256,512,1024: L = 4k..1M; D = 128 per axis, k = 8, 20\n"
    "iterations) and reports time per iteration and peak device memory.\n"
    "\n"
    "rbpe bench --peer [--device SPEC] [--batches LO:HI] [--layers LIST]\n"
    "              [--seconds S] [--peer-script PATH] [--python PATH]\n"
    "trains the same model with PyTorch (tools/peer_bench_torch.py, Debian's\n"
    "python3-torch, as many threads as the cpu backend) in the same run and\n"
    "prints rbpe's training samples/s beside it, as a ratio.\n";

/* "LO:HI": batch sizes 2^LO..2^HI, 0 <= LO <= HI <= 24 */
static int parse_batches(const char *v, long *lo, long *hi) {
  char tail;
  return sscanf(v, "%ld:%ld%c", lo, hi, &tail) == 2 && *lo >= 0 && *hi <= 24 &&
         *lo <= *hi;
}

#ifndef RBPE_PEER_SCRIPT
#define RBPE_PEER_SCRIPT "tools/peer_bench_torch.py"
#endif


static int bench_peer(int argc, char **argv) {
  const char *device = "cpu", *script = RBPE_PEER_SCRIPT,
             *python = "/usr/bin/python3";
  long lo = 12, hi = 16;
  char layers[64] = "1,3";
  float seconds = 1.0f;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (!strcmp(argv[i], "--peer")) {
      continue;
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("bench", "--device needs a value");
      device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--peer-script", &v))) {
      if (r < 0) return cli_usage_error("bench", "--peer-script needs a path");
      script = v;
    } else if ((r = cli_opt(argc, argv, &i, "--python", &v))) {
      if (r < 0) return cli_usage_error("bench", "--python needs a path");
      python = v;
    } else if ((r = cli_opt(argc, argv, &i, "--batches", &v))) {
      if (r < 0 || !parse_batches(v, &lo, &hi))
        return cli_usage_error("bench", "--batches needs LO:HI with 0 <= LO <= HI <= 24");
    } else if ((r = cli_opt(argc, argv, &i, "--layers", &v))) {
      if (r < 0 || !*v || strlen(v) >= sizeof layers ||
          strspn(v, "0123456789,") != strlen(v))
        return cli_usage_error("bench", "--layers needs a list such as 1,3");
      snprintf(layers, sizeof layers, "%s", v);
    } else if ((r = cli_opt(argc, argv, &i, "--seconds", &v))) {
      if (r < 0 || !cli_parse_float(v, 0.0, 600.0, &seconds))
        return cli_usage_error("bench", "--seconds needs a number in [0, 600]");
    } else {
      return cli_usage_error("bench", "unexpected argument '%s'", argv[i]);
    }
  }
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("bench", device, 0, 0, &rc);
  if (!ctx) return rc;
  /* the peer first: one process, all points */
  char batches[256] = "", cmd[4600];
  for (long e = lo; e <= hi; e++)
    snprintf(batches + strlen(batches), sizeof batches - strlen(batches), "%s%ld",
             e > lo ? "," : "", 1L << e);
  snprintf(cmd, sizeof cmd,
           "'%s' '%s' --layers %s --width 256 --inputs 256 --batches %s "
           "--seconds %g --threads %d",
           python, script, layers, batches, (double)seconds, rbpe_threads());
  FILE *p = popen(cmd, "r");
  if (!p) {
    fprintf(stderr, "rbpe bench: cannot run %s\n", script);
    rbpe_ctx_free(ctx);
    return EXIT_FAILURE_RUN;
  }
  struct { int layers; long batch; double sps; } peer[64];
  int np = 0;
  char line[256], version[256] = "";
  while (fgets(line, sizeof line, p)) {
    if (line[0] == '#') {
      snprintf(version, sizeof version, "%s", line + 2);
      version[strcspn(version, "\n")] = '\0';
    } else if (np < 64 &&
               sscanf(line, "%d %ld %lf", &peer[np].layers, &peer[np].batch,
                      &peer[np].sps) == 3) {
      np++;
    }
  }
  if (pclose(p) != 0 || np == 0) {
    fprintf(stderr, "rbpe bench: the PyTorch peer failed (is python3-torch "
                    "installed? command: %s)\n", cmd);
    rbpe_ctx_free(ctx);
    return EXIT_FAILURE_RUN;
  }
  printf("rbpe: %s\npeer: PyTorch %s\nMLP: 256 inputs, hidden width 256, 1 "
         "output, Adam, full batch resident\n",
         rbpe_ctx_device_description(ctx), version);
  printf("%6s %8s %14s %14s %8s\n", "layers", "batch", "rbpe smp/s",
         "torch smp/s", "ratio");
  for (int i = 0; i < np; i++) {
    rbpe_bench_result r;
    rbpe_status st = rbpe_bench_mlp(ctx, peer[i].layers, 256, 128,
                                    (size_t)peer[i].batch, seconds, &r);
    if (st != RBPE_OK) {
      rc = cli_fail("bench", ctx, st);
      break;
    }
    printf("%6d %8ld %14.0f %14.0f %7.2fx\n", peer[i].layers, peer[i].batch,
           r.train_samples_per_s, peer[i].sps, r.train_samples_per_s / peer[i].sps);
    fflush(stdout);
  }
  rbpe_ctx_free(ctx);
  return rc;
}

static int bench_sigma(int argc, char **argv) {
  const char *device = NULL;
  long sides[8] = {64, 128, 256, 512, 1024}, iters = 20, centres = 128, k = 8;
  int nsides = 5;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (!strcmp(argv[i], "--sigma")) continue;
    if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("bench", "--device needs a value");
      device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--sides", &v))) {
      char buf[128];
      nsides = 0;
      snprintf(buf, sizeof buf, "%s", r > 0 ? v : "");
      for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (nsides == 8 || !cli_parse_long(t, 2, 4096, &sides[nsides]))
          return cli_usage_error("bench", "--sides needs up to 8 sizes 2..4096");
        nsides++;
      }
      if (!nsides) return cli_usage_error("bench", "--sides is empty");
    } else if ((r = cli_opt(argc, argv, &i, "--sigma-iters", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 100000, &iters))
        return cli_usage_error("bench", "--sigma-iters needs an integer >= 1");
    } else if ((r = cli_opt(argc, argv, &i, "--centres", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 65536, &centres))
        return cli_usage_error("bench", "--centres needs an integer >= 1");
    } else if ((r = cli_opt(argc, argv, &i, "--knn", &v))) {
      if (r < 0 || !cli_parse_long(v, 1, 1024, &k))
        return cli_usage_error("bench", "--knn needs an integer >= 1");
    } else {
      return cli_usage_error("bench", "unexpected argument '%s'", argv[i]);
    }
  }
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("bench", device, 0, 0, &rc);
  if (!ctx) return rc;
  printf("device: %s\nsigma solve, D = %ld per axis, k = %ld, %ld iterations\n",
         rbpe_ctx_device_description(ctx), centres, k, iters);
  printf("%9s %10s %9s %9s %12s %13s %12s\n", "L", "edges", "graph s",
         "solve s", "s/iteration", "device MiB", "graph MiB");
  for (int i = 0; i < nsides; i++) {
    rbpe_bench_sigma_result r;
    rbpe_status st = rbpe_bench_sigma(ctx, (size_t)sides[i], (int)centres,
                                      (int)k, (int)iters, &r);
    if (st != RBPE_OK) {
      rc = cli_fail("bench", ctx, st);
      break;
    }
    printf("%9zu %10zu %9.3f %9.2f %12.4f %13.1f %12.1f\n", r.nodes, r.edges,
           r.graph_s, r.solve_s, r.per_iteration_s,
           r.device_peak_bytes / 1048576.0, r.host_graph_bytes / 1048576.0);
    fflush(stdout);
  }
  rbpe_ctx_free(ctx);
  return rc;
}

int cmd_bench(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--sigma")) return bench_sigma(argc, argv);
    if (!strcmp(argv[i], "--peer")) return bench_peer(argc, argv);
  }
  const char *device = NULL;
  long lo = 12, hi = 18;
  int layers[8] = {1, 3}, nlayers = 2, json = 0;
  float seconds = 1.0f;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r;
    if (cli_flag(argv[i], "--help")) {
      fputs(bench_help, stdout);
      return EXIT_OK;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if ((r = cli_opt(argc, argv, &i, "--device", &v))) {
      if (r < 0) return cli_usage_error("bench", "--device needs a value");
      device = v;
    } else if ((r = cli_opt(argc, argv, &i, "--batches", &v))) {
      if (r < 0 || !parse_batches(v, &lo, &hi))
        return cli_usage_error("bench", "--batches needs LO:HI with 0 <= LO <= HI <= 24");
    } else if ((r = cli_opt(argc, argv, &i, "--layers", &v))) {
      if (r < 0) return cli_usage_error("bench", "--layers needs a list");
      nlayers = 0;
      char buf[64];
      snprintf(buf, sizeof buf, "%s", v);
      for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        long n;
        if (nlayers == 8 || !cli_parse_long(tok, 0, 16, &n))
          return cli_usage_error("bench", "--layers needs up to 8 counts 0..16");
        layers[nlayers++] = (int)n;
      }
      if (!nlayers) return cli_usage_error("bench", "--layers is empty");
    } else if ((r = cli_opt(argc, argv, &i, "--seconds", &v))) {
      if (r < 0 || !cli_parse_float(v, 0.0, 600.0, &seconds))
        return cli_usage_error("bench", "--seconds needs a number in [0, 600]");
    } else {
      return cli_usage_error("bench", "unexpected argument '%s'", argv[i]);
    }
  }
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("bench", device, 0, json, &rc);
  if (!ctx) return rc;
  const char *dev = rbpe_ctx_device_description(ctx);
  if (json)
    printf("{\"device\": \"%s\", \"results\": [", dev);
  else
    printf("device: %s\n%6s %8s %9s %12s %9s %12s %8s\n", dev, "layers",
           "batch", "step ms", "train smp/s", "GFLOP/s", "infer smp/s",
           "GEMM %");
  int first = 1;
  for (int li = 0; li < nlayers; li++)
    for (long e = lo; e <= hi; e++) {
      rbpe_bench_result r;
      rbpe_status st = rbpe_bench_mlp(ctx, layers[li], 256, 128, (size_t)1 << e,
                                      seconds, &r);
      if (st == RBPE_ERR_DEVICE_MEMORY || st == RBPE_ERR_OUT_OF_MEMORY) {
        if (!json)
          printf("%6d %8zu  skipped: %s\n", layers[li], (size_t)1 << e,
                 rbpe_last_error(ctx));
        continue;
      }
      if (st != RBPE_OK) {
        rc = cli_fail("bench", ctx, st);
        goto done;
      }
      if (json) {
        printf("%s\n  {\"hidden_layers\": %d, \"width\": %d, \"embed_dim\": %zu, "
               "\"batch\": %zu, \"step_ms\": %.4f, \"train_samples_per_s\": %.1f, "
               "\"train_gflops\": %.3f, \"infer_samples_per_s\": %.1f, "
               "\"gemm_share\": %.4f, \"steps_timed\": %d}",
               first ? "" : ",", r.hidden_layers, r.width, r.embed_dim, r.batch,
               r.step_s * 1e3, r.train_samples_per_s, r.train_gflops,
               r.infer_samples_per_s, r.gemm_share, r.steps_timed);
      } else {
        printf("%6d %8zu %9.2f %12.0f %9.2f %12.0f %7.1f%%\n", r.hidden_layers,
               r.batch, r.step_s * 1e3, r.train_samples_per_s, r.train_gflops,
               r.infer_samples_per_s, 100.0 * r.gemm_share);
      }
      fflush(stdout);
      first = 0;
    }
  if (json) printf("\n]}\n");
done:
  rbpe_ctx_free(ctx);
  return rc;
}
