/* Every op on random inputs on ref and on every usable OpenCL device,
 * compared with the per-op tolerances in src/opcheck.c. `--small` keeps
 * only small shapes (for oclgrind); `--indirect` runs only the GEMMs
 * through CLBlast's indirect route (see below). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu.h"
#include "backend/opencl.h"
#include "backend/ref.h"
#include "internal.h"
#include "opcheck.h"
#include "testutil.h"

static void show(const rbpe_opcheck_result *r, void *user) {
  const char *dev = user;
  printf("%-18s %-34s %8zu  abs %.3e  rel %.3e  (atol %.0e rtol %.0e)%s %s\n",
         r->op, r->shape, r->count, r->max_abs, r->max_rel, r->atol, r->rtol,
         r->canary_ok ? "" : " CANARY OVERWRITTEN", r->pass ? "ok" : "FAIL");
  if (!r->pass) fprintf(stderr, "FAIL %s on %s\n", r->op, dev);
}

/* Buffer views (the trainer's parameter arena): they read and write their
 * window of the parent, ops on them touch nothing outside it, they cost no
 * memory, and misaligned or out-of-range windows are refused. */
static void check_views(rbpe_backend *be) {
  size_t al = (size_t)be->view_align / sizeof(float), n = 3 * al + 40;
  float *h = malloc(n * sizeof(float)), *back = malloc(n * sizeof(float));
  rbpe_buf *parent = NULL, *v = NULL, *bad = NULL;
  if (!h || !back) goto out;
  for (size_t i = 0; i < n; i++) h[i] = (float)i;
  CHECK(rbpe_buf_from_host(be, h, n, &parent) == RBPE_OK, "%s", be->err->msg);
  if (!parent) goto out;
  uint64_t used = be->mem_used;
  CHECK(rbpe_buf_view(be, parent, al * sizeof(float), 24 * sizeof(float), &v) ==
            RBPE_OK, "view on %s: %s", be->description, be->err->msg);
  if (!v) goto out;
  CHECK(be->mem_used == used, "a view counted as memory on %s", be->description);
  float got[24] = {0};
  CHECK(rbpe_buf_read(be, v, 0, sizeof got, got) == RBPE_OK && got[0] == (float)al &&
            got[23] == (float)(al + 23), "view reads %g..%g on %s", (double)got[0],
        (double)got[23], be->description);
  /* an op through the view: fill 10 floats at view offset 4 */
  CHECK(rbpe_buf_fill(be, v, 4 * sizeof(float), 10, -1.0f) == RBPE_OK, "%s",
        be->err->msg);
  CHECK(rbpe_buf_read(be, parent, 0, n * sizeof(float), back) == RBPE_OK, "%s",
        be->err->msg);
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    float want = i >= al + 4 && i < al + 14 ? -1.0f : (float)i;
    ok &= back[i] == want;
  }
  CHECK(ok, "a fill through a view changed the wrong part of the parent on %s",
        be->description);
  if (al > 1)
    CHECK(rbpe_buf_view(be, parent, sizeof(float), 4 * sizeof(float), &bad) !=
              RBPE_OK, "misaligned view accepted on %s", be->description);
  CHECK(rbpe_buf_view(be, parent, al * sizeof(float), n * sizeof(float), &bad) !=
            RBPE_OK, "view past the end accepted on %s", be->description);
  rbpe_buf_free(be, bad);
out:
  rbpe_buf_free(be, v);
  rbpe_buf_free(be, parent);
  free(h);
  free(back);
}


/* The banded first layer against the dense one on one backend (README,
 * "The first layer's window"): the banded embedding holds the dense
 * embedding's values in each window, every value it leaves out is at most
 * exp(-RBPE_BAND_QCUT) of the row's peak, and band_gemm and
 * band_gemm_wgrad match the dense GEMMs on the expanded rows within what
 * those left-out values can move them (plus GEMM rounding). */
static void check_band_vs_dense(rbpe_backend *be, int small) {
  const int N = 2, D = 64, H = 40;
  const size_t n = small ? 60 : 400;
  for (int variant = 0; variant < 2; variant++) {
    const float order = variant ? 2.0f : 1.0f, norm_ref = variant ? 0.0f : 0.01f;
    const int ndir = rbpe_rbf_directions(N, 1, 0, NULL);
    rbpe_band b = {ndir, D, rbpe_band_width(D, order, 0.02f)};
    const size_t M = (size_t)ndir * D, cols = rbpe_band_cols(&b);
    float *x = malloc(n * N * sizeof(float)), *sg = malloc(n * sizeof(float)),
          *dirs = malloc((size_t)ndir * (N + 1) * sizeof(float)),
          *w = malloc(M * H * sizeof(float)), *g = malloc(n * H * sizeof(float)),
          *dense = malloc(n * M * sizeof(float)), *band = malloc(n * cols * sizeof(float)),
          *o1 = malloc(n * H * sizeof(float)), *o2 = malloc(n * H * sizeof(float)),
          *d1 = malloc(M * H * sizeof(float)), *d2 = malloc(M * H * sizeof(float)),
          *ex = calloc(n * M, sizeof(float));
    rbpe_buf *bx = NULL, *bs = NULL, *bd = NULL, *bw = NULL, *bg = NULL,
             *bdense = NULL, *bband = NULL, *bo = NULL, *bdw = NULL;
    if (!x || !sg || !dirs || !w || !g || !dense || !band || !o1 || !o2 || !d1 ||
        !d2 || !ex)
      goto out;
    rbpe_rng rng;
    rbpe_rng_seed(&rng, 77 + (uint64_t)variant);
    for (size_t i = 0; i < n * N; i++) x[i] = rbpe_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++) sg[i] = 0.005f + 0.015f * rbpe_rng_uniform(&rng);
    for (size_t i = 0; i < M * H; i++) w[i] = 2.0f * rbpe_rng_uniform(&rng) - 1.0f;
    for (size_t i = 0; i < n * H; i++) g[i] = 2.0f * rbpe_rng_uniform(&rng) - 1.0f;
    rbpe_rbf_directions(N, 1, 0, dirs);
    rbpe_status st = rbpe_buf_from_host(be, x, n * N, &bx);
    if (st == RBPE_OK) st = rbpe_buf_from_host(be, sg, n, &bs);
    if (st == RBPE_OK) st = rbpe_buf_from_host(be, dirs, (size_t)ndir * (N + 1), &bd);
    if (st == RBPE_OK) st = rbpe_buf_from_host(be, w, M * H, &bw);
    if (st == RBPE_OK) st = rbpe_buf_from_host(be, g, n * H, &bg);
    if (st == RBPE_OK) st = rbpe_buf_alloc(be, n * M * sizeof(float), &bdense);
    if (st == RBPE_OK) st = rbpe_buf_alloc(be, n * cols * sizeof(float), &bband);
    if (st == RBPE_OK) st = rbpe_buf_alloc(be, n * H * sizeof(float), &bo);
    if (st == RBPE_OK) st = rbpe_buf_alloc(be, M * H * sizeof(float), &bdw);
    rbpe_rbf_op op = {n, N, ndir, D, order, bx, bs, bd, bdense, norm_ref, 0, 0.0f};
    if (st == RBPE_OK) st = rbpe_op_embed_rbf(be, &op);
    op.out = bband;
    op.band = b.width;
    op.reach = rbpe_band_reach(order);
    if (st == RBPE_OK) st = rbpe_op_embed_rbf(be, &op);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bdense, 0, n * M * sizeof(float), dense);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bband, 0, n * cols * sizeof(float), band);
    CHECK(st == RBPE_OK, "band embedding on %s: %s", be->description, be->err->msg);
    if (st != RBPE_OK) goto out;
    /* the values: equal inside, at most the cut outside; `lost` per row
     * and direction for the product bounds below */
    double worst_in = 0, worst_out = 0;
    float *lost = calloc(n * M, sizeof(float)); /* dropped values, dense layout */
    if (!lost) goto out;
    for (size_t i = 0; i < n; i++) {
      float peak = norm_ref > 0.0f ? sqrtf(norm_ref / sg[i]) : 1.0f;
      for (int a = 0; a < ndir; a++) {
        int s0 = (int)band[i * cols + a];
        for (int j = 0; j < D; j++) {
          size_t at = i * M + (size_t)a * D + j;
          if (j >= s0 && j < s0 + b.width) {
            ex[at] = band[i * cols + ndir + (size_t)a * b.width + (j - s0)];
            worst_in = fmax(worst_in, fabs(ex[at] - dense[at]));
          } else {
            lost[at] = dense[at];
            worst_out = fmax(worst_out, dense[at] / peak);
          }
        }
      }
    }
    printf("band %d/%d b=%g on %s: values in the window differ by %.1e, the "
           "largest left out is %.2e of its row's peak (cut %.2e)\n",
           b.width, D, (double)order, be->description, worst_in, worst_out,
           exp(-RBPE_BAND_QCUT));
    CHECK(worst_in <= 1e-6, "band values differ from dense by %g on %s", worst_in,
          be->description);
    CHECK(worst_out <= exp(-RBPE_BAND_QCUT) * 1.001, "a left-out value %g above "
          "the cut on %s", worst_out, be->description);
    /* the products */
    st = rbpe_op_band_gemm(be, &b, n, H, bband, bw, bo);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bo, 0, n * H * sizeof(float), o2);
    if (st == RBPE_OK) st = rbpe_op_gemm(be, 0, 0, n, H, M, 1.0f, bdense, M, bw, H, 0.0f, bo, H);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bo, 0, n * H * sizeof(float), o1);
    if (st == RBPE_OK) st = rbpe_op_band_gemm_wgrad(be, &b, n, H, bband, bg, bdw);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bdw, 0, M * H * sizeof(float), d2);
    if (st == RBPE_OK) st = rbpe_op_gemm(be, 1, 0, M, H, n, 1.0f, bdense, M, bg, H, 0.0f, bdw, H);
    if (st == RBPE_OK) st = rbpe_buf_read(be, bdw, 0, M * H * sizeof(float), d1);
    CHECK(st == RBPE_OK, "band products on %s: %s", be->description, be->err->msg);
    if (st == RBPE_OK) {
      /* |dense - band| <= sum |left out| |factor| + 1e-5 (1 + |dense|) */
      int bad = 0;
      double worst = 0;
      for (size_t i = 0; i < n; i++)
        for (int h = 0; h < H; h++) {
          double bound = 0;
          for (size_t m = 0; m < M; m++) bound += fabs(lost[i * M + m] * w[m * H + h]);
          double e = fabs((double)o1[i * H + h] - o2[i * H + h]);
          worst = fmax(worst, e);
          bad += e > bound + 1e-5 * (1.0 + fabs(o1[i * H + h]));
        }
      for (size_t m = 0; m < M; m++)
        for (int h = 0; h < H; h++) {
          double bound = 0;
          for (size_t i = 0; i < n; i++) bound += fabs(lost[i * M + m] * g[i * H + h]);
          double e = fabs((double)d1[m * H + h] - d2[m * H + h]);
          worst = fmax(worst, e);
          bad += e > bound + 1e-5 * (1.0 + fabs(d1[m * H + h])) * sqrt((double)n);
        }
      printf("  band_gemm and band_gemm_wgrad against the dense GEMMs: largest "
             "difference %.2e\n", worst);
      CHECK(bad == 0, "%d banded product value(s) beyond the bound on %s", bad,
            be->description);
    }
    free(lost);
  out:
    rbpe_buf_free(be, bx);
    rbpe_buf_free(be, bs);
    rbpe_buf_free(be, bd);
    rbpe_buf_free(be, bw);
    rbpe_buf_free(be, bg);
    rbpe_buf_free(be, bdense);
    rbpe_buf_free(be, bband);
    rbpe_buf_free(be, bo);
    rbpe_buf_free(be, bdw);
    free(x), free(sg), free(dirs), free(w), free(g), free(dense), free(band);
    free(o1), free(o2), free(d1), free(d2), free(ex);
  }
}

int main(int argc, char **argv) {
  /* [--small] [--indirect] [--host] [OP]: small shapes only; only the
   * indirect GEMM passes; only the host backends (ref against cpu, for the
   * runs under other thread counts and instruction sets); --platform
   * TEXT: only the OpenCL devices of platforms whose name contains TEXT,
   * and at least one of them must be usable; only the op named OP */
  int small = 0, indirect_only = 0, host_only = 0;
  const char *only = NULL, *platform = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--small")) small = 1;
    else if (!strcmp(argv[i], "--platform") && i + 1 < argc)
      platform = argv[++i];
    else if (!strcmp(argv[i], "--indirect")) indirect_only = 1;
    else if (!strcmp(argv[i], "--host")) host_only = 1;
    else only = argv[i];
  }
  /* the indirect passes: with --indirect, or in a full run that checks gemm */
  int indirect = indirect_only || (!small && (!only || !strcmp(only, "gemm")));
  rbpe_err err = {0};
  rbpe_backend *ref = NULL;
  CHECK(rbpe_ref_backend_create(&err, &ref) == RBPE_OK, "%s", err.msg);
  if (!ref) return test_summary("test_ops");
  check_views(ref);
  if (!indirect_only) check_band_vs_dense(ref, small);
  /* the seam: required slots checked, optional hooks asked for */
  CHECK(rbpe_backend_ops_check(ref->ops, "ref", &err) == RBPE_OK, "ref's table");
  CHECK(!rbpe_backend_supports(ref, RBPE_HOOK_TUNE_GEMM) &&
            !rbpe_backend_supports(ref, RBPE_HOOK_ALT_GEMM_ROUTE) &&
            !rbpe_backend_supports(ref, RBPE_HOOK_GEMM_PATH),
        "ref claims an OpenCL hook");
  {
    rbpe_backend_ops holed = *ref->ops;
    holed.adam = NULL;
    CHECK(rbpe_backend_ops_check(&holed, "test", &err) == RBPE_ERR_INTERNAL &&
              strstr(err.msg, "'adam'"),
          "a table without adam accepted: %s", err.msg);
    rbpe_err_clear(&err);
  }

  /* the threaded host backend, always present; with --host, once for each
   * build of its vectorised loops that this processor runs (RBPE_CPU_ISA),
   * unless the environment already names one */
  const char *isas[] = {"baseline", "avx2", "avx512f"};
  const char *env_isa = getenv("RBPE_CPU_ISA");
  int runs = host_only && !(env_isa && *env_isa) ? 3 : 1;
  for (int r = 0; r < runs && !indirect_only; r++) {
    if (runs > 1) setenv("RBPE_CPU_ISA", isas[r], 1);
    rbpe_backend *cpu = NULL;
    rbpe_status st = rbpe_cpu_backend_create(&err, &cpu);
    if (runs > 1 && st == RBPE_ERR_UNSUPPORTED) {
      printf("== cpu, %s loops: not on this processor\n", isas[r]);
      continue;
    }
    CHECK(st == RBPE_OK, "%s", err.msg);
    if (cpu) {
      printf("== %s\n", cpu->description);
      check_views(cpu);
      check_band_vs_dense(cpu, small);
      int failures = -1;
      st = rbpe_opcheck_run(ref, cpu, small, only, show, cpu->description,
                            &failures);
      CHECK(st == RBPE_OK, "op check on cpu: %s", err.msg);
      CHECK(failures == 0, "%d op case(s) out of tolerance on %s", failures,
            cpu->description);
      rbpe_backend_close(cpu);
    }
  }
  if (runs > 1) unsetenv("RBPE_CPU_ISA");

  if (host_only) {
    rbpe_backend_close(ref);
    rbpe_err_clear(&err);
    return test_summary("test_ops");
  }
  rbpe_device_info *list = NULL;
  size_t n = 0;
  int nplat = 0;
  CHECK(rbpe_opencl_list_devices(&err, &list, &n, &nplat) == RBPE_OK, "%s",
        err.msg);
  int usable = 0;
  for (size_t i = 0; i < n; i++) {
    if (platform && !strstr(list[i].platform, platform)) continue;
    if (!list[i].usable) {
      printf("unusable device %s: %s\n", list[i].name, list[i].why_not);
      continue;
    }
    usable++;
    rbpe_backend *dev = NULL;
    rbpe_status st = rbpe_opencl_backend_create(
        list[i].platform_index, list[i].device_index, &err, &dev);
    CHECK(st == RBPE_OK, "opening %s: %s", list[i].name, err.msg);
    if (st != RBPE_OK) continue;
    CHECK(rbpe_backend_supports(dev, RBPE_HOOK_TUNE_GEMM) &&
              rbpe_backend_supports(dev, RBPE_HOOK_ALT_GEMM_ROUTE) &&
              rbpe_backend_supports(dev, RBPE_HOOK_GEMM_PATH),
          "%s lacks its hooks", dev->description);
    int failures = -1;
    /* a simulator runs every work-item of a tile: the default's 128 x 64
     * tiles of a GPU made the small cases take minutes under oclgrind */
    if (small) {
      CHECK(rbpe_opencl_gemm_test_tiles(dev, "MWG=16,NWG=16,KWG=8,MDIM=4,NDIM=4") ==
                RBPE_OK,
            "small tiles on %s: %s", dev->description, err.msg);
      printf("(own GEMM with 16 x 16 tiles under --small)\n");
    }
    if (!indirect_only) {
      printf("== %s\n", dev->description);
      check_views(dev);
      check_band_vs_dense(dev, small);
      st = rbpe_opcheck_run(ref, dev, small, only, show, dev->description,
                            &failures);
      CHECK(st == RBPE_OK, "op check on %s: %s%s%s", dev->description,
            err.msg, err.detail ? "\n" : "", err.detail ? err.detail : "");
      CHECK(failures == 0, "%d op case(s) out of tolerance on %s", failures,
            dev->description);
    }
    /* rbpe's own GEMM with other tiles than the default: small and large
     * register tiles, unequal sides, every k step; a set the device cannot
     * hold is refused by name */
    int ran_tiles = 0;
    /* under a simulator (small): small tiles, two of them with vector reads */
    static const char *const small_tiles[] = {
        "MWG=32,NWG=16,KWG=8,MDIM=4,NDIM=4,VW=2",
        "MWG=16,NWG=32,KWG=8,MDIM=2,NDIM=4,VW=4",
        /* one warp of the 3xTF32 tiling, mma.sync emulated, values split
         * into local memory (MMA=2's loads run in the full tests; each
         * emulated set doubles the simulator's time) */
        "MWG=32,NWG=16,KWG=8,MDIM=4,NDIM=8,VW=1,MMA=4"};
    static const char *const full_tiles[] = {
        "MWG=16,NWG=16,KWG=8,MDIM=4,NDIM=4",
        "MWG=128,NWG=64,KWG=8,MDIM=8,NDIM=8,VW=4",
        "MWG=128,NWG=128,KWG=16,MDIM=16,NDIM=16",
        "MWG=32,NWG=64,KWG=32,MDIM=8,NDIM=16,VW=2",
        "MWG=64,NWG=32,KWG=8,MDIM=16,NDIM=4,VW=1",
        "MWG=64,NWG=128,KWG=16,MDIM=4,NDIM=16,VW=4",
        "MWG=8,NWG=8,KWG=8,MDIM=2,NDIM=2",
        /* the 3xTF32 kernel's tiling with mma.sync emulated (any device),
         * then on tensor cores (NVIDIA from compute capability 8.0; others
         * refuse them by name) */
        "MWG=64,NWG=32,KWG=16,MDIM=8,NDIM=8,VW=4,MMA=2",
        "MWG=32,NWG=64,KWG=8,MDIM=4,NDIM=16,VW=4,MMA=2",
        "MWG=64,NWG=64,KWG=8,MDIM=8,NDIM=8,VW=4,MMA=4",
        "MWG=128,NWG=64,KWG=16,MDIM=16,NDIM=16,VW=4,MMA=1",
        "MWG=128,NWG=64,KWG=8,MDIM=16,NDIM=16,VW=4,MMA=3",
        "MWG=128,NWG=128,KWG=8,MDIM=16,NDIM=16,VW=4,MMA=3",
        "MWG=128,NWG=128,KWG=16,MDIM=16,NDIM=16,VW=4,MMA=1",
        "MWG=64,NWG=64,KWG=32,MDIM=8,NDIM=16,VW=4,MMA=1",
        "MWG=128,NWG=128,KWG=32,MDIM=8,NDIM=16,VW=4,MMA=1"};
    const char *const *tiles = small ? small_tiles : full_tiles;
    size_t ntiles = small ? sizeof small_tiles / sizeof small_tiles[0]
                          : sizeof full_tiles / sizeof full_tiles[0];
    for (size_t t = 0; t < ntiles && !indirect_only &&
                       (!only || !strcmp(only, "gemm"));
         t++) {
      printf("== %s, own GEMM tiles %s\n", dev->description, tiles[t]);
      st = rbpe_opencl_gemm_test_tiles(dev, tiles[t]);
      /* a device with little local memory (llvmpipe: 32 KiB) refuses the
       * largest sets by name; at least four of them must run */
      if ((st == RBPE_ERR_INVALID_ARGUMENT && strstr(err.msg, "do not fit")) ||
          (st == RBPE_ERR_UNSUPPORTED && strstr(err.msg, "has none rbpe can"))) {
        printf("   refused: %s\n", err.msg);
        rbpe_err_clear(&err);
        continue;
      }
      CHECK(st == RBPE_OK, "tiles %s on %s: %s", tiles[t], dev->description,
            err.msg);
      if (st != RBPE_OK) continue;
      /* the self-test a device's matrix units must pass, on these tiles
       * (first: it builds them, and a device that runs fewer work-items
       * than the 3xTF32 kernel's warps need, llvmpipe's 32, refuses them
       * by name) */
      /* (not under a simulator, --small: its products take too long) */
      if (!small) {
        double ratio = -1.0;
        st = rbpe_opencl_gemm_selftest(dev, &ratio);
        if (st == RBPE_ERR_UNSUPPORTED && strstr(tiles[t], "MMA=") &&
            strstr(err.msg, "work-items per group")) {
          printf("   refused: %s\n", err.msg);
          rbpe_err_clear(&err);
          continue;
        }
        CHECK(st == RBPE_OK && ratio >= 0.0 && ratio <= 1.0,
              "GEMM self-test, tiles %s, on %s: error %.3g of the tolerance %s",
              tiles[t], dev->description, ratio, err.msg);
      }
      ran_tiles++;
      failures = -1;
      st = rbpe_opcheck_run(ref, dev, small, "gemm,linear", show,
                            dev->description, &failures);
      CHECK(st == RBPE_OK && failures == 0,
            "own GEMM, tiles %s, on %s: %d case(s) out of tolerance %s",
            tiles[t], dev->description, failures, err.msg);
    }
    if (!indirect_only && (!only || !strcmp(only, "gemm")))
      CHECK(ran_tiles >= (small ? 2 : 4), "only %d own tile sets ran on %s",
            ran_tiles, dev->description);
    if (!indirect_only) {
      st = rbpe_opencl_gemm_test_tiles(dev, "MWG=256,NWG=256,KWG=8,MDIM=1,NDIM=1");
      CHECK(st == RBPE_ERR_INVALID_ARGUMENT && strstr(err.msg, "do not fit"),
            "a tile set past the register cap accepted: %s", err.msg);
      rbpe_err_clear(&err);
    }
    /* the GEMMs again through CLBlast's indirect route, which the shapes
     * here are too small to take by themselves: with CLBlast's parameters,
     * then a set of each of its two kernels (the backend lays out the
     * operands for the kernel in use) */
    for (int k = -1; k <= 1 && indirect; k++) {
      printf("== %s, GEMM by CLBlast's indirect route, %s\n",
             dev->description,
             k < 0 ? "its parameters" : k ? "kernel 1" : "kernel 0");
      st = rbpe_opencl_gemm_test_route(dev, k);
      CHECK(st == RBPE_OK, "indirect GEMM on %s: %s", dev->description,
            err.msg);
      if (st != RBPE_OK) break;
      failures = -1;
      st = rbpe_opcheck_run(ref, dev, small, "gemm", show, dev->description,
                            &failures);
      CHECK(st == RBPE_OK && failures == 0,
            "indirect GEMM (%d) on %s: %d case(s) out of tolerance %s", k,
            dev->description, failures, err.msg);
    }
    rbpe_backend_close(dev);
  }
  rbpe_free(list);
  rbpe_backend_close(ref);
  rbpe_err_clear(&err);
  if (usable == 0) {
    if (platform) {
      CHECK(usable > 0, "no usable OpenCL device on a platform named \"%s\"",
            platform);
    } else if (test_require_opencl()) {
      CHECK(usable > 0, TEST_NO_OPENCL_MSG " [%d platform(s), %zu device(s)]",
            nplat, n);
    } else if (test_fail_count == 0) {
      /* a skip only ever when everything that ran passed */
      printf("no OpenCL device (%d platform(s)): the OpenCL part skipped\n",
             nplat);
      test_summary("test_ops");
      return TEST_SKIP;
    }
  }
  return test_summary("test_ops");
}
