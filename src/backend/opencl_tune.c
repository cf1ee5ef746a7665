/* CLBlast GEMM tuning for the device at hand (`rbpe tune`).
 *
 * CLBlast picks its Xgemm kernel parameters from a database of tuned
 * devices; a device it does not know (PoCL on an unlisted CPU, a new GPU)
 * gets generic defaults. rbpe_cl_tune times a set of valid parameter sets
 * on the MLP's own GEMM shapes (forward X W, backward delta W^T and
 * X^T delta), rejects any whose result differs from the untuned one, and
 * stores the fastest in a small text cache keyed by device name and driver
 * version. Every OpenCL backend applies a matching entry when it is created
 * (CLBlastOverrideParameters), so tuning is used automatically afterwards.
 *
 * Cache: $RBPE_CACHE_DIR, else $XDG_CACHE_HOME/rbpe, else ~/.cache/rbpe;
 * file clblast-gemm.txt, one line per device:
 *   NAME <TAB> DRIVER <TAB> GEMMK=0,KREG=1,... <TAB> GFLOP/s */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clblast_c.h>

#include "../base/clock.h"
#include "../base/fileio.h"
#include "opencl_util.h"

#define NPARAM 16
static const char *const param_names[NPARAM] = {
    "GEMMK", "KREG", "KWG",  "KWI",  "MDIMA", "MDIMC", "MWG", "NDIMB",
    "NDIMC", "NWG",  "SA",   "SB",   "STRM",  "STRN",  "VWM", "VWN"};
enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB,
       STRM, STRN, VWM, VWN };

static int cache_path(char *out, size_t len) {
  const char *d = getenv("RBPE_CACHE_DIR");
  if (d && *d) return snprintf(out, len, "%s/clblast-gemm.txt", d) < (int)len;
  d = getenv("XDG_CACHE_HOME");
  if (d && *d)
    return snprintf(out, len, "%s/rbpe/clblast-gemm.txt", d) < (int)len;
  d = getenv("HOME");
  if (d && *d)
    return snprintf(out, len, "%s/.cache/rbpe/clblast-gemm.txt", d) < (int)len;
  return 0;
}

static int parse_params(const char *text, size_t *v) {
  for (int i = 0; i < NPARAM; i++) {
    size_t n = strlen(param_names[i]);
    if (strncmp(text, param_names[i], n) || text[n] != '=') return 0;
    char *end;
    unsigned long x = strtoul(text + n + 1, &end, 10);
    if (end == text + n + 1 || x > 1024) return 0;
    v[i] = x;
    text = end;
    if (i < NPARAM - 1) {
      if (*text != ',') return 0;
      text++;
    }
  }
  return *text == '\0';
}

static void format_params(const size_t *v, char *out, size_t len) {
  size_t o = 0;
  for (int i = 0; i < NPARAM && o < len; i++)
    o += (size_t)snprintf(out + o, len - o, "%s%s=%zu", i ? "," : "",
                          param_names[i], v[i]);
}

/* Finds the cache line of this device; 1 and its parameters if present. */
static int cache_lookup(const char *path, const char *name, const char *driver,
                        size_t *v, double *gflops) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[1024];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *t1 = strchr(line, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
    if (!t3) continue;
    *t1 = *t2 = *t3 = '\0';
    if (strcmp(line, name) || strcmp(t1 + 1, driver)) continue;
    found = parse_params(t2 + 1, v);
    if (found && gflops) *gflops = strtod(t3 + 1, NULL);
  }
  fclose(f);
  return found;
}

static rbpe_status override(rbpe_backend *be, const size_t *v) {
  CLBlastStatusCode rc = CLBlastOverrideParameters(
      rbpe_opencl_device(be), "Xgemm", CLBlastPrecisionSingle, NPARAM,
      (const char **)param_names, v);
  if (rc != CLBlastSuccess)
    return rbpe_err_set(be->err, RBPE_ERR_DEVICE,
                        "CLBlast refused the GEMM parameters: status %d",
                        (int)rc);
  rbpe_opencl_set_gemm_kernel(be, (int)v[GEMMK]);
  return RBPE_OK;
}

int rbpe_cl_tuning_apply(rbpe_backend *be, const char *name,
                         const char *driver) {
  char path[4200];
  size_t v[NPARAM];
  if (!cache_path(path, sizeof path) || !cache_lookup(path, name, driver, v, NULL))
    return 0;
  /* a bad entry must not stop the device from working: ignore it */
  rbpe_err quiet = {0}, *keep = be->err;
  be->err = &quiet;
  int ok = override(be, v) == RBPE_OK;
  be->err = keep;
  return ok;
}

/* For the op tests: CLBlast takes its direct GEMM kernel below
 * XGEMM_MIN_INDIRECT_SIZE^3 multiply-adds (896^3 on devices its database
 * does not list), so small test shapes never reach the indirect route that
 * training-size products take (copies into temporaries, then Xgemm, and the
 * layout chosen for its kernel here). This sends every GEMM on the device
 * that way, with CLBlast's parameters (gemmk < 0) or a fixed valid set of
 * kernel 0 or 1. Process-wide for the device and not undone: CLBlast keeps
 * overrides until the process ends. */
rbpe_status rbpe_opencl_gemm_test_route(rbpe_backend *be, int gemmk) {
  static const char *const route[1] = {"XGEMM_MIN_INDIRECT_SIZE"};
  static const size_t one[1] = {1}; /* m n k < 1^3 never holds */
  static const size_t sets[2][NPARAM] = {
      /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
      {0, 1, 16, 2, 8, 8, 32, 8, 8, 32, 1, 1, 0, 0, 2, 2},
      {1, 4, 1, 1, 4, 4, 32, 4, 4, 32, 0, 0, 0, 0, 8, 4}};
  CLBlastStatusCode rc = CLBlastOverrideParameters(
      rbpe_opencl_device(be), "GemmRoutine", CLBlastPrecisionSingle, 1,
      (const char **)route, one);
  if (rc != CLBlastSuccess)
    return rbpe_err_set(be->err, RBPE_ERR_DEVICE,
                        "CLBlast refused the GEMM route: status %d", (int)rc);
  return gemmk == 0 || gemmk == 1 ? override(be, sets[gemmk]) : RBPE_OK;
}

/* Adds v to out[*n] (counted past cap, stored below it) if the device can
 * run it: work-group size and local memory. */
static void keep(size_t max_wg, uint64_t local_mem, const size_t *v,
                 size_t (*out)[NPARAM], int cap, int *n) {
  if (v[MDIMC] * v[NDIMC] > max_wg) return;
  uint64_t lmem = 4 * (v[SA] * v[KWG] * v[MWG] + v[SB] * v[KWG] * v[NWG]);
  if (lmem > local_mem) return;
  if (*n < cap) memcpy(out[*n], v, sizeof(size_t[NPARAM]));
  (*n)++;
}

/* Valid parameter sets of CLBlast's Xgemm kernel `gemmk` (the constraints
 * of CLBlast's own tuner), within the device's work-group size and local
 * memory. Kernel 0 tiles K through local memory; kernel 1 (GEMMK = 1)
 * keeps KREG values of K in registers and reads A and B without local
 * memory; on PoCL's CPU device the second won. */
static int candidates(int gemmk, size_t max_wg, uint64_t local_mem,
                      size_t (*out)[NPARAM], int cap) {
  static const size_t mwg[] = {16, 32, 64, 128}, kwg[] = {16, 32},
                      vw[] = {1, 2, 4, 8}, s[] = {0, 1};
  static const size_t dim0[] = {8, 16}, dim1[] = {2, 4, 8, 16};
  static const size_t kreg[] = {1, 2, 4, 8, 16};
  int n = 0;
  size_t v[NPARAM] = {0};
  v[STRM] = 0; v[STRN] = 0;
  if (gemmk == 0) {
    for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++)
    for (int k = 0; k < 2; k++) for (int mc = 0; mc < 2; mc++)
    for (int nc = 0; nc < 2; nc++) for (int vm = 0; vm < 4; vm++)
    for (int vn = 0; vn < 4; vn++) for (int sa = 0; sa < 2; sa++)
    for (int sb = 0; sb < 2; sb++) {
      v[GEMMK] = 0; v[KREG] = 1; v[KWG] = kwg[k]; v[KWI] = 2;
      v[MDIMC] = dim0[mc]; v[NDIMC] = dim0[nc];
      v[MDIMA] = v[MDIMC]; v[NDIMB] = v[NDIMC];
      v[MWG] = mwg[a]; v[NWG] = mwg[b]; v[SA] = s[sa]; v[SB] = s[sb];
      v[VWM] = vw[vm]; v[VWN] = vw[vn];
      if (v[KWG] % v[KWI] || v[MWG] % (v[MDIMC] * v[VWM]) ||
          v[NWG] % (v[NDIMC] * v[VWN]) || v[MWG] % (v[MDIMA] * v[VWM]) ||
          v[NWG] % (v[NDIMB] * v[VWN]) ||
          v[KWG] % ((v[MDIMC] * v[NDIMC]) / v[MDIMA]) ||
          v[KWG] % ((v[MDIMC] * v[NDIMC]) / v[NDIMB]))
        continue;
      keep(max_wg, local_mem, v, out, cap, &n);
    }
    return n;
  }
  /* CLBlast 1.5.3 launches kernel 1 on C's transposed grid (N/NWG groups
   * of MDIMC along the first dimension, each covering MWG): sets with
   * MWG != NWG read and write outside the matrices (they crashed PoCL) */
  for (int a = 0; a < 4; a++)
  for (int mc = 0; mc < 4; mc++) for (int nc = 0; nc < 4; nc++)
  for (int vm = 0; vm < 4; vm++) for (int vn = 0; vn < 4; vn++)
  for (int kr = 0; kr < 5; kr++) {
    v[GEMMK] = 1; v[KREG] = kreg[kr]; v[KWG] = 1; v[KWI] = 1;
    v[MDIMC] = dim1[mc]; v[NDIMC] = dim1[nc];
    v[MDIMA] = v[MDIMC]; v[NDIMB] = v[NDIMC];
    v[MWG] = mwg[a]; v[NWG] = mwg[a]; v[SA] = 0; v[SB] = 0;
    v[VWM] = vw[vm]; v[VWN] = vw[vn];
    if (v[MWG] % (v[MDIMC] * v[VWM]) ||
        v[NWG] % (v[NDIMC] * v[VWN]) || v[KREG] % v[VWN])
      continue;
    keep(max_wg, local_mem, v, out, cap, &n);
  }
  return n;
}

static void shuffle(size_t (*c)[NPARAM], int n, rbpe_rng *rng) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)rbpe_rng_below(rng, (uint64_t)i + 1);
    size_t t[NPARAM];
    memcpy(t, c[i], sizeof t);
    memcpy(c[i], c[j], sizeof t);
    memcpy(c[j], t, sizeof t);
  }
}

/* a tuned set must beat CLBlast's defaults by this factor on the batch */
#define RBPE_TUNE_MIN_GAIN 1.05
/* ... and not lose on this many times as many rows */
#define RBPE_TUNE_LARGE 4

typedef struct shapes {
  rbpe_buf *X, *W, *D, *Y, *G; /* X, D, Y: rows x w; W, G: w x w */
  size_t rows, w;
} shapes;

/* The three products of a training step for one layer, `reps` times. */
static rbpe_status run_step(rbpe_backend *be, shapes *s, int reps) {
  for (int r = 0; r < reps; r++) {
    RBPE_TRY(rbpe_op_gemm(be, 0, 0, s->rows, s->w, s->w, 1.0f, s->X, s->w,
                          s->W, s->w, 0.0f, s->Y, s->w));
    RBPE_TRY(rbpe_op_gemm(be, 0, 1, s->rows, s->w, s->w, 1.0f, s->D, s->w,
                          s->W, s->w, 0.0f, s->Y, s->w));
    RBPE_TRY(rbpe_op_gemm(be, 1, 0, s->w, s->w, s->rows, 1.0f, s->X, s->w,
                          s->D, s->w, 0.0f, s->G, s->w));
  }
  return rbpe_backend_finish(be);
}

/* GFLOP/s of the three products; reads back Y and G into y, g. */
static rbpe_status measure(rbpe_backend *be, shapes *s, double seconds,
                           float *y, float *g, double *gflops) {
  RBPE_TRY(run_step(be, s, 1)); /* builds the kernels */
  int reps = 1;
  double t = 0;
  for (;;) {
    double t0 = rbpe_now_s();
    RBPE_TRY(run_step(be, s, reps));
    t = rbpe_now_s() - t0;
    if (t >= seconds || reps >= 1 << 12) break;
    reps *= 2;
  }
  *gflops = 3.0 * 2.0 * s->rows * s->w * s->w * reps / t / 1e9;
  if (!y) return RBPE_OK;
  RBPE_TRY(rbpe_buf_read(be, s->Y, 0, s->rows * s->w * sizeof(float), y));
  return rbpe_buf_read(be, s->G, 0, s->w * s->w * sizeof(float), g);
}

static void shapes_free(rbpe_backend *be, shapes *s) {
  rbpe_buf *b[5] = {s->X, s->W, s->D, s->Y, s->G};
  for (int i = 0; i < 5; i++) rbpe_buf_free(be, b[i]);
  memset(s, 0, sizeof *s);
}

/* Buffers of s->rows x s->w filled with seeded values in [-1, 1). */
static rbpe_status shapes_alloc(rbpe_backend *be, shapes *s, rbpe_rng *rng,
                                float *host) {
  rbpe_buf **bufs[5] = {&s->X, &s->W, &s->D, &s->Y, &s->G};
  size_t big = s->rows * s->w, small = s->w * s->w;
  size_t counts[5] = {big, small, big, big, small};
  rbpe_status st = RBPE_OK;
  for (int i = 0; i < 5 && st == RBPE_OK; i++) {
    for (size_t k = 0; k < counts[i]; k++)
      host[k] = (float)(rbpe_rng_uniform(rng) * 2.0 - 1.0);
    st = rbpe_buf_from_host(be, host, counts[i], bufs[i]);
  }
  if (st != RBPE_OK) shapes_free(be, s);
  return st;
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
  double scale = 0, worst = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(a[i]));
  for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]));
  return scale > 0 ? worst / scale : worst;
}

typedef struct cache_job {
  const char *old_path, *name, *driver, *params;
  double gflops;
} cache_job;

static rbpe_status write_cache(FILE *f, void *user, rbpe_err *err) {
  cache_job *j = user;
  FILE *old = fopen(j->old_path, "r");
  if (old) { /* keep every other device's line */
    char line[1024];
    while (fgets(line, sizeof line, old)) {
      char *t1 = strchr(line, '\t');
      char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
      if (t1 && t2 && (size_t)(t1 - line) == strlen(j->name) &&
          !strncmp(line, j->name, strlen(j->name)) &&
          (size_t)(t2 - t1 - 1) == strlen(j->driver) &&
          !strncmp(t1 + 1, j->driver, strlen(j->driver)))
        continue;
      fputs(line, f);
    }
    fclose(old);
  }
  fprintf(f, "%s\t%s\t%s\t%.2f\n", j->name, j->driver, j->params, j->gflops);
  return ferror(f) ? rbpe_err_set(err, RBPE_ERR_IO, "writing the tuning cache")
                   : RBPE_OK;
}

static rbpe_status make_dirs(rbpe_err *err, const char *file) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');
  if (!slash) return RBPE_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
      return rbpe_err_set(err, RBPE_ERR_IO, "cannot create %s: %s", dir,
                          strerror(errno));
    *p = '/';
  }
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return rbpe_err_set(err, RBPE_ERR_IO, "cannot create %s: %s", dir,
                        strerror(errno));
  return RBPE_OK;
}

rbpe_status rbpe_cl_tune(rbpe_backend *be, const char *name,
                         const char *driver, size_t max_wg, uint64_t local_mem,
                         const rbpe_tune_request *req, rbpe_tune_report *rep) {
  memset(rep, 0, sizeof *rep);
  RBPE_FAIL_IF(!cache_path(rep->cache_path, sizeof rep->cache_path), be->err,
               RBPE_ERR_IO, "no cache folder: set RBPE_CACHE_DIR or HOME");
  /* Both kernels' sets, each shuffled with a fixed seed, then interleaved
   * so that any number of tries samples the two kernels alike. */
  enum { CAP = 8192 };
  size_t (*cand)[NPARAM] = malloc(sizeof(size_t[NPARAM]) * CAP * 4);
  RBPE_FAIL_IF(!cand, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  size_t (*k0)[NPARAM] = cand + 2 * CAP, (*k1)[NPARAM] = cand + 3 * CAP;
  int n0 = candidates(0, max_wg, local_mem, k0, CAP);
  int n1 = candidates(1, max_wg, local_mem, k1, CAP);
  if (n0 > CAP) n0 = CAP;
  if (n1 > CAP) n1 = CAP;
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 0x7e57u);
  shuffle(k0, n0, &rng);
  shuffle(k1, n1, &rng);
  int n = 0;
  for (int i = 0; i < n0 || i < n1; i++) {
    if (i < n0) memcpy(cand[n++], k0[i], sizeof cand[0]);
    if (i < n1) memcpy(cand[n++], k1[i], sizeof cand[0]);
  }
  int tries = req->max_candidates > 0 && req->max_candidates < n ? req->max_candidates : n;
  rep->candidates = tries;

  /* s: the batch tuned for; l: RBPE_TUNE_LARGE times as many rows, where
   * the chosen set must not lose either (one set serves every size) */
  shapes s = {.rows = req->batch, .w = (size_t)req->width};
  shapes l = {.rows = req->batch * RBPE_TUNE_LARGE, .w = (size_t)req->width};
  size_t big = s.rows * s.w, small = s.w * s.w;
  float *host = malloc((l.rows * l.w > small ? l.rows * l.w : small) * sizeof(float));
  float *y0 = malloc(big * sizeof(float)), *g0 = malloc(small * sizeof(float));
  float *y = malloc(big * sizeof(float)), *g = malloc(small * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!host || !y0 || !g0 || !y || !g)
    st = rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) st = shapes_alloc(be, &s, &rng, host);
  /* a device without room for the large shapes is tuned on the batch alone */
  if (st == RBPE_OK) {
    rbpe_err quiet = {0}, *keep = be->err;
    be->err = &quiet;
    if (shapes_alloc(be, &l, &rng, host) != RBPE_OK) l.rows = 0;
    be->err = keep;
  }
  /* the untuned kernels: the reference result and the speed to beat */
  if (st == RBPE_OK)
    st = measure(be, &s, req->seconds, y0, g0, &rep->default_gflops);
  if (st == RBPE_OK && l.rows)
    st = measure(be, &l, req->seconds, NULL, NULL, &rep->default_large_gflops);
  double best = 0;
  size_t best_v[NPARAM] = {0};
  for (int c = 0; c < tries && st == RBPE_OK; c++) {
    double gf = 0;
    rbpe_status cs = override(be, cand[c]);
    if (cs == RBPE_OK) cs = measure(be, &s, req->seconds, y, g, &gf);
    /* a parameter set the device cannot build or run, or one that computes
     * something else, is skipped, never chosen */
    int ok = cs == RBPE_OK && max_rel_diff(y0, y, big) < 1e-4 &&
             max_rel_diff(g0, g, small) < 1e-4;
    if (ok) rep->valid++;
    if (ok && gf > best) {
      best = gf;
      memcpy(best_v, cand[c], sizeof best_v);
    }
    if (req->progress) req->progress(c + 1, tries, ok ? gf : -1.0, req->user);
  }
  free(cand);
  free(host);
  free(y0);
  free(g0);
  free(y);
  free(g);
  shapes_free(be, &s);
  rep->best_gflops = best;
  rep->large_rows = l.rows;
  /* The fastest candidate runs from here on, kept or not: CLBlast cannot
   * restore its defaults within a process (the cache decides the next). */
  if (st == RBPE_OK && best > 0) st = override(be, best_v);
  if (st == RBPE_OK && l.rows && best >= rep->default_gflops * RBPE_TUNE_MIN_GAIN)
    st = measure(be, &l, req->seconds, NULL, NULL, &rep->best_large_gflops);
  shapes_free(be, &l);
  if (st != RBPE_OK) return st;
  /* keep a set only if it is clearly faster on the batch (timing noise is
   * a few per cent) and no slower on the large shapes: on an H100 a set
   * 1.00x at 16384 rows ran 2.6x slower at 65536 */
  if (best >= rep->default_gflops * RBPE_TUNE_MIN_GAIN &&
      (!rep->large_rows ||
       rep->best_large_gflops >= rep->default_large_gflops * 0.97)) {
    format_params(best_v, rep->best, sizeof rep->best);
    if (!req->dry_run) {
      RBPE_TRY(make_dirs(be->err, rep->cache_path));
      cache_job job = {rep->cache_path, name, driver, rep->best, best};
      RBPE_TRY(rbpe_write_atomic(rep->cache_path, write_cache, &job, be->err));
      rep->saved = 1;
    }
  } else {
    snprintf(rep->best, sizeof rep->best, "CLBlast's defaults"); /* cache as it was */
  }
  return RBPE_OK;
}
