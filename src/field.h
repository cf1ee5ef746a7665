/* The held-back sigma field (beyond METHOD.md, on top of its section 5
 * map; README "Learning sigma"): a coarse N-linear grid g of log-factors
 * on the sigma map, learned from the loss of held-back training samples
 * through the MLP's input gradient and the rbf sigma derivative. */
#ifndef RBPE_FIELD_H
#define RBPE_FIELD_H

#include "internal.h"
#include "mlp.h"

typedef struct rbpe_field rbpe_field;

rbpe_status rbpe_field_check_config(rbpe_err *err, const rbpe_field_config *c);

/* A zero field (every factor 1) over ndim axes with cells nodes each. */
rbpe_status rbpe_field_create(rbpe_err *err, int ndim, int cells,
                              rbpe_field **out);
void rbpe_field_free(rbpe_field *f);

/* g(x), x in [0, 1]^ndim (clamped at the border). */
double rbpe_field_at(const rbpe_field *f, const float *x);
/* sigma[i] = base[i] exp(g(coords[i])), n coordinates in [0, 1]^ndim. */
void rbpe_field_apply(const rbpe_field *f, size_t n, const float *coords,
                      const float *base, float *sigma);

/* The gradient of a loss with respect to g (rbpe_field_gradient) from its
 * gradient per coordinate, dL/dsigma (dsig, n values) at sigma. */
void rbpe_field_node_grad(rbpe_field *f, size_t n, const float *coords,
                          const float *sigma, const double *dsig);
/* One Adam step of g on that gradient (learning rate lr, one second moment
 * for the whole field), then |g| <= range and, with zero_mean, the mean of
 * the nodes subtracted. */
void rbpe_field_adam(rbpe_field *f, float lr, float range, int zero_mean);
/* g's node values (nodes of them, mutable: for tests) and gradient. */
double *rbpe_field_values(rbpe_field *f, size_t *nodes);
const double *rbpe_field_gradient(const rbpe_field *f);

/* Held-back evaluation on a backend: the samples' coordinates, base sigma
 * and targets stay on the host and go to the device in chunks of at most
 * `rows` (the trainer's batch). */
typedef struct rbpe_field_eval {
  rbpe_backend *be;
  const rbpe_embedding *emb;
  int ndim;
  size_t n, rows, M, C;
  const float *coords, *base, *targets; /* n x ndim, n, n x C */
  float *sigma;                         /* n: the current sigma */
  double *dsig;                         /* n: dL/dsigma */
  float *hX, *hD;                       /* rows x M host copies */
  rbpe_buf *x, *s, *X, *D, *dX, *Y;
} rbpe_field_eval;

rbpe_status rbpe_field_eval_init(rbpe_field_eval *e, rbpe_backend *be,
                                 const rbpe_embedding *emb, int ndim, size_t n,
                                 size_t rows, size_t C, const float *coords,
                                 const float *base, const float *targets);
void rbpe_field_eval_free(rbpe_field_eval *e);

/* The held-back mean squared error under the field (into *mse) and its
 * gradient with respect to g (rbpe_field_gradient). */
rbpe_status rbpe_field_grad(rbpe_field_eval *e, rbpe_field *f,
                            rbpe_mlp_trainer *tr, double *mse);
/* rbpe_field_grad, then one step of the field (cfg's lr and range). */
rbpe_status rbpe_field_update(rbpe_field_eval *e, rbpe_field *f,
                              rbpe_mlp_trainer *tr,
                              const rbpe_field_config *cfg, double *mse);

#endif
