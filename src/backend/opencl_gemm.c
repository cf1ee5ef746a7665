/* rbpe's own OpenCL GEMM: configurations, programs, splits and launches
 * (the kernels: cl/gemm.cl). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opencl_gemm.h"
#include "opencl_util.h"
#include "rbpe_cl_sources.h"

static const char *const gk_name[RBPE_CL_GK_COUNT] = {
    "gemm_nn", "gemm_nt", "gemm_tn", "gemm_tt", "gemm_split_sum"};

/* a chunk of a split sum holds at least this many values of k */
#define SPLIT_MIN_K 256
/* and a product is split until it has this many work-groups per compute
 * unit (or chunks reach that size) */
#define SPLIT_GROUPS_PER_CU 4
#define SPLIT_MAX 256
/* and at most this many: a long sum is split even with tiles enough. Set
 * while chasing wrong sums on llvmpipe (rusticl) for k = 20,000, whose
 * cause turned out to be fma() (the kernels use mad()); kept because the
 * op tests and the H200 measurements ran with it, and it bounds the time
 * one work-group runs. */
#define SPLIT_MAX_K 4096

/* products with at most this many columns (rows) take a narrow tile */
#define NARROW 8

rbpe_cl_gemm_cfg rbpe_cl_gemm_default(int gpu, int mma) {
  /* A GPU: the H200's tuned winner (128 x 64 x 16, 16 x 16 work-items of
   * 8 x 4 sums, float4 reads: 31 TFLOP/s there against 22 for 64 x 64 of
   * 4 x 4), 26 KiB of local memory; a CPU: 64 x 64 tiles of 8 x 8
   * work-items. `rbpe tune` finds the device's best. */
  rbpe_cl_gemm_cfg c = {128, 64, 16, 16, 16, 4, 0};
  if (!gpu) c = (rbpe_cl_gemm_cfg){64, 64, 16, 8, 8, 1, 0};
  /* 3xTF32: the same tiles, 8 warps of 32 x 32 sums */
  if (mma) c = (rbpe_cl_gemm_cfg){128, 64, 16, 16, 16, 4, 1};
  return c;
}

static int pow2(unsigned v) { return v && !(v & (v - 1)); }

/* With mma: how many warps along n (MMA_WN), the warp tiles as near
 * square as the work-group allows (fragment loads per product are fewest
 * there), more rows on a tie; 0 when no layout gives every warp whole
 * m16n8 fragments. */
static unsigned mma_wn(const rbpe_cl_gemm_cfg *c) {
  unsigned wgs = c->mdim * c->ndim, warps = wgs / 32, best = 0;
  long bestd = 0;
  if (wgs % 32) return 0;
  for (unsigned wn = 1; wn <= warps; wn *= 2) {
    unsigned wm = warps / wn;
    if (warps % wn || c->nwg % (8 * wn) || c->mwg % (16 * wm)) continue;
    long d = (long)(c->mwg / wm) - (long)(c->nwg / wn);
    long ad = d < 0 ? -2 * d + 1 : 2 * d; /* |d|, rows ahead on a tie */
    if (!best || ad < bestd) {
      best = wn;
      bestd = ad;
    }
  }
  return best;
}

/* tensor cores (1, 3) or their emulation (2, 4) */
static int mma_hw(unsigned mma) { return mma == 1 || mma == 3; }

static uint64_t cfg_local_bytes(const rbpe_cl_gemm_cfg *c) {
  uint64_t scratch =
      c->mma && !mma_hw(c->mma) ? 4ull * 192 * (c->mdim * c->ndim / 32) : 4;
  if (c->mma >= 3) /* pairs hi, lo; rows padded by 4 pairs */
    return 8ull * 2 * c->kwg * ((uint64_t)c->mwg + 4 + c->nwg + 4) + scratch;
  if (c->mma)
    return 4ull * 2 * c->kwg * ((uint64_t)c->mwg + 8 + c->nwg + 8) + scratch;
  return 4ull * 2 * c->kwg * ((uint64_t)c->mwg + c->vw + c->nwg + c->vw);
}

int rbpe_cl_gemm_cfg_fits(const rbpe_cl_gemm_cfg *c, size_t max_wg,
                          uint64_t local_mem) {
  const unsigned v[6] = {c->mwg, c->nwg, c->kwg, c->mdim, c->ndim, c->vw};
  for (int i = 0; i < 6; i++)
    if (!pow2(v[i]) || v[i] > 256) return 0;
  if (c->vw > 4 || c->mdim * c->vw > c->mwg || c->ndim * c->vw > c->nwg)
    return 0;
  unsigned wgs = c->mdim * c->ndim;
  if (wgs > max_wg || (c->mwg * c->kwg) % wgs || (c->nwg * c->kwg) % wgs)
    return 0;
  if ((c->mwg / c->mdim) * (c->nwg / c->ndim) > 128) return 0;
  if (c->mma > 4 || (c->mma && (c->kwg % 8 || !mma_wn(c)))) return 0;
  return cfg_local_bytes(c) <= local_mem;
}

void rbpe_cl_gemm_cfg_format(const rbpe_cl_gemm_cfg *c, char *out,
                             size_t len) {
  char mma[16] = "";
  if (c->mma) snprintf(mma, sizeof mma, ",MMA=%u", c->mma);
  snprintf(out, len, "MWG=%u,NWG=%u,KWG=%u,MDIM=%u,NDIM=%u,VW=%u%s", c->mwg,
           c->nwg, c->kwg, c->mdim, c->ndim, c->vw, mma);
}

int rbpe_cl_gemm_cfg_parse(const char *text, rbpe_cl_gemm_cfg *c) {
  static const char *const key[6] = {"MWG", "NWG", "KWG", "MDIM", "NDIM", "VW"};
  unsigned *v[6] = {&c->mwg, &c->nwg, &c->kwg, &c->mdim, &c->ndim, &c->vw};
  c->vw = 1;
  c->mma = 0;
  for (int i = 0; i < 6; i++) {
    if (i == 5 && *text == '\0') break;
    if (i == 5 && *text++ != ',') return 0;
    size_t n = strlen(key[i]);
    if (strncmp(text, key[i], n) || text[n] != '=') return 0;
    char *end;
    unsigned long x = strtoul(text + n + 1, &end, 10);
    if (end == text + n + 1 || x > 256) return 0;
    *v[i] = (unsigned)x;
    text = end;
    if (i < 4 && *text++ != ',') return 0;
  }
  if (!strncmp(text, ",MMA=", 5) && text[5] >= '0' && text[5] <= '4') {
    c->mma = (unsigned)(text[5] - '0');
    text += 6;
  }
  return *text == '\0';
}

int rbpe_cl_gemm_candidates(size_t max_wg, uint64_t local_mem, int mma,
                            rbpe_cl_gemm_cfg *out, int cap) {
  static const unsigned wg[] = {16, 32, 64, 128}, kwg[] = {8, 16, 32},
                        dim[] = {4, 8, 16, 32}, vw[] = {1, 2, 4};
  int n = 0;
  static const unsigned kinds[3] = {3, 1, 0};
  for (int ki = mma ? 0 : 2; ki < 3; ki++)
  for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++)
  for (int k = 0; k < 3; k++) for (int x = 0; x < 4; x++)
  for (int y = 0; y < 4; y++) for (int v = 0; v < 3; v++) {
    const unsigned t = kinds[ki];
    rbpe_cl_gemm_cfg c = {wg[a], wg[b], kwg[k], dim[x], dim[y], vw[v], t};
    /* vector reads do not enter the 3xTF32 kernels: one VW of them */
    if (t && c.vw != 4) continue;
    unsigned wgs = c.mdim * c.ndim, per = (c.mwg / c.mdim) * (c.nwg / c.ndim);
    /* the search keeps work-groups of 64..256 and 4..64 sums each, and
     * vector reads only for register tiles of 16 sums or more */
    if (wgs < 64 || wgs > 256 || per < 4 || per > 64 || (c.vw > 1 && per < 16))
      continue;
    if (!rbpe_cl_gemm_cfg_fits(&c, max_wg, local_mem)) continue;
    if (n < cap) out[n] = c;
    n++;
  }
  return n;
}

static void prog_release(rbpe_cl_gemm_prog *p) {
  for (int k = 0; k < RBPE_CL_GK_COUNT; k++)
    if (p->kern[k]) clReleaseKernel(p->kern[k]);
  if (p->prog) clReleaseProgram(p->prog);
  rbpe_cl_gemm_cfg keep = p->cfg;
  memset(p, 0, sizeof *p);
  p->cfg = keep;
}

void rbpe_cl_gemm_release(rbpe_own_gemm *g) {
  for (int i = 0; i < RBPE_CL_GEMM_PROGS; i++) prog_release(&g->prog[i]);
  if (g->part) clReleaseMemObject(g->part);
  g->part = NULL;
  g->part_bytes = 0;
}

rbpe_status rbpe_cl_gemm_set(rbpe_own_gemm *g, rbpe_backend *be,
                             const rbpe_cl_gemm_cfg *cfg) {
  char text[96];
  rbpe_cl_gemm_cfg_format(cfg, text, sizeof text);
  RBPE_FAIL_IF(mma_hw(cfg->mma) && !g->mma_hw, be->err, RBPE_ERR_UNSUPPORTED,
               "3xTF32 tiles (MMA=1, 3) need NVIDIA tensor cores (compute "
               "capability 8.0 or later): %s has none rbpe can drive",
               be->description);
  RBPE_FAIL_IF(!rbpe_cl_gemm_cfg_fits(cfg, g->max_wg, g->local_mem), be->err,
               RBPE_ERR_INVALID_ARGUMENT,
               "GEMM tiles %s do not fit %s (work-group size %zu, local "
               "memory %llu bytes)",
               text, be->description, g->max_wg,
               (unsigned long long)g->local_mem);
  rbpe_cl_gemm_prog *p = &g->prog[RBPE_CL_GEMM_MAIN];
  if (p->prog && !memcmp(&p->cfg, cfg, sizeof *cfg)) return RBPE_OK;
  prog_release(p);
  p->cfg = *cfg;
  /* the narrow tiles follow the main one's k step */
  const rbpe_cl_gemm_cfg narrow[2] = {{64, 8, cfg->kwg, 16, 4, 1, 0},
                                      {8, 64, cfg->kwg, 4, 16, 1, 0}};
  for (int i = 0; i < 2; i++) {
    rbpe_cl_gemm_prog *q = &g->prog[RBPE_CL_GEMM_NARROW_N + i];
    prog_release(q);
    q->cfg = rbpe_cl_gemm_cfg_fits(&narrow[i], g->max_wg, g->local_mem)
                 ? narrow[i]
                 : *cfg;
  }
  return RBPE_OK;
}

/* Builds the program of p->cfg; 0 in *short_of, or the most work-items
 * per group its GEMM kernels run when that is fewer than the tiles need
 * (registers: llvmpipe runs 32). */
static rbpe_status prog_build_one(rbpe_own_gemm *g, rbpe_backend *be,
                                  rbpe_cl_gemm_prog *p, size_t *short_of) {
  char opts[512], what[160];
  const rbpe_cl_gemm_cfg *c = &p->cfg;
  *short_of = 0;
  snprintf(opts, sizeof opts,
           "%s -DMWG=%u -DNWG=%u -DKWG=%u -DMDIM=%u -DNDIM=%u -DVW=%u "
           "-DMMA=%u -DMMA_WN=%u",
           g->build_options, c->mwg, c->nwg, c->kwg, c->mdim, c->ndim, c->vw,
           c->mma, c->mma ? mma_wn(c) : 1u);
  snprintf(what, sizeof what,
           "gemm.cl (tiles %ux%ux%u, %ux%u work-items, vectors of %u%s)",
           c->mwg, c->nwg, c->kwg, c->mdim, c->ndim, c->vw,
           !c->mma         ? ""
           : mma_hw(c->mma) ? ", 3xTF32 mma.sync"
                            : ", emulated mma.sync");
  const char *src[1] = {rbpe_cl_gemm};
  size_t len[1] = {rbpe_cl_gemm_len};
  RBPE_TRY(rbpe_cl_build(be, g->context, g->device, src, len, 1, opts, what,
                         &p->prog));
  for (int k = 0; k < RBPE_CL_GK_COUNT; k++) {
    cl_int rc;
    p->kern[k] = clCreateKernel(p->prog, gk_name[k], &rc);
    size_t wg = 0;
    if (rc == CL_SUCCESS)
      rc = clGetKernelWorkGroupInfo(p->kern[k], g->device,
                                    CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg,
                                    NULL);
    if (rc != CL_SUCCESS) {
      prog_release(p);
      return rbpe_err_set(be->err, rbpe_cl_status(rc), "%s in %s on %s: %s",
                          gk_name[k], what, be->description,
                          rbpe_cl_error_name(rc));
    }
    if (k == RBPE_CL_GK_SPLIT_SUM)
      p->sum_wg = wg < 64 ? (wg ? wg : 1) : 64;
    else if (wg < (size_t)c->mdim * c->ndim && (!*short_of || wg < *short_of))
      *short_of = wg ? wg : 1;
  }
  if (*short_of) prog_release(p);
  /* warps of 32 cannot be shrunk */
  RBPE_FAIL_IF(*short_of && c->mma, be->err, RBPE_ERR_UNSUPPORTED,
               "%s runs at most %zu work-items per group of %s", be->description,
               *short_of, what);
  return RBPE_OK;
}

/* Builds p's program; a device that runs fewer work-items of it than the
 * tiles need gets the tiles with fewer work-items each holding the same
 * sums (the main set's name then says what runs). */
static rbpe_status prog_build(rbpe_own_gemm *g, rbpe_backend *be,
                              rbpe_cl_gemm_prog *p) {
  for (;;) {
    size_t limit = 0;
    RBPE_TRY(prog_build_one(g, be, p, &limit));
    if (!limit) return RBPE_OK;
    rbpe_cl_gemm_cfg *c = &p->cfg;
    while ((size_t)c->mdim * c->ndim > limit && c->mdim * c->ndim > 1) {
      if (c->mdim >= c->ndim) {
        c->mdim /= 2;
        c->mwg /= 2;
      } else {
        c->ndim /= 2;
        c->nwg /= 2;
      }
    }
    RBPE_FAIL_IF(!rbpe_cl_gemm_cfg_fits(c, g->max_wg, g->local_mem) ||
                     c->mdim * c->ndim > limit,
                 be->err, RBPE_ERR_UNSUPPORTED,
                 "rbpe's GEMM kernels run at most %zu work-items per group on "
                 "%s: too few for any tile set (RBPE_GEMM=clblast runs "
                 "CLBlast's)",
                 limit, be->description);
  }
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

/* How many chunks a product's sums over k are split into, each of
 * *kchunk values of k. */
static unsigned splits_of(const rbpe_own_gemm *g, const rbpe_cl_gemm_cfg *c,
                          size_t m, size_t n, size_t k, size_t *kchunk) {
  size_t tiles = ceil_div(m, c->mwg) * ceil_div(n, c->nwg);
  size_t want = (size_t)SPLIT_GROUPS_PER_CU * (g->compute_units ? g->compute_units : 1);
  size_t s = 1;
  if (tiles < want && k >= 2 * SPLIT_MIN_K) {
    s = ceil_div(want, tiles);
    if (s > k / SPLIT_MIN_K) s = k / SPLIT_MIN_K;
    if (s > SPLIT_MAX) s = SPLIT_MAX;
  }
  if (ceil_div(k, s) > SPLIT_MAX_K) s = ceil_div(k, SPLIT_MAX_K);
  size_t chunk = ceil_div(ceil_div(k, s), c->kwg) * c->kwg;
  *kchunk = chunk;
  return (unsigned)ceil_div(k, chunk);
}

static int fits_u32(size_t rows, size_t ld) {
  return rows == 0 || ld <= (UINT32_MAX - 1) / rows;
}

int rbpe_cl_gemm_takes(int ta, int tb, size_t m, size_t n, size_t k,
                       size_t lda, size_t ldb, size_t ldc) {
  return fits_u32(ta ? k : m, lda) && fits_u32(tb ? n : k, ldb) &&
         fits_u32(m, ldc) && fits_u32(m, n) && k <= UINT32_MAX;
}

rbpe_status rbpe_cl_gemm_run(rbpe_own_gemm *g, rbpe_backend *be, int ta, int tb,
                             size_t m, size_t n, size_t k, float alpha,
                             cl_mem A, size_t lda, cl_mem B, size_t ldb,
                             float beta, cl_mem C, size_t ldc, cl_mem bias,
                             unsigned epi) {
  rbpe_cl_gemm_prog *p = &g->prog[RBPE_CL_GEMM_MAIN];
  if (n <= NARROW && p->cfg.nwg > NARROW)
    p = &g->prog[RBPE_CL_GEMM_NARROW_N];
  else if (m <= NARROW && p->cfg.mwg > NARROW)
    p = &g->prog[RBPE_CL_GEMM_NARROW_M];
  if (!p->prog) RBPE_TRY(prog_build(g, be, p));
  const rbpe_cl_gemm_cfg *c = &p->cfg;
  size_t kchunk = 0;
  unsigned splits = splits_of(g, c, m, n, k, &kchunk);
  if (splits > 1)
    RBPE_TRY(rbpe_cl_grow(be, g->context, &g->part, &g->part_bytes,
                          (size_t)splits * m * n * 4, "the GEMM's split sums"));
  cl_uint um = (cl_uint)m, un = (cl_uint)n, uk = (cl_uint)k,
          uchunk = (cl_uint)kchunk, ulda = (cl_uint)lda, uldb = (cl_uint)ldb,
          uldc = (cl_uint)ldc, use_part = splits > 1, usplits = splits,
          uepi = epi;
  /* an unread bias argument still needs a buffer: C's (the kernels apply
   * the epilogue in the pass that writes C, the split sum when split) */
  cl_mem bm = epi ? bias : C;
  cl_uint tile_epi = splits > 1 ? 0 : uepi;
  cl_float fa = alpha, fb = beta;
  cl_mem part = splits > 1 ? g->part : C;
  cl_kernel kk = p->kern[ta ? (tb ? RBPE_CL_GK_TT : RBPE_CL_GK_TN)
                            : (tb ? RBPE_CL_GK_NT : RBPE_CL_GK_NN)];
  const karg args[16] = {KARG(um),   KARG(un),   KARG(uk),   KARG(uchunk),
                         KARG(fa),   KARG(fb),   KARG(A),    KARG(ulda),
                         KARG(B),    KARG(uldb), KARG(C),    KARG(uldc),
                         KARG(part), KARG(use_part), KARG(bm), KARG(tile_epi)};
  const size_t local[2] = {c->ndim, c->mdim};
  const size_t global[2] = {ceil_div(n, c->nwg) * c->ndim,
                            ceil_div(m, c->mwg) * c->mdim * splits};
  RBPE_TRY(rbpe_cl_run(be, g->queue, kk, "gemm", args, 16, 2, global, local));
  if (splits == 1) return RBPE_OK;
  const karg sum[10] = {KARG(um), KARG(un),   KARG(usplits), KARG(fa),
                        KARG(fb), KARG(part), KARG(C),       KARG(uldc),
                        KARG(bm), KARG(uepi)};
  size_t l1 = p->sum_wg, g1 = ceil_div(m * n, l1) * l1;
  return rbpe_cl_run(be, g->queue, p->kern[RBPE_CL_GK_SPLIT_SUM],
                     "gemm_split_sum", sum, 10, 1, &g1, &l1);
}

/* a fixed stream of values in [-1, 1) for the self-test */
static float selftest_value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

rbpe_status rbpe_cl_gemm_selftest(rbpe_own_gemm *g, rbpe_backend *be,
                                  double *ratio) {
  /* sizes off every tile; the first k splits on a GPU, the second not */
  static const size_t shape[2][3] = {{200, 72, 700}, {131, 136, 300}};
  enum { MAXA = 200 * 700, MAXB = 136 * 700, MAXC = 200 * 136 };
  *ratio = 0.0;
  float *a = malloc(sizeof(float) * (MAXA + MAXB + 2 * MAXC));
  RBPE_FAIL_IF(!a, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  float *b = a + MAXA, *c = b + MAXB, *got = c + MAXC;
  uint32_t state = 0x5e1f7e57u;
  for (size_t i = 0; i < MAXA; i++) a[i] = selftest_value(&state);
  for (size_t i = 0; i < MAXB; i++) b[i] = selftest_value(&state);
  cl_int rc = CL_SUCCESS;
  cl_mem ma = rbpe_cl_buffer(g->context, sizeof(float) * MAXA, &rc), mb = NULL,
         mc = NULL;
  if (ma) mb = rbpe_cl_buffer(g->context, sizeof(float) * MAXB, &rc);
  if (mb) mc = rbpe_cl_buffer(g->context, sizeof(float) * MAXC, &rc);
  if (mc)
    rc = clEnqueueWriteBuffer(g->queue, ma, CL_TRUE, 0, sizeof(float) * MAXA,
                              a, 0, NULL, NULL);
  if (mc && rc == CL_SUCCESS)
    rc = clEnqueueWriteBuffer(g->queue, mb, CL_TRUE, 0, sizeof(float) * MAXB,
                              b, 0, NULL, NULL);
  rbpe_status st = RBPE_OK;
  if (!mc || rc != CL_SUCCESS)
    st = rbpe_err_set(be->err, rbpe_cl_status(rc),
                      "the GEMM self-test's buffers on %s: %s", be->description,
                      rbpe_cl_error_name(rc));
  for (int sh = 0; sh < 2 && st == RBPE_OK; sh++)
    for (int t = 0; t < 4 && st == RBPE_OK; t++) {
      const size_t m = shape[sh][0], n = shape[sh][1], k = shape[sh][2];
      const int ta = t & 1, tb = t >> 1;
      const size_t lda = ta ? m : k, ldb = tb ? k : n;
      st = rbpe_cl_gemm_run(g, be, ta, tb, m, n, k, 1.0f, ma, lda, mb, ldb,
                            0.0f, mc, n, NULL, 0);
      if (st != RBPE_OK) break;
      rc = clEnqueueReadBuffer(g->queue, mc, CL_TRUE, 0, sizeof(float) * m * n,
                               got, 0, NULL, NULL);
      if (rc != CL_SUCCESS) {
        st = rbpe_err_set(be->err, rbpe_cl_status(rc),
                          "reading the GEMM self-test's result on %s: %s",
                          be->description, rbpe_cl_error_name(rc));
        break;
      }
      double cmax = 0.0;
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
          double sum = 0.0;
          for (size_t p = 0; p < k; p++)
            sum += (double)a[ta ? p * lda + i : i * lda + p] *
                   (double)b[tb ? j * ldb + p : p * ldb + j];
          c[i * n + j] = (float)sum;
          if (fabs(sum) > cmax) cmax = fabs(sum);
        }
      double scale = cmax > 1.0 ? cmax : 1.0;
      for (size_t i = 0; i < m * n; i++) {
        double tol = 1e-5 * scale + 1e-4 * fabs((double)c[i]);
        double e = fabs((double)got[i] - (double)c[i]) / tol;
        if (!(e <= *ratio)) *ratio = e; /* NaN too */
      }
    }
  if (mc) clReleaseMemObject(mc);
  if (mb) clReleaseMemObject(mb);
  if (ma) clReleaseMemObject(ma);
  free(a);
  return st;
}

void rbpe_cl_gemm_mma_init(rbpe_own_gemm *g, rbpe_backend *be, int mma_hw) {
  g->mma_hw = mma_hw;
  g->mma_ok = 0;
  g->mma_note[0] = '\0';
  if (!mma_hw) return;
  const char *env = getenv("RBPE_MMA");
  if (env && !strcmp(env, "off")) {
    snprintf(g->mma_note, sizeof g->mma_note,
             "float32; 3xTF32 on tensor cores not tried: RBPE_MMA=off");
    return;
  }
  rbpe_cl_gemm_cfg keep = g->prog[RBPE_CL_GEMM_MAIN].cfg;
  rbpe_cl_gemm_cfg want = rbpe_cl_gemm_default(1, 1);
  rbpe_err quiet = {0}, *outer = be->err;
  be->err = &quiet;
  double ratio = 0.0;
  rbpe_status st = rbpe_cl_gemm_set(g, be, &want);
  if (st == RBPE_OK) st = rbpe_cl_gemm_selftest(g, be, &ratio);
  be->err = outer;
  if (st == RBPE_OK && ratio <= 1.0) {
    g->mma_ok = 1;
    snprintf(g->mma_note, sizeof g->mma_note,
             "3xTF32 on tensor cores: self-test passed, largest error %.2g "
             "of the tolerance",
             ratio);
    return;
  }
  /* back to the float32 tiles; the note keeps the first line of why */
  char why[200];
  if (st != RBPE_OK)
    snprintf(why, sizeof why, "%.199s", quiet.msg);
  else
    snprintf(why, sizeof why, "self-test error %.3g times the tolerance",
             ratio);
  why[strcspn(why, "\n")] = '\0';
  be->err = &quiet;
  rbpe_cl_gemm_set(g, be, &keep);
  be->err = outer;
  rbpe_err_clear(&quiet);
  snprintf(g->mma_note, sizeof g->mma_note, "float32; 3xTF32 off: %s", why);
}

rbpe_status rbpe_opencl_gemm_test_tiles(rbpe_backend *be, const char *tiles) {
  rbpe_cl_gemm_cfg c;
  RBPE_FAIL_IF(!rbpe_cl_gemm_cfg_parse(tiles, &c), be->err,
               RBPE_ERR_INVALID_ARGUMENT, "GEMM tiles '%s'", tiles);
  RBPE_TRY(rbpe_cl_gemm_set(rbpe_opencl_own_gemm(be), be, &c));
  rbpe_opencl_set_gemm_path(be, RBPE_CL_PATH_OWN);
  return RBPE_OK;
}

void rbpe_cl_gemm_describe(const rbpe_own_gemm *g, char *out, size_t len) {
  const rbpe_cl_gemm_cfg *c = &g->prog[RBPE_CL_GEMM_MAIN].cfg;
  char cfg[96];
  rbpe_cl_gemm_cfg_format(c, cfg, sizeof cfg);
  const char *note = g->mma_note;
  /* a tuning entry may have put float32 tiles in after the self-test */
  if (g->mma_ok && !mma_hw(c->mma))
    note = "float32 tiles; 3xTF32 passed its self-test";
  snprintf(out, len, "own %s%s%s%s", cfg, *note ? " (" : "", note,
           *note ? ")" : "");
}

rbpe_status rbpe_opencl_gemm_selftest(rbpe_backend *be, double *ratio) {
  return rbpe_cl_gemm_selftest(rbpe_opencl_own_gemm(be), be, ratio);
}
