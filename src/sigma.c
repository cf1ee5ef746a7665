/* Learning sigma per coordinate (METHOD.md 3-5). The objective and its
 * gradient run on the backend through the graph ops; the k-NN graph, the
 * polynomial fit and the interpolation to held-out coordinates are O(L k)
 * host work. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mlp.h"
#include "sigma.h"

/* Neighbours that estimate fbar at a coordinate (Gaussian weights). */
#define FBAR_K 16
/* Neighbours the smooth interpolation averages over. */
#define SMOOTH_K 64
/* Queries per k-NN batch (bounds the index memory). */
#define QUERY_CHUNK 65536
#define SEED_SUBSETS 0x2545f491u
/* The local range's factors stay within this factor of their geometric
 * mean either way. */
#define RBPE_LOCAL_SPAN 4.0

rbpe_status rbpe_sigma_check_config(rbpe_err *err, const rbpe_sigma_config *c,
                                    size_t n) {
  RBPE_FAIL_IF(c->k < 1 || (size_t)c->k >= n, err, RBPE_ERR_INVALID_ARGUMENT,
               "k = %d neighbours (must be 1..%zu for %zu training points)",
               c->k, n ? n - 1 : 0, n);
  RBPE_FAIL_IF(!(c->eps > 0.0f) || !isfinite(c->eps), err,
               RBPE_ERR_INVALID_ARGUMENT, "eps = %g (must be > 0)",
               (double)c->eps);
  RBPE_FAIL_IF(c->relative < RBPE_RANGE_ABS || c->relative > RBPE_RANGE_LOCAL,
               err, RBPE_ERR_INVALID_ARGUMENT, "unknown sigma range unit %d",
               c->relative);
  RBPE_FAIL_IF(!(c->smin > 0.0f) || !(c->smax > c->smin) || !isfinite(c->smax),
               err, RBPE_ERR_INVALID_ARGUMENT,
               "sigma range [%g, %g] (need 0 < smin < smax)", (double)c->smin,
               (double)c->smax);
  RBPE_FAIL_IF(!isfinite(c->gamma) || !(c->lambda_n >= 0.0f) ||
                   !isfinite(c->lambda_n),
               err, RBPE_ERR_INVALID_ARGUMENT,
               "gamma %g, lambda_n %g (need finite, lambda_n >= 0)",
               (double)c->gamma, (double)c->lambda_n);
  RBPE_FAIL_IF(c->iterations < 1 || !(c->lr > 0.0f) || !(c->tol >= 0.0f) ||
                   c->check_every < 1,
               err, RBPE_ERR_INVALID_ARGUMENT,
               "sigma solver: iterations %d, lr %g, tol %g, check every %d",
               c->iterations, (double)c->lr, (double)c->tol, c->check_every);
  RBPE_FAIL_IF(c->poly_degree < 0 || c->poly_degree > 7 || c->poly_subset < 2 ||
                   c->poly_subsets < 1 || !(c->smooth_width > 0.0f),
               err, RBPE_ERR_INVALID_ARGUMENT,
               "poly degree %d (0..7), subset %d (>= 2), subsets %d, smooth "
               "width %g",
               c->poly_degree, c->poly_subset, c->poly_subsets,
               (double)c->smooth_width);
  return RBPE_OK;
}

enum { B_X, B_Y, B_DIRS, B_ROW, B_COL, B_THETA, B_DD, B_C, B_RHO, B_JPART,
       B_G, B_DSIG, B_GRAD, B_S, B_M, B_V, B_SIGMA, B_J, B_LOCAL, B_COUNT };

static rbpe_status objective(rbpe_backend *be, rbpe_graph_op *op, rbpe_buf **b,
                             float smin, float smax, double *J) {
  RBPE_TRY(rbpe_op_sigma_param(be, op->n, smin, smax, b[B_S], b[B_LOCAL],
                               b[B_SIGMA], b[B_DSIG]));
  RBPE_TRY(rbpe_op_graph_edges(be, op));
  RBPE_TRY(rbpe_op_graph_degree(be, op));
  RBPE_TRY(rbpe_op_graph_nodes(be, op));
  if (J) {
    float v;
    RBPE_TRY(rbpe_op_sum(be, op->n, b[B_JPART], b[B_J]));
    RBPE_TRY(rbpe_buf_read(be, b[B_J], 0, sizeof v, &v));
    *J = v;
  }
  return RBPE_OK;
}

rbpe_status rbpe_sigma_solve(rbpe_backend *be, const rbpe_embedding *emb,
                             const rbpe_graph *g, int ndim, const float *x,
                             int C, const float *y, const float *local,
                             const rbpe_sigma_config *sc,
                             const volatile int *cancel, float *sigma,
                             rbpe_sigma_stats *stats) {
  const rbpe_embed_config *ec = rbpe_embedding_config(emb);
  size_t n = g->n, nnz = g->nnz;
  RBPE_FAIL_IF(sc->relative, be->err, RBPE_ERR_INTERNAL,
               "sigma solve: relative range not made absolute");
  int ndir = rbpe_embedding_directions(emb);
  rbpe_buf *b[B_COUNT] = {0};
  size_t count[B_COUNT] = {
      [B_X] = n * ndim, [B_Y] = n * C, [B_DIRS] = (size_t)ndir * (ndim + 1),
      [B_ROW] = n + 1, [B_COL] = nnz ? nnz : 1, [B_THETA] = nnz ? nnz : 1,
      [B_DD] = nnz ? nnz : 1, [B_C] = nnz ? nnz : 1, [B_RHO] = n,
      [B_JPART] = n, [B_G] = n, [B_DSIG] = n, [B_GRAD] = n, [B_S] = n,
      [B_M] = n, [B_V] = n, [B_SIGMA] = n, [B_J] = 1, [B_LOCAL] = n};
  /* refused before anything is allocated when it cannot fit */
  uint64_t need = 0, largest = 0;
  for (int i = 0; i < B_COUNT; i++) {
    need += (uint64_t)count[i] * sizeof(float);
    if ((uint64_t)count[i] * sizeof(float) > largest)
      largest = (uint64_t)count[i] * sizeof(float);
  }
  char task[96];
  snprintf(task, sizeof task, "the sigma solve over %zu points (%zu edges)", n,
           nnz);
  RBPE_TRY(rbpe_backend_reserve(be, need, largest, task));
  rbpe_status st = RBPE_OK;
  for (int i = 0; i < B_COUNT && st == RBPE_OK; i++) {
    st = rbpe_buf_alloc(be, count[i] * sizeof(float), &b[i]);
    if (st == RBPE_OK)
      st = rbpe_buf_fill(be, b[i], 0, count[i], i == B_LOCAL ? 1.0f : 0.0f);
  }
  if (st == RBPE_OK && local)
    st = rbpe_buf_write(be, b[B_LOCAL], 0, n * sizeof(float), local);
  if (st == RBPE_OK) st = rbpe_buf_write(be, b[B_X], 0, n * ndim * sizeof(float), x);
  if (st == RBPE_OK) st = rbpe_buf_write(be, b[B_Y], 0, n * C * sizeof(float), y);
  if (st == RBPE_OK)
    st = rbpe_buf_write(be, b[B_DIRS], 0, count[B_DIRS] * sizeof(float),
                        rbpe_embedding_rbf_directions(emb));
  if (st == RBPE_OK) st = rbpe_buf_write(be, b[B_ROW], 0, (n + 1) * 4, g->row);
  if (st == RBPE_OK && nnz) st = rbpe_buf_write(be, b[B_COL], 0, nnz * 4, g->col);
  /* all buffers start at zero; s = 0 puts every sigma mid-range */
  rbpe_graph_op op = {n,       nnz,          ndim,     ndir,      ec->rbf_centres,
                      C,       ec->rbf_order, sc->eps, sc->gamma, sc->lambda_n,
                      b[B_X],  b[B_SIGMA],   b[B_Y],   b[B_DIRS], b[B_ROW],
                      b[B_COL], b[B_THETA],  b[B_DD],  b[B_C],    b[B_RHO],
                      b[B_JPART], b[B_G],    b[B_DSIG], b[B_GRAD]};
  double J = 0, Jprev = 0;
  int it = 0;
  stats->J0 = NAN;
  for (it = 1; st == RBPE_OK && it <= sc->iterations; it++) {
    if (cancel && *cancel) break;
    int check = it == 1 || it % sc->check_every == 0;
    st = objective(be, &op, b, sc->smin, sc->smax, check ? &J : NULL);
    if (st != RBPE_OK) break;
    if (check) {
      if (!isfinite(J)) {
        st = rbpe_err_set(be->err, RBPE_ERR_NUMERIC,
                          "sigma solve diverged (J = %g at iteration %d)", J, it);
        break;
      }
      /* Converged when the last interval's change is a small fraction of
       * the change so far: J's own size is dominated by terms sigma
       * cannot move, so |dJ| / |J| would stop far too early. */
      if (it == 1) stats->J0 = J;
      else if (fabs(J - Jprev) <= sc->tol * fmax(fabs(stats->J0 - J), 1e-30))
        break;
      Jprev = J;
    }
    st = rbpe_op_graph_grad(be, &op);
    rbpe_adam_step a = {sc->lr, RBPE_ADAM_BETA1, RBPE_ADAM_BETA2, RBPE_ADAM_EPS,
                        (float)(1.0 - pow(RBPE_ADAM_BETA1, it)),
                        (float)(1.0 - pow(RBPE_ADAM_BETA2, it))};
    if (st == RBPE_OK) st = rbpe_op_adam(be, n, &a, b[B_S], b[B_GRAD], b[B_M], b[B_V]);
  }
  stats->iterations = it > sc->iterations ? sc->iterations : it;
  if (st == RBPE_OK) st = objective(be, &op, b, sc->smin, sc->smax, &J);
  if (st == RBPE_OK) st = rbpe_buf_read(be, b[B_SIGMA], 0, n * sizeof(float), sigma);
  stats->J = J;
  for (int i = 0; i < B_COUNT; i++) rbpe_buf_free(be, b[i]);
  return st;
}

/* ---- host-side pieces ------------------------------------------------------ */

/* Least squares fit of sigma ~ sum_p beta_p u^p (normal equations in
 * double, Gaussian elimination with partial pivoting); a singular system
 * falls back to the mean. */
static void poly_fit(const double *u, const float *s, size_t n, int P,
                     double *beta) {
  double A[8][9];
  memset(A, 0, sizeof A);
  for (size_t i = 0; i < n; i++) {
    double pw[16];
    pw[0] = 1;
    for (int k = 1; k <= 2 * P; k++) pw[k] = pw[k - 1] * u[i];
    for (int r = 0; r <= P; r++) {
      for (int c = 0; c <= P; c++) A[r][c] += pw[r + c];
      A[r][P + 1] += pw[r] * s[i];
    }
  }
  int ok = 1;
  for (int c = 0; c <= P && ok; c++) {
    int piv = c;
    for (int r = c + 1; r <= P; r++)
      if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
    if (fabs(A[piv][c]) < 1e-12 * (fabs(A[0][0]) + 1e-300)) {
      ok = 0;
      break;
    }
    for (int k = 0; k <= P + 1; k++) {
      double t = A[c][k];
      A[c][k] = A[piv][k];
      A[piv][k] = t;
    }
    for (int r = 0; r <= P; r++)
      if (r != c) {
        double f = A[r][c] / A[c][c];
        for (int k = c; k <= P + 1; k++) A[r][k] -= f * A[c][k];
      }
  }
  for (int p = 0; p <= P; p++) beta[p] = ok ? A[p][P + 1] / A[p][p] : 0.0;
  if (!ok) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m += s[i];
    beta[0] = n ? m / n : 0;
  }
}

static float poly_eval(const double *beta, int P, double u, float smin,
                       float smax) {
  double v = 0;
  for (int p = P; p >= 0; p--) v = v * u + beta[p];
  if (!(v >= smin)) v = smin; /* also NaN */
  if (v > smax) v = smax;
  return (float)v;
}

/* fbar (channel mean) at every sample from the training samples only
 * (Gaussian weights over the FBAR_K nearest), then the norm of its
 * gradient by central differences on the grid, in coordinate units. */
static rbpe_status gradient_field(rbpe_err *err, const rbpe_signal *sig,
                                  const float *xt, const float *yt, size_t L,
                                  const float *xg, double *g) {
  size_t S = sig->samples;
  int N = sig->ndim, C = sig->channels, K = L < FBAR_K ? (int)L : FBAR_K;
  /* Gaussian weights of one training spacing: fbar is smooth everywhere.
   * (Inverse-distance weights interpolate, so fbar went flat at every
   * training sample and steep between them: g was near zero at training
   * coordinates and large at held-out ones, and poly sigma at held-out
   * samples had nothing to do with the sigma it was fitted to.) */
  double h = pow((double)L, -1.0 / N), inv2h2 = 1.0 / (2.0 * h * h);
  double *f = malloc(S * sizeof(double));
  uint32_t *idx = malloc((size_t)QUERY_CHUNK * K * sizeof(uint32_t));
  float *d2 = malloc((size_t)QUERY_CHUNK * K * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!f || !idx || !d2) st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "oom");
  for (size_t q0 = 0; q0 < S && st == RBPE_OK; q0 += QUERY_CHUNK) {
    size_t q = S - q0 < QUERY_CHUNK ? S - q0 : QUERY_CHUNK;
    st = rbpe_knn_query(err, L, N, xt, q, xg + q0 * N, K, idx, d2);
    for (size_t i = 0; i < q && st == RBPE_OK; i++) {
      double ws = 0, v = 0;
      for (int t = 0; t < K; t++) {
        double w = exp(-(double)d2[i * K + t] * inv2h2) + 1e-300;
        double m = 0;
        for (int c = 0; c < C; c++) m += yt[(size_t)idx[i * K + t] * C + c];
        v += w * m / C;
        ws += w;
      }
      f[q0 + i] = v / ws;
    }
  }
  if (st == RBPE_OK) {
    size_t stride[RBPE_MAX_DIMS];
    stride[N - 1] = 1;
    for (int a = N - 2; a >= 0; a--) stride[a] = stride[a + 1] * sig->dims[a + 1];
    for (size_t i = 0; i < S; i++) {
      double s2 = 0;
      for (int a = 0; a < N; a++) {
        size_t k = (i / stride[a]) % sig->dims[a], n = sig->dims[a];
        if (n < 2) continue;
        size_t lo = k > 0 ? i - stride[a] : i, hi = k + 1 < n ? i + stride[a] : i;
        double steps = (double)((k + 1 < n) + (k > 0));
        double d = (f[hi] - f[lo]) * (double)n / steps;
        s2 += d * d;
      }
      g[i] = sqrt(s2);
    }
  }
  free(f);
  free(idx);
  free(d2);
  return st;
}

/* The poly model from dense subsets: each subset is a random training
 * point and its poly_subset - 1 nearest, solved on its complete graph;
 * all subsets are solved at once as one block-diagonal graph. */
static rbpe_status subset_pairs(rbpe_err *err, rbpe_backend *be,
                                const rbpe_embedding *emb, const rbpe_fit_config *cfg,
                                int N, int C, const float *xt, const float *yt,
                                size_t L, const double *gt, double **pg,
                                float **ps, size_t *npairs, rbpe_sigma_stats *ss) {
  const rbpe_sigma_config *sc = &cfg->sig;
  size_t m = (size_t)sc->poly_subset < L ? (size_t)sc->poly_subset : L;
  size_t B = (size_t)sc->poly_subsets, n = B * m;
  rbpe_graph g = {0};
  float *seeds = malloc(B * N * sizeof(float)), *x = malloc(n * N * sizeof(float)),
        *y = malloc(n * C * sizeof(float)), *d2 = malloc(n * sizeof(float)),
        *sig = malloc(n * sizeof(float));
  uint32_t *idx = malloc(n * sizeof(uint32_t));
  g.n = n;
  g.nnz = n * (m - 1);
  g.row = malloc((n + 1) * sizeof(uint32_t));
  g.col = malloc((g.nnz ? g.nnz : 1) * sizeof(uint32_t));
  *pg = malloc(n * sizeof(double));
  rbpe_status st = RBPE_OK;
  if (!seeds || !x || !y || !d2 || !sig || !idx || !g.row || !g.col || !*pg)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == RBPE_OK) {
    rbpe_rng rng;
    rbpe_rng_seed(&rng, cfg->seed ^ SEED_SUBSETS);
    for (size_t b = 0; b < B; b++) {
      size_t pick = (size_t)rbpe_rng_below(&rng, L);
      memcpy(seeds + b * N, xt + pick * N, N * sizeof(float));
    }
    st = rbpe_knn_query(err, L, N, xt, B, seeds, (int)m, idx, d2);
  }
  if (st == RBPE_OK) {
    size_t e = 0;
    for (size_t v = 0; v < n; v++) {
      size_t b = v / m, src = idx[v];
      memcpy(x + v * N, xt + src * N, N * sizeof(float));
      memcpy(y + v * C, yt + src * C, C * sizeof(float));
      (*pg)[v] = gt[src];
      g.row[v] = (uint32_t)e;
      for (size_t w = b * m; w < (b + 1) * m; w++)
        if (w != v) g.col[e++] = (uint32_t)w;
    }
    g.row[n] = (uint32_t)e;
    st = rbpe_sigma_solve(be, emb, &g, N, x, C, y, NULL, sc, cfg->cancel, sig,
                          ss);
  }
  free(seeds);
  free(x);
  free(y);
  free(d2);
  free(idx);
  rbpe_graph_free(&g);
  if (st != RBPE_OK) {
    free(sig);
    free(*pg);
    *pg = NULL;
    return st;
  }
  *ps = sig;
  *npairs = n;
  return RBPE_OK;
}

double rbpe_sigma_spacing(size_t L, int ndim, int centres) {
  /* the coarser of the samples' and the centres' spacing: below the
   * centres' spacing an rbf embedding has holes between centres, however
   * densely the signal is sampled */
  double h = pow((double)(L ? L : 1), -1.0 / ndim);
  if (centres > 0 && 1.0 / centres > h) h = 1.0 / centres;
  return h;
}

void rbpe_sigma_absolute(rbpe_sigma_config *sc, size_t L, int ndim,
                         int centres) {
  if (sc->relative == RBPE_RANGE_ABS) return;
  double h = rbpe_sigma_spacing(L, ndim, centres);
  sc->smin = (float)(sc->smin * h);
  sc->smax = (float)(sc->smax * h);
  sc->relative = RBPE_RANGE_ABS;
}

rbpe_status rbpe_sigma_local_factors(rbpe_err *err, size_t L, int ndim,
                                     const float *x, float *f) {
  int K = 2 * ndim; /* a regular lattice's nearest neighbours */
  if ((size_t)K >= L) {
    for (size_t i = 0; i < L; i++) f[i] = 1.0f;
    return RBPE_OK;
  }
  size_t chunk = QUERY_CHUNK;
  uint32_t *idx = malloc(chunk * (K + 1) * sizeof(uint32_t));
  float *d2 = malloc(chunk * (K + 1) * sizeof(float));
  double *r = malloc(L * sizeof(double));
  rbpe_status st = RBPE_OK;
  if (!idx || !d2 || !r)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
  /* r_i: the root mean square distance to the K nearest other samples */
  double rmax = 0;
  for (size_t q0 = 0; q0 < L && st == RBPE_OK; q0 += chunk) {
    size_t q = L - q0 < chunk ? L - q0 : chunk;
    st = rbpe_knn_query(err, L, ndim, x, q, x + q0 * ndim, K + 1, idx, d2);
    for (size_t i = 0; i < q && st == RBPE_OK; i++) {
      /* the K + 1 nearest hold the point itself or, among duplicates, an
       * interchangeable one at distance 0: their sum is the K others' */
      double s = 0;
      for (int t = 0; t <= K; t++) s += d2[i * (K + 1) + t];
      r[q0 + i] = sqrt(s / K);
      if (r[q0 + i] > rmax) rmax = r[q0 + i];
    }
  }
  if (st == RBPE_OK && !(rmax > 0)) /* every point on its duplicates */
    for (size_t i = 0; i < L; i++) f[i] = 1.0f;
  else if (st == RBPE_OK) {
    /* factors about the geometric mean, so the range's level stays the
     * relative one's; duplicates (r = 0) and outliers are held within
     * RBPE_LOCAL_SPAN of it */
    double lg = 0, floor = rmax * 1e-6;
    for (size_t i = 0; i < L; i++) lg += log(r[i] > floor ? r[i] : floor);
    double gm = exp(lg / (double)L);
    for (size_t i = 0; i < L; i++) {
      double v = r[i] / gm;
      if (!(v >= 1.0 / RBPE_LOCAL_SPAN)) v = 1.0 / RBPE_LOCAL_SPAN;
      if (v > RBPE_LOCAL_SPAN) v = RBPE_LOCAL_SPAN;
      f[i] = (float)v;
    }
  }
  free(idx);
  free(d2);
  free(r);
  return st;
}

/* What the build works on: the training coordinates and values, every
 * grid coordinate and, for the polynomial, the gradient-magnitude field. */
typedef struct sigma_data {
  size_t L, S;
  int N, C;
  const size_t *train;
  float *xt, *yt, *xg, *st; /* st: sigma at the training samples */
  double *g, gscale;        /* poly: |grad| over the grid, and its max */
  double beta[8];
} sigma_data;

static void sigma_data_free(sigma_data *d) {
  free(d->xt);
  free(d->yt);
  free(d->xg);
  free(d->st);
  free(d->g);
}

static rbpe_status sigma_data_init(rbpe_ctx *ctx, const rbpe_signal *sig,
                                   const rbpe_split *split, int need_poly,
                                   sigma_data *d) {
  rbpe_err *err = &ctx->err;
  size_t L = rbpe_split_train_count(split), S = sig->samples;
  int N = sig->ndim, C = sig->channels;
  *d = (sigma_data){.L = L, .S = S, .N = N, .C = C,
                    .train = rbpe_split_train(split), .gscale = 1.0};
  d->xt = malloc(L * N * sizeof(float));
  d->yt = malloc(L * C * sizeof(float));
  d->xg = malloc(S * N * sizeof(float));
  d->st = malloc(L * sizeof(float));
  d->g = need_poly ? malloc(S * sizeof(double)) : NULL;
  size_t *all = malloc(S * sizeof(size_t));
  rbpe_status st = RBPE_OK;
  if (!d->xt || !d->yt || !d->xg || !d->st || !all || (need_poly && !d->g))
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
  if (st == RBPE_OK) {
    for (size_t i = 0; i < S; i++) all[i] = i;
    st = rbpe_signal_coords(ctx, sig, all, S, d->xg);
  }
  free(all);
  if (st != RBPE_OK) return st;
  for (size_t i = 0; i < L; i++) {
    memcpy(d->xt + i * N, d->xg + d->train[i] * N, N * sizeof(float));
    memcpy(d->yt + i * C, sig->data + d->train[i] * C, C * sizeof(float));
  }
  if (!need_poly) return RBPE_OK;
  RBPE_TRY(gradient_field(err, sig, d->xt, d->yt, L, d->xg, d->g));
  double gmax = 0;
  for (size_t i = 0; i < S; i++) gmax = fmax(gmax, d->g[i]);
  d->gscale = gmax > 0 ? gmax : 1.0;
  return RBPE_OK;
}

/* The seed's polynomial sigma = p(|grad| / max |grad|): beta fitted on
 * (gradient, sigma) pairs from the sparse solve or from dense subsets. */
static rbpe_status fit_polynomial(rbpe_err *err, rbpe_backend *be,
                                  const rbpe_embedding *emb,
                                  const rbpe_fit_config *cfg, int sparse,
                                  sigma_data *d, rbpe_sigma_stats *ss) {
  size_t L = d->L;
  double *gt = malloc(L * sizeof(double)), *u = NULL;
  RBPE_FAIL_IF(!gt, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
  for (size_t i = 0; i < L; i++) gt[i] = d->g[d->train[i]];
  double *pg = gt;
  float *ps = d->st;
  size_t np = L;
  rbpe_status st = RBPE_OK;
  if (!sparse)
    st = subset_pairs(err, be, emb, cfg, d->N, d->C, d->xt, d->yt, L, gt, &pg,
                      &ps, &np, ss);
  if (st == RBPE_OK && !(u = malloc(np * sizeof(double))))
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
  if (st == RBPE_OK) {
    for (size_t i = 0; i < np; i++) u[i] = pg[i] / d->gscale;
    poly_fit(u, ps, np, cfg->sig.poly_degree, d->beta);
  }
  free(u);
  if (pg != gt) free(pg);
  if (ps != d->st) free(ps);
  free(gt);
  return st;
}

/* Sigma over the grid from sigma at the training samples: the nearest
 * one's, or a Gaussian-weighted mean of the SMOOTH_K nearest (width:
 * smooth_width mean nearest-neighbour spacings). */
static rbpe_status carry_to_grid(rbpe_err *err, const rbpe_fit_config *cfg,
                                 const sigma_data *d, float *map) {
  size_t L = d->L, S = d->S;
  int N = d->N;
  int K = cfg->sigma_at == RBPE_SIGMA_AT_NEAREST ? 1
          : L < SMOOTH_K                         ? (int)L
                                                 : SMOOTH_K;
  double h2 = 0;
  size_t cap = (size_t)QUERY_CHUNK * K; /* also the spacing query's 2 L */
  if (K > 1 && 2 * L > cap) cap = 2 * L;
  uint32_t *idx = malloc(cap * sizeof(uint32_t));
  float *d2 = malloc(cap * sizeof(float));
  rbpe_status st = RBPE_OK;
  if (!idx || !d2)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
  if (st == RBPE_OK && K > 1) { /* the mean nearest-neighbour spacing */
    double sp = 0;
    st = rbpe_knn_query(err, L, N, d->xt, L, d->xt, 2, idx, d2);
    for (size_t i = 0; st == RBPE_OK && i < L; i++) sp += sqrt((double)d2[i * 2 + 1]);
    sp /= (double)L;
    h2 = (double)cfg->sig.smooth_width * sp;
    h2 *= h2;
  }
  for (size_t q0 = 0; q0 < S && st == RBPE_OK; q0 += QUERY_CHUNK) {
    size_t q = S - q0 < QUERY_CHUNK ? S - q0 : QUERY_CHUNK;
    st = rbpe_knn_query(err, L, N, d->xt, q, d->xg + q0 * N, K, idx, d2);
    for (size_t i = 0; i < q && st == RBPE_OK; i++) {
      if (K == 1) { /* nearest */
        map[q0 + i] = d->st[idx[i]];
        continue;
      }
      double ws = 0, v = 0;
      for (int t = 0; t < K; t++) {
        double w = exp(-(double)d2[i * K + t] / (2.0 * h2));
        ws += w;
        v += w * d->st[idx[i * K + t]];
      }
      map[q0 + i] = ws > 0 ? (float)(v / ws) : d->st[idx[i * K]];
    }
  }
  free(idx);
  free(d2);
  return st;
}

rbpe_status rbpe_sigma_build(rbpe_ctx *ctx, rbpe_backend *be,
                             const rbpe_signal *sig, const rbpe_split *split,
                             const rbpe_fit_config *cfg,
                             const rbpe_embedding *emb, float *map,
                             rbpe_sigma_result *res) {
  rbpe_err *err = &ctx->err;
  double t0 = rbpe_now_s();
  /* A relative range is in units of the training spacing h = L^(-1/N), the
   * grid step of L evenly spread points in the unit cube (or of the rbf
   * centres, 1/D, when that is coarser); a local one also scales each
   * training sample's range by its local spacing (rbpe_sigma_local_factors). */
  rbpe_fit_config scaled = *cfg;
  int local = cfg->sig.relative == RBPE_RANGE_LOCAL;
  memset(res, 0, sizeof *res);
  res->spacing = rbpe_sigma_spacing(rbpe_split_train_count(split), sig->ndim,
                                    cfg->embed.rbf_centres);
  rbpe_sigma_absolute(&scaled.sig, rbpe_split_train_count(split), sig->ndim,
                      cfg->embed.rbf_centres);
  cfg = &scaled;
  const rbpe_sigma_config *sc = &cfg->sig;
  res->lo = sc->smin;
  res->hi = sc->smax;
  int need_poly = cfg->sigma_mode == RBPE_SIGMA_POLY ||
                  cfg->sigma_at == RBPE_SIGMA_AT_POLY;
  int sparse = cfg->sigma_mode == RBPE_SIGMA_GRAPH ||
               (cfg->sigma_mode == RBPE_SIGMA_POLY && sc->poly_from_sparse);
  sigma_data d;
  rbpe_sigma_stats ss = {0, NAN, NAN};
  rbpe_status st = sigma_data_init(ctx, sig, split, need_poly, &d);
  float *f = NULL;
  if (st == RBPE_OK && local && sparse) {
    if (!(f = malloc(d.L * sizeof(float))))
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory for sigma");
    else
      st = rbpe_sigma_local_factors(err, d.L, d.N, d.xt, f);
    /* the range the map can span: the extreme factors' */
    float fmin = 1.0f, fmax = 1.0f;
    for (size_t i = 0; st == RBPE_OK && i < d.L; i++) {
      if (i == 0 || f[i] < fmin) fmin = f[i];
      if (i == 0 || f[i] > fmax) fmax = f[i];
    }
    res->lo = sc->smin * fmin;
    res->hi = sc->smax * fmax;
  }
  /* 1. sigma at the training coordinates */
  if (st == RBPE_OK && sparse) {
    rbpe_graph graph = {0};
    st = rbpe_knn_graph(err, d.L, d.N, d.xt, sc->k, &graph);
    if (st == RBPE_OK)
      st = rbpe_sigma_solve(be, emb, &graph, d.N, d.xt, d.C, d.yt, f, sc,
                            cfg->cancel, d.st, &ss);
    rbpe_graph_free(&graph);
  }
  free(f);
  if (st == RBPE_OK && need_poly)
    st = fit_polynomial(err, be, emb, cfg, sparse, &d, &ss);
  if (st == RBPE_OK && cfg->sigma_mode == RBPE_SIGMA_POLY)
    for (size_t i = 0; i < d.L; i++)
      d.st[i] = poly_eval(d.beta, sc->poly_degree, d.g[d.train[i]] / d.gscale,
                          sc->smin, sc->smax);
  /* 2. sigma everywhere */
  if (st == RBPE_OK && cfg->sigma_at == RBPE_SIGMA_AT_POLY)
    for (size_t i = 0; i < d.S; i++)
      map[i] = poly_eval(d.beta, sc->poly_degree, d.g[i] / d.gscale, sc->smin,
                         sc->smax);
  else if (st == RBPE_OK)
    st = carry_to_grid(err, cfg, &d, map);
  if (st == RBPE_OK) {
    res->iterations = ss.iterations;
    res->J0 = ss.J0;
    res->J = ss.J;
    res->poly_degree = need_poly ? sc->poly_degree : 0;
    for (int p = 0; p <= sc->poly_degree && need_poly; p++)
      res->poly_beta[p] = d.beta[p];
  }
  res->time_s = rbpe_now_s() - t0;
  sigma_data_free(&d);
  return st;
}
