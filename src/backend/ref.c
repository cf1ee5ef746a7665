/* The reference backend: plain, single-threaded C, written to be read and
 * trusted; every other backend is checked against it. Its arithmetic is
 * host.c's, run over each op's whole range on one thread. */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "ref.h"

static void ref_destroy(rbpe_backend *be) { free(be); }

static rbpe_status ref_nerf(rbpe_backend *be, size_t n, int ndim, int L,
                            const rbpe_buf *x, rbpe_buf *out) {
  (void)be;
  rbpe_host_nerf(0, n, ndim, L, x->host, out->host);
  return RBPE_OK;
}

static rbpe_status ref_rff(rbpe_backend *be, size_t n, int ndim, int F,
                           const rbpe_buf *x, const rbpe_buf *B, rbpe_buf *out) {
  (void)be;
  rbpe_host_rff(0, n, ndim, F, x->host, B->host, out->host);
  return RBPE_OK;
}

static rbpe_status ref_rbf(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  rbpe_host_rbf(op, 0, op->n, 0);
  return RBPE_OK;
}

static rbpe_status ref_rbf_dsigma(rbpe_backend *be, const rbpe_rbf_op *op) {
  (void)be;
  rbpe_host_rbf(op, 0, op->n, 1);
  return RBPE_OK;
}

static rbpe_status ref_gemm(rbpe_backend *be, int ta, int tb, size_t m,
                            size_t n, size_t k, float alpha, const rbpe_buf *A,
                            size_t lda, const rbpe_buf *B, size_t ldb,
                            float beta, rbpe_buf *C, size_t ldc) {
  float *acc = malloc(n * sizeof(float));
  RBPE_FAIL_IF(!acc, be->err, RBPE_ERR_OUT_OF_MEMORY, "ref gemm: out of memory");
  rbpe_host_gemm(ta, tb, 0, m, n, k, alpha, A->host, lda, B->host, ldb, beta,
                 C->host, ldc, acc);
  free(acc);
  return RBPE_OK;
}

static rbpe_status ref_band_gemm(rbpe_backend *be, const rbpe_band *b,
                                 size_t rows, size_t n, const rbpe_buf *X,
                                 const rbpe_buf *W, rbpe_buf *out) {
  (void)be;
  rbpe_host_band_gemm(b, 0, rows, n, X->host, W->host, out->host);
  return RBPE_OK;
}

static rbpe_status ref_band_wgrad(rbpe_backend *be, const rbpe_band *b,
                                  size_t rows, size_t n, const rbpe_buf *X,
                                  const rbpe_buf *G, rbpe_buf *dW) {
  (void)be;
  rbpe_host_band_wgrad(b, 0, n, rows, n, X->host, G->host, dW->host);
  return RBPE_OK;
}

static rbpe_status ref_bias_act(rbpe_backend *be, size_t rows, size_t cols,
                                const rbpe_buf *bias, rbpe_act act,
                                rbpe_buf *x) {
  (void)be;
  rbpe_host_bias_act(0, rows, cols, bias->host, act, x->host);
  return RBPE_OK;
}

/* the column sums in plain ascending row order: the reference */
static rbpe_status ref_act_grad(rbpe_backend *be, size_t rows, size_t cols,
                                rbpe_act act, const rbpe_buf *y,
                                const rbpe_buf *t, float scale, rbpe_buf *g,
                                rbpe_buf *db) {
  (void)be;
  rbpe_host_act_grad(0, rows * cols, act, y->host, t ? t->host : NULL, scale,
                     g->host);
  rbpe_host_col_sum(0, cols, rows, cols, g->host, db->host);
  return RBPE_OK;
}

static rbpe_status ref_sq_diff_sum(rbpe_backend *be, size_t count,
                                   const rbpe_buf *a, const rbpe_buf *b,
                                   rbpe_buf *out) {
  (void)be;
  ((float *)out->host)[0] = (float)rbpe_host_sq_diff(0, count, a->host, b->host);
  return RBPE_OK;
}

static rbpe_status ref_adam(rbpe_backend *be, size_t count,
                            const rbpe_adam_step *s, rbpe_buf *p,
                            const rbpe_buf *g, rbpe_buf *m, rbpe_buf *v) {
  (void)be;
  rbpe_host_adam(0, count, s, p->host, g->host, m->host, v->host);
  return RBPE_OK;
}

static rbpe_status ref_gather_rows(rbpe_backend *be, size_t rows, size_t cols,
                                   const rbpe_buf *src, const rbpe_buf *idx,
                                   size_t offset, rbpe_buf *dst) {
  (void)be;
  rbpe_host_gather(0, rows, cols, src->host, src->bytes / sizeof(float) / cols,
                   (const uint32_t *)idx->host + offset, dst->host);
  return RBPE_OK;
}

static rbpe_status ref_sum(rbpe_backend *be, size_t count, const rbpe_buf *a,
                           rbpe_buf *out) {
  (void)be;
  ((float *)out->host)[0] = (float)rbpe_host_sum(0, count, a->host);
  return RBPE_OK;
}

static rbpe_status ref_graph_edges(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  rbpe_host_graph_edges(op, 0, op->n);
  return RBPE_OK;
}

static rbpe_status ref_graph_degree(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  rbpe_host_graph_degree(op, 0, op->n);
  return RBPE_OK;
}

static rbpe_status ref_graph_nodes(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  rbpe_host_graph_nodes(op, 0, op->n);
  return RBPE_OK;
}

static rbpe_status ref_graph_grad(rbpe_backend *be, const rbpe_graph_op *op) {
  (void)be;
  rbpe_host_graph_grad(op, 0, op->n);
  return RBPE_OK;
}

static rbpe_status ref_sigma_param(rbpe_backend *be, size_t count, float smin,
                                   float smax, const rbpe_buf *s,
                                   const rbpe_buf *local, rbpe_buf *sigma,
                                   rbpe_buf *dsig) {
  (void)be;
  rbpe_host_sigma_param(0, count, smin, smax, s->host, local->host, sigma->host,
                        dsig->host);
  return RBPE_OK;
}

static const rbpe_backend_ops ref_ops = {
    .destroy = ref_destroy,
    .buf_alloc = rbpe_host_alloc,
    .buf_free = rbpe_host_free,
    .buf_view = rbpe_host_view,
    .buf_write = rbpe_host_write,
    .buf_read = rbpe_host_read,
    .buf_fill = rbpe_host_fill,
    .finish = rbpe_host_finish,
    .embed_nerf = ref_nerf,
    .embed_rff = ref_rff,
    .embed_rbf = ref_rbf,
    .embed_rbf_dsigma = ref_rbf_dsigma,
    .gemm = ref_gemm,
    .linear = rbpe_linear_unfused,
    .band_gemm = ref_band_gemm,
    .band_gemm_wgrad = ref_band_wgrad,
    .bias_act = ref_bias_act,
    .act_grad = ref_act_grad,
    .sq_diff_sum = ref_sq_diff_sum,
    .adam = ref_adam,
    .gather_rows = ref_gather_rows,
    .sum = ref_sum,
    .graph_edges = ref_graph_edges,
    .graph_degree = ref_graph_degree,
    .graph_nodes = ref_graph_nodes,
    .graph_grad = ref_graph_grad,
    .sigma_param = ref_sigma_param,
};

rbpe_status rbpe_ref_backend_create(rbpe_err *err, rbpe_backend **out) {
  rbpe_backend *be = calloc(1, sizeof *be);
  RBPE_FAIL_IF(!be, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  be->ops = &ref_ops;
  be->err = err;
  be->kind = "ref";
  be->max_alloc = (uint64_t)1 << 40; /* the host's malloc decides */
  be->view_align = RBPE_HOST_VIEW_ALIGN;
  be->band_pays = 1; /* its GEMM is plain loops too */
  be->mem_total = rbpe_host_memory();
  strcpy(be->description, "ref (reference C, single-threaded)");
  *out = be;
  return RBPE_OK;
}
