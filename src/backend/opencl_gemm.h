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
  /* split sums, grown on demand */
  cl_mem part;
  size_t part_bytes;
} rbpe_own_gemm;

/* The configuration a device gets without a tuning entry. */
rbpe_cl_gemm_cfg rbpe_cl_gemm_default(int gpu);
/* Whether a configuration is well formed (powers of two, whole loads per
 * work-item, at most 128 sums per work-item) and fits the device's
 * work-group size and local memory. */
int rbpe_cl_gemm_cfg_fits(const rbpe_cl_gemm_cfg *c, size_t max_wg,
                          uint64_t local_mem);
/* "MWG=64,NWG=64,KWG=16,MDIM=16,NDIM=16,VW=1" and back (0 on a bad
 * text; VW may be left out, meaning 1) */
void rbpe_cl_gemm_cfg_format(const rbpe_cl_gemm_cfg *c, char *out, size_t len);
int rbpe_cl_gemm_cfg_parse(const char *text, rbpe_cl_gemm_cfg *c);
/* Every valid configuration of the tuner's space, into out (at most cap;
 * returns how many there are). */
int rbpe_cl_gemm_candidates(size_t max_wg, uint64_t local_mem,
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
void rbpe_cl_gemm_release(rbpe_own_gemm *g);

#endif
