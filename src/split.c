/* Training / held-out splits of a signal's samples (METHOD.md section 1). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rbpe_split {
  size_t ntrain, ntest;
  size_t *train, *test;
};

void rbpe_split_free(rbpe_split *s) {
  if (!s) return;
  free(s->train);
  free(s->test);
  free(s);
}

size_t rbpe_split_train_count(const rbpe_split *s) { return s->ntrain; }
size_t rbpe_split_test_count(const rbpe_split *s) { return s->ntest; }
const size_t *rbpe_split_train(const rbpe_split *s) { return s->train; }
const size_t *rbpe_split_test(const rbpe_split *s) { return s->test; }

enum { SPLIT_REGULAR, SPLIT_RANDOM, SPLIT_TANCIK, SPLIT_ALL };

/* Per-axis grid index of sample idx (axis 0 slowest). */
static void unravel(const rbpe_signal *sig, size_t idx, size_t *k) {
  for (int a = sig->ndim - 1; a >= 0; a--) {
    k[a] = idx % sig->dims[a];
    idx /= sig->dims[a];
  }
}

static rbpe_status split_base(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const char *spec, uint64_t seed,
                              rbpe_split **out);

/* "BASE+val:P": BASE's training samples less a seeded fraction P of them,
 * which become the held-out (validation) samples; BASE's own held-out
 * samples are not used at all. For choosing settings without ever looking
 * at the test samples. */
#define SEED_VALIDATION 0x76616c69646174ULL

rbpe_status rbpe_split_create(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const char *spec, uint64_t seed,
                              rbpe_split **out) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  *out = NULL;
  RBPE_FAIL_IF(!spec, err, RBPE_ERR_INVALID_ARGUMENT, "no split given");
  const char *plus = strstr(spec, "+val:");
  if (!plus) return split_base(ctx, sig, spec, seed, out);
  char base[64];
  RBPE_FAIL_IF((size_t)(plus - spec) >= sizeof base, err,
               RBPE_ERR_INVALID_ARGUMENT, "split '%s': base too long", spec);
  memcpy(base, spec, (size_t)(plus - spec));
  base[plus - spec] = '\0';
  char *end;
  double frac = strtod(plus + 5, &end);
  RBPE_FAIL_IF(end == plus + 5 || *end || !(frac > 0.0 && frac < 1.0), err,
               RBPE_ERR_INVALID_ARGUMENT,
               "split '%s': +val:P needs a fraction 0 < P < 1", spec);
  RBPE_FAIL_IF(!strcmp(base, "all"), err, RBPE_ERR_INVALID_ARGUMENT,
               "split '%s': a validation part of 'all' would be trained on",
               spec);
  rbpe_split *b;
  RBPE_TRY(split_base(ctx, sig, base, seed, &b));
  size_t n = b->ntrain;
  size_t want = (size_t)llround(frac * (double)n);
  if (want < 1) want = 1;
  rbpe_status st = RBPE_OK;
  if (want >= n)
    st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                      "split '%s' leaves no training samples (%zu in %s)", spec,
                      n, base);
  size_t *tr = NULL, *va = NULL;
  if (st == RBPE_OK) {
    tr = malloc((n - want) * sizeof *tr);
    va = malloc(want * sizeof *va);
    if (!tr || !va)
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (st == RBPE_OK) {
    /* selection sampling, as random:P, with a seed of its own */
    rbpe_rng rng;
    rbpe_rng_seed(&rng, seed ^ SEED_VALIDATION);
    size_t need = want, a = 0, v = 0;
    for (size_t i = 0; i < n; i++)
      if (need && rbpe_rng_below(&rng, n - i) < need) {
        va[v++] = b->train[i];
        need--;
      } else {
        tr[a++] = b->train[i];
      }
    free(b->train);
    free(b->test);
    b->train = tr;
    b->test = va;
    b->ntrain = a;
    b->ntest = v;
    *out = b;
    return RBPE_OK;
  }
  free(tr);
  free(va);
  rbpe_split_free(b);
  return st;
}

static rbpe_status split_base(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const char *spec, uint64_t seed,
                              rbpe_split **out) {
  rbpe_err *err = &ctx->err;
  int kind;
  long stride = 2;
  double frac = 0;
  char *end;
  if (strncmp(spec, "regular:", 8) == 0) {
    kind = SPLIT_REGULAR;
    errno = 0;
    stride = strtol(spec + 8, &end, 10);
    RBPE_FAIL_IF(end == spec + 8 || *end || errno || stride < 2 ||
                     stride > 1000000,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "split '%s': regular:S needs an integer S >= 2", spec);
  } else if (strncmp(spec, "random:", 7) == 0) {
    kind = SPLIT_RANDOM;
    frac = strtod(spec + 7, &end);
    RBPE_FAIL_IF(end == spec + 7 || *end || !(frac > 0.0 && frac < 1.0), err,
                 RBPE_ERR_INVALID_ARGUMENT,
                 "split '%s': random:P needs a fraction 0 < P < 1", spec);
  } else if (strcmp(spec, "tancik") == 0) {
    kind = SPLIT_TANCIK;
  } else if (strcmp(spec, "all") == 0) {
    kind = SPLIT_ALL;
  } else {
    return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                        "unknown split '%s' (expected regular:S, random:P, "
                        "tancik or all)",
                        spec);
  }

  size_t n = sig->samples;
  rbpe_split *s = calloc(1, sizeof *s);
  unsigned char *is_train = calloc(n, 1);
  unsigned char *is_test = calloc(n, 1);
  if (!s || !is_train || !is_test) {
    free(s);
    free(is_train);
    free(is_test);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  size_t k[RBPE_MAX_DIMS];
  if (kind == SPLIT_ALL) {
    /* fitting, not generalising: every sample trains and is evaluated */
    memset(is_train, 1, n);
    memset(is_test, 1, n);
  } else if (kind == SPLIT_RANDOM) {
    size_t want = (size_t)llround(frac * (double)n);
    if (want < 1) want = 1;
    if (want > n - 1) want = n - 1;
    /* Selection sampling (Knuth, Algorithm S): exactly `want` samples, each
     * subset equally likely, one pass, no index permutation in memory. */
    rbpe_rng rng;
    rbpe_rng_seed(&rng, seed);
    size_t need = want;
    for (size_t i = 0; i < n && need; i++)
      if (rbpe_rng_below(&rng, n - i) < need) {
        is_train[i] = 1;
        need--;
      }
    for (size_t i = 0; i < n; i++) is_test[i] = !is_train[i];
  } else {
    if (kind == SPLIT_TANCIK) stride = 2;
    for (size_t i = 0; i < n; i++) {
      unravel(sig, i, k);
      int on = 1, odd = 1;
      for (int a = 0; a < sig->ndim; a++) {
        if (k[a] % (size_t)stride) on = 0;
        if (k[a] % 2 != 1) odd = 0;
      }
      is_train[i] = (unsigned char)on;
      is_test[i] = (unsigned char)(kind == SPLIT_TANCIK ? odd : !on);
    }
  }
  for (size_t i = 0; i < n; i++) {
    s->ntrain += is_train[i];
    s->ntest += is_test[i];
  }
  rbpe_status st = RBPE_OK;
  if (s->ntrain == 0 || s->ntest == 0)
    st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                      "split '%s' on a signal of %zu samples leaves %zu "
                      "training and %zu held-out samples (both must be > 0)",
                      spec, n, s->ntrain, s->ntest);
  if (st == RBPE_OK) {
    s->train = malloc(s->ntrain * sizeof(size_t));
    s->test = malloc(s->ntest * sizeof(size_t));
    if (!s->train || !s->test)
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (st == RBPE_OK) {
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
      if (is_train[i]) s->train[a++] = i;
      if (is_test[i]) s->test[b++] = i;
    }
  }
  free(is_train);
  free(is_test);
  if (st != RBPE_OK) {
    rbpe_split_free(s);
    return st;
  }
  *out = s;
  return RBPE_OK;
}
