/* `rbpe bench`: training-step and inference throughput and achieved
 * GFLOP/s per device for the seed's configurations (rbf, D = 128 per axis
 * in 2-D; 1 and 3 hidden layers of 256) over batch sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *bench_usage =
    "usage: rbpe bench [--device SPEC] [--batches LO:HI] [--layers LIST]\n"
    "                  [--seconds S] [--gemm own|clblast|both] [--json]\n"
    "Times training steps (forward, backward, Adam; the embedded training set\n"
    "stays on the device) and inference (embedding + forward) of an MLP of\n"
    "width 256 on an rbf embedding with 128 centres per axis of 2-D\n"
    "coordinates (M = 256: the seed's axes; a default fit's 8 directions give\n"
    "1024), for batch sizes 2^LO..2^HI (sizes that do not\n"
    "fit the device are reported and skipped) and hidden layer counts LIST.\n"
    "GEMM share: a step's time spent in GEMM, from a run synchronised around\n"
    "every op. On an OpenCL device, --gemm times rbpe's own GEMM kernels,\n"
    "CLBlast's, or both in the same run (each point twice, with the ratio).\n"
    "\n"
    "rbpe bench --sigma [--sides LIST] [--sigma-iters N] [--centres D] [--knn K]\n"
    "times the sparse sigma solve on side x side grids of 2-D points and\n"
    "reports time per iteration and peak device memory.\n"
    "\n"
    "rbpe bench --peer [--device SPEC] [--batches LO:HI] [--layers LIST]\n"
    "              [--seconds S] [--peer-script PATH] [--python PATH]\n"
    "trains the same model with PyTorch (tools/peer_bench_torch.py, Debian's\n"
    "python3-torch, as many threads as the cpu backend) in the same run and\n"
    "prints rbpe's training samples/s beside it, as a ratio.\n"
    "\n";

#define MAX_LIST 8

/* What the three benchmarks are asked for. */
typedef struct bench_opts {
  int sigma, peer, json;
  const char *device, *script, *python;
  long lo, hi; /* batch sizes 2^lo..2^hi; lo < 0: the mode's default */
  int layers[MAX_LIST], nlayers;
  float seconds;
  int sides[MAX_LIST], nsides;
  int iters, centres, k;
  int gemm; /* -1: as the device is; 0 own, 1 clblast, 2 both */
  int first; /* 0 auto (as a fit), 1 dense, 2 band, 3 both */
} bench_opts;

/* "LO:HI": batch sizes 2^LO..2^HI, 0 <= LO <= HI <= 24 */
static int batches_opt(void *at, const char *v) {
  bench_opts *o = at;
  char tail;
  long lo, hi;
  if (sscanf(v, "%ld:%ld%c", &lo, &hi, &tail) != 2 || lo < 0 || hi > 24 || lo > hi)
    return -1;
  o->lo = lo;
  o->hi = hi;
  return 0;
}

/* "1,3": up to MAX_LIST integers in [lo, hi] into out. */
static int int_list(const char *v, long lo, long hi, int *out, int *n) {
  char buf[128];
  if (strlen(v) >= sizeof buf) return -1;
  snprintf(buf, sizeof buf, "%s", v);
  *n = 0;
  for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
    long x;
    if (*n == MAX_LIST || !cli_parse_long(t, lo, hi, &x)) return -1;
    out[(*n)++] = (int)x;
  }
  return *n ? 0 : -1;
}

static int layers_opt(void *at, const char *v) {
  bench_opts *o = at;
  return int_list(v, 0, RBPE_MAX_HIDDEN, o->layers, &o->nlayers);
}

static int sides_opt(void *at, const char *v) {
  bench_opts *o = at;
  return int_list(v, 2, 4096, o->sides, &o->nsides);
}

static const cli_option *bench_table(bench_opts *o) {
  const cli_option table[] = {
      {"--device", CLI_STRING, &o->device, 0, 0, "SPEC", "auto | cpu | ref | cl | cl:P:D | cl:NAME (--peer: cpu)"},
      {"--json", CLI_FLAG, &o->json, 1, 0, NULL, "the results as JSON (training benchmark)"},
      {"--batches", CLI_CUSTOM, o, 0, 0, "LO:HI", "batch sizes 2^LO..2^HI (12:18; --peer 12:16)", "LO:HI with 0 <= LO <= HI <= 24", batches_opt},
      {"--layers", CLI_CUSTOM, o, 0, 0, "LIST", "hidden layer counts (1,3)", "up to 8 counts 0..16", layers_opt},
      {"--seconds", CLI_FLOAT, &o->seconds, 0, 600, "S", "minimum timed time per point (%D)"},
      {"--gemm", CLI_CHOICE, &o->gemm, 0, 0, "own|clblast|both", "OpenCL: whose GEMM to time (the device's: its tuning, else own)"},
      {"--first-layer", CLI_CHOICE, &o->first, 0, 0, "auto|dense|band|both", "the first layer as a fit runs it (banded where that is faster), dense, banded, or both in the same run (auto)"},
      {"--sigma", CLI_FLAG, &o->sigma, 1, 0, NULL, "time the sparse sigma solve instead"},
      {"--sides", CLI_CUSTOM, o, 0, 0, "LIST", "--sigma: grid sides (64,128,256,512,1024: L = 4k..1M)", "up to 8 sizes 2..4096", sides_opt},
      {"--sigma-iters", CLI_INT, &o->iters, 1, 1e5, "N", "--sigma: solver iterations (%D)"},
      {"--centres", CLI_INT, &o->centres, 1, RBPE_MAX_FEATURES, "D", "--sigma: rbf centres per axis (%D)"},
      {"--knn", CLI_INT, &o->k, 1, 1024, "K", "--sigma: neighbours per point (%D)"},
      {"--peer", CLI_FLAG, &o->peer, 1, 0, NULL, "race PyTorch on the same model"},
      {"--peer-script", CLI_STRING, &o->script, 0, 0, "PATH", "--peer: the PyTorch script (%D)"},
      {"--python", CLI_STRING, &o->python, 0, 0, "PATH", "--peer: the Python (%D)"},
      {NULL}};
  /* kept for the whole parse and --help, sized by the table itself */
  static cli_option kept[sizeof table / sizeof table[0]];
  memcpy(kept, table, sizeof table);
  return kept;
}

/* --first-layer's run k (0; 1 for the second of both) as an
 * RBPE_BENCH_FIRST_ value */
static int first_mode(const bench_opts *o, int k) {
  static const int modes[] = {RBPE_BENCH_FIRST_AUTO, RBPE_BENCH_FIRST_DENSE,
                              RBPE_BENCH_FIRST_BAND};
  return modes[o->first == 3 ? 1 + k : o->first];
}

/* "dense" or "band W/D" */
static void first_name(const rbpe_bench_result *r, char *buf, size_t len) {
  if (r->first_layer_band)
    snprintf(buf, len, "band %d/%d", r->first_layer_band,
             (int)(r->embed_dim / 2));
  else
    snprintf(buf, len, "dense");
}

#ifndef RBPE_PEER_SCRIPT
#define RBPE_PEER_SCRIPT "tools/peer_bench_torch.py"
#endif


static int bench_peer(const bench_opts *o) {
  const char *script = o->script, *python = o->python;
  const char *device = o->device ? o->device : "cpu";
  long lo = o->lo, hi = o->hi;
  double seconds = o->seconds;
  char layers[64] = "";
  for (int i = 0; i < o->nlayers; i++)
    snprintf(layers + strlen(layers), sizeof layers - strlen(layers), "%s%d",
             i ? "," : "", o->layers[i]);
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
           python, script, layers, batches, seconds, rbpe_threads());
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
  printf("%6s %8s %14s %14s %8s  %s\n", "layers", "batch", "rbpe smp/s",
         "torch smp/s", "ratio", "rbpe's first layer");
  int nm = o->first == 3 ? 2 : 1;
  for (int i = 0; i < np && rc == EXIT_OK; i++)
    for (int k = 0; k < nm; k++) {
      rbpe_bench_result r;
      rbpe_status st = rbpe_bench_mlp(ctx, peer[i].layers, 256, 128,
                                      (size_t)peer[i].batch, o->seconds,
                                      first_mode(o, k), &r);
      if (st != RBPE_OK) {
        rc = cli_fail("bench", ctx, st);
        break;
      }
      char first[32];
      first_name(&r, first, sizeof first);
      printf("%6d %8ld %14.0f %14.0f %7.2fx  %s\n", peer[i].layers,
             peer[i].batch, r.train_samples_per_s, peer[i].sps,
             r.train_samples_per_s / peer[i].sps, first);
      fflush(stdout);
    }
  rbpe_ctx_free(ctx);
  return rc;
}

static int bench_sigma(const bench_opts *o) {
  const char *device = o->device;
  int iters = o->iters, centres = o->centres, k = o->k;
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("bench", device, 0, 0, &rc);
  if (!ctx) return rc;
  printf("device: %s\nsigma solve, D = %d per axis, k = %d, %d iterations\n",
         rbpe_ctx_device_description(ctx), centres, k, iters);
  printf("%9s %10s %9s %9s %12s %13s %12s\n", "L", "edges", "graph s",
         "solve s", "s/iteration", "device MiB", "graph MiB");
  for (int i = 0; i < o->nsides; i++) {
    rbpe_bench_sigma_result r;
    rbpe_status st = rbpe_bench_sigma(ctx, (size_t)o->sides[i], centres, k,
                                      iters, &r);
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

/* The options into o: -1 to go on, else the exit code. */
static int parse_bench(int argc, char **argv, bench_opts *o) {
  *o = (bench_opts){.script = RBPE_PEER_SCRIPT, .python = "/usr/bin/python3",
                    .lo = -1, .layers = {1, 3}, .nlayers = 2, .seconds = 1.0f,
                    .sides = {64, 128, 256, 512, 1024}, .nsides = 5,
                    .iters = 20, .centres = 128, .k = 8, .gemm = -1,
                    .first = 0};
  const cli_option *table = bench_table(o);
  int prc = cli_options_run("bench", bench_usage, table, argc, argv, NULL, 0);
  if (prc >= 0) return prc;
  if (o->sigma && o->peer)
    return cli_usage_error("bench", "--sigma and --peer do not mix");
  if (o->gemm == 2 && o->first == 3)
    return cli_usage_error("bench", "--gemm both and --first-layer both do not mix");
  if (o->lo < 0) {
    o->lo = 12;
    o->hi = o->peer ? 16 : 18;
  }
  return -1;
}

/* One point on the GEMM in use: a table row or a JSON object. */
static void print_point(const rbpe_bench_result *r, const char *gemm, int json,
                        int first) {
  char fl[32];
  first_name(r, fl, sizeof fl);
  if (json) {
    /* the GEMM's text may carry a driver's words (a failed self-test's
     * reason): escaped */
    printf("%s\n  {\"hidden_layers\": %d, \"width\": %d, \"embed_dim\": %zu, "
           "\"batch\": %zu, \"gemm\": ",
           first ? "" : ",", r->hidden_layers, r->width, r->embed_dim, r->batch);
    cli_json_str(stdout, gemm);
    printf(", \"step_ms\": %.4f, "
           "\"train_samples_per_s\": %.1f, \"train_gflops\": %.3f, "
           "\"infer_samples_per_s\": %.1f, \"gemm_share\": %.4f, "
           "\"steps_timed\": %d, \"first_layer_band\": %d}",
           r->step_s * 1e3, r->train_samples_per_s, r->train_gflops,
           r->infer_samples_per_s, r->gemm_share, r->steps_timed,
           r->first_layer_band);
  } else {
    printf("%6d %8zu %9.2f %12.0f %9.2f %12.0f %7.1f%%  %-11s %s\n",
           r->hidden_layers, r->batch, r->step_s * 1e3, r->train_samples_per_s,
           r->train_gflops, r->infer_samples_per_s, 100.0 * r->gemm_share, fl,
           gemm);
  }
  fflush(stdout);
}

int cmd_bench(int argc, char **argv) {
  bench_opts o;
  int prc = parse_bench(argc, argv, &o);
  if (prc >= 0) return prc;
  if (o.sigma) return bench_sigma(&o);
  if (o.peer) return bench_peer(&o);
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("bench", o.device, 0, o.json, &rc);
  if (!ctx) return rc;
  /* the GEMMs to time, each point in turn */
  static const char *const names[2] = {"own", "clblast"};
  const char *paths[2] = {NULL, NULL};
  int npaths = 1;
  if (o.gemm == 2) {
    paths[0] = names[0];
    paths[1] = names[1];
    npaths = 2;
  } else if (o.gemm >= 0) {
    paths[0] = names[o.gemm];
  }
  char gemm[2][320];
  for (int p = 0; p < npaths; p++) {
    rbpe_status st = rbpe_ctx_gemm(ctx, paths[p], gemm[p], sizeof gemm[p]);
    if (st != RBPE_OK) {
      rc = cli_fail("bench", ctx, st);
      rbpe_ctx_free(ctx);
      return rc;
    }
  }
  const char *dev = rbpe_ctx_device_description(ctx);
  if (o.json)
    printf("{\"device\": \"%s\", \"results\": [", dev);
  else
    printf("device: %s\n%6s %8s %9s %12s %9s %12s %8s  %-11s %s\n", dev,
           "layers", "batch", "step ms", "train smp/s", "GFLOP/s",
           "infer smp/s", "GEMM %", "first layer", "GEMM");
  /* each point once, or twice: both GEMMs, or the first layer both ways */
  int nruns = o.first == 3 ? 2 : npaths;
  int run_path[2] = {0, npaths == 2 ? 1 : 0};
  int run_mode[2] = {first_mode(&o, 0), first_mode(&o, 1)};
  int first = 1;
  for (int li = 0; li < o.nlayers; li++)
    for (long e = o.lo; e <= o.hi; e++) {
      double sps[2] = {0, 0};
      for (int p = 0; p < nruns; p++) {
        rbpe_bench_result r;
        rbpe_status st = rbpe_ctx_gemm(ctx, paths[run_path[p]], NULL, 0);
        if (st == RBPE_OK)
          st = rbpe_bench_mlp(ctx, o.layers[li], 256, 128, (size_t)1 << e,
                              o.seconds, run_mode[p], &r);
        if (st == RBPE_ERR_DEVICE_MEMORY || st == RBPE_ERR_OUT_OF_MEMORY) {
          if (!o.json)
            printf("%6d %8zu  skipped: %s\n", o.layers[li], (size_t)1 << e,
                   rbpe_last_error(ctx));
          continue;
        }
        if (st != RBPE_OK) {
          rc = cli_fail("bench", ctx, st);
          goto done;
        }
        print_point(&r, gemm[run_path[p]], o.json, first);
        sps[p] = r.train_samples_per_s;
        first = 0;
      }
      if (nruns == 2 && !o.json && sps[0] > 0 && sps[1] > 0)
        printf("%6s %8s  training %s: %.2fx\n", "", "",
               o.first == 3 ? "band / dense" : "own / clblast",
               o.first == 3 ? sps[1] / sps[0] : sps[0] / sps[1]);
    }
  if (o.json) printf("\n]}\n");
done:
  rbpe_ctx_free(ctx);
  return rc;
}
