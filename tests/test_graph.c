/* The k-NN graph against brute force; the graph objective's gradient
 * against central finite differences (lambda_n = 0 and > 0); ref vs
 * OpenCL sigma after a fixed number of solver iterations; what the method
 * promises on a step, a constant and an edge; bad parameters refused. */
#include <math.h>

#include "backend/ref.h"
#include "internal.h"
#include "knn.h"
#include "sigma.h"
#include "testutil.h"

static int same_graph(const rbpe_graph *a, const rbpe_graph *b) {
  if (a->n != b->n || a->nnz != b->nnz) return 0;
  return !memcmp(a->row, b->row, (a->n + 1) * 4) &&
         !memcmp(a->col, b->col, a->nnz * 4);
}

static void knn_cases(void) {
  rbpe_err err = {0};
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 3);
  for (int N = 1; N <= 3; N++)
    for (int variant = 0; variant < 3; variant++) {
      size_t n = variant == 0 ? 500 : 300;
      float *x = malloc(n * N * sizeof(float));
      for (size_t i = 0; i < n * N; i++) {
        float u = rbpe_rng_uniform(&rng);
        /* variant 1: points on a coarse lattice (many on cell borders and
         * many equal distances); variant 2: every point duplicated */
        if (variant == 1) u = (float)(int)(u * 8.0f) / 8.0f;
        x[i] = u;
      }
      if (variant == 2)
        for (size_t i = 0; i < n / 2; i++)
          memcpy(x + (n / 2 + i) * N, x + i * N, N * sizeof(float));
      rbpe_graph a, b;
      int k = variant == 1 ? 6 : 8;
      CHECK(rbpe_knn_graph(&err, n, N, x, k, &a) == RBPE_OK, "%s", err.msg);
      CHECK(rbpe_knn_graph_brute(&err, n, N, x, k, &b) == RBPE_OK, "%s", err.msg);
      CHECK(same_graph(&a, &b), "k-NN %d-D variant %d differs from brute force", N,
            variant);
      int sym = 1, self = 0;
      for (size_t i = 0; i < a.n; i++)
        for (uint32_t e = a.row[i]; e < a.row[i + 1]; e++) {
          uint32_t j = a.col[e];
          if (j == i) self = 1;
          int back = 0;
          for (uint32_t f = a.row[j]; f < a.row[j + 1]; f++) back |= a.col[f] == i;
          sym &= back;
        }
      CHECK(sym && !self, "graph not symmetric or has self loops");
      CHECK(a.nnz >= n * (size_t)k && a.nnz <= 2 * n * (size_t)k, "nnz %zu", a.nnz);
      rbpe_graph_free(&a);
      rbpe_graph_free(&b);
      free(x);
    }
  float x[4] = {0.1f, 0.2f, 0.3f, 0.4f};
  rbpe_graph g;
  CHECK(rbpe_knn_graph(&err, 4, 1, x, 0, &g) == RBPE_ERR_INVALID_ARGUMENT, "k 0");
  CHECK(rbpe_knn_graph(&err, 4, 1, x, 4, &g) == RBPE_ERR_INVALID_ARGUMENT, "k >= n");
  rbpe_err_clear(&err);
}

/* J and dJ/dsigma on ref for given sigma (scale = 1). */
static double objective(rbpe_backend *be, const rbpe_embedding *emb,
                        const rbpe_graph *g, int N, const float *x, int C,
                        const float *y, const float *sigma, float lam,
                        float *grad) {
  size_t n = g->n, nnz = g->nnz;
  rbpe_buf *b[14];
  size_t cnt[14] = {n * N, n, n * C, (size_t)N * (N + 1), n + 1, nnz, nnz, nnz,
                    nnz, n, n, n, n, n};
  for (int i = 0; i < 14; i++) rbpe_buf_alloc(be, cnt[i] * 4, &b[i]);
  rbpe_buf_write(be, b[0], 0, n * N * 4, x);
  rbpe_buf_write(be, b[1], 0, n * 4, sigma);
  rbpe_buf_write(be, b[2], 0, n * C * 4, y);
  rbpe_buf_write(be, b[3], 0, cnt[3] * 4, rbpe_embedding_rbf_directions(emb));
  rbpe_buf_write(be, b[4], 0, (n + 1) * 4, g->row);
  rbpe_buf_write(be, b[5], 0, nnz * 4, g->col);
  rbpe_buf_fill(be, b[12], 0, n, 1.0f);
  rbpe_buf *J;
  rbpe_buf_alloc(be, 4, &J);
  const rbpe_embed_config *ec = rbpe_embedding_config(emb);
  rbpe_graph_op op = {n,    nnz,  N,     N,     ec->rbf_centres, C,  ec->rbf_order,
                      0.5f, 0.01f, lam,  b[0],  b[1], b[2], b[3], b[4], b[5],
                      b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13]};
  rbpe_op_graph_edges(be, &op);
  rbpe_op_graph_degree(be, &op);
  rbpe_op_graph_nodes(be, &op);
  rbpe_op_graph_grad(be, &op);
  rbpe_op_sum(be, n, b[10], J);
  float j;
  rbpe_buf_read(be, J, 0, 4, &j);
  if (grad) rbpe_buf_read(be, b[13], 0, n * 4, grad);
  for (int i = 0; i < 14; i++) rbpe_buf_free(be, b[i]);
  rbpe_buf_free(be, J);
  return j;
}

static void gradient_cases(rbpe_ctx *ctx) {
  rbpe_err err = {0};
  rbpe_backend *be;
  rbpe_ref_backend_create(&err, &be);
  rbpe_embed_config ec;
  rbpe_embed_config_default(&ec, RBPE_EMBED_RBF);
  ec.rbf_centres = 24;
  rbpe_embedding *emb;
  rbpe_embedding_create(ctx, &ec, 2, &emb);
  enum { n = 40 };
  float x[n * 2], y[n], sigma[n], grad[n];
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 5);
  for (int i = 0; i < n * 2; i++) x[i] = rbpe_rng_uniform(&rng);
  for (int i = 0; i < n; i++) {
    y[i] = x[2 * i] > 0.5f ? 0.9f : 0.1f + 0.1f * rbpe_rng_uniform(&rng);
    sigma[i] = 0.03f + 0.04f * rbpe_rng_uniform(&rng);
  }
  rbpe_graph g;
  rbpe_knn_graph(&err, n, 2, x, 6, &g);
  for (int li = 0; li < 2; li++) {
    float lam = li ? 0.7f : 0.0f;
    objective(be, emb, &g, 2, x, 1, y, sigma, lam, grad);
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
      float sp[n], sm[n];
      memcpy(sp, sigma, sizeof sp);
      memcpy(sm, sigma, sizeof sm);
      float h = 1e-3f * sigma[i];
      sp[i] += h;
      sm[i] -= h;
      double fd = (objective(be, emb, &g, 2, x, 1, y, sp, lam, NULL) -
                   objective(be, emb, &g, 2, x, 1, y, sm, lam, NULL)) /
                  ((double)sp[i] - sm[i]);
      num += (fd - grad[i]) * (fd - grad[i]);
      den += fd * fd;
    }
    double rel = sqrt(num / den);
    printf("graph gradient vs central differences (lambda_n %.1f): relative L2 "
           "error %.2e\n", lam, rel);
    CHECK(den > 0 && rel < 2e-2, "gradient relative error %g (lambda %g)", rel,
          (double)lam);
  }
  rbpe_graph_free(&g);
  rbpe_embedding_free(emb);
  rbpe_backend_close(be);
}

static void solve_local(rbpe_ctx *ctx, rbpe_backend *be, int N, size_t n,
                        const float *x, const float *y, int D,
                        rbpe_sigma_config *sc, const float *local,
                        float *sigma) {
  rbpe_embed_config ec;
  rbpe_embed_config_default(&ec, RBPE_EMBED_RBF);
  ec.rbf_centres = D;
  rbpe_embedding *emb;
  CHECK(rbpe_embedding_create(ctx, &ec, N, &emb) == RBPE_OK, "embedding");
  rbpe_graph g;
  CHECK(rbpe_knn_graph(be->err, n, N, x, sc->k, &g) == RBPE_OK, "graph");
  rbpe_sigma_stats ss;
  CHECK(rbpe_sigma_solve(be, emb, &g, N, x, 1, y, local, sc, NULL, sigma, &ss) == RBPE_OK,
        "solve: %s", be->err->msg);
  rbpe_graph_free(&g);
  rbpe_embedding_free(emb);
}

static void solve(rbpe_ctx *ctx, rbpe_backend *be, int N, size_t n,
                  const float *x, const float *y, int D, rbpe_sigma_config *sc,
                  float *sigma) {
  solve_local(ctx, be, N, n, x, y, D, sc, NULL, sigma);
}

static double log_mean(const float *f, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += log(f[i]);
  return s / (double)n;
}

/* The local range: its factors on a lattice (1 inside, larger on the
 * border), on random points (geometric mean 1, larger in a gap, smaller
 * in a cluster), on duplicates and on too few points; a solve on a
 * constant signal puts every sigma at its own local top. */
static void local_cases(rbpe_ctx *ctx) {
  rbpe_err err = {0};
  enum { m = 20, nr = 600 };
  float xl[m * m * 2], fl[m * m];
  for (int r = 0; r < m; r++)
    for (int c = 0; c < m; c++) {
      xl[(r * m + c) * 2] = (r + 0.5f) / m;
      xl[(r * m + c) * 2 + 1] = (c + 0.5f) / m;
    }
  CHECK(rbpe_sigma_local_factors(&err, m * m, 2, xl, fl) == RBPE_OK, "%s", err.msg);
  float in_lo = 1e9f, in_hi = 0, border_lo = 1e9f, corner = fl[0];
  for (int r = 0; r < m; r++)
    for (int c = 0; c < m; c++) {
      float v = fl[r * m + c];
      if (r > 0 && r < m - 1 && c > 0 && c < m - 1) {
        in_lo = fminf(in_lo, v);
        in_hi = fmaxf(in_hi, v);
      } else border_lo = fminf(border_lo, v);
    }
  printf("local range, %dx%d lattice: interior %.5f..%.5f, border >= %.4f, "
         "corner %.4f, log mean %.1e\n", m, m, (double)in_lo, (double)in_hi,
         (double)border_lo, (double)corner, log_mean(fl, m * m));
  CHECK(in_hi - in_lo < 1e-5f && in_lo < 1.0f && in_lo > 0.95f &&
            border_lo > in_hi && corner > 1.2f * in_hi &&
            fabs(log_mean(fl, m * m)) < 1e-5,
        "lattice factors %g..%g, border %g, corner %g", (double)in_lo,
        (double)in_hi, (double)border_lo, (double)corner);

  /* random points with a dense cluster at (0.2, 0.2) and an empty disc of
   * radius 0.15 at (0.7, 0.7) but for its centre */
  float xr[nr * 2], fr[nr], yr[nr], sr[nr];
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 21);
  int placed = 0;
  while (placed < nr - 1) {
    float a = rbpe_rng_uniform(&rng), b = rbpe_rng_uniform(&rng);
    if (placed < 60) a = 0.2f + 0.05f * a, b = 0.2f + 0.05f * b;
    else if ((a - 0.7f) * (a - 0.7f) + (b - 0.7f) * (b - 0.7f) < 0.15f * 0.15f)
      continue;
    xr[placed * 2] = a, xr[placed * 2 + 1] = b;
    placed++;
  }
  xr[placed * 2] = 0.7f, xr[placed * 2 + 1] = 0.7f; /* the lone centre */
  CHECK(rbpe_sigma_local_factors(&err, nr, 2, xr, fr) == RBPE_OK, "%s", err.msg);
  float lo = fr[0], hi = fr[0], cluster = 0;
  for (int i = 0; i < nr; i++) lo = fminf(lo, fr[i]), hi = fmaxf(hi, fr[i]);
  for (int i = 0; i < 60; i++) cluster += fr[i] / 60;
  printf("local range, random points: factors %.3f..%.3f, cluster %.3f, lone "
         "point in a gap %.3f, log mean %.1e\n", (double)lo, (double)hi,
         (double)cluster, (double)fr[nr - 1], log_mean(fr, nr));
  CHECK(lo >= 0.25f && hi <= 4.0f && fr[nr - 1] == hi && fr[nr - 1] > 2.0f &&
            cluster < 0.5f && fabs(log_mean(fr, nr)) < 0.05,
        "random factors %g..%g, cluster %g, gap %g", (double)lo, (double)hi,
        (double)cluster, (double)fr[nr - 1]);

  /* a constant signal: every sigma within its own range [smin, smax] f_i,
   * and larger where f_i is (the objective also pulls neighbours' sigma
   * together, so not every one reaches its top) */
  rbpe_fit_config fc;
  rbpe_fit_config_default(&fc);
  rbpe_sigma_config sc = fc.sig;
  sc.relative = RBPE_RANGE_ABS;
  sc.smin = 0.01f;
  sc.smax = 0.04f;
  for (int i = 0; i < nr; i++) yr[i] = 0.3f;
  rbpe_backend *be;
  rbpe_ref_backend_create(&err, &be);
  solve_local(ctx, be, 2, nr, xr, yr, 64, &sc, fr, sr);
  int within = 1;
  double mf = 0, ms = 0, cfs = 0, cff = 0, css = 0;
  for (int i = 0; i < nr; i++) {
    within &= sr[i] >= sc.smin * fr[i] * (1 - 1e-5f) &&
              sr[i] <= sc.smax * fr[i] * (1 + 1e-5f);
    mf += log(fr[i]) / nr;
    ms += log(sr[i]) / nr;
  }
  for (int i = 0; i < nr; i++) {
    double a = log(fr[i]) - mf, b = log(sr[i]) - ms;
    cfs += a * b, cff += a * a, css += b * b;
  }
  double corr = cfs / sqrt(cff * css);
  printf("local range, constant signal: log sigma vs log f correlation %.3f, "
         "lone point's sigma %.4f (top %.4f)\n", corr, (double)sr[nr - 1],
         (double)(sc.smax * fr[nr - 1]));
  CHECK(within && corr > 0.8 && sr[nr - 1] > 2.0f * sc.smax,
        "constant signal with a local range: within %d, correlation %g, gap %g",
        within, corr, (double)sr[nr - 1]);
  rbpe_backend_close(be);

  /* every point three times (duplicates at distance 0), and all at one
   * place: finite factors; 2N points or fewer: 1 */
  float xd[300 * 2], fd[300];
  for (int i = 0; i < 100; i++)
    for (int t = 0; t < 3; t++)
      xd[(t * 100 + i) * 2] = xr[i * 2 + 200], xd[(t * 100 + i) * 2 + 1] = xr[i * 2 + 201];
  CHECK(rbpe_sigma_local_factors(&err, 300, 2, xd, fd) == RBPE_OK, "%s", err.msg);
  int finite = 1;
  for (int i = 0; i < 300; i++) finite &= fd[i] >= 0.25f && fd[i] <= 4.0f;
  for (int i = 0; i < 300 * 2; i++) xd[i] = 0.5f;
  CHECK(rbpe_sigma_local_factors(&err, 300, 2, xd, fd) == RBPE_OK, "%s", err.msg);
  for (int i = 0; i < 300; i++) finite &= fd[i] == 1.0f;
  CHECK(rbpe_sigma_local_factors(&err, 4, 2, xr, fd) == RBPE_OK, "%s", err.msg);
  for (int i = 0; i < 4; i++) finite &= fd[i] == 1.0f;
  CHECK(finite, "local factors of duplicates or of 4 points");
}

static void behaviour_cases(rbpe_ctx *ctx) {
  rbpe_fit_config fc;
  rbpe_fit_config_default(&fc);
  rbpe_sigma_config sc = fc.sig;
  /* the solver itself works in coordinate units: the METHOD.md 7 range */
  sc.relative = 0;
  sc.smin = 0.015f;
  sc.smax = 0.05f;
  rbpe_err err = {0};
  rbpe_backend *be;
  rbpe_ref_backend_create(&err, &be);

  /* 1-D step at 0.5 */
  enum { n1 = 128 };
  float x1[n1], y1[n1], s1[n1];
  for (int i = 0; i < n1; i++) {
    x1[i] = (i + 0.5f) / n1;
    y1[i] = x1[i] < 0.5f ? 0.1f : 0.9f;
  }
  solve(ctx, be, 1, n1, x1, y1, 64, &sc, s1);
  /* "far": interior points a quarter away from the step; within about
   * 3 smax of the domain border the Gaussians run off the centres and the
   * objective itself prefers a slightly smaller sigma */
  float at_step = fminf(s1[n1 / 2 - 1], s1[n1 / 2]), far = fminf(s1[n1 / 4], s1[3 * n1 / 4]);
  printf("1-D step: sigma at the step %.4f, far from it %.4f (range %.3f..%.3f)\n",
         (double)at_step, (double)far, (double)sc.smin, (double)sc.smax);
  CHECK(at_step < sc.smin + 0.1f * (sc.smax - sc.smin), "sigma at the step %g",
        (double)at_step);
  CHECK(far > sc.smax - 0.1f * (sc.smax - sc.smin), "sigma far from the step %g",
        (double)far);

  /* constant signal: every sigma to smax */
  for (int i = 0; i < n1; i++) y1[i] = 0.4f;
  solve(ctx, be, 1, n1, x1, y1, 64, &sc, s1);
  float lo = s1[n1 / 2], border = s1[0];
  for (int i = 0; i < n1; i++)
    if (x1[i] > 0.15f && x1[i] < 0.85f) lo = fminf(lo, s1[i]);
    else border = fminf(border, s1[i]);
  printf("constant: smallest sigma %.4f in [0.15, 0.85], %.4f near the border\n",
         (double)lo, (double)border);
  CHECK(lo > sc.smax - 0.05f * (sc.smax - sc.smin), "constant: sigma %g", (double)lo);

  /* 2-D image with one straight vertical edge at x = 0.5 */
  enum { m = 24 };
  float x2[m * m * 2], y2[m * m], s2[m * m];
  for (int r = 0; r < m; r++)
    for (int c = 0; c < m; c++) {
      x2[(r * m + c) * 2] = (r + 0.5f) / m;
      x2[(r * m + c) * 2 + 1] = (c + 0.5f) / m;
      y2[r * m + c] = c < m / 2 ? 0.2f : 0.8f;
    }
  solve(ctx, be, 2, m * m, x2, y2, 48, &sc, s2);
  /* one small sigma per row on either side of the edge cuts every weight
   * across it: the line may sit on either column */
  double rest = 0;
  int nr = 0, rows_marked = 0;
  for (int r = 0; r < m; r++) {
    float e = fminf(s2[r * m + m / 2 - 1], s2[r * m + m / 2]);
    rows_marked += e < sc.smin + 0.1f * (sc.smax - sc.smin);
    for (int c = 0; c < m; c++)
      if (c < m / 2 - 3 || c > m / 2 + 2) rest += s2[r * m + c], nr++;
  }
  rest /= nr;
  printf("2-D edge: %d of %d rows have sigma near smin on the edge; mean sigma "
         "away from it %.4f; row 12: ", rows_marked, m, rest);
  for (int c = 0; c < m; c++) printf("%.3f ", (double)s2[12 * m + c]);
  printf("\n");
  CHECK(rows_marked == m && rest > sc.smax - 0.1 * (sc.smax - sc.smin),
        "edge line: %d rows marked, %g away", rows_marked, rest);
  rbpe_backend_close(be);
}

static void agreement(rbpe_ctx *ctx) {
  rbpe_ctx *probe = rbpe_ctx_new();
  if (rbpe_ctx_select_device(probe, "cl") != RBPE_OK) {
    CHECK(!test_require_opencl(), TEST_NO_OPENCL_MSG);
    rbpe_ctx_free(probe);
    return;
  }
  rbpe_backend *cl;
  rbpe_ctx_backend(probe, &cl);
  rbpe_err err = {0};
  rbpe_backend *ref;
  rbpe_ref_backend_create(&err, &ref);
  rbpe_fit_config fc;
  rbpe_fit_config_default(&fc);
  rbpe_sigma_config sc = fc.sig;
  /* the solver itself works in coordinate units: the METHOD.md 7 range */
  sc.relative = 0;
  sc.smin = 0.015f;
  sc.smax = 0.05f;
  /* RBPE_TEST_QUICK (the oclgrind run): a smaller problem */
  int quick = getenv("RBPE_TEST_QUICK") != NULL;
  sc.iterations = quick ? 8 : 25;
  sc.tol = 0.0f;
  sc.lambda_n = 0.5f;
  enum { nmax = 400 };
  const int n = quick ? 60 : nmax;
  float x[nmax * 2], y[nmax], a[nmax], b[nmax];
  rbpe_rng rng;
  rbpe_rng_seed(&rng, 8);
  for (int i = 0; i < n * 2; i++) x[i] = rbpe_rng_uniform(&rng);
  for (int i = 0; i < n; i++)
    y[i] = 0.5f + 0.4f * sinf(12.0f * x[2 * i]) * (x[2 * i + 1] > 0.4f ? 1.0f : -0.5f);
  /* with a local range's factors, as the fit would make them */
  float f[nmax];
  CHECK(rbpe_sigma_local_factors(&err, n, 2, x, f) == RBPE_OK, "%s", err.msg);
  solve_local(ctx, ref, 2, n, x, y, 64, &sc, f, a);
  solve_local(ctx, cl, 2, n, x, y, 64, &sc, f, b);
  double worst = 0;
  for (int i = 0; i < n; i++) worst = fmax(worst, fabs(a[i] - b[i]) / a[i]);
  printf("sigma after %d iterations, ref vs %s: worst relative difference %.2e\n",
         sc.iterations, cl->description, worst);
  CHECK(worst < 1e-3, "ref vs device sigma differ by %g", worst);
  rbpe_backend_close(ref);
  rbpe_ctx_free(probe);
}

static void bad_params(rbpe_ctx *ctx) {
  rbpe_fit_config fc;
  rbpe_fit_config_default(&fc);
  rbpe_err err = {0};
  struct {
    const char *what;
    rbpe_sigma_config c;
  } bad[6];
  for (int i = 0; i < 6; i++) bad[i].c = fc.sig;
  bad[0].what = "k = 0", bad[0].c.k = 0;
  bad[1].what = "k >= L", bad[1].c.k = 100;
  bad[2].what = "eps 0", bad[2].c.eps = 0.0f;
  bad[3].what = "eps < 0", bad[3].c.eps = -1.0f;
  bad[4].what = "smin = smax", bad[4].c.smin = bad[4].c.smax;
  bad[5].what = "smin > smax", bad[5].c.smin = 0.1f, bad[5].c.smax = 0.05f;
  for (int i = 0; i < 6; i++)
    CHECK(rbpe_sigma_check_config(&err, &bad[i].c, 100) == RBPE_ERR_INVALID_ARGUMENT,
          "%s accepted", bad[i].what);
  /* and through rbpe_fit, before any work */
  float v[64];
  for (int i = 0; i < 64; i++) v[i] = i / 64.0f;
  size_t d = 64;
  rbpe_signal *sig;
  rbpe_signal_from_data(ctx, 1, &d, 1, v, &sig);
  fc.sigma_mode = RBPE_SIGMA_GRAPH;
  fc.sig.k = 40; /* 32 training points */
  rbpe_model *m = NULL;
  rbpe_fit_report r;
  CHECK(rbpe_fit(ctx, sig, &fc, &m, &r) == RBPE_ERR_INVALID_ARGUMENT && !m,
        "k >= L through fit");
  fc.sig.k = 8;
  fc.embed.kind = RBPE_EMBED_RFF;
  CHECK(rbpe_fit(ctx, sig, &fc, &m, &r) == RBPE_ERR_INVALID_ARGUMENT && !m,
        "graph sigma with rff");
  rbpe_signal_free(sig);
  rbpe_err_clear(&err);
}

int main(void) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_ctx_select_device(ctx, "ref");
  knn_cases();
  gradient_cases(ctx);
  behaviour_cases(ctx);
  local_cases(ctx);
  agreement(ctx);
  bad_params(ctx);
  rbpe_ctx_free(ctx);
  return test_summary("test_graph");
}
