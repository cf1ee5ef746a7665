/* `rbpe check`: every op on a device against the reference backend, as a
 * table, and a 50-step training run compared step by step. The
 * cross-vendor correctness tool to run on new hardware. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *check_help =
    "usage: rbpe check [--device SPEC|all] [--small] [--op NAME]\n"
    "Runs every op on seeded random inputs on the device and on ref and\n"
    "prints, per op and shape, the worst absolute and relative error, the\n"
    "tolerance and pass/fail; then trains the same small model for 50 steps\n"
    "on both and compares the loss at every step (relative tolerance 1e-3)\n"
    "and the final held-out PSNR (0.05 dB). Exit status 5 when anything\n"
    "fails.\n";

/* Training comparison tolerances (see README "Cross-checking"). */
#define TRAIN_LOSS_RTOL 1e-3
#define TRAIN_PSNR_ATOL 0.05
#define TRAIN_STEPS 50

typedef struct table {
  const char *device;
  int rows;
} table;

static void print_row(const rbpe_check_row *r, void *user) {
  table *t = user;
  t->rows++;
  printf("%-17s %-32s %9.2e %9.2e  %7.0e %7.0e  %s\n", r->op, r->shape,
         r->max_abs, r->max_rel, r->atol, r->rtol, r->pass ? "pass" : "FAIL");
}

/* A 32x32 test image: a smooth ramp, a sine pattern and an edge. */
static rbpe_signal *test_image(rbpe_ctx *ctx) {
  enum { N = 32 };
  float v[N * N];
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      v[y * N + x] = 0.3f + 0.2f * sinf(0.6f * x) * cosf(0.4f * y) +
                     (x + y > N ? 0.35f : 0.0f) + 0.004f * y;
  size_t dims[2] = {N, N};
  rbpe_signal *s = NULL;
  rbpe_signal_from_data(ctx, 2, dims, 1, v, &s);
  return s;
}

static int train_compare(const char *spec, int *failed) {
  rbpe_ctx *ref = rbpe_ctx_new(), *dev = rbpe_ctx_new();
  rbpe_signal *img = NULL;
  rbpe_model *m1 = NULL, *m2 = NULL;
  rbpe_fit_report r1, r2;
  memset(&r1, 0, sizeof r1);
  memset(&r2, 0, sizeof r2);
  int rc = EXIT_OK;
  rbpe_status st = rbpe_ctx_select_device(ref, "ref");
  if (st == RBPE_OK) st = rbpe_ctx_select_device(dev, spec);
  img = st == RBPE_OK ? test_image(ref) : NULL;
  rbpe_fit_config cfg;
  rbpe_fit_config_default(&cfg);
  cfg.embed.rbf_centres = 32;
  /* a uniform sigma: the training run compares the MLP's steps (the graph
   * solve's ops are compared in the table above) */
  cfg.sigma_mode = RBPE_SIGMA_UNIFORM;
  cfg.sigma = 0.05f;
  cfg.hidden_layers = 2;
  cfg.width = 64;
  cfg.steps = TRAIN_STEPS;
  cfg.lr = 5e-3f;
  cfg.log_every = 1;
  if (st == RBPE_OK) st = rbpe_fit(ref, img, &cfg, &m1, &r1);
  if (st != RBPE_OK) {
    rc = cli_fail("check", ref, st);
    goto done;
  }
  st = rbpe_fit(dev, img, &cfg, &m2, &r2);
  if (st != RBPE_OK) {
    rc = cli_fail("check", dev, st);
    goto done;
  }
  double worst = 0;
  int worst_step = 0;
  for (int i = 0; i < r1.curve_len && i < r2.curve_len; i++) {
    double d = fabs((double)r1.curve_loss[i] - r2.curve_loss[i]) /
               fmax(1e-12, fabs((double)r1.curve_loss[i]));
    if (d > worst) {
      worst = d;
      worst_step = r1.curve_step[i];
    }
  }
  double dpsnr = fabs(r1.test_psnr - r2.test_psnr);
  int ok = r1.curve_len == r2.curve_len && worst <= TRAIN_LOSS_RTOL &&
           dpsnr <= TRAIN_PSNR_ATOL;
  printf("%-17s %-32s %9.2e %9s  %7.0e %7s  %s\n", "train 50 steps",
         "loss per step, relative", worst, "", TRAIN_LOSS_RTOL, "",
         ok ? "pass" : "FAIL");
  printf("%-17s ref %.3f dB, device %.3f dB (|diff| %.4f <= %.2f); worst "
         "loss step %d\n",
         "held-out PSNR", r1.test_psnr, r2.test_psnr, dpsnr, TRAIN_PSNR_ATOL,
         worst_step);
  if (!ok) (*failed)++;
done:
  rbpe_fit_report_clear(&r1);
  rbpe_fit_report_clear(&r2);
  rbpe_model_free(m1);
  rbpe_model_free(m2);
  rbpe_signal_free(img);
  rbpe_ctx_free(ref);
  rbpe_ctx_free(dev);
  return rc;
}

static const char *only_op;

static int check_one(const char *spec, int small, int *failed) {
  int rc = EXIT_OK;
  rbpe_ctx *ctx = cli_open("check", spec, 0, 1, &rc);
  if (!ctx) return rc;
  printf("== %s\n", rbpe_ctx_device_description(ctx));
  printf("%-17s %-32s %9s %9s  %7s %7s  %s\n", "op", "shape", "max abs",
         "max rel", "atol", "rtol", "result");
  table t = {spec, 0};
  int failures = 0;
  rbpe_status st = rbpe_check_ops(ctx, small, only_op, print_row, &t, &failures);
  if (st != RBPE_OK) {
    rc = cli_fail("check", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  rbpe_ctx_free(ctx);
  *failed += failures;
  rc = train_compare(spec, failed);
  return rc;
}

int cmd_check(int argc, char **argv) {
  const char *spec = NULL;
  int small = 0;
  const cli_option table[] = {
      {"--device", CLI_STRING, &spec, 0, 0, "SPEC|all", "the device to check (auto); all: cpu and every usable OpenCL device"},
      {"--small", CLI_FLAG, &small, 1, 0, NULL, "small shapes only"},
      {"--op", CLI_STRING, &only_op, 0, 0, "NAME", "check one op only (e.g. gemm)"},
      {NULL}};
  int prc = cli_options_run("check", check_help, table, argc, argv, NULL, 0);
  if (prc >= 0) return prc;
  int failed = 0, rc = EXIT_OK;
  if (spec && !strcmp(spec, "all")) {
    rbpe_ctx *ctx = rbpe_ctx_new();
    rbpe_device_info *list = NULL;
    size_t n = 0;
    int nplat = 0, usable = 0;
    rbpe_status st = rbpe_list_devices(ctx, &list, &n, &nplat);
    if (st != RBPE_OK) {
      rc = cli_fail("check", ctx, st);
      rbpe_ctx_free(ctx);
      return rc;
    }
    rbpe_ctx_free(ctx);
    rc = check_one("cpu", small, &failed);
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
      if (!list[i].usable) continue;
      usable++;
      char s[32];
      snprintf(s, sizeof s, "cl:%d:%d", list[i].platform_index,
               list[i].device_index);
      rc = check_one(s, small, &failed);
    }
    rbpe_free(list);
    if (usable == 0 && rc == EXIT_OK)
      printf("(no usable OpenCL device: %d platform(s); checked cpu only)\n",
             nplat);
  } else {
    rc = check_one(spec, small, &failed);
  }
  if (rc != EXIT_OK) return rc;
  printf("%s: %d failure(s)\n", failed ? "FAILED" : "all checks passed", failed);
  return failed ? EXIT_CHECK_FAILED : EXIT_OK;
}
