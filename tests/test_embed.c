/* The public embedding API on ref and on the best OpenCL device: values
 * against the METHOD.md formulas evaluated in double, the sigma derivative
 * against central finite differences, the RFF matrix's statistics, and
 * refusal of bad parameters and inputs. Also device-spec errors. */
#include <math.h>

#include <string.h>

#include "rbpe.h"
#include "testutil.h"

#define PI 3.14159265358979323846

static void coords(float *x, size_t n, int ndim, uint64_t seed) {
  rbpe_rng r;
  rbpe_rng_seed(&r, seed);
  for (size_t i = 0; i < n * ndim; i++) x[i] = rbpe_rng_uniform(&r);
}

/* The relative L2 error of an embedding's sigma derivative against central
 * differences of its forward op (sigma +- 0.1 %); M columns per row. */
static double dsigma_error(rbpe_ctx *ctx, const rbpe_embedding *e, int n,
                           const float *x, const float *sigma, int M) {
  float *dp = malloc(sizeof(float) * n * M), *dm = malloc(sizeof(float) * n * M),
        *ds = malloc(sizeof(float) * n * M), *sp = malloc(sizeof(float) * n),
        *sm = malloc(sizeof(float) * n);
  double num = 0, den = 0;
  if (dp && dm && ds && sp && sm) {
    for (int i = 0; i < n; i++) {
      sp[i] = sigma[i] * (1 + 1e-3f);
      sm[i] = sigma[i] * (1 - 1e-3f);
    }
    CHECK(rbpe_embedding_forward(ctx, e, n, x, sp, dp) == RBPE_OK, "fd+");
    CHECK(rbpe_embedding_forward(ctx, e, n, x, sm, dm) == RBPE_OK, "fd-");
    CHECK(rbpe_embedding_dsigma(ctx, e, n, x, sigma, ds) == RBPE_OK, "%s",
          rbpe_last_error(ctx));
    for (int i = 0; i < n; i++)
      for (int k = 0; k < M; k++) {
        double fd = ((double)dp[i * M + k] - dm[i * M + k]) /
                    ((double)sp[i] - sm[i]);
        num += (fd - ds[i * M + k]) * (fd - ds[i * M + k]);
        den += fd * fd;
      }
  }
  free(dp);
  free(dm);
  free(ds);
  free(sp);
  free(sm);
  return den > 0 ? sqrt(num / den) : INFINITY;
}

static void check_device(const char *spec) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  CHECK(rbpe_ctx_select_device(ctx, spec) == RBPE_OK, "%s: %s", spec,
        rbpe_last_error(ctx));
  printf("device %s: %s\n", spec, rbpe_ctx_device_description(ctx));
  enum { n = 37 };
  float x[n * 3], sigma[n];
  coords(x, n, 3, 1);
  for (int i = 0; i < n; i++) sigma[i] = 0.02f + 0.003f * i;

  /* nerf, 2-D, L = 8 */
  rbpe_embed_config cfg;
  rbpe_embed_config_default(&cfg, RBPE_EMBED_NERF);
  cfg.nerf_freqs = 8;
  rbpe_embedding *e = NULL;
  CHECK(rbpe_embedding_create(ctx, &cfg, 2, &e) == RBPE_OK, "nerf create");
  CHECK(rbpe_embedding_dim(e) == 32, "nerf M = 2LN");
  float *out = malloc(sizeof(float) * n * 1024);
  CHECK(rbpe_embedding_forward(ctx, e, n, x, NULL, out) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  double worst = 0;
  for (int i = 0; i < n; i++)
    for (int a = 0; a < 2; a++)
      for (int l = 0; l < 8; l++) {
        double p = 2.0 * x[i * 2 + a] - 1.0, arg = ldexp(PI, l) * p;
        worst = fmax(worst, fabs(out[i * 32 + a * 16 + 2 * l] - sin(arg)));
        worst = fmax(worst, fabs(out[i * 32 + a * 16 + 2 * l + 1] - cos(arg)));
      }
  CHECK(worst < 2e-4, "nerf vs double: %g", worst);
  CHECK(rbpe_embedding_dsigma(ctx, e, n, x, sigma, out) ==
            RBPE_ERR_INVALID_ARGUMENT,
        "dsigma of nerf accepted");
  rbpe_embedding_free(e);

  /* rff, 3-D */
  rbpe_embed_config_default(&cfg, RBPE_EMBED_RFF);
  cfg.rff_features = 64;
  cfg.rff_scale = 3.0f;
  cfg.seed = 11;
  CHECK(rbpe_embedding_create(ctx, &cfg, 3, &e) == RBPE_OK, "rff create");
  CHECK(rbpe_embedding_dim(e) == 128, "rff M = 2F");
  CHECK(rbpe_embedding_forward(ctx, e, n, x, NULL, out) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  const float *B = rbpe_embedding_rff_matrix(e);
  worst = 0;
  for (int i = 0; i < n; i++)
    for (int f = 0; f < 64; f++) {
      double v = 0;
      for (int a = 0; a < 3; a++) v += (double)B[f * 3 + a] * x[i * 3 + a];
      worst = fmax(worst, fabs(out[i * 128 + f] - sin(2 * PI * v)));
      worst = fmax(worst, fabs(out[i * 128 + 64 + f] - cos(2 * PI * v)));
    }
  CHECK(worst < 1e-4, "rff vs double: %g", worst);
  rbpe_embedding_free(e);

  /* rbf, 2-D with diagonals, super-Gaussian b = 2 */
  rbpe_embed_config_default(&cfg, RBPE_EMBED_RBF);
  cfg.rbf_centres = 24;
  cfg.rbf_diagonals = 1;
  cfg.rbf_order = 2.0f;
  CHECK(rbpe_embedding_create(ctx, &cfg, 2, &e) == RBPE_OK, "rbf create");
  CHECK(rbpe_embedding_directions(e) == 4 && rbpe_embedding_dim(e) == 96,
        "rbf 2-D with diagonals: 4 directions");
  CHECK(rbpe_embedding_forward(ctx, e, n, x, sigma, out) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  const float *dirs = rbpe_embedding_rbf_directions(e);
  worst = 0;
  for (int i = 0; i < n; i++)
    for (int a = 0; a < 4; a++) {
      double p = dirs[a * 3 + 2] + dirs[a * 3] * x[i * 2] +
                 dirs[a * 3 + 1] * x[i * 2 + 1];
      CHECK(p >= 0.0 && p <= 1.0, "projection %g outside [0,1]", p);
      for (int j = 0; j < 24; j++) {
        double t = (j + 0.5) / 24, q = (p - t) * (p - t) /
                                       (2.0 * sigma[i] * sigma[i]);
        worst = fmax(worst, fabs(out[i * 96 + a * 24 + j] - exp(-q * q)));
      }
    }
  CHECK(worst < 1e-5, "rbf vs double: %g", worst);

  /* d/dsigma against central differences of the forward op */
  double fd_err = dsigma_error(ctx, e, n, x, sigma, 96);
  CHECK(fd_err < 2e-3, "dsigma vs central differences: relative L2 error %g",
        fd_err);
  printf("  %s: dsigma vs finite differences, relative L2 error %.2e\n", spec,
         fd_err);

  /* the amplitude normalisation: each row times sqrt(s_ref / sigma), and
   * its sigma derivative against central differences */
  rbpe_embedding *en = NULL;
  cfg.rbf_norm_ref = 0.05f;
  CHECK(rbpe_embedding_create(ctx, &cfg, 2, &en) == RBPE_OK, "normalised rbf");
  float *on = malloc(sizeof(float) * n * 96);
  if (en && on) {
    CHECK(rbpe_embedding_forward(ctx, en, n, x, sigma, on) == RBPE_OK, "%s",
          rbpe_last_error(ctx));
    worst = 0;
    for (int i = 0; i < n; i++)
      for (int k = 0; k < 96; k++)
        worst = fmax(worst, fabs(on[i * 96 + k] -
                                 sqrt(0.05 / sigma[i]) * out[i * 96 + k]));
    CHECK(worst < 1e-5, "normalised rbf vs sqrt(s_ref/sigma) rbf: %g", worst);
    fd_err = dsigma_error(ctx, en, n, x, sigma, 96);
    CHECK(fd_err < 2e-3,
          "normalised dsigma vs central differences: relative L2 error %g",
          fd_err);
  }
  rbpe_embedding_free(en);
  free(on);
  cfg.rbf_norm_ref = 0.0f;

  /* bad inputs */
  float bad_sigma[n];
  memcpy(bad_sigma, sigma, sizeof bad_sigma);
  bad_sigma[5] = 0.0f;
  CHECK(rbpe_embedding_forward(ctx, e, n, x, bad_sigma, out) ==
            RBPE_ERR_INVALID_ARGUMENT,
        "sigma 0 accepted");
  bad_sigma[5] = NAN;
  CHECK(rbpe_embedding_forward(ctx, e, n, x, bad_sigma, out) ==
            RBPE_ERR_INVALID_ARGUMENT,
        "sigma NaN accepted");
  CHECK(rbpe_embedding_forward(ctx, e, n, x, NULL, out) ==
            RBPE_ERR_INVALID_ARGUMENT,
        "rbf without sigma accepted");
  float xbad[n * 3];
  memcpy(xbad, x, sizeof xbad);
  xbad[7] = INFINITY;
  CHECK(rbpe_embedding_forward(ctx, e, n, xbad, sigma, out) ==
            RBPE_ERR_NUMERIC,
        "infinite coordinate accepted");
  CHECK(rbpe_embedding_forward(ctx, e, 0, x, sigma, out) == RBPE_OK,
        "n = 0 is a no-op");
  rbpe_embedding_free(e);
  free(out);
  rbpe_ctx_free(ctx);
}

static void check_config_errors(void) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_embed_config cfg;
  rbpe_embedding *e = (rbpe_embedding *)0x1;
  struct {
    rbpe_embed_kind kind;
    int field;
    double value;
  } bad[] = {
      {RBPE_EMBED_NERF, 0, 0},   {RBPE_EMBED_NERF, 0, 21},
      {RBPE_EMBED_RFF, 1, 0},    {RBPE_EMBED_RFF, 2, 0},
      {RBPE_EMBED_RFF, 2, -1},   {RBPE_EMBED_RFF, 2, NAN},
      {RBPE_EMBED_RBF, 3, 0},    {RBPE_EMBED_RBF, 4, 0.5},
      {RBPE_EMBED_RBF, 4, NAN},  {RBPE_EMBED_RBF, 4, 100},
      {RBPE_EMBED_RBF, 5, 1},    {RBPE_EMBED_RBF, 5, -2},
      {RBPE_EMBED_RBF, 5, RBPE_MAX_ANGLES + 1}, {RBPE_EMBED_RBF, 6, 8},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rbpe_embed_config_default(&cfg, bad[i].kind);
    switch (bad[i].field) {
    case 0: cfg.nerf_freqs = (int)bad[i].value; break;
    case 1: cfg.rff_features = (int)bad[i].value; break;
    case 2: cfg.rff_scale = (float)bad[i].value; break;
    case 3: cfg.rbf_centres = (int)bad[i].value; break;
    case 4: cfg.rbf_order = (float)bad[i].value; break;
    case 5: cfg.rbf_angles = (int)bad[i].value; break;
    case 6: cfg.rbf_angles = (int)bad[i].value; cfg.rbf_diagonals = 1; break;
    }
    CHECK(rbpe_embedding_create(ctx, &cfg, 2, &e) == RBPE_ERR_INVALID_ARGUMENT,
          "bad config %zu accepted", i);
    CHECK(e == NULL, "bad config %zu: output not cleared", i);
  }
  rbpe_embed_config_default(&cfg, RBPE_EMBED_RBF);
  CHECK(rbpe_embedding_create(ctx, &cfg, 0, &e) == RBPE_ERR_INVALID_ARGUMENT,
        "0-D");
  CHECK(rbpe_embedding_create(ctx, &cfg, 4, &e) == RBPE_ERR_INVALID_ARGUMENT,
        "4-D");
  rbpe_embed_kind k;
  CHECK(rbpe_embed_kind_parse(ctx, "rbf", &k) == RBPE_OK && k == RBPE_EMBED_RBF,
        "parse rbf");
  CHECK(rbpe_embed_kind_parse(ctx, "siren", &k) == RBPE_ERR_INVALID_ARGUMENT,
        "parse siren");
  /* the enumerations' one table: every name parses back to its value
   * and prints as itself; a bad one is refused with the names */
  for (int w = RBPE_ENUM_EMBED; w <= RBPE_ENUM_RANGE; w++) {
    const char *const *names;
    int n = rbpe_enum_names((rbpe_enum)w, &names);
    CHECK(n >= 3, "enumeration %d has %d names", w, n);
    for (int v = 0; v < n; v++) {
      int back = -1;
      CHECK(rbpe_enum_parse(ctx, (rbpe_enum)w, names[v], &back) == RBPE_OK &&
                back == v && !strcmp(rbpe_enum_string((rbpe_enum)w, v), names[v]),
            "enumeration %d: '%s'", w, names[v]);
    }
    CHECK(!strcmp(rbpe_enum_string((rbpe_enum)w, n), "?"), "out of range");
  }
  int v = -1;
  CHECK(rbpe_enum_parse(ctx, RBPE_ENUM_RANGE, "local", &v) == RBPE_OK &&
            v == RBPE_RANGE_LOCAL &&
            !strcmp(rbpe_enum_string(RBPE_ENUM_RANGE, RBPE_RANGE_REL), "rel"),
        "range unit names");
  CHECK(rbpe_enum_parse(ctx, RBPE_ENUM_ACT, "tanh", &v) == RBPE_ERR_INVALID_ARGUMENT &&
            strstr(rbpe_last_error(ctx), "none, relu, sigmoid or auto"),
        "bad activation: %s", rbpe_last_error(ctx));
  CHECK(!strcmp(rbpe_act_string(RBPE_ACT_SIGMOID), "sigmoid") &&
            !strcmp(rbpe_sigma_at_string(RBPE_SIGMA_AT_SMOOTH), "smooth") &&
            !strcmp(rbpe_sigma_mode_string(RBPE_SIGMA_GRAPH), "graph"),
        "typed names");
  /* same seed, same RFF matrix; another seed, another */
  rbpe_embedding *a, *b, *c;
  rbpe_embed_config_default(&cfg, RBPE_EMBED_RFF);
  cfg.seed = 5;
  rbpe_embedding_create(ctx, &cfg, 2, &a);
  rbpe_embedding_create(ctx, &cfg, 2, &b);
  cfg.seed = 6;
  rbpe_embedding_create(ctx, &cfg, 2, &c);
  size_t nb = sizeof(float) * 256 * 2;
  CHECK(!memcmp(rbpe_embedding_rff_matrix(a), rbpe_embedding_rff_matrix(b), nb),
        "RFF not reproducible");
  CHECK(memcmp(rbpe_embedding_rff_matrix(a), rbpe_embedding_rff_matrix(c), nb),
        "RFF ignores the seed");
  double sq = 0;
  for (int i = 0; i < 512; i++)
    sq += (double)rbpe_embedding_rff_matrix(a)[i] * rbpe_embedding_rff_matrix(a)[i];
  CHECK(fabs(sqrt(sq / 512) - 10.0) < 1.0, "RFF scale: rms %g", sqrt(sq / 512));
  rbpe_embedding_free(a);
  rbpe_embedding_free(b);
  rbpe_embedding_free(c);

  /* device specs */
  const char *nodev[] = {"cl:nosuch-device", "cl:9:9"};
  for (int i = 0; i < 2; i++)
    CHECK(rbpe_ctx_select_device(ctx, nodev[i]) == RBPE_ERR_NO_DEVICE,
          "%s: %s", nodev[i], rbpe_last_error(ctx));
  const char *invalid[] = {"gpu", "cl:", "", "REF"};
  for (int i = 0; i < 4; i++)
    CHECK(rbpe_ctx_select_device(ctx, invalid[i]) ==
              (*invalid[i] ? RBPE_ERR_INVALID_ARGUMENT : RBPE_OK),
          "'%s': %s", invalid[i], rbpe_last_error(ctx));
  setenv("RBPE_DEVICE", "ref", 1);
  CHECK(rbpe_ctx_select_device(ctx, NULL) == RBPE_OK &&
            !strcmp(rbpe_ctx_backend_kind(ctx), "ref"),
        "RBPE_DEVICE=ref ignored");
  unsetenv("RBPE_DEVICE");
  rbpe_ctx_free(ctx);
}

/* Directions by angle: A unit directions k 180/A degrees apart, each
 * projection mapping the unit square onto [0,1] exactly (its corners give
 * 0 and 1); 2 angles are the axes, 4 the axes and diagonals (up to the
 * diagonal's orientation); 1-D and 3-D coordinates keep the axes. */
static void check_angles(void) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_embed_config cfg;
  rbpe_embed_config_default(&cfg, RBPE_EMBED_RBF);
  const int counts[] = {2, 3, 4, 6, 8, 12, RBPE_MAX_ANGLES};
  for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
    int A = counts[c];
    cfg.rbf_angles = A;
    rbpe_embedding *e = NULL;
    CHECK(rbpe_embedding_create(ctx, &cfg, 2, &e) == RBPE_OK, "%d angles: %s",
          A, rbpe_last_error(ctx));
    if (!e) continue;
    CHECK(rbpe_embedding_directions(e) == A &&
              rbpe_embedding_dim(e) == (size_t)A * cfg.rbf_centres,
          "%d angles: %d directions", A, rbpe_embedding_directions(e));
    const float *d = rbpe_embedding_rbf_directions(e);
    for (int k = 0; k < A; k++) {
      double t = atan2(d[k * 3 + 1], d[k * 3]), want = PI * k / A;
      CHECK(fabs(t - want) < 1e-6, "%d angles: direction %d at %g rad, not %g",
            A, k, t, want);
      double lo = INFINITY, hi = -INFINITY;
      for (int corner = 0; corner < 4; corner++) {
        double p = d[k * 3 + 2] + d[k * 3] * (corner & 1) + d[k * 3 + 1] * (corner >> 1);
        lo = fmin(lo, p);
        hi = fmax(hi, p);
      }
      CHECK(fabs(lo) < 1e-6 && fabs(hi - 1.0) < 1e-6,
            "%d angles: direction %d maps the square onto [%g, %g]", A, k, lo, hi);
    }
    if (A == 2)
      CHECK(d[0] == 1.0f && d[1] == 0.0f && d[2] == 0.0f && d[3] == 0.0f &&
                d[4] == 1.0f && d[5] == 0.0f,
            "2 angles are not the axes");
    if (A == 4) {
      rbpe_embed_config dc;
      rbpe_embed_config_default(&dc, RBPE_EMBED_RBF);
      dc.rbf_diagonals = 1;
      rbpe_embedding *g = NULL;
      CHECK(rbpe_embedding_create(ctx, &dc, 2, &g) == RBPE_OK, "diagonals");
      const float *gd = g ? rbpe_embedding_rbf_directions(g) : NULL;
      /* directions 1 and 3 are the diagonals x+y and y-x */
      for (int q = 0; gd && q < 9; q++) {
        double x = (q % 3) / 2.0, y = (q / 3) / 2.0;
        double pa = d[3 * 3 + 2] + d[3 * 3] * x + d[3 * 3 + 1] * y;
        double pg = gd[3 * 3 + 2] + gd[3 * 3] * x + gd[3 * 3 + 1] * y;
        double pa1 = d[1 * 3 + 2] + d[1 * 3] * x + d[1 * 3 + 1] * y;
        double pg1 = gd[2 * 3 + 2] + gd[2 * 3] * x + gd[2 * 3 + 1] * y;
        CHECK(fabs(pa1 - pg1) < 1e-6 && fabs(pa - (1.0 - pg)) < 1e-6,
              "4 angles are not the axes and diagonals at (%g, %g)", x, y);
      }
      rbpe_embedding_free(g);
    }
    rbpe_embedding_free(e);
  }
  cfg.rbf_angles = 8;
  for (int ndim = 1; ndim <= 3; ndim += 2) {
    rbpe_embedding *e = NULL;
    CHECK(rbpe_embedding_create(ctx, &cfg, ndim, &e) == RBPE_OK &&
              rbpe_embedding_directions(e) == ndim,
          "%d-D with angles: not the axes", ndim);
    rbpe_embedding_free(e);
  }
  rbpe_ctx_free(ctx);
}

int main(void) {
  check_config_errors();
  check_angles();
  check_device("ref");
  check_device("cpu");
  rbpe_ctx *probe = rbpe_ctx_new();
  rbpe_status st = rbpe_ctx_select_device(probe, "cl");
  rbpe_ctx_free(probe);
  if (st == RBPE_OK)
    check_device("cl");
  else
    CHECK(!test_require_opencl(), TEST_NO_OPENCL_MSG);
  return test_summary("test_embed");
}
