/* Learning sigma (METHOD.md 3-5): the graph solve on the device, the
 * seed's polynomial shortcut and sigma at every grid coordinate. */
#ifndef RBPE_SIGMA_H
#define RBPE_SIGMA_H

#include "internal.h"
#include "knn.h"

rbpe_status rbpe_sigma_check_config(rbpe_err *err, const rbpe_sigma_config *c,
                                    size_t n_train);

typedef struct rbpe_sigma_stats {
  int iterations;
  double J0, J;
} rbpe_sigma_stats;

/* The unit of a relative sigma range: the training spacing L^(-1/ndim),
 * or the rbf centres' spacing 1/centres when that is coarser (centres 0:
 * samples only). */
double rbpe_sigma_spacing(size_t L, int ndim, int centres);

/* A relative (or local) sigma range made absolute, in units of
 * rbpe_sigma_spacing; no change when it already is. The local factors
 * are the solve's to apply. */
void rbpe_sigma_absolute(rbpe_sigma_config *sc, size_t L, int ndim,
                         int centres);

/* The local range's factor at each of L points x (L x ndim): the root
 * mean square distance to its 2 ndim nearest others (on a regular lattice
 * the spacing itself) over the geometric mean of those distances, held
 * within [1/4, 4]; all 1 when there are 2 ndim points or fewer. */
rbpe_status rbpe_sigma_local_factors(rbpe_err *err, size_t L, int ndim,
                                     const float *x, float *f);

/* Minimises J(sigma) over the graph g of n points x (n x ndim) with values
 * y (n x C): Adam on s, sigma = local (smin + (smax - smin) logistic(s)),
 * until J changes by less than tol between checks or the iteration cap.
 * local: a factor per point (NULL: 1). The range must be absolute
 * (rbpe_sigma_absolute). A non-zero *cancel (checked every iteration;
 * NULL: never) stops it early with the sigma it has. */
rbpe_status rbpe_sigma_solve(rbpe_backend *be, const rbpe_embedding *emb,
                             const rbpe_graph *g, int ndim, const float *x,
                             int C, const float *y, const float *local,
                             const rbpe_sigma_config *sc,
                             const volatile int *cancel, float *sigma,
                             rbpe_sigma_stats *stats);

/* What a sigma build resolved and did: the range in coordinate units
 * (rbpe_sigma_absolute of the configured one), the solve's iterations and
 * objective, the polynomial's beta (poly), its time. */
typedef struct rbpe_sigma_result {
  double lo, hi;
  double spacing; /* the relative range's unit (rbpe_sigma_spacing) */
  int iterations;
  double J0, J;
  int poly_degree;
  double poly_beta[8];
  double time_s;
} rbpe_sigma_result;

/* The sigma map over every sample of sig for a configuration that
 * rbpe_fit_config_check accepted: learns sigma at the training samples
 * (graph or poly) and carries it to the others (cfg->sigma_at). */
rbpe_status rbpe_sigma_build(rbpe_ctx *ctx, rbpe_backend *be,
                             const rbpe_signal *sig, const rbpe_split *split,
                             const rbpe_fit_config *cfg,
                             const rbpe_embedding *emb, float *map,
                             rbpe_sigma_result *res);

#endif
