/* The coordinate-MLP on a backend (METHOD.md section 6): weights, Adam
 * state and activations live in backend buffers for the whole run. */
#ifndef RBPE_MLP_H
#define RBPE_MLP_H

#include "backend/backend.h"

/* Adam's constants (METHOD.md 6), for the MLP and the sigma solver. */
#define RBPE_ADAM_BETA1 0.9f
#define RBPE_ADAM_BETA2 0.999f
#define RBPE_ADAM_EPS 1e-8f

typedef struct rbpe_mlp_shape {
  int nlin;                          /* linear layers = hidden + 1 */
  int sizes[RBPE_MAX_HIDDEN + 2];    /* sizes[0] = M ... sizes[nlin] = C */
  rbpe_act out_act;
} rbpe_mlp_shape;

/* Host weights: W[l] is sizes[l] x sizes[l+1] row-major (y = x W + b). */
typedef struct rbpe_mlp_host {
  rbpe_mlp_shape shape;
  float *W[RBPE_MAX_HIDDEN + 1];
  float *b[RBPE_MAX_HIDDEN + 1];
} rbpe_mlp_host;

rbpe_status rbpe_mlp_host_alloc(rbpe_err *err, const rbpe_mlp_shape *shape,
                                rbpe_mlp_host *out);
void rbpe_mlp_host_free(rbpe_mlp_host *h);
/* PyTorch nn.Linear initialisation: weights and biases uniform in
 * +-1/sqrt(fan_in), drawn layer by layer (W row-major, then b). */
void rbpe_mlp_host_init(rbpe_mlp_host *h, uint64_t seed);
size_t rbpe_mlp_param_count(const rbpe_mlp_shape *shape);
/* Multiply-adds of one forward pass per row. */
double rbpe_mlp_flops_forward(const rbpe_mlp_shape *shape);

/* Time split of a profiled run (each op synchronised: slower, but it says
 * where the time goes). */
typedef struct rbpe_mlp_profile {
  int enabled;
  double gemm_s, other_s;
} rbpe_mlp_profile;

typedef struct rbpe_mlp_trainer rbpe_mlp_trainer;

/* Uploads weights, allocates gradients, Adam state and activations for
 * batches of up to max_rows rows. */
rbpe_status rbpe_mlp_trainer_create(rbpe_backend *be, const rbpe_mlp_host *h,
                                    size_t max_rows, float lr,
                                    rbpe_mlp_trainer **out);
/* A forward-only network: the weights and the activations of batches of
 * up to max_rows rows, no gradients or Adam state; rbpe_mlp_forward only
 * (freed with rbpe_mlp_trainer_free). */
rbpe_status rbpe_mlp_net_create(rbpe_backend *be, const rbpe_mlp_host *h,
                                size_t max_rows, rbpe_mlp_trainer **out);
void rbpe_mlp_trainer_free(rbpe_mlp_trainer *t);
/* Device bytes rbpe_mlp_trainer_create allocates, and its largest buffer. */
uint64_t rbpe_mlp_trainer_bytes(const rbpe_mlp_shape *s, size_t max_rows,
                                uint64_t *largest);
uint64_t rbpe_mlp_net_bytes(const rbpe_mlp_shape *s, size_t max_rows,
                            uint64_t *largest);
void rbpe_mlp_trainer_profile(rbpe_mlp_trainer *t, rbpe_mlp_profile *p);
/* Inputs X are banded rows (rbpe_band) from now on: the first layer runs
 * as band_gemm and band_gemm_wgrad; band NULL (or width 0) goes back to
 * dense rows. The band's ndir x centres must be the first layer's inputs;
 * input gradients (rbpe_mlp_input_grad) need dense rows. */
rbpe_status rbpe_mlp_trainer_set_band(rbpe_mlp_trainer *t, const rbpe_band *band);
/* One Adam step on rows x M inputs X and rows x C targets Y. With
 * want_loss, *loss receives the batch MSE before the update (one read from
 * the device); otherwise nothing is read back. */
rbpe_status rbpe_mlp_train_step(rbpe_mlp_trainer *t, size_t rows,
                                const rbpe_buf *X, const rbpe_buf *Y,
                                int want_loss, float *loss);
/* Forward only: returns the output buffer (rows x C) owned by the trainer. */
rbpe_status rbpe_mlp_forward(rbpe_mlp_trainer *t, size_t rows,
                             const rbpe_buf *X, const rbpe_buf **out);
/* The sum of squared errors of the current weights' predictions for X
 * against Y (rows x C), read back; the weights do not change. Uses the
 * trainer's activation buffers, so it goes between training steps. */
rbpe_status rbpe_mlp_sq_error(rbpe_mlp_trainer *t, size_t rows,
                              const rbpe_buf *X, const rbpe_buf *Y,
                              float *sum);
/* The gradient of scale * sum (pred - Y)^2 (Y rows x C; scale 1/(n C)
 * makes it the mean over n rows) with respect to the inputs X, rows x M
 * into dX (rows x M); the weights do not change. With sq_sum, the sum of
 * squared errors is read back into it. Uses the trainer's activation and
 * gradient buffers, so it goes between training steps. */
rbpe_status rbpe_mlp_input_grad(rbpe_mlp_trainer *t, size_t rows,
                                const rbpe_buf *X, const rbpe_buf *Y,
                                float scale, rbpe_buf *dX, float *sq_sum);
/* Reads the current weights back into h. */
rbpe_status rbpe_mlp_download(rbpe_mlp_trainer *t, rbpe_mlp_host *h);

#endif
