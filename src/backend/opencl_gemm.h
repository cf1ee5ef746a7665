/* rbpe's own OpenCL GEMM (cl/gemm.cl): tile configurations, their
 * programs, the split of long sums and the launches. The OpenCL backend
 * holds one rbpe_own_gemm and sends its products here unless CLBlast is
 * asked for. */
#ifndef RBPE_OPENCL_GEMM_H
#define RBPE_OPENCL_GEMM_H

#include <CL/cl.h>

#include "backend.h"

/* The GEMM an OpenCL backend runs */
enum { RBPE_CL_PATH_OWN, RBPE_CL_PATH_CLBLAST };

/* A tile configuration: the build-time macros of cl/gemm.cl. */
typedef struct rbpe_cl_gemm_cfg {
  unsigned mwg, nwg, kwg, mdim, ndim, vw;
  /* 0: float32 products; 1: 3xTF32 on NVIDIA tensor cores (mma.sync);
   * 2: the same tiling with mma.sync emulated (tests, any device); 3, 4:
   * as 1, 2 with values split into tf32 pairs as they enter local memory */
  unsigned mma;
} rbpe_cl_gemm_cfg;

enum { RBPE_CL_GEMM_MAIN, RBPE_CL_GEMM_NARROW_N, RBPE_CL_GEMM_NARROW_M,
       RBPE_CL_GEMM_PROGS };
enum { RBPE_CL_GK_NN, RBPE_CL_GK_NT, RBPE_CL_GK_TN, RBPE_CL_GK_TT,
       RBPE_CL_GK_SPLIT_SUM, RBPE_CL_GK_COUNT };

typedef struct rbpe_cl_gemm_prog {
  rbpe_cl_gemm_cfg cfg;
  cl_program prog;
  cl_kernel kern[RBPE_CL_GK_COUNT];
  size_t sum_wg; /* work-group size for the split sum */
} rbpe_cl_gemm_prog;

typedef struct rbpe_own_gemm {
  /* the device, set by the backend */
  cl_context context;
  cl_device_id device;
  cl_command_queue queue;
  const char *build_options;
  unsigned compute_units;
  size_t max_wg;
  uint64_t local_mem;
  /* the main configuration and the ones for products with at most 8
   * columns or rows (the output layer); programs built on first use */
  rbpe_cl_gemm_prog prog[RBPE_CL_GEMM_PROGS];
  /* matrix units: mma_hw when the device has tensor cores rbpe can drive
   * (NVIDIA, compute capability 8.0 or later); mma_ok once 3xTF32 tiles
   * passed the self-test; mma_note says which path runs and why, for
   * `rbpe devices` */
  int mma_hw, mma_ok;
  char mma_note[256];
  /* split sums, grown on demand */
  cl_mem part;
  size_t part_bytes;
} rbpe_own_gemm;

/* The configuration a device gets without a tuning entry (mma: the
 * 3xTF32 one, for a device whose matrix units passed the self-test). */
rbpe_cl_gemm_cfg rbpe_cl_gemm_default(int gpu, int mma);
/* Whether a configuration is well formed (powers of two, whole loads per
 * work-item, at most 128 sums per work-item; with mma, whole warps each
 * holding whole m16n8 fragments and k steps of 8) and fits the device's
 * work-group size and local memory. */
int rbpe_cl_gemm_cfg_fits(const rbpe_cl_gemm_cfg *c, size_t max_wg,
                          uint64_t local_mem);
/* "MWG=64,NWG=64,KWG=16,MDIM=16,NDIM=16,VW=1[,MMA=1]" and back (0 on a
 * bad text; VW may be left out, meaning 1, and MMA, meaning 0) */
void rbpe_cl_gemm_cfg_format(const rbpe_cl_gemm_cfg *c, char *out, size_t len);
int rbpe_cl_gemm_cfg_parse(const char *text, rbpe_cl_gemm_cfg *c);
/* Every valid configuration of the tuner's space, into out (at most cap;
 * returns how many there are); mma: each also as 3xTF32 where it can be,
 * those first. */
int rbpe_cl_gemm_candidates(size_t max_wg, uint64_t local_mem, int mma,
                            rbpe_cl_gemm_cfg *out, int cap);

/* Makes cfg the main configuration (refused when it does not fit the
 * device); its program is built on the next product. */
rbpe_status rbpe_cl_gemm_set(rbpe_own_gemm *g, rbpe_backend *be,
                             const rbpe_cl_gemm_cfg *cfg);
/* Whether the kernels' 32-bit indices reach every value of the product's
 * matrices (else the backend sends it to CLBlast). */
int rbpe_cl_gemm_takes(int ta, int tb, size_t m, size_t n, size_t k,
                       size_t lda, size_t ldb, size_t ldc);
/* One product, k > 0, that rbpe_cl_gemm_takes, on cl_mem operands; epi
 * > 0 (beta 0) stores act(. + bias) instead, act = epi - 1 (rbpe_act's
 * none, ReLU, sigmoid): a layer's forward pass in one launch. */
rbpe_status rbpe_cl_gemm_run(rbpe_own_gemm *g, rbpe_backend *be, int ta, int tb,
                             size_t m, size_t n, size_t k, float alpha,
                             cl_mem A, size_t lda, cl_mem B, size_t ldb,
                             float beta, cl_mem C, size_t ldc, cl_mem bias,
                             unsigned epi);
/* Runs the main configuration on products of every transpose pair, sizes
 * off its tiles, split and unsplit, against a double-precision sum on the
 * host: *ratio gets the largest error over the op tests' GEMM tolerance
 * (|err| <= 1e-5 max(1, max |C|) + 1e-4 |C|), <= 1 to pass. */
rbpe_status rbpe_cl_gemm_selftest(rbpe_own_gemm *g, rbpe_backend *be,
                                  double *ratio);
/* Sets up the matrix units of a device with them: probe, build, self-test
 * (RBPE_MMA=off: not tried); the main configuration then is the 3xTF32
 * default when they pass, else stays. Never fails: the note says why. */
void rbpe_cl_gemm_mma_init(rbpe_own_gemm *g, rbpe_backend *be, int mma_hw);
/* "own MWG=...[,MMA=n] (note)": the main tiles and which products run */
void rbpe_cl_gemm_describe(const rbpe_own_gemm *g, char *out, size_t len);
void rbpe_cl_gemm_release(rbpe_own_gemm *g);

#endif
