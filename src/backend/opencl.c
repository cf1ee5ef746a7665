/* The OpenCL backend: one context and in-order queue on one device,
 * programs built lazily from the kernel sources embedded at build time,
 * buffers as cl_mem. Everything OpenCL-specific lives in src/backend/opencl*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "fault.h"
#include "opencl_gemm.h"
#include "opencl_util.h"
#include "rbpe_cl_sources.h"

/* Programs: one per kernel source file in cl/. */
enum { PROG_EMBED, PROG_MLP, PROG_GRAPH, PROG_COUNT };

static const struct {
  const char *name;
  const char *src;
  const size_t *len;
} prog_src[PROG_COUNT] = {
    [PROG_EMBED] = {"embed.cl", rbpe_cl_embed, &rbpe_cl_embed_len},
    [PROG_MLP] = {"mlp.cl", rbpe_cl_mlp, &rbpe_cl_mlp_len},
    [PROG_GRAPH] = {"graph.cl", rbpe_cl_graph, &rbpe_cl_graph_len},
};

/* Kernels, each in one program. */
enum {
  K_EMBED_NERF,
  K_EMBED_RFF,
  K_EMBED_RBF,
  K_EMBED_RBF_DSIGMA,
  K_EMBED_RBF_BAND,
  K_BAND_GEMM,
  K_BAND_WGRAD,
  K_BIAS_ACT,
  K_ACT_GRAD_PARTIAL,
  K_COL_SUM_PARTIALS,
  K_SQ_DIFF_PARTIAL,
  K_SUM_PARTIALS,
  K_ADAM,
  K_GATHER_ROWS,
  K_GRAPH_EDGES,
  K_GRAPH_DEGREE,
  K_GRAPH_NODES,
  K_GRAPH_GRAD,
  K_SIGMA_PARAM,
  K_SUM_PARTIAL,
  K_FILL,
  K_COUNT
};

static const struct {
  const char *name;
  int prog;
} kern_def[K_COUNT] = {
    [K_EMBED_NERF] = {"embed_nerf", PROG_EMBED},
    [K_EMBED_RFF] = {"embed_rff", PROG_EMBED},
    [K_EMBED_RBF] = {"embed_rbf", PROG_EMBED},
    [K_EMBED_RBF_DSIGMA] = {"embed_rbf_dsigma", PROG_EMBED},
    [K_EMBED_RBF_BAND] = {"embed_rbf_band", PROG_EMBED},
    [K_BAND_GEMM] = {"band_gemm", PROG_MLP},
    [K_BAND_WGRAD] = {"band_wgrad", PROG_MLP},
    [K_BIAS_ACT] = {"bias_act", PROG_MLP},
    [K_ACT_GRAD_PARTIAL] = {"act_grad_partial", PROG_MLP},
    [K_COL_SUM_PARTIALS] = {"col_sum_partials", PROG_MLP},
    [K_SQ_DIFF_PARTIAL] = {"sq_diff_partial", PROG_MLP},
    [K_SUM_PARTIALS] = {"sum_partials", PROG_MLP},
    [K_ADAM] = {"adam", PROG_MLP},
    [K_GATHER_ROWS] = {"gather_rows", PROG_MLP},
    [K_GRAPH_EDGES] = {"graph_edges", PROG_GRAPH},
    [K_GRAPH_DEGREE] = {"graph_degree", PROG_GRAPH},
    [K_GRAPH_NODES] = {"graph_nodes", PROG_GRAPH},
    [K_GRAPH_GRAD] = {"graph_grad", PROG_GRAPH},
    [K_SIGMA_PARAM] = {"sigma_param", PROG_GRAPH},
    [K_SUM_PARTIAL] = {"sum_partial", PROG_GRAPH},
    [K_FILL] = {"fill", PROG_MLP},
};

/* Partial sums of a reduction: at most this many, each over a contiguous
 * chunk, so the summation order is fixed by the size alone. */
#define RBPE_CL_REDUCE_PARTS 1024

/* act_grad's column sums: up to this many partial sums in all (parts x
 * cols), each over a chunk of at least RBPE_CL_COLPART_ROWS rows. */
#define RBPE_CL_COLPART 65536
#define RBPE_CL_COLPART_ROWS 32

/* Work-group size used when the kernel and device allow it. */
#define RBPE_CL_LOCAL_SIZE 64

typedef struct cl_backend {
  rbpe_backend base;
  cl_platform_id platform;
  cl_device_id device;
  cl_context context;
  cl_command_queue queue;
  cl_program prog[PROG_COUNT];
  cl_kernel kern[K_COUNT];
  size_t kern_wg[K_COUNT];
  size_t max_wg;
  cl_mem scratch; /* RBPE_CL_REDUCE_PARTS floats for reductions */
  cl_mem colpart; /* RBPE_CL_COLPART floats: act_grad's column partials */
  rbpe_device_info info;
  /* the full device name and driver version: the tuning cache's key (the
   * copies in info are cut for display) */
  char *full_name, *full_driver;
  const char *build_options;
  /* CLBlast's Xgemm kernel in use (GEMMK): 0 unless an override says 1. A
   * device CLBlast's database gives kernel 1 still computes right with the
   * kernel-0 layout, with copies (rbpe tune sets this) */
  int gemmk;
  /* CLBlast's temporaries for operands it must copy, kept and grown
   * instead of allocated and freed on every GEMM */
  cl_mem gemm_temp;
  size_t gemm_temp_bytes;
  /* which GEMM runs (RBPE_CL_PATH_*) and rbpe's own kernels' state */
  int gemm_path;
  rbpe_own_gemm own;
} cl_backend;

#define CLB(be) ((cl_backend *)(be))

/* cl_nv_device_attribute_query's compute capability (named apart from
 * cl_ext.h's, which not every header version has) */
#define CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV_ 0x4000

static rbpe_status cl_fail(rbpe_backend *be, cl_int rc, const char *what) {
  return rbpe_err_set(be->err, rbpe_cl_status(rc), "%s failed on %s: %s (%d)",
                      what, be->description, rbpe_cl_error_name(rc), (int)rc);
}

static rbpe_status build_program(cl_backend *b, int p) {
  /* cl/common.cl's helpers, then the program's own file */
  const char *src[2] = {rbpe_cl_common, prog_src[p].src};
  size_t len[2] = {rbpe_cl_common_len, *prog_src[p].len};
  return rbpe_cl_build(&b->base, b->context, b->device, src, len, 2,
                       b->build_options, prog_src[p].name, &b->prog[p]);
}

static rbpe_status kernel(cl_backend *b, int k, cl_kernel *out) {
  if (!b->kern[k]) {
    int p = kern_def[k].prog;
    if (!b->prog[p]) RBPE_TRY(build_program(b, p));
    cl_int rc;
    cl_kernel kk = clCreateKernel(b->prog[p], kern_def[k].name, &rc);
    if (rc != CL_SUCCESS) return cl_fail(&b->base, rc, kern_def[k].name);
    size_t wg = 0;
    rc = clGetKernelWorkGroupInfo(kk, b->device, CL_KERNEL_WORK_GROUP_SIZE,
                                  sizeof wg, &wg, NULL);
    if (rc != CL_SUCCESS || wg == 0) wg = 1;
    b->kern[k] = kk;
    b->kern_wg[k] = wg;
  }
  *out = b->kern[k];
  return RBPE_OK;
}

static rbpe_status launch(cl_backend *b, int k, size_t total, const karg *args,
                          int nargs) {
  cl_kernel kk = NULL;
  RBPE_TRY(kernel(b, k, &kk));
  size_t local = RBPE_CL_LOCAL_SIZE;
  if (local > b->kern_wg[k]) local = b->kern_wg[k];
  if (local > b->max_wg) local = b->max_wg;
  size_t global = (total + local - 1) / local * local;
  return rbpe_cl_run(&b->base, b->queue, kk, kern_def[k].name, args, nargs, 1,
                     &global, &local);
}

static cl_mem mem(const rbpe_buf *buf) { return (cl_mem)buf->handle; }

static rbpe_status ocl_alloc(rbpe_backend *be, size_t bytes, rbpe_buf **out) {
  rbpe_buf *buf = calloc(1, sizeof *buf);
  RBPE_FAIL_IF(!buf, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  cl_int rc;
  /* A zero-size cl_mem is invalid; keep a minimal one so the handle works. */
  cl_mem m = rbpe_cl_buffer(CLB(be)->context, bytes ? bytes : sizeof(float), &rc);
  if (!m) {
    free(buf);
    return rbpe_err_set(be->err, rbpe_cl_status(rc),
                        "allocating %zu bytes on %s failed: %s", bytes,
                        be->description, rbpe_cl_error_name(rc));
  }
  buf->bytes = bytes;
  buf->handle = m;
  *out = buf;
  return RBPE_OK;
}

/* a sub-buffer: the driver keeps the parent alive until it is released */
static rbpe_status ocl_view(rbpe_backend *be, rbpe_buf *parent, size_t offset,
                            size_t bytes, rbpe_buf **out) {
  rbpe_buf *buf = calloc(1, sizeof *buf);
  RBPE_FAIL_IF(!buf, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  cl_buffer_region region = {offset, bytes};
  cl_int rc = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  cl_mem m = rbpe_fault_hit(RBPE_FAULT_ALLOC)
                 ? NULL
                 : clCreateSubBuffer(mem(parent), CL_MEM_READ_WRITE,
                                     CL_BUFFER_CREATE_TYPE_REGION, &region, &rc);
  if (rc != CL_SUCCESS) {
    free(buf);
    return rbpe_err_set(be->err, rbpe_cl_status(rc),
                        "a view of %zu bytes at %zu on %s failed: %s", bytes,
                        offset, be->description, rbpe_cl_error_name(rc));
  }
  buf->bytes = bytes;
  buf->handle = m;
  *out = buf;
  return RBPE_OK;
}

static void ocl_free(rbpe_backend *be, rbpe_buf *buf) {
  (void)be;
  clReleaseMemObject(mem(buf));
  free(buf);
}

static rbpe_status ocl_write(rbpe_backend *be, rbpe_buf *buf, size_t off,
                             size_t bytes, const void *src) {
  cl_int rc = rbpe_fault_hit(RBPE_FAULT_ENQUEUE)
                  ? CL_OUT_OF_RESOURCES
                  : clEnqueueWriteBuffer(CLB(be)->queue, mem(buf), CL_TRUE,
                                         off, bytes, src, 0, NULL, NULL);
  return rc == CL_SUCCESS ? RBPE_OK : cl_fail(be, rc, "writing a buffer");
}

static rbpe_status ocl_read(rbpe_backend *be, const rbpe_buf *buf, size_t off,
                            size_t bytes, void *dst) {
  cl_int rc = rbpe_fault_hit(RBPE_FAULT_ENQUEUE)
                  ? CL_OUT_OF_RESOURCES
                  : clEnqueueReadBuffer(CLB(be)->queue, mem(buf), CL_TRUE, off,
                                        bytes, dst, 0, NULL, NULL);
  return rc == CL_SUCCESS ? RBPE_OK : cl_fail(be, rc, "reading a buffer");
}

static rbpe_status ocl_fill(rbpe_backend *be, rbpe_buf *buf, size_t off,
                            size_t count, float v) {
  cl_uint total = (cl_uint)count, offset = (cl_uint)(off / sizeof(float));
  cl_float value = v;
  cl_mem m = mem(buf);
  RBPE_FAIL_IF(count > UINT32_MAX || off / sizeof(float) > UINT32_MAX, be->err,
               RBPE_ERR_TOO_LARGE, "fill of %zu floats", count);
  karg a[] = {KARG(total), KARG(offset), KARG(value), KARG(m)};
  return launch(CLB(be), K_FILL, count, a, 4);
}

static rbpe_status ocl_finish(rbpe_backend *be) {
  cl_int rc = clFinish(CLB(be)->queue);
  return rc == CL_SUCCESS ? RBPE_OK : cl_fail(be, rc, "clFinish");
}

static rbpe_status ocl_nerf(rbpe_backend *be, size_t n, int ndim, int L,
                            const rbpe_buf *x, rbpe_buf *out) {
  cl_uint total = (cl_uint)(n * 2 * L * ndim), N = (cl_uint)ndim,
          LL = (cl_uint)L;
  cl_mem xm = mem(x), om = mem(out);
  karg a[] = {KARG(total), KARG(N), KARG(LL), KARG(xm), KARG(om)};
  return launch(CLB(be), K_EMBED_NERF, total, a, 5);
}

static rbpe_status ocl_rff(rbpe_backend *be, size_t n, int ndim, int F,
                           const rbpe_buf *x, const rbpe_buf *B,
                           rbpe_buf *out) {
  cl_uint total = (cl_uint)(n * 2 * F), N = (cl_uint)ndim, FF = (cl_uint)F;
  cl_mem xm = mem(x), bm = mem(B), om = mem(out);
  karg a[] = {KARG(total), KARG(N), KARG(FF), KARG(xm), KARG(bm), KARG(om)};
  return launch(CLB(be), K_EMBED_RFF, total, a, 6);
}

static rbpe_status rbf_launch(rbpe_backend *be, const rbpe_rbf_op *op, int k) {
  cl_uint total = (cl_uint)(op->n * op->ndir * op->centres),
          N = (cl_uint)op->ndim, ndir = (cl_uint)op->ndir,
          D = (cl_uint)op->centres;
  cl_float b = op->order, nref = op->norm_ref;
  cl_mem xm = mem(op->x), sm = mem(op->sigma), dm = mem(op->dirs),
         om = mem(op->out);
  karg a[] = {KARG(total), KARG(N),  KARG(ndir), KARG(D),   KARG(b),
              KARG(xm),    KARG(sm), KARG(dm),   KARG(om),  KARG(nref)};
  return launch(CLB(be), k, total, a, 10);
}

static rbpe_status ocl_rbf(rbpe_backend *be, const rbpe_rbf_op *op) {
  if (!op->band) return rbf_launch(be, op, K_EMBED_RBF);
  cl_uint W = (cl_uint)op->band, N = (cl_uint)op->ndim, ndir = (cl_uint)op->ndir,
          D = (cl_uint)op->centres;
  cl_uint total = (cl_uint)(op->n * op->ndir * (op->band + 1));
  cl_float b = op->order, nref = op->norm_ref, reach = op->reach;
  cl_mem xm = mem(op->x), sm = mem(op->sigma), dm = mem(op->dirs),
         om = mem(op->out);
  karg a[] = {KARG(total), KARG(N),  KARG(ndir), KARG(D),    KARG(b),
              KARG(xm),    KARG(sm), KARG(dm),   KARG(om),   KARG(nref),
              KARG(W),     KARG(reach)};
  return launch(CLB(be), K_EMBED_RBF_BAND, total, a, 12);
}

static rbpe_status ocl_band_gemm(rbpe_backend *be, const rbpe_band *band,
                                 size_t rows, size_t n, const rbpe_buf *X,
                                 const rbpe_buf *W, rbpe_buf *out) {
  cl_uint total = (cl_uint)(rows * n), nn = (cl_uint)n,
          ndir = (cl_uint)band->ndir, D = (cl_uint)band->centres,
          Wd = (cl_uint)band->width;
  cl_mem xm = mem(X), wm = mem(W), om = mem(out);
  karg a[] = {KARG(total), KARG(nn), KARG(ndir), KARG(D),
              KARG(Wd),    KARG(xm), KARG(wm),   KARG(om)};
  return launch(CLB(be), K_BAND_GEMM, total, a, 8);
}

static rbpe_status ocl_band_wgrad(rbpe_backend *be, const rbpe_band *band,
                                  size_t rows, size_t n, const rbpe_buf *X,
                                  const rbpe_buf *G, rbpe_buf *dW) {
  cl_backend *b = CLB(be);
  cl_kernel kk = NULL;
  RBPE_TRY(kernel(b, K_BAND_WGRAD, &kk));
  /* work-groups of lh columns x lj rows of 4 centres, at most 256 */
  size_t wg = b->kern_wg[K_BAND_WGRAD] < b->max_wg ? b->kern_wg[K_BAND_WGRAD] : b->max_wg;
  if (wg > 256) wg = 256;
  size_t lh = wg < 64 ? wg : 64, lj = wg / lh < 4 ? wg / lh : 4;
  cl_uint jblocks = (cl_uint)(((size_t)band->centres + 4 * lj - 1) / (4 * lj));
  size_t local[2] = {lh, lj};
  size_t global[2] = {(n + lh - 1) / lh * lh, (size_t)band->ndir * jblocks * lj};
  cl_uint rr = (cl_uint)rows, nn = (cl_uint)n, ndir = (cl_uint)band->ndir,
          D = (cl_uint)band->centres, Wd = (cl_uint)band->width;
  cl_mem xm = mem(X), gm = mem(G), dm = mem(dW);
  karg a[] = {KARG(rr), KARG(nn), KARG(ndir), KARG(D), KARG(Wd),
              KARG(jblocks), KARG(xm), KARG(gm), KARG(dm)};
  return rbpe_cl_run(be, b->queue, kk, kern_def[K_BAND_WGRAD].name, a, 9, 2,
                     global, local);
}

static rbpe_status ocl_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op) {
  return rbf_launch(be, op, K_EMBED_RBF_DSIGMA);
}

/* ---- MLP ops ------------------------------------------------------------ */

/* Whether rbpe's own kernels take this product: they are the GEMM in use
 * and their 32-bit indices reach every value (else CLBlast does). */
static int own_takes(const cl_backend *b, int ta, int tb, size_t m, size_t n,
                     size_t k, size_t lda, size_t ldb, size_t ldc) {
  return b->gemm_path == RBPE_CL_PATH_OWN &&
         rbpe_cl_gemm_takes(ta, tb, m, n, k, lda, ldb, ldc);
}

static rbpe_status ocl_gemm(rbpe_backend *be, int ta, int tb, size_t m,
                            size_t n, size_t k, float alpha, const rbpe_buf *A,
                            size_t lda, const rbpe_buf *B, size_t ldb,
                            float beta, rbpe_buf *C, size_t ldc) {
  cl_backend *b = CLB(be);
  if (k == 0) {
    /* CLBlast rejects k = 0; C = beta C is all that is asked */
    if (beta == 0.0f) {
      for (size_t i = 0; i < m; i++)
        RBPE_TRY(ocl_fill(be, C, i * ldc * sizeof(float), n, 0.0f));
      return RBPE_OK;
    }
    return rbpe_err_set(be->err, RBPE_ERR_UNSUPPORTED,
                        "gemm with k = 0 and beta != 0");
  }
  if (own_takes(b, ta, tb, m, n, k, lda, ldb, ldc))
    return rbpe_cl_gemm_run(&b->own, be, ta, tb, m, n, k, alpha, mem(A), lda,
                            mem(B), ldb, beta, mem(C), ldc, NULL, 0);
  /* CLBlast: asked for, or a matrix too large for 32-bit indices */
  /* CLBlast's indirect GEMM copies every operand whose memory layout is not
   * the one its kernel reads into a temporary (a transpose pass over the
   * matrix) before the kernel runs, and C back after it. Kernel 0 reads
   * column-major A and B^T and writes column-major C: called row-major, C
   * (rows x width here) always takes that round trip. So kernel 0 gets the
   * same product as C^T = op(B)^T op(A)^T in column-major order (the memory
   * of a row-major C is its column-major transpose): C is never copied, and
   * a transpose pass is left only for ta = 0 (A) and tb = 1 (B). Kernel 1
   * reads row-major A and B and writes row-major C: called row-major it
   * copies only a transposed operand. */
  const int rowmajor = b->gemmk == 1;
  const CLBlastLayout layout =
      rowmajor ? CLBlastLayoutRowMajor : CLBlastLayoutColMajor;
  const CLBlastTranspose tA = ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                         tB = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
  /* CLBlast's first and second operand: A, B row-major; B, A column-major */
  const CLBlastTranspose t1 = rowmajor ? tA : tB, t2 = rowmajor ? tB : tA;
  const size_t d1 = rowmajor ? m : n, d2 = rowmajor ? n : m,
               ld1 = rowmajor ? lda : ldb, ld2 = rowmajor ? ldb : lda;
  const cl_mem m1 = mem(rowmajor ? A : B), m2 = mem(rowmajor ? B : A);
  size_t temp = 0;
  CLBlastStatusCode rc =
      rbpe_fault_hit(RBPE_FAULT_CLBLAST)
          ? CLBlastOpenCLOutOfResources
          : CLBlastSGemmTempBufferSize(layout, t1, t2, d1, d2, k, 0, ld1, 0,
                                       ld2, 0, ldc, &b->queue, &temp);
  if (rc == CLBlastSuccess)
    RBPE_TRY(rbpe_cl_grow(be, b->context, &b->gemm_temp, &b->gemm_temp_bytes,
                          temp, "CLBlast's GEMM temporary"));
  if (rc == CLBlastSuccess)
    rc = temp ? CLBlastSgemmWithTempBuffer(layout, t1, t2, d1, d2, k, alpha,
                                           m1, 0, ld1, m2, 0, ld2, beta,
                                           mem(C), 0, ldc, &b->queue, NULL,
                                           b->gemm_temp)
              : CLBlastSgemm(layout, t1, t2, d1, d2, k, alpha, m1, 0, ld1, m2,
                             0, ld2, beta, mem(C), 0, ldc, &b->queue, NULL);
  if (rc != CLBlastSuccess) {
    rbpe_status st = RBPE_ERR_DEVICE;
    if (rc == CLBlastOpenCLOutOfResources || rc == CLBlastTempBufferAllocFailure ||
        rc == CLBlastOpenCLOutOfHostMemory)
      st = RBPE_ERR_DEVICE_MEMORY;
    else if (rc == CLBlastOpenCLBuildProgramFailure)
      st = RBPE_ERR_BUILD;
    return rbpe_err_set(be->err, st,
                        "CLBlast SGEMM (m=%zu n=%zu k=%zu) failed on %s: "
                        "status %d",
                        m, n, k, be->description, (int)rc);
  }
  return RBPE_OK;
}

static rbpe_status ocl_bias_act(rbpe_backend *be, size_t rows, size_t cols,
                                const rbpe_buf *bias, rbpe_act act,
                                rbpe_buf *x) {
  cl_uint total = (cl_uint)(rows * cols), c = (cl_uint)cols, a = (cl_uint)act;
  cl_mem bm = mem(bias), xm = mem(x);
  karg args[] = {KARG(total), KARG(c), KARG(a), KARG(bm), KARG(xm)};
  return launch(CLB(be), K_BIAS_ACT, total, args, 5);
}

/* A layer's forward pass: one launch of the own GEMM with the bias and
 * activation in its store; CLBlast (asked for, or 32-bit indices short)
 * takes the product, then bias_act. The same values either way. */
static rbpe_status ocl_linear(rbpe_backend *be, size_t rows, size_t fin,
                              size_t fout, const rbpe_buf *X, const rbpe_buf *W,
                              const rbpe_buf *bias, rbpe_act act, rbpe_buf *out) {
  cl_backend *b = CLB(be);
  if (fin > 0 && own_takes(b, 0, 0, rows, fout, fin, fin, fout, fout))
    return rbpe_cl_gemm_run(&b->own, be, 0, 0, rows, fout, fin, 1.0f, mem(X),
                            fin, mem(W), fout, 0.0f, mem(out), fout, mem(bias),
                            (unsigned)act + 1u);
  return rbpe_linear_unfused(be, rows, fin, fout, X, W, bias, act, out);
}

/* Two launches: the elementwise work with per-chunk column sums, then
 * the chunks added in order. The chunking depends on rows and cols only,
 * so every OpenCL device sums in the same order; one chunk (a few rows, or
 * very wide layers) writes db directly. */
static rbpe_status ocl_act_grad(rbpe_backend *be, size_t rows, size_t cols,
                                rbpe_act act, const rbpe_buf *y,
                                const rbpe_buf *target, float scale,
                                rbpe_buf *grad, rbpe_buf *db) {
  cl_backend *b = CLB(be);
  size_t parts = (rows + RBPE_CL_COLPART_ROWS - 1) / RBPE_CL_COLPART_ROWS;
  if (parts > RBPE_CL_COLPART / cols) parts = RBPE_CL_COLPART / cols;
  if (parts < 1) parts = 1;
  cl_uint r = (cl_uint)rows, c = (cl_uint)cols, a = (cl_uint)act,
          has_t = target != NULL, np = (cl_uint)parts,
          chunk = (cl_uint)((rows + parts - 1) / parts);
  cl_float sc = scale;
  /* without a target the kernel never reads it: y stands in */
  cl_mem ym = mem(y), tm = target ? mem(target) : ym, gm = mem(grad),
         pm = parts > 1 ? b->colpart : mem(db), dm = mem(db);
  karg args[] = {KARG(r),     KARG(c),  KARG(a),  KARG(has_t),
                 KARG(sc),    KARG(chunk), KARG(np), KARG(ym),
                 KARG(tm),    KARG(gm), KARG(pm)};
  RBPE_TRY(launch(b, K_ACT_GRAD_PARTIAL, parts * cols, args, 11));
  if (parts == 1) return RBPE_OK;
  karg args2[] = {KARG(c), KARG(np), KARG(pm), KARG(dm)};
  return launch(b, K_COL_SUM_PARTIALS, cols, args2, 4);
}

/* A fixed-order two-stage sum: stage 1 (kernel k1, whose arguments are
 * (total, chunk, parts, inputs..., partial)) writes one partial sum per
 * contiguous chunk into the scratch buffer; sum_partials adds them in
 * order. The plan depends on count alone, never on scheduling. */
static rbpe_status reduce(cl_backend *cb, int k1, size_t count,
                          const cl_mem *in, int nin, cl_mem out) {
  cl_uint total = (cl_uint)count;
  cl_uint chunk = (cl_uint)((count + RBPE_CL_REDUCE_PARTS - 1) /
                            RBPE_CL_REDUCE_PARTS);
  cl_uint parts = (cl_uint)((count + chunk - 1) / chunk);
  cl_mem sm = cb->scratch;
  karg s1[6] = {KARG(total), KARG(chunk), KARG(parts)};
  for (int i = 0; i < nin; i++) s1[3 + i] = (karg){sizeof(cl_mem), &in[i]};
  s1[3 + nin] = KARG(sm);
  RBPE_TRY(launch(cb, k1, parts, s1, 4 + nin));
  karg s2[] = {KARG(parts), KARG(sm), KARG(out)};
  return launch(cb, K_SUM_PARTIALS, 1, s2, 3);
}

static rbpe_status ocl_sq_diff_sum(rbpe_backend *be, size_t count,
                                   const rbpe_buf *a, const rbpe_buf *b,
                                   rbpe_buf *out) {
  cl_mem in[2] = {mem(a), mem(b)};
  return reduce(CLB(be), K_SQ_DIFF_PARTIAL, count, in, 2, mem(out));
}

static rbpe_status ocl_adam(rbpe_backend *be, size_t count,
                            const rbpe_adam_step *s, rbpe_buf *param,
                            const rbpe_buf *grad, rbpe_buf *m, rbpe_buf *v) {
  cl_uint total = (cl_uint)count;
  cl_float lr = s->lr, b1 = s->beta1, b2 = s->beta2, eps = s->eps, c1 = s->c1,
           c2 = s->c2;
  cl_mem pm = mem(param), gm = mem(grad), mm = mem(m), vm = mem(v);
  karg args[] = {KARG(total), KARG(lr), KARG(b1), KARG(b2), KARG(eps),
                 KARG(c1),    KARG(c2), KARG(pm), KARG(gm), KARG(mm),
                 KARG(vm)};
  return launch(CLB(be), K_ADAM, total, args, 11);
}

static rbpe_status ocl_gather_rows(rbpe_backend *be, size_t rows, size_t cols,
                                   const rbpe_buf *src, const rbpe_buf *idx,
                                   size_t offset, rbpe_buf *dst) {
  cl_uint total = (cl_uint)(rows * cols), c = (cl_uint)cols,
          srows = (cl_uint)(src->bytes / sizeof(float) / cols),
          off = (cl_uint)offset;
  cl_mem sm = mem(src), im = mem(idx), dm = mem(dst);
  karg args[] = {KARG(total), KARG(c),  KARG(srows), KARG(off),
                 KARG(sm),    KARG(im), KARG(dm)};
  return launch(CLB(be), K_GATHER_ROWS, total, args, 7);
}

/* ---- graph ops ------------------------------------------------------------ */

static rbpe_status ocl_sum(rbpe_backend *be, size_t count, const rbpe_buf *a,
                           rbpe_buf *out) {
  cl_mem in[1] = {mem(a)};
  return reduce(CLB(be), K_SUM_PARTIAL, count, in, 1, mem(out));
}

static rbpe_status ocl_graph_edges(rbpe_backend *be, const rbpe_graph_op *op) {
  cl_uint n = (cl_uint)op->n, nnz = (cl_uint)op->nnz, N = (cl_uint)op->ndim,
          ndir = (cl_uint)op->ndir, D = (cl_uint)op->centres,
          C = (cl_uint)op->channels;
  cl_float b = op->order, eps = op->eps, gamma = op->gamma,
           qcut = RBPE_GRAPH_QCUT;
  cl_mem xm = mem(op->x), sm = mem(op->sigma), ym = mem(op->y),
         dm = mem(op->dirs), rm = mem(op->row), cm = mem(op->col),
         tm = mem(op->theta), ddm = mem(op->dd), ccm = mem(op->c);
  karg a[] = {KARG(n),  KARG(nnz), KARG(N),  KARG(ndir), KARG(D),
              KARG(C),  KARG(b),   KARG(eps), KARG(gamma), KARG(qcut),
              KARG(xm), KARG(sm),  KARG(ym), KARG(dm),   KARG(rm),
              KARG(cm), KARG(tm),  KARG(ddm), KARG(ccm)};
  return launch(CLB(be), K_GRAPH_EDGES, op->n, a, 19);
}

static rbpe_status ocl_graph_degree(rbpe_backend *be, const rbpe_graph_op *op) {
  cl_uint n = (cl_uint)op->n, nnz = (cl_uint)op->nnz;
  cl_mem rm = mem(op->row), tm = mem(op->theta), rhom = mem(op->rho);
  karg a[] = {KARG(n), KARG(nnz), KARG(rm), KARG(tm), KARG(rhom)};
  return launch(CLB(be), K_GRAPH_DEGREE, op->n, a, 5);
}

static rbpe_status ocl_graph_nodes(rbpe_backend *be, const rbpe_graph_op *op) {
  cl_uint n = (cl_uint)op->n, nnz = (cl_uint)op->nnz;
  cl_float lam = op->lambda_n;
  cl_mem rm = mem(op->row), cm = mem(op->col), tm = mem(op->theta),
         ccm = mem(op->c), rhom = mem(op->rho), jm = mem(op->jpart),
         gm = mem(op->g);
  karg a[] = {KARG(n),  KARG(nnz), KARG(lam),  KARG(rm), KARG(cm),
              KARG(tm), KARG(ccm), KARG(rhom), KARG(jm), KARG(gm)};
  return launch(CLB(be), K_GRAPH_NODES, op->n, a, 10);
}

static rbpe_status ocl_graph_grad(rbpe_backend *be, const rbpe_graph_op *op) {
  cl_uint n = (cl_uint)op->n, nnz = (cl_uint)op->nnz;
  cl_float lam = op->lambda_n, eps = op->eps;
  cl_mem rm = mem(op->row), cm = mem(op->col), tm = mem(op->theta),
         ccm = mem(op->c), rhom = mem(op->rho), gm = mem(op->g),
         ddm = mem(op->dd), scm = mem(op->scale), grm = mem(op->grad);
  karg a[] = {KARG(n),  KARG(nnz), KARG(lam),  KARG(eps), KARG(rm),
              KARG(cm), KARG(tm),  KARG(ccm),  KARG(rhom), KARG(gm),
              KARG(ddm), KARG(scm), KARG(grm)};
  return launch(CLB(be), K_GRAPH_GRAD, op->n, a, 13);
}

static rbpe_status ocl_sigma_param(rbpe_backend *be, size_t count, float smin,
                                   float smax, const rbpe_buf *s,
                                   const rbpe_buf *local, rbpe_buf *sigma,
                                   rbpe_buf *dsig) {
  cl_uint total = (cl_uint)count;
  cl_float lo = smin, hi = smax;
  cl_mem sm = mem(s), lm = mem(local), gm = mem(sigma), dm = mem(dsig);
  karg a[] = {KARG(total), KARG(lo), KARG(hi), KARG(sm), KARG(lm), KARG(gm),
              KARG(dm)};
  return launch(CLB(be), K_SIGMA_PARAM, total, a, 7);
}

cl_device_id rbpe_opencl_device(const rbpe_backend *be) {
  return ((const cl_backend *)be)->device;
}

void rbpe_opencl_set_gemm_kernel(rbpe_backend *be, int gemmk) {
  CLB(be)->gemmk = gemmk;
}

rbpe_own_gemm *rbpe_opencl_own_gemm(rbpe_backend *be) { return &CLB(be)->own; }

void rbpe_opencl_set_gemm_path(rbpe_backend *be, int path) {
  CLB(be)->gemm_path = path;
}

/* "own MWG=64,..." (rbpe's kernels and their main tiles) or "CLBlast" */
static void gemm_describe(cl_backend *b, char *out, size_t len) {
  if (b->gemm_path == RBPE_CL_PATH_OWN) {
    rbpe_cl_gemm_describe(&b->own, out, len);
  } else {
    snprintf(out, len, "CLBlast");
  }
}

static rbpe_status ocl_gemm_path(rbpe_backend *be, const char *want,
                                 char *desc, size_t len) {
  cl_backend *b = CLB(be);
  if (want && !strcmp(want, "own"))
    b->gemm_path = RBPE_CL_PATH_OWN;
  else if (want && !strcmp(want, "clblast"))
    b->gemm_path = RBPE_CL_PATH_CLBLAST;
  else if (want)
    return rbpe_err_set(be->err, RBPE_ERR_INVALID_ARGUMENT,
                        "GEMM '%s': own or clblast", want);
  if (desc) gemm_describe(b, desc, len);
  return RBPE_OK;
}

static rbpe_status ocl_tune(rbpe_backend *be, const rbpe_tune_request *req,
                            rbpe_tune_report *rep) {
  cl_backend *b = CLB(be);
  rbpe_status st = rbpe_cl_tune(be, b->full_name, b->full_driver,
                                b->max_wg, b->info.local_mem_bytes,
                                b->own.mma_ok, req, rep);
  if (st == RBPE_OK && rep->saved) be->tuned = 1;
  return st;
}

static void ocl_destroy(rbpe_backend *be) {
  cl_backend *b = CLB(be);
  if (b->queue) clFinish(b->queue);
  /* CLBlast caches compiled programs process-wide and would otherwise
   * release them from a static destructor at exit, after this context is
   * gone; some runtimes (oclgrind) corrupt their heap on that. Clearing it
   * here costs a recompile for any other live context. */
  if (b->queue) CLBlastClearCache();
  if (b->scratch) clReleaseMemObject(b->scratch);
  if (b->colpart) clReleaseMemObject(b->colpart);
  if (b->gemm_temp) clReleaseMemObject(b->gemm_temp);
  rbpe_cl_gemm_release(&b->own);
  for (int k = 0; k < K_COUNT; k++)
    if (b->kern[k]) clReleaseKernel(b->kern[k]);
  for (int p = 0; p < PROG_COUNT; p++)
    if (b->prog[p]) clReleaseProgram(b->prog[p]);
  if (b->queue) clReleaseCommandQueue(b->queue);
  if (b->context) clReleaseContext(b->context);
  free(b->full_name);
  free(b->full_driver);
  free(b);
  rbpe_fault_report();
}

/* The GEMMs other than the one in use, the process-wide one last: the
 * other of own / CLBlast (CLBlast's direct kernel for small products),
 * then CLBlast's indirect route, which training-size products take. */
static rbpe_status ocl_alt_gemm_route(rbpe_backend *be, int i,
                                      const char **name) {
  cl_backend *b = CLB(be);
  *name = NULL;
  if (i == 0) {
    int own = b->gemm_path != RBPE_CL_PATH_OWN;
    b->gemm_path = own ? RBPE_CL_PATH_OWN : RBPE_CL_PATH_CLBLAST;
    *name = own ? "gemm own" : "gemm clblast";
    return RBPE_OK;
  }
  if (i > 1) return RBPE_OK;
  *name = "gemm clblast indirect";
  return rbpe_opencl_gemm_test_route(be, -1); /* sets the CLBlast path */
}

static const rbpe_backend_ops ocl_ops = {
    .destroy = ocl_destroy,
    .buf_alloc = ocl_alloc,
    .buf_free = ocl_free,
    .buf_view = ocl_view,
    .buf_write = ocl_write,
    .buf_read = ocl_read,
    .buf_fill = ocl_fill,
    .finish = ocl_finish,
    .embed_nerf = ocl_nerf,
    .embed_rff = ocl_rff,
    .embed_rbf = ocl_rbf,
    .embed_rbf_dsigma = ocl_rbf_dsigma,
    .gemm = ocl_gemm,
    .linear = ocl_linear,
    .band_gemm = ocl_band_gemm,
    .band_gemm_wgrad = ocl_band_wgrad,
    .bias_act = ocl_bias_act,
    .act_grad = ocl_act_grad,
    .sq_diff_sum = ocl_sq_diff_sum,
    .adam = ocl_adam,
    .gather_rows = ocl_gather_rows,
    .sum = ocl_sum,
    .graph_edges = ocl_graph_edges,
    .graph_degree = ocl_graph_degree,
    .graph_nodes = ocl_graph_nodes,
    .graph_grad = ocl_graph_grad,
    .sigma_param = ocl_sigma_param,
    .tune_gemm = ocl_tune,
    .alt_gemm_route = ocl_alt_gemm_route,
    .gemm_path = ocl_gemm_path,
};

/* The platform's and device's handles for indices from rbpe devices. */
static rbpe_status pick_device(int platform, int device, rbpe_err *err,
                               cl_platform_id *plat, cl_device_id *dev) {
  cl_platform_id *plats = NULL;
  cl_device_id *devs = NULL;
  cl_uint np = 0, nd = 0;
  RBPE_TRY(rbpe_cl_platforms(err, &plats, &np));
  if (platform < 0 || (cl_uint)platform >= np) {
    free(plats);
    return rbpe_err_set(err, RBPE_ERR_NO_DEVICE, "no OpenCL platform %d",
                        platform);
  }
  *plat = plats[platform];
  free(plats);
  RBPE_TRY(rbpe_cl_devices(err, *plat, &devs, &nd));
  if (device < 0 || (cl_uint)device >= nd) {
    free(devs);
    return rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                        "no device %d on OpenCL platform %d", device, platform);
  }
  *dev = devs[device];
  free(devs);

  return RBPE_OK;
}

/* The device's full name and driver (the tuning cache's key), the
 * description, buffer alignment, work-group cap and build options. */
static rbpe_status backend_identity(cl_backend *b, const rbpe_device_info *info,
                                    int platform, int device) {
  rbpe_backend *be = &b->base;
  cl_device_id dev = b->device;
  rbpe_device_info i0 = *info;
  b->full_name = rbpe_cl_device_string(dev, CL_DEVICE_NAME);
  b->full_driver = rbpe_cl_device_string(dev, CL_DRIVER_VERSION);
  if (!b->full_name || !b->full_driver) {
    /* a driver that answered describe's queries and not these: use the
     * display copies rather than fail */
    free(b->full_name);
    free(b->full_driver);
    b->full_name = strdup(i0.name);
    b->full_driver = strdup(i0.driver_version);
    if (!b->full_name || !b->full_driver) {
      return rbpe_err_set(be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    }
  }
  snprintf(be->description, sizeof be->description,
           "opencl cl:%d:%d %.100s (%.100s, %s)", platform, device, i0.name,
           i0.platform, rbpe_device_type_string(i0.type));
  be->max_alloc = i0.max_alloc_bytes;
  be->mem_total = i0.global_mem_bytes;
  cl_uint align_bits = 0;
  /* The banded first layer: measured faster than the dense GEMM on a CPU
   * device (PoCL, 2-core EPYC: 1.31x a 3x256 training step at batch
   * 16384, `rbpe bench --device cl --first-layer both`) and slower on a
   * GPU (H200: 0.26-0.34x at batches 16384-262144 against the own dense
   * GEMM, whose products run at 29 TFLOP/s there), so fits stay dense on
   * GPUs unless RBPE_BAND=on */
  be->band_pays = i0.type == RBPE_DEVICE_CPU;
  be->view_align =
      clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                      &align_bits, NULL) == CL_SUCCESS && align_bits >= 32
          ? align_bits / 8
          : 4096; /* the most any device asks for in practice */
  b->max_wg = i0.max_work_group_size ? i0.max_work_group_size : 1;
  /* OpenCL lets single-precision division and sqrt be off by 2.5 and 3 ulp
   * unless this option is given, and NVIDIA's driver uses that freedom:
   * q = d^2 / (2 sigma^2) then differed from ref by enough to fail the rbf
   * op test (rel 1.7e-4 at order 4). Ask for IEEE rounding where the device
   * offers it (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT). */
  cl_device_fp_config fp = 0;
  b->build_options =
      clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) ==
                  CL_SUCCESS &&
              (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)
          ? "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt"
          : "-cl-std=CL1.2";
  /* the cache is tab-separated lines: no control characters in its key */
  for (char *c = b->full_name; *c; c++)
    if ((unsigned char)*c < 32) *c = ' ';
  for (char *c = b->full_driver; *c; c++)
    if ((unsigned char)*c < 32) *c = ' ';
  return RBPE_OK;
}

/* Context, queue and the reduction scratch, made once for the
 * context's life. */
static rbpe_status open_queue(cl_backend *b) {
  rbpe_backend *be = &b->base;
  cl_int rc;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                   (cl_context_properties)b->platform, 0};
  b->context = clCreateContext(props, 1, &b->device, NULL, NULL, &rc);
  if (rc != CL_SUCCESS) return cl_fail(be, rc, "clCreateContext");
  b->queue = clCreateCommandQueue(b->context, b->device, 0, &rc);
  if (rc != CL_SUCCESS) return cl_fail(be, rc, "clCreateCommandQueue");
  /* 4 KiB for sums, 256 KiB for act_grad's column partials */
  cl_mem *scr[2] = {&b->scratch, &b->colpart};
  size_t scr_floats[2] = {RBPE_CL_REDUCE_PARTS, RBPE_CL_COLPART};
  for (int i = 0; i < 2; i++) {
    *scr[i] = rbpe_cl_buffer(b->context, scr_floats[i] * sizeof(float), &rc);
    if (!*scr[i]) return cl_fail(be, rc, "allocating reduction scratch");
  }
  return RBPE_OK;
}

/* rbpe's own GEMM on this device, with the default tiles for its type (a
 * device too small for them: the smallest tiles; too small for those:
 * CLBlast). Programs are built on the first product. */
static void own_gemm_init(cl_backend *b) {
  rbpe_backend *be = &b->base;
  rbpe_own_gemm *g = &b->own;
  g->context = b->context;
  g->device = b->device;
  g->queue = b->queue;
  g->build_options = b->build_options;
  g->compute_units = b->info.compute_units;
  g->max_wg = b->max_wg;
  g->local_mem = b->info.local_mem_bytes;
  rbpe_cl_gemm_cfg cfg =
      rbpe_cl_gemm_default(b->info.type != RBPE_DEVICE_CPU, 0);
  /* a device too small for the default: the smallest tile of 4x4 sums */
  if (!rbpe_cl_gemm_cfg_fits(&cfg, g->max_wg, g->local_mem))
    cfg = (rbpe_cl_gemm_cfg){8, 8, 8, 2, 2, 1, 0};
  rbpe_err quiet = {0}, *keep = be->err;
  be->err = &quiet;
  if (rbpe_cl_gemm_set(g, be, &cfg) != RBPE_OK) b->gemm_path = RBPE_CL_PATH_CLBLAST;
  be->err = keep;
  /* matrix units: NVIDIA's tensor cores from compute capability 8.0
   * (mma.sync on tf32), read through cl_nv_device_attribute_query */
  cl_uint major = 0;
  int nv = strstr(b->info.vendor, "NVIDIA") != NULL &&
           b->info.type == RBPE_DEVICE_GPU &&
           clGetDeviceInfo(b->device, CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV_,
                           sizeof major, &major, NULL) == CL_SUCCESS &&
           major >= 8;
  if (b->gemm_path == RBPE_CL_PATH_OWN) rbpe_cl_gemm_mma_init(g, be, nv);
}

rbpe_status rbpe_opencl_backend_create(int platform, int device, rbpe_err *err,
                                       rbpe_backend **out) {
  *out = NULL;
  cl_platform_id plat = NULL;
  cl_device_id dev = NULL;
  RBPE_TRY(pick_device(platform, device, err, &plat, &dev));
  cl_backend *b = calloc(1, sizeof *b);
  RBPE_FAIL_IF(!b, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  rbpe_backend *be = &b->base;
  be->ops = &ocl_ops;
  be->err = err;
  be->kind = "opencl";
  b->platform = plat;
  b->device = dev;
  rbpe_status st = rbpe_cl_describe(plat, dev, platform, device, err, &b->info);
  if (st == RBPE_OK) st = backend_identity(b, &b->info, platform, device);
  if (st == RBPE_OK && !b->info.usable)
    st = rbpe_err_set(err, RBPE_ERR_NO_DEVICE, "%s is not usable: %s",
                      be->description, b->info.why_not);
  if (st == RBPE_OK) st = open_queue(b);
  if (st != RBPE_OK) {
    ocl_destroy(be);
    return st;
  }
  own_gemm_init(b);
  be->tuned = rbpe_cl_tuning_apply(be, b->full_name, b->full_driver);
  /* RBPE_GEMM=own|clblast overrides the default and the cache (whose
   * choice, if it was the other GEMM's, then no longer runs) */
  const char *env = getenv("RBPE_GEMM");
  int cached_path = b->gemm_path;
  if (env && *env && ocl_gemm_path(be, env, NULL, 0) != RBPE_OK) {
    ocl_destroy(be);
    return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                        "RBPE_GEMM=%s: own or clblast", env);
  }
  if (b->gemm_path != cached_path) be->tuned = 0;
  if (be->tuned) {
    size_t n = strlen(be->description);
    snprintf(be->description + n, sizeof be->description - n,
             " [tuned GEMM]");
  }
  *out = be;
  return RBPE_OK;
}
