/* GEMM tuning for the device at hand (`rbpe tune`).
 *
 * Two GEMMs run on an OpenCL device: rbpe's own kernels (cl/gemm.cl, tile
 * sizes as build-time macros; a default configuration without a cache
 * entry) and CLBlast's, which picks its Xgemm parameters from a database
 * of tuned devices and gives a device it does not know generic defaults.
 * rbpe_cl_tune times both GEMMs' candidates on the MLP's own GEMM shapes
 * (forward X W, backward delta W^T and X^T delta): every valid tile
 * configuration of the own kernels, CLBlast's defaults, and valid parameter
 * sets of CLBlast's two kernels; it rejects any whose result differs from
 * CLBlast's untuned one, and stores the fastest in a small text cache keyed
 * by device name and driver version. Every OpenCL backend applies a
 * matching entry when it is created, so tuning is used automatically
 * afterwards.
 *
 * Cache: $RBPE_CACHE_DIR, else $XDG_CACHE_HOME/rbpe, else ~/.cache/rbpe;
 * file gemm.txt (clblast-gemm.txt, the name before rbpe had its own
 * kernels, is still read), one line per device:
 *   NAME <TAB> DRIVER <TAB> ENTRY <TAB> GFLOP/s
 * ENTRY: OWN:MWG=64,NWG=64,KWG=16,MDIM=16,NDIM=16 (own kernels), CLBLAST
 * (CLBlast's own parameters) or GEMMK=0,KREG=1,... (CLBlast's, overridden). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clblast_c.h>

#include "../base/clock.h"
#include "../base/fileio.h"
#include "opencl_gemm.h"
#include "opencl_util.h"

#define NPARAM 16
static const char *const param_names[NPARAM] = {
    "GEMMK", "KREG", "KWG",  "KWI",  "MDIMA", "MDIMC", "MWG", "NDIMB",
    "NDIMC", "NWG",  "SA",   "SB",   "STRM",  "STRN",  "VWM", "VWN"};
enum { GEMMK, KREG, KWG, KWI, MDIMA, MDIMC, MWG, NDIMB, NDIMC, NWG, SA, SB,
       STRM, STRN, VWM, VWN };

/* The cache file `file` in the cache folder; 0 when no folder is known. */
static int cache_file(char *out, size_t len, const char *file) {
  const char *d = getenv("RBPE_CACHE_DIR");
  if (d && *d) return snprintf(out, len, "%s/%s", d, file) < (int)len;
  d = getenv("XDG_CACHE_HOME");
  if (d && *d) return snprintf(out, len, "%s/rbpe/%s", d, file) < (int)len;
  d = getenv("HOME");
  if (d && *d) return snprintf(out, len, "%s/.cache/rbpe/%s", d, file) < (int)len;
  return 0;
}

static int cache_path(char *out, size_t len) {
  return cache_file(out, len, "gemm.txt");
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

/* Finds the cache line of this device; 1 and its entry (the third field)
 * if present. */
static int cache_lookup(const char *path, const char *name, const char *driver,
                        char *entry, size_t len) {
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
    found = snprintf(entry, len, "%s", t2 + 1) < (int)len;
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

/* One thing tuning can choose: own tiles, CLBlast's defaults, or a
 * CLBlast parameter set. */
typedef struct choice {
  enum { OWN, CLBLAST_DEFAULT, CLBLAST_SET } kind;
  rbpe_cl_gemm_cfg cfg;
  size_t v[NPARAM];
} choice;

static int entry_parse(const char *text, choice *c) {
  memset(c, 0, sizeof *c);
  if (!strncmp(text, "OWN:", 4)) {
    c->kind = OWN;
    return rbpe_cl_gemm_cfg_parse(text + 4, &c->cfg);
  }
  if (!strcmp(text, "CLBLAST")) {
    c->kind = CLBLAST_DEFAULT;
    return 1;
  }
  c->kind = CLBLAST_SET;
  return parse_params(text, c->v);
}

static void entry_format(const choice *c, char *out, size_t len) {
  if (c->kind == OWN) {
    snprintf(out, len, "OWN:");
    rbpe_cl_gemm_cfg_format(&c->cfg, out + 4, len - 4);
  } else if (c->kind == CLBLAST_DEFAULT) {
    snprintf(out, len, "CLBLAST");
  } else {
    format_params(c->v, out, len);
  }
}

/* Makes the choice the device's GEMM. CLBlast cannot go back to its
 * defaults within a process once overridden (the tuner tries them first). */
static rbpe_status apply(rbpe_backend *be, const choice *c) {
  if (c->kind == OWN) {
    RBPE_TRY(rbpe_cl_gemm_set(rbpe_opencl_own_gemm(be), be, &c->cfg));
    rbpe_opencl_set_gemm_path(be, RBPE_CL_PATH_OWN);
    return RBPE_OK;
  }
  rbpe_opencl_set_gemm_path(be, RBPE_CL_PATH_CLBLAST);
  return c->kind == CLBLAST_SET ? override(be, c->v) : RBPE_OK;
}

int rbpe_cl_tuning_apply(rbpe_backend *be, const char *name,
                         const char *driver) {
  static const char *const files[2] = {"gemm.txt", "clblast-gemm.txt"};
  char path[4200], entry[512];
  choice c;
  int found = 0;
  for (int i = 0; i < 2 && !found; i++)
    found = cache_file(path, sizeof path, files[i]) &&
            cache_lookup(path, name, driver, entry, sizeof entry);
  if (!found || !entry_parse(entry, &c)) return 0;
  /* a bad entry must not stop the device from working: ignore it */
  rbpe_err quiet = {0}, *keep = be->err;
  be->err = &quiet;
  int ok = apply(be, &c) == RBPE_OK;
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
  rbpe_opencl_set_gemm_path(be, RBPE_CL_PATH_CLBLAST);
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

/* Fisher-Yates over n elements of `size` bytes (at most a CLBlast set's) */
static void shuffle(void *base, int n, size_t size, rbpe_rng *rng) {
  unsigned char t[sizeof(size_t[NPARAM])], *c = base;
  for (int i = n - 1; i > 0 && size <= sizeof t; i--) {
    int j = (int)rbpe_rng_below(rng, (uint64_t)i + 1);
    memcpy(t, c + (size_t)i * size, size);
    memcpy(c + (size_t)i * size, c + (size_t)j * size, size);
    memcpy(c + (size_t)j * size, t, size);
  }
}

/* a tuned choice must beat the untuned default by this factor on the batch */
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

/* The search's list: own configurations, CLBlast's defaults, and both
 * CLBlast kernels' sets, each shuffled with a fixed seed, then interleaved
 * (own, kernel 0, kernel 1) so that any number of tries samples the three
 * alike; CLBlast's defaults come first (they cannot come back later). */
static int choices(size_t max_wg, uint64_t local_mem, int mma,
                   const char *only, rbpe_rng *rng, choice *out, int cap) {
  enum { PART = 4096 };
  rbpe_cl_gemm_cfg *own = malloc(sizeof *own * PART);
  size_t (*k0)[NPARAM] = malloc(sizeof(size_t[NPARAM]) * PART * 2);
  if (!own || !k0) {
    free(own);
    free(k0);
    return -1;
  }
  size_t (*k1)[NPARAM] = k0 + PART;
  int no = rbpe_cl_gemm_candidates(max_wg, local_mem, mma, own, PART);
  int n0 = candidates(0, max_wg, local_mem, k0, PART);
  int n1 = candidates(1, max_wg, local_mem, k1, PART);
  if (no > PART) no = PART;
  if (n0 > PART) n0 = PART;
  if (n1 > PART) n1 = PART;
  if (only && !strcmp(only, "own")) n0 = n1 = 0;
  if (only && !strcmp(only, "clblast")) no = 0;
  shuffle(own, no, sizeof *own, rng);
  /* register tiles of 32 sums or more first: on the H200 every one of the
   * ten fastest of 110 sampled sets had 32 or 64; 3xTF32 sets before
   * those (a stable move of each class to the front, the first last) */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0, front = 0; i < no; i++)
      if (pass ? own[i].mma != 0
               : (own[i].mwg / own[i].mdim) * (own[i].nwg / own[i].ndim) >= 32) {
        rbpe_cl_gemm_cfg t = own[i];
        memmove(own + front + 1, own + front, sizeof *own * (size_t)(i - front));
        own[front++] = t;
      }
  shuffle(k0, n0, sizeof k0[0], rng);
  shuffle(k1, n1, sizeof k1[0], rng);
  int n = 0;
  out[n++] = (choice){.kind = CLBLAST_DEFAULT};
  for (int i = 0; (i < no || i < n0 || i < n1) && n < cap; i++) {
    if (i < no && n < cap) out[n++] = (choice){.kind = OWN, .cfg = own[i]};
    if (i < n0 && n < cap) {
      out[n] = (choice){.kind = CLBLAST_SET};
      memcpy(out[n++].v, k0[i], sizeof k0[i]);
    }
    if (i < n1 && n < cap) {
      out[n] = (choice){.kind = CLBLAST_SET};
      memcpy(out[n++].v, k1[i], sizeof k1[i]);
    }
  }
  free(own);
  free(k0);
  return n;
}

typedef struct tune_bufs {
  float *host, *y0, *g0, *y, *g;
} tune_bufs;

static void tune_bufs_free(tune_bufs *t) {
  free(t->host);
  free(t->y0);
  free(t->g0);
  free(t->y);
  free(t->g);
}

/* Times the choice on s (and its result against y0, g0 when given); 0 when
 * it cannot be applied, built or run, or computes something else. */
static int try_choice(rbpe_backend *be, const choice *c, shapes *s,
                      double seconds, tune_bufs *t, int check, double *gf) {
  size_t big = s->rows * s->w, small = s->w * s->w;
  rbpe_err quiet = {0}, *keep = be->err;
  be->err = &quiet;
  rbpe_status cs = apply(be, c);
  if (cs == RBPE_OK)
    cs = measure(be, s, seconds, check ? t->y : NULL, check ? t->g : NULL, gf);
  be->err = keep;
  return cs == RBPE_OK &&
         (!check || (max_rel_diff(t->y0, t->y, big) < 1e-4 &&
                     max_rel_diff(t->g0, t->g, small) < 1e-4));
}

/* CLBlast's defaults (the reference result every choice must match, into
 * t->y0 and t->g0) and the untuned choice (the own kernels with the tiles
 * they have when tuning starts: the default unless a cache entry set
 * others; the speed to beat, and it must match the reference too), on the
 * batch s and the large shapes l. */
static rbpe_status baselines(rbpe_backend *be, const rbpe_tune_request *req,
                             const choice *clblast, const choice *untuned,
                             shapes *s, shapes *l, tune_bufs *t,
                             rbpe_tune_report *rep) {
  RBPE_TRY(apply(be, clblast));
  RBPE_TRY(measure(be, s, req->seconds, t->y0, t->g0, &rep->clblast_gflops));
  if (l->rows)
    RBPE_TRY(measure(be, l, req->seconds, NULL, NULL,
                     &rep->clblast_large_gflops));
  if (!try_choice(be, untuned, s, req->seconds, t, 1, &rep->default_gflops))
    return rbpe_err_set(be->err, RBPE_ERR_DEVICE,
                        "rbpe's GEMM and CLBlast's disagree on %s (or the "
                        "own kernels fail there): run rbpe check",
                        be->description);
  if (l->rows)
    RBPE_TRY(measure(be, l, req->seconds, NULL, NULL,
                     &rep->default_large_gflops));
  return RBPE_OK;
}

/* Caches the best choice if it is clearly faster on the batch (timing
 * noise is a few per cent) and no slower on the large shapes (on an H100 a
 * set 1.00x at 16384 rows ran 2.6x slower at 65536); else the untuned
 * choice runs on. */
static rbpe_status keep_best(rbpe_backend *be, const char *name,
                             const char *driver, const rbpe_tune_request *req,
                             const choice *best_c, double best,
                             const choice *untuned, int gain,
                             rbpe_tune_report *rep) {
  entry_format(best_c, rep->best, sizeof rep->best);
  if (gain && (!rep->large_rows ||
               rep->best_large_gflops >= rep->default_large_gflops * 0.97)) {
    if (!req->dry_run) {
      RBPE_TRY(make_dirs(be->err, rep->cache_path));
      cache_job job = {rep->cache_path, name, driver, rep->best, best};
      RBPE_TRY(rbpe_write_atomic(rep->cache_path, write_cache, &job, be->err));
      rep->saved = 1;
    }
    return RBPE_OK;
  }
  if (gain) RBPE_TRY(apply(be, untuned));
  entry_format(untuned, rep->best, sizeof rep->best);
  snprintf(rep->best + strlen(rep->best), sizeof rep->best - strlen(rep->best),
           " (the default)");
  return RBPE_OK;
}

rbpe_status rbpe_cl_tune(rbpe_backend *be, const char *name,
                         const char *driver, size_t max_wg, uint64_t local_mem,
                         int mma, const rbpe_tune_request *req,
                         rbpe_tune_report *rep) {
  memset(rep, 0, sizeof *rep);
  RBPE_FAIL_IF(!cache_path(rep->cache_path, sizeof rep->cache_path), be->err,
               RBPE_ERR_IO, "no cache folder: set RBPE_CACHE_DIR or HOME");
  enum { CAP = 12288 };
  choice *cand = malloc(sizeof *cand * CAP);
  RBPE_FAIL_IF(!cand, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 0x7e57u);
  RBPE_FAIL_IF(req->only && strcmp(req->only, "own") &&
                   strcmp(req->only, "clblast"),
               be->err, RBPE_ERR_INVALID_ARGUMENT,
               "tune: the GEMM to search is own or clblast, not '%s'",
               req->only);
  int n = choices(max_wg, local_mem, mma, req->only, &rng, cand, CAP);
  if (n < 0) {
    free(cand);
    return rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  int tries = req->max_candidates > 0 && req->max_candidates < n ? req->max_candidates : n;
  rep->candidates = tries;

  /* s: the batch tuned for; l: RBPE_TUNE_LARGE times as many rows, where
   * the chosen set must not lose either (one set serves every size) */
  shapes s = {.rows = req->batch, .w = (size_t)req->width};
  shapes l = {.rows = req->batch * RBPE_TUNE_LARGE, .w = (size_t)req->width};
  size_t big = s.rows * s.w, small = s.w * s.w;
  tune_bufs t = {malloc((l.rows * l.w > small ? l.rows * l.w : small) * sizeof(float)),
                 malloc(big * sizeof(float)), malloc(small * sizeof(float)),
                 malloc(big * sizeof(float)), malloc(small * sizeof(float))};
  rbpe_status st = RBPE_OK;
  if (!t.host || !t.y0 || !t.g0 || !t.y || !t.g)
    st = rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) st = shapes_alloc(be, &s, &rng, t.host);
  /* a device without room for the large shapes is tuned on the batch alone */
  if (st == RBPE_OK) {
    rbpe_err quiet = {0}, *keep = be->err;
    be->err = &quiet;
    if (shapes_alloc(be, &l, &rng, t.host) != RBPE_OK) l.rows = 0;
    be->err = keep;
  }
  choice untuned = {.kind = OWN,
                    .cfg = rbpe_opencl_own_gemm(be)->prog[RBPE_CL_GEMM_MAIN].cfg};
  if (st == RBPE_OK) st = baselines(be, req, &cand[0], &untuned, &s, &l, &t, rep);
  double best = 0;
  choice best_c = untuned;
  for (int c = 0; c < tries && st == RBPE_OK; c++) {
    double gf = 0;
    /* CLBlast's defaults were timed above: its result is the reference */
    int ok = c == 0 ? (gf = rep->clblast_gflops, 1)
                    : try_choice(be, &cand[c], &s, req->seconds, &t, 1, &gf);
    if (ok) rep->valid++;
    if (ok && gf > best) {
      best = gf;
      best_c = cand[c];
    }
    if (req->progress) {
      char text[512];
      entry_format(&cand[c], text, sizeof text);
      req->progress(c + 1, tries, ok ? gf : -1.0, text, req->user);
    }
  }
  shapes_free(be, &s);
  rep->best_gflops = best;
  rep->large_rows = l.rows;
  /* The fastest choice runs from here on, kept or not (the cache decides
   * the next process). */
  int gain = best >= rep->default_gflops * RBPE_TUNE_MIN_GAIN;
  if (st == RBPE_OK)
    st = apply(be, gain ? &best_c : &untuned);
  if (st == RBPE_OK && l.rows && gain)
    st = measure(be, &l, req->seconds, NULL, NULL, &rep->best_large_gflops);
  shapes_free(be, &l);
  tune_bufs_free(&t);
  free(cand);
  if (st != RBPE_OK) return st;
  return keep_best(be, name, driver, req, &best_c, best, &untuned, gain, rep);
}
