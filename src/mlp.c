/* The coordinate-MLP and its training step through the op table
 * (METHOD.md 6): forward = GEMM + bias/activation per layer; backward =
 * activation derivative, GEMMs for weight and input gradients, column sums
 * for bias gradients; then Adam on every parameter buffer. Everything stays
 * on the backend; only a requested loss value is read back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mlp.h"


rbpe_status rbpe_mlp_host_alloc(rbpe_err *err, const rbpe_mlp_shape *shape,
                                rbpe_mlp_host *h) {
  memset(h, 0, sizeof *h);
  h->shape = *shape;
  for (int l = 0; l < shape->nlin; l++) {
    size_t fin = (size_t)shape->sizes[l], fout = (size_t)shape->sizes[l + 1];
    h->W[l] = calloc(fin * fout, sizeof(float));
    h->b[l] = calloc(fout, sizeof(float));
    if (!h->W[l] || !h->b[l]) {
      rbpe_mlp_host_free(h);
      return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY,
                          "out of memory for the MLP weights");
    }
  }
  return RBPE_OK;
}

void rbpe_mlp_host_free(rbpe_mlp_host *h) {
  for (int l = 0; l < RBPE_MAX_HIDDEN + 1; l++) {
    free(h->W[l]);
    free(h->b[l]);
    h->W[l] = h->b[l] = NULL;
  }
}

void rbpe_mlp_host_init(rbpe_mlp_host *h, uint64_t seed) {
  rbpe_rng rng;
  rbpe_rng_seed(&rng, seed);
  for (int l = 0; l < h->shape.nlin; l++) {
    size_t fin = (size_t)h->shape.sizes[l], fout = (size_t)h->shape.sizes[l + 1];
    float bound = 1.0f / sqrtf((float)fin);
    for (size_t i = 0; i < fin * fout; i++)
      h->W[l][i] = bound * (2.0f * rbpe_rng_uniform(&rng) - 1.0f);
    for (size_t i = 0; i < fout; i++)
      h->b[l][i] = bound * (2.0f * rbpe_rng_uniform(&rng) - 1.0f);
  }
}

size_t rbpe_mlp_param_count(const rbpe_mlp_shape *s) {
  size_t n = 0;
  for (int l = 0; l < s->nlin; l++)
    n += (size_t)s->sizes[l] * s->sizes[l + 1] + s->sizes[l + 1];
  return n;
}

double rbpe_mlp_flops_forward(const rbpe_mlp_shape *s) {
  double f = 0;
  for (int l = 0; l < s->nlin; l++) f += 2.0 * s->sizes[l] * s->sizes[l + 1];
  return f;
}

struct rbpe_mlp_trainer {
  rbpe_backend *be;
  rbpe_mlp_shape shape;
  size_t max_rows;
  float lr;
  int training; /* 0: a forward-only network (no gradients, no Adam) */
  int t;        /* Adam step count */
  /* Every parameter in one buffer (W0, b0, W1, b1, ..., each starting at
   * a multiple of the backend's view alignment, zeros between), likewise
   * the gradients and Adam's two moments: one Adam launch per step.
   * W[l], b[l], dW[l], db[l] are views into them. */
  size_t arena;                   /* floats in each of the four */
  rbpe_buf *params, *grads, *m, *v;
  rbpe_buf *W[RBPE_MAX_HIDDEN + 1], *b[RBPE_MAX_HIDDEN + 1];
  rbpe_buf *dW[RBPE_MAX_HIDDEN + 1], *db[RBPE_MAX_HIDDEN + 1];
  rbpe_buf *act[RBPE_MAX_HIDDEN + 1]; /* outputs of each layer */
  rbpe_buf *delta[2];                 /* ping-pong gradient buffers */
  rbpe_buf *loss;                     /* 1 float */
  rbpe_mlp_profile *profile;
  rbpe_band band;                     /* width 0: dense inputs */
};

/* Profiling: synchronise and charge the time since *mark to a bucket. */
static rbpe_status charge(rbpe_mlp_trainer *t, double *bucket, double *mark) {
  if (!t->profile || !t->profile->enabled) return RBPE_OK;
  RBPE_TRY(rbpe_backend_finish(t->be));
  double n = rbpe_now_s();
  *bucket += n - *mark;
  *mark = n;
  return RBPE_OK;
}

void rbpe_mlp_trainer_free(rbpe_mlp_trainer *t) {
  if (!t) return;
  rbpe_backend *be = t->be;
  /* views before the buffers they look into */
  for (int l = 0; l <= RBPE_MAX_HIDDEN; l++) {
    rbpe_buf_free(be, t->W[l]);
    rbpe_buf_free(be, t->b[l]);
    rbpe_buf_free(be, t->dW[l]);
    rbpe_buf_free(be, t->db[l]);
    rbpe_buf_free(be, t->act[l]);
  }
  rbpe_buf_free(be, t->params);
  rbpe_buf_free(be, t->grads);
  rbpe_buf_free(be, t->m);
  rbpe_buf_free(be, t->v);
  rbpe_buf_free(be, t->delta[0]);
  rbpe_buf_free(be, t->delta[1]);
  rbpe_buf_free(be, t->loss);
  free(t);
}

/* Offsets (floats) of W[l] and b[l] in the parameter arena, each rounded up
 * to `align` floats; returns the arena's size. */
static size_t arena_layout(const rbpe_mlp_shape *s, size_t align,
                           size_t *offW, size_t *offb) {
  size_t n = 0;
  for (int l = 0; l < s->nlin; l++) {
    size_t fin = (size_t)s->sizes[l], fout = (size_t)s->sizes[l + 1];
    offW[l] = n;
    n = (n + fin * fout + align - 1) / align * align;
    offb[l] = n;
    n = (n + fout + align - 1) / align * align;
  }
  return n;
}

/* the most a device's view alignment pads: 4096 bytes */
#define ARENA_ALIGN_MAX 1024

/* Device bytes of a network for batches of max_rows rows and its largest
 * buffer: parameters and activations, and for training the gradients,
 * Adam's moments, two delta buffers and the loss. */
static uint64_t net_bytes(const rbpe_mlp_shape *s, size_t max_rows,
                          int training, uint64_t *largest) {
  size_t offW[RBPE_MAX_HIDDEN + 1], offb[RBPE_MAX_HIDDEN + 1];
  uint64_t arena = arena_layout(s, ARENA_ALIGN_MAX, offW, offb);
  uint64_t floats = training ? 1 + 4 * arena : arena, big = arena, widest = 0;
  for (int l = 0; l < s->nlin; l++) {
    uint64_t fout = (uint64_t)s->sizes[l + 1];
    if (fout > widest) widest = fout;
    floats += (uint64_t)max_rows * fout; /* the activations */
  }
  if (training) floats += 2 * (uint64_t)max_rows * widest; /* the deltas */
  if ((uint64_t)max_rows * widest > big) big = (uint64_t)max_rows * widest;
  *largest = big * sizeof(float);
  return floats * sizeof(float);
}

uint64_t rbpe_mlp_trainer_bytes(const rbpe_mlp_shape *s, size_t max_rows,
                                uint64_t *largest) {
  return net_bytes(s, max_rows, 1, largest);
}

uint64_t rbpe_mlp_net_bytes(const rbpe_mlp_shape *s, size_t max_rows,
                            uint64_t *largest) {
  return net_bytes(s, max_rows, 0, largest);
}

static rbpe_status zeros(rbpe_backend *be, size_t count, rbpe_buf **out) {
  RBPE_TRY(rbpe_buf_alloc(be, count * sizeof(float), out));
  return rbpe_buf_fill(be, *out, 0, count, 0.0f);
}

static rbpe_status create(rbpe_backend *be, const rbpe_mlp_host *h,
                          size_t max_rows, float lr, int training,
                          rbpe_mlp_trainer **out) {
  *out = NULL;
  rbpe_mlp_trainer *t = calloc(1, sizeof *t);
  RBPE_FAIL_IF(!t, be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  t->be = be;
  t->shape = h->shape;
  t->max_rows = max_rows;
  t->lr = lr;
  t->training = training;
  size_t align = be->view_align / sizeof(float), offW[RBPE_MAX_HIDDEN + 1],
         offb[RBPE_MAX_HIDDEN + 1];
  if (align < 1) align = 1;
  t->arena = arena_layout(&h->shape, align, offW, offb);
  rbpe_status st = zeros(be, t->arena, &t->params);
  if (st == RBPE_OK && training) st = zeros(be, t->arena, &t->grads);
  if (st == RBPE_OK && training) st = zeros(be, t->arena, &t->m);
  if (st == RBPE_OK && training) st = zeros(be, t->arena, &t->v);
  size_t widest = 0;
  for (int l = 0; l < h->shape.nlin && st == RBPE_OK; l++) {
    size_t fin = (size_t)h->shape.sizes[l], fout = (size_t)h->shape.sizes[l + 1];
    size_t wb = fin * fout * sizeof(float), bb = fout * sizeof(float);
    size_t ow = offW[l] * sizeof(float), ob = offb[l] * sizeof(float);
    if (fout > widest) widest = fout;
    st = rbpe_buf_view(be, t->params, ow, wb, &t->W[l]);
    if (st == RBPE_OK) st = rbpe_buf_view(be, t->params, ob, bb, &t->b[l]);
    if (st == RBPE_OK && training) st = rbpe_buf_view(be, t->grads, ow, wb, &t->dW[l]);
    if (st == RBPE_OK && training) st = rbpe_buf_view(be, t->grads, ob, bb, &t->db[l]);
    if (st == RBPE_OK) st = rbpe_buf_write(be, t->params, ow, wb, h->W[l]);
    if (st == RBPE_OK) st = rbpe_buf_write(be, t->params, ob, bb, h->b[l]);
    if (st == RBPE_OK) st = zeros(be, max_rows * fout, &t->act[l]);
  }
  if (st == RBPE_OK && training) st = zeros(be, max_rows * widest, &t->delta[0]);
  if (st == RBPE_OK && training) st = zeros(be, max_rows * widest, &t->delta[1]);
  if (st == RBPE_OK && training) st = zeros(be, 1, &t->loss);
  if (st != RBPE_OK) {
    rbpe_mlp_trainer_free(t);
    return st;
  }
  *out = t;
  return RBPE_OK;
}

rbpe_status rbpe_mlp_trainer_create(rbpe_backend *be, const rbpe_mlp_host *h,
                                    size_t max_rows, float lr,
                                    rbpe_mlp_trainer **out) {
  return create(be, h, max_rows, lr, 1, out);
}

rbpe_status rbpe_mlp_net_create(rbpe_backend *be, const rbpe_mlp_host *h,
                                size_t max_rows, rbpe_mlp_trainer **out) {
  return create(be, h, max_rows, 0.0f, 0, out);
}

void rbpe_mlp_trainer_profile(rbpe_mlp_trainer *t, rbpe_mlp_profile *p) {
  t->profile = p;
}

rbpe_status rbpe_mlp_trainer_set_band(rbpe_mlp_trainer *t, const rbpe_band *band) {
  memset(&t->band, 0, sizeof t->band);
  if (!band || band->width == 0) return RBPE_OK;
  RBPE_FAIL_IF(band->ndir < 1 || band->centres < 1 || band->width < 0 ||
                   band->width > band->centres ||
                   (size_t)band->ndir * band->centres != (size_t)t->shape.sizes[0],
               t->be->err, RBPE_ERR_INTERNAL,
               "a band of %d x %d centres for a first layer of %d inputs",
               band->ndir, band->centres, t->shape.sizes[0]);
  t->band = *band;
  return RBPE_OK;
}

/* The checks of every pass that trains or needs gradients: a trainer (not
 * a forward-only network) and 1..max_rows rows. */
static rbpe_status check_pass(const rbpe_mlp_trainer *t, size_t rows,
                              const char *what) {
  RBPE_FAIL_IF(!t->training, t->be->err, RBPE_ERR_INTERNAL,
               "%s on a forward-only network", what);
  RBPE_FAIL_IF(rows == 0 || rows > t->max_rows, t->be->err, RBPE_ERR_INTERNAL,
               "%s of %zu rows on a trainer sized for %zu", what, rows,
               t->max_rows);
  return RBPE_OK;
}

static rbpe_act layer_act(const rbpe_mlp_shape *s, int l) {
  return l == s->nlin - 1 ? s->out_act : RBPE_ACT_RELU;
}

/* Layer by layer: act(in W + b) in one op (a device may fuse the bias and
 * activation into its GEMM), the banded first layer as its product, then
 * bias and activation. */
static rbpe_status forward(rbpe_mlp_trainer *t, size_t rows, const rbpe_buf *X,
                           double *mark) {
  rbpe_backend *be = t->be;
  const rbpe_mlp_shape *s = &t->shape;
  double dummy = 0;
  double *gemm_b = t->profile ? &t->profile->gemm_s : &dummy;
  double *other_b = t->profile ? &t->profile->other_s : &dummy;
  for (int l = 0; l < s->nlin; l++) {
    size_t fin = (size_t)s->sizes[l], fout = (size_t)s->sizes[l + 1];
    if (l == 0 && t->band.width) {
      RBPE_TRY(rbpe_op_band_gemm(be, &t->band, rows, fout, X, t->W[0], t->act[0]));
      RBPE_TRY(charge(t, gemm_b, mark));
      RBPE_TRY(rbpe_op_bias_act(be, rows, fout, t->b[0], layer_act(s, 0),
                                t->act[0]));
      RBPE_TRY(charge(t, other_b, mark));
      continue;
    }
    RBPE_TRY(rbpe_op_linear(be, rows, fin, fout, l == 0 ? X : t->act[l - 1],
                            t->W[l], t->b[l], layer_act(s, l), t->act[l]));
    RBPE_TRY(charge(t, gemm_b, mark));
  }
  return RBPE_OK;
}

rbpe_status rbpe_mlp_forward(rbpe_mlp_trainer *t, size_t rows,
                             const rbpe_buf *X, const rbpe_buf **out) {
  RBPE_FAIL_IF(rows > t->max_rows, t->be->err, RBPE_ERR_INTERNAL,
               "forward of %zu rows on a trainer sized for %zu", rows,
               t->max_rows);
  double mark = rbpe_now_s();
  RBPE_TRY(forward(t, rows, X, &mark));
  *out = t->act[t->shape.nlin - 1];
  return RBPE_OK;
}

/* The sum of squared errors of the last forward pass against Y, read
 * back. */
static rbpe_status sq_sum_of(rbpe_mlp_trainer *t, size_t rows,
                             const rbpe_buf *Y, float *sum) {
  int L = t->shape.nlin;
  *sum = 0.0f;
  RBPE_TRY(rbpe_op_sq_diff_sum(t->be, rows * (size_t)t->shape.sizes[L],
                               t->act[L - 1], Y, t->loss));
  return rbpe_buf_read(t->be, t->loss, 0, sizeof *sum, sum);
}

/* Back-propagation after a forward pass of a loss whose gradient in the
 * prediction is dpred_scale (pred - Y): the weight gradients into dW
 * (with_weights; the bias gradients always land in db) and, when dX is
 * given, the gradient with respect to the inputs X. */
static rbpe_status backward(rbpe_mlp_trainer *t, size_t rows,
                            const rbpe_buf *X, const rbpe_buf *Y,
                            float dpred_scale, int with_weights, rbpe_buf *dX,
                            double *mark) {
  rbpe_backend *be = t->be;
  const rbpe_mlp_shape *s = &t->shape;
  double dummy = 0;
  double *gemm_b = t->profile ? &t->profile->gemm_s : &dummy;
  double *other_b = t->profile ? &t->profile->other_s : &dummy;
  int cur = 0;
  for (int l = s->nlin - 1; l >= 0; l--) {
    size_t fin = (size_t)s->sizes[l], fout = (size_t)s->sizes[l + 1];
    /* delta = dLoss/d(layer output) -> dLoss/d(pre-activation), and db its
     * column sums; at the output layer dLoss/dpred is computed in the same
     * pass */
    RBPE_TRY(rbpe_op_act_grad(be, rows, fout, layer_act(s, l), t->act[l],
                              l == s->nlin - 1 ? Y : NULL, dpred_scale,
                              t->delta[cur], t->db[l]));
    RBPE_TRY(charge(t, other_b, mark));
    const rbpe_buf *in = l == 0 ? X : t->act[l - 1];
    if (with_weights && l == 0 && t->band.width) /* banded: dW = dense(X)^T delta */
      RBPE_TRY(rbpe_op_band_gemm_wgrad(be, &t->band, rows, fout, X,
                                       t->delta[cur], t->dW[0]));
    else if (with_weights) /* dW = in^T delta (fin x fout) */
      RBPE_TRY(rbpe_op_gemm(be, 1, 0, fin, fout, rows, 1.0f, in, fin,
                            t->delta[cur], fout, 0.0f, t->dW[l], fout));
    if (l > 0 || dX) /* d(input) = delta W^T (rows x fin) */
      RBPE_TRY(rbpe_op_gemm(be, 0, 1, rows, fin, fout, 1.0f, t->delta[cur],
                            fout, t->W[l], fout, 0.0f,
                            l > 0 ? t->delta[1 - cur] : dX, fin));
    RBPE_TRY(charge(t, gemm_b, mark));
    cur = 1 - cur;
  }
  return RBPE_OK;
}

rbpe_status rbpe_mlp_train_step(rbpe_mlp_trainer *t, size_t rows,
                                const rbpe_buf *X, const rbpe_buf *Y,
                                int want_loss, float *loss) {
  rbpe_backend *be = t->be;
  RBPE_TRY(check_pass(t, rows, "a training step"));
  double mark = rbpe_now_s(), dummy = 0;
  double *other_b = t->profile ? &t->profile->other_s : &dummy;
  RBPE_TRY(forward(t, rows, X, &mark));
  size_t C = (size_t)t->shape.sizes[t->shape.nlin];
  if (want_loss) {
    float sum;
    RBPE_TRY(sq_sum_of(t, rows, Y, &sum));
    *loss = sum / (float)(rows * C);
  }
  /* the loss is the mean over rows and channels */
  RBPE_TRY(backward(t, rows, X, Y, 2.0f / (float)(rows * C), 1, NULL, &mark));
  t->t++;
  rbpe_adam_step a = {t->lr, RBPE_ADAM_BETA1, RBPE_ADAM_BETA2, RBPE_ADAM_EPS,
                      (float)(1.0 - pow(RBPE_ADAM_BETA1, t->t)),
                      (float)(1.0 - pow(RBPE_ADAM_BETA2, t->t))};
  /* every parameter at once: the padding between tensors has zero
   * gradients and moments, so it stays zero */
  RBPE_TRY(rbpe_op_adam(be, t->arena, &a, t->params, t->grads, t->m, t->v));
  RBPE_TRY(charge(t, other_b, &mark));
  return RBPE_OK;
}

rbpe_status rbpe_mlp_sq_error(rbpe_mlp_trainer *t, size_t rows,
                              const rbpe_buf *X, const rbpe_buf *Y,
                              float *sum) {
  RBPE_TRY(check_pass(t, rows, "a squared error"));
  double mark = rbpe_now_s();
  RBPE_TRY(forward(t, rows, X, &mark));
  return sq_sum_of(t, rows, Y, sum);
}

rbpe_status rbpe_mlp_input_grad(rbpe_mlp_trainer *t, size_t rows,
                                const rbpe_buf *X, const rbpe_buf *Y,
                                float scale, rbpe_buf *dX, float *sq_sum) {
  RBPE_TRY(check_pass(t, rows, "an input gradient"));
  RBPE_FAIL_IF(t->band.width, t->be->err, RBPE_ERR_INTERNAL,
               "an input gradient through a banded first layer");
  double mark = rbpe_now_s();
  RBPE_TRY(forward(t, rows, X, &mark));
  if (sq_sum) RBPE_TRY(sq_sum_of(t, rows, Y, sq_sum));
  /* the bias gradients this leaves in db are overwritten by the next
   * training step before Adam reads them */
  return backward(t, rows, X, Y, 2.0f * scale, 0, dX, &mark);
}

rbpe_status rbpe_mlp_download(rbpe_mlp_trainer *t, rbpe_mlp_host *h) {
  for (int l = 0; l < t->shape.nlin; l++) {
    size_t fin = (size_t)t->shape.sizes[l], fout = (size_t)t->shape.sizes[l + 1];
    RBPE_TRY(rbpe_buf_read(t->be, t->W[l], 0, fin * fout * sizeof(float),
                           h->W[l]));
    RBPE_TRY(rbpe_buf_read(t->be, t->b[l], 0, fout * sizeof(float), h->b[l]));
  }
  return RBPE_OK;
}
