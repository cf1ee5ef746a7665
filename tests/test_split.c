/* The seeded generator and the splits of METHOD.md section 1. */
#include <math.h>

#include "rbpe.h"
#include "testutil.h"

static rbpe_signal *grid(rbpe_ctx *ctx, int ndim, size_t a, size_t b) {
  size_t dims[2] = {a, b};
  size_t n = ndim == 1 ? a : a * b;
  float *v = calloc(n, sizeof(float));
  rbpe_signal *s = NULL;
  rbpe_signal_from_data(ctx, ndim, dims, 1, v, &s);
  free(v);
  return s;
}

static void check_partition(const rbpe_split *sp, size_t n, int disjoint_only) {
  unsigned char *seen = calloc(n, 1);
  int ok = 1;
  for (size_t i = 0; i < rbpe_split_train_count(sp); i++) {
    size_t k = rbpe_split_train(sp)[i];
    if (k >= n || seen[k] || (i && k <= rbpe_split_train(sp)[i - 1])) ok = 0;
    if (k < n) seen[k] = 1;
  }
  for (size_t i = 0; i < rbpe_split_test_count(sp); i++) {
    size_t k = rbpe_split_test(sp)[i];
    if (k >= n || seen[k]) ok = 0;
    if (k < n) seen[k] = 2;
  }
  if (!disjoint_only)
    for (size_t k = 0; k < n; k++)
      if (!seen[k]) ok = 0;
  CHECK(ok, "split is not a sorted %s", disjoint_only ? "disjoint pair" : "partition");
  free(seen);
}

int main(void) {
  /* splitmix64 known answers (seed 0) */
  rbpe_rng r;
  rbpe_rng_seed(&r, 0);
  CHECK(rbpe_rng_u64(&r) == 0xe220a8397b1dcdafull, "splitmix64 #1");
  CHECK(rbpe_rng_u64(&r) == 0x6e789e6aa1b965f4ull, "splitmix64 #2");
  rbpe_rng_seed(&r, 42);
  double sum = 0, sq = 0, umin = 1, umax = 0;
  const int N = 200000;
  for (int i = 0; i < N; i++) {
    double z = rbpe_rng_normal(&r);
    sum += z;
    sq += z * z;
    double u = rbpe_rng_uniform(&r);
    if (u < umin) umin = u;
    if (u > umax) umax = u;
  }
  CHECK(fabs(sum / N) < 0.01 && fabs(sq / N - 1.0) < 0.02,
        "normal mean %g var %g", sum / N, sq / N);
  CHECK(umin >= 0.0 && umax < 1.0 && umin < 1e-4 && umax > 0.9999,
        "uniform range [%g, %g]", umin, umax);
  int hist[3] = {0};
  for (int i = 0; i < 30000; i++) hist[rbpe_rng_below(&r, 3)]++;
  CHECK(abs(hist[0] - 10000) < 400 && abs(hist[1] - 10000) < 400,
        "below(3) counts %d %d %d", hist[0], hist[1], hist[2]);

  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_signal *img = grid(ctx, 2, 5, 4), *line = grid(ctx, 1, 11, 1),
              *big = grid(ctx, 2, 64, 48);
  rbpe_split *sp = NULL;

  CHECK(rbpe_split_create(ctx, img, "regular:2", 0, &sp) == RBPE_OK, "%s",
        rbpe_last_error(ctx));
  CHECK(rbpe_split_train_count(sp) == 6 && rbpe_split_test_count(sp) == 14,
        "regular:2 on 5x4: %zu/%zu", rbpe_split_train_count(sp),
        rbpe_split_test_count(sp));
  CHECK(rbpe_split_train(sp)[1] == 2 && rbpe_split_train(sp)[2] == 8,
        "regular:2 indices");
  check_partition(sp, 20, 0);
  rbpe_split_free(sp);

  CHECK(rbpe_split_create(ctx, big, "regular:3", 0, &sp) == RBPE_OK, "r3");
  CHECK(rbpe_split_train_count(sp) == 22 * 16, "regular:3 on 64x48: %zu",
        rbpe_split_train_count(sp));
  check_partition(sp, 64 * 48, 0);
  rbpe_split_free(sp);

  CHECK(rbpe_split_create(ctx, img, "tancik", 0, &sp) == RBPE_OK, "tancik");
  CHECK(rbpe_split_train_count(sp) == 6 && rbpe_split_test_count(sp) == 4,
        "tancik on 5x4: %zu/%zu", rbpe_split_train_count(sp),
        rbpe_split_test_count(sp));
  /* held-out = odd row and odd column: (1,1)=5 (1,3)=7 (3,1)=13 (3,3)=15 */
  CHECK(rbpe_split_test(sp)[0] == 5 && rbpe_split_test(sp)[3] == 15,
        "tancik indices");
  check_partition(sp, 20, 1);
  rbpe_split_free(sp);

  CHECK(rbpe_split_create(ctx, line, "regular:3", 0, &sp) == RBPE_OK, "1-D");
  CHECK(rbpe_split_train_count(sp) == 4, "1-D regular:3 keeps 0,3,6,9");
  rbpe_split_free(sp);

  rbpe_split *a = NULL, *b = NULL, *c = NULL;
  CHECK(rbpe_split_create(ctx, big, "random:0.25", 7, &a) == RBPE_OK, "rand");
  CHECK(rbpe_split_create(ctx, big, "random:0.25", 7, &b) == RBPE_OK, "rand");
  CHECK(rbpe_split_create(ctx, big, "random:0.25", 8, &c) == RBPE_OK, "rand");
  CHECK(rbpe_split_train_count(a) == 768, "random:0.25 of 3072 = %zu",
        rbpe_split_train_count(a));
  CHECK(!memcmp(rbpe_split_train(a), rbpe_split_train(b), 768 * sizeof(size_t)),
        "same seed, same split");
  CHECK(memcmp(rbpe_split_train(a), rbpe_split_train(c), 768 * sizeof(size_t)),
        "another seed, another split");
  check_partition(a, 3072, 0);
  /* spread: each quarter of the image holds roughly a quarter */
  size_t q = 0;
  for (size_t i = 0; i < 768; i++) q += rbpe_split_train(a)[i] < 768;
  CHECK(q > 140 && q < 240, "random split clustered: %zu in first quarter", q);
  rbpe_split_free(a);
  rbpe_split_free(b);
  rbpe_split_free(c);

  /* all: every sample both trains and is evaluated */
  CHECK(rbpe_split_create(ctx, big, "all", 0, &a) == RBPE_OK, "all");
  CHECK(rbpe_split_train_count(a) == 3072 && rbpe_split_test_count(a) == 3072 &&
            rbpe_split_train(a)[3071] == 3071 && rbpe_split_test(a)[0] == 0,
        "all: %zu / %zu", rbpe_split_train_count(a), rbpe_split_test_count(a));
  rbpe_split_free(a);

  /* BASE+val:P: a seeded part of BASE's training samples is held out for
   * validation; BASE's test samples are never touched */
  CHECK(rbpe_split_create(ctx, big, "regular:2", 0, &c) == RBPE_OK, "base");
  CHECK(rbpe_split_create(ctx, big, "regular:2+val:0.1", 3, &a) == RBPE_OK,
        "+val: %s", rbpe_last_error(ctx));
  CHECK(rbpe_split_create(ctx, big, "regular:2+val:0.1", 3, &b) == RBPE_OK,
        "+val again");
  if (a && b && c) {
    size_t nb = rbpe_split_train_count(c); /* 32 x 24 = 768 */
    CHECK(rbpe_split_test_count(a) == 77 &&
              rbpe_split_train_count(a) == nb - 77,
          "+val:0.1 of %zu: %zu validation, %zu training", nb,
          rbpe_split_test_count(a), rbpe_split_train_count(a));
    /* training and validation partition BASE's training samples */
    size_t i = 0, j = 0, k = 0, ok = 1;
    const size_t *t = rbpe_split_train(a), *v = rbpe_split_test(a),
                 *base = rbpe_split_train(c);
    for (k = 0; k < nb; k++) {
      if (i < rbpe_split_train_count(a) && t[i] == base[k]) i++;
      else if (j < rbpe_split_test_count(a) && v[j] == base[k]) j++;
      else ok = 0;
    }
    CHECK(ok && i == rbpe_split_train_count(a) && j == rbpe_split_test_count(a),
          "+val does not partition the base training samples");
    CHECK(!memcmp(v, rbpe_split_test(b), 77 * sizeof(size_t)),
          "+val: same seed, same validation part");
  }
  rbpe_split_free(a);
  rbpe_split_free(b);
  rbpe_split_free(c);

  const char *bad[] = {"regular:1", "regular:0", "regular:x", "regular:",
                       "regular:2x", "random:0", "random:1", "random:1.5",
                       "random:-0.1", "random:abc", "random:", "tancik2",
                       "foo", "", "regular:2+val:0", "regular:2+val:1",
                       "regular:2+val:", "all+val:0.1", "bad+val:0.1",
                       "regular:2+val:0.1x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sp = (rbpe_split *)0x1;
    CHECK(rbpe_split_create(ctx, img, bad[i], 0, &sp) ==
              RBPE_ERR_INVALID_ARGUMENT,
          "split '%s' accepted", bad[i]);
    CHECK(sp == NULL, "split '%s': output not cleared", bad[i]);
  }
  /* a split that leaves nothing held out */
  rbpe_signal *tiny = grid(ctx, 1, 1, 1);
  CHECK(rbpe_split_create(ctx, tiny, "regular:2", 0, &sp) ==
            RBPE_ERR_INVALID_ARGUMENT,
        "1-sample signal split");
  rbpe_signal_free(tiny);

  /* rbpe_fit_config_check knows a split's counts without building it:
   * it accepts exactly the splits that build, and refuses a sigma solve
   * whose k is not below the count the built split has */
  const char *specs[] = {"regular:2", "regular:3", "regular:7", "regular:50",
                         "random:0.3", "random:0.999", "tancik", "all",
                         "regular:2+val:0.1", "random:0.25+val:0.5",
                         "tancik+val:0.9", "regular:40+val:0.5"};
  size_t shapes[][3] = {{1, 1, 0}, {1, 2, 0}, {1, 9, 0}, {2, 1, 1},
                        {2, 3, 3}, {2, 7, 5}, {2, 64, 64}, {1, 101, 0}};
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
    rbpe_signal *g = grid(ctx, (int)shapes[k][0], shapes[k][1], shapes[k][2]);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
      rbpe_fit_config cfg;
      rbpe_fit_config_default(&cfg);
      cfg.split = specs[i];
      cfg.sig.k = 1;
      rbpe_split *built = NULL;
      rbpe_status want = rbpe_split_create(ctx, g, specs[i], 0, &built);
      rbpe_status got = rbpe_fit_config_check(ctx, &cfg, g);
      size_t n = built ? rbpe_split_train_count(built) : 0;
      /* k = 1 needs two training samples */
      if (want == RBPE_OK && n < 2) want = RBPE_ERR_INVALID_ARGUMENT;
      CHECK(got == want, "split '%s' on shape %zu: check %d, build %d", specs[i],
            k, (int)got, (int)want);
      if (built && n >= 2) {
        cfg.sig.k = (int)n - 1;
        CHECK(rbpe_fit_config_check(ctx, &cfg, g) == RBPE_OK,
              "split '%s' on shape %zu: k = n - 1 refused", specs[i], k);
        cfg.sig.k = (int)n;
        CHECK(rbpe_fit_config_check(ctx, &cfg, g) == RBPE_ERR_INVALID_ARGUMENT,
              "split '%s' on shape %zu: k = n accepted", specs[i], k);
      }
      rbpe_split_free(built);
    }
    rbpe_signal_free(g);
  }

  rbpe_signal_free(img);
  rbpe_signal_free(line);
  rbpe_signal_free(big);
  rbpe_ctx_free(ctx);
  return test_summary("test_split");
}
