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

/* "BASE+val:P": BASE's training samples less a seeded fraction P of them,
 * which become the held-out (validation) samples; BASE's own held-out
 * samples are not used at all. For choosing settings without ever looking
 * at the test samples. */
#define SEED_VALIDATION 0x76616c69646174ULL

/* A split specification, parsed: BASE (kind and its parameter) and the
 * validation fraction of "+val:P" (0: none). */
typedef struct split_spec {
  int kind;
  long stride;
  double frac, val;
} split_spec;

static rbpe_status parse_base(rbpe_err *err, const char *spec, split_spec *p) {
  char *end;
  p->stride = 2;
  p->frac = 0;
  if (strncmp(spec, "regular:", 8) == 0) {
    p->kind = SPLIT_REGULAR;
    errno = 0;
    p->stride = strtol(spec + 8, &end, 10);
    RBPE_FAIL_IF(end == spec + 8 || *end || errno || p->stride < 2 ||
                     p->stride > 1000000,
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "split '%s': regular:S needs an integer S >= 2", spec);
  } else if (strncmp(spec, "random:", 7) == 0) {
    p->kind = SPLIT_RANDOM;
    p->frac = strtod(spec + 7, &end);
    RBPE_FAIL_IF(end == spec + 7 || *end || !(p->frac > 0.0 && p->frac < 1.0),
                 err, RBPE_ERR_INVALID_ARGUMENT,
                 "split '%s': random:P needs a fraction 0 < P < 1", spec);
  } else if (strcmp(spec, "tancik") == 0) {
    p->kind = SPLIT_TANCIK;
  } else if (strcmp(spec, "all") == 0) {
    p->kind = SPLIT_ALL;
  } else {
    return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                        "unknown split '%s' (expected regular:S, random:P, "
                        "tancik or all)",
                        spec);
  }
  return RBPE_OK;
}

static rbpe_status parse_spec(rbpe_err *err, const char *spec, split_spec *p) {
  RBPE_FAIL_IF(!spec, err, RBPE_ERR_INVALID_ARGUMENT, "no split given");
  const char *plus = strstr(spec, "+val:");
  p->val = 0;
  if (!plus) return parse_base(err, spec, p);
  char base[64];
  RBPE_FAIL_IF((size_t)(plus - spec) >= sizeof base, err,
               RBPE_ERR_INVALID_ARGUMENT, "split '%s': base too long", spec);
  memcpy(base, spec, (size_t)(plus - spec));
  base[plus - spec] = '\0';
  char *end;
  p->val = strtod(plus + 5, &end);
  RBPE_FAIL_IF(end == plus + 5 || *end || !(p->val > 0.0 && p->val < 1.0), err,
               RBPE_ERR_INVALID_ARGUMENT,
               "split '%s': +val:P needs a fraction 0 < P < 1", spec);
  RBPE_FAIL_IF(!strcmp(base, "all"), err, RBPE_ERR_INVALID_ARGUMENT,
               "split '%s': a validation part of 'all' would be trained on",
               spec);
  return parse_base(err, base, p);
}

/* Samples a random:P split trains on, and the validation part of n. */
static size_t random_count(double frac, size_t n) {
  size_t want = (size_t)llround(frac * (double)n);
  if (want < 1) want = 1;
  if (want > n - 1) want = n - 1;
  return want;
}

static size_t val_count(double frac, size_t n) {
  size_t want = (size_t)llround(frac * (double)n);
  return want < 1 ? 1 : want;
}

/* The counts a split will have, without building it, and the refusals
 * building it would give. */
static rbpe_status spec_counts(rbpe_err *err, const rbpe_signal *sig,
                               const char *spec, const split_spec *p,
                               size_t *ntrain, size_t *ntest) {
  size_t n = sig->samples, tr = 1, te = 1;
  if (p->kind == SPLIT_ALL) {
    tr = te = n;
  } else if (p->kind == SPLIT_RANDOM) {
    tr = n > 1 ? random_count(p->frac, n) : 0;
    te = n - tr;
  } else {
    size_t S = p->kind == SPLIT_TANCIK ? 2 : (size_t)p->stride;
    for (int a = 0; a < sig->ndim; a++) {
      tr *= (sig->dims[a] + S - 1) / S;
      te *= sig->dims[a] / 2; /* tancik: odd on every axis */
    }
    if (p->kind == SPLIT_REGULAR) te = n - tr;
  }
  RBPE_FAIL_IF(tr == 0 || te == 0, err, RBPE_ERR_INVALID_ARGUMENT,
               "split '%s' on a signal of %zu samples leaves %zu training "
               "and %zu held-out samples (both must be > 0)",
               spec, n, tr, te);
  if (p->val > 0) {
    size_t v = val_count(p->val, tr);
    RBPE_FAIL_IF(v >= tr, err, RBPE_ERR_INVALID_ARGUMENT,
                 "split '%s' leaves no training samples (%zu in its base)",
                 spec, tr);
    te = v;
    tr -= v;
  }
  *ntrain = tr;
  *ntest = te;
  return RBPE_OK;
}

rbpe_status rbpe_split_counts(rbpe_err *err, const rbpe_signal *sig,
                              const char *spec, size_t *ntrain,
                              size_t *ntest) {
  split_spec p;
  RBPE_TRY(parse_spec(err, spec, &p));
  return spec_counts(err, sig, spec, &p, ntrain, ntest);
}

static rbpe_status split_base(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const split_spec *p, uint64_t seed,
                              rbpe_split **out);
rbpe_status rbpe_split_create(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const char *spec, uint64_t seed,
                              rbpe_split **out) {
  rbpe_err *err = &ctx->err;
  rbpe_err_clear(err);
  *out = NULL;
  split_spec p;
  size_t ntrain, ntest;
  RBPE_TRY(parse_spec(err, spec, &p));
  RBPE_TRY(spec_counts(err, sig, spec, &p, &ntrain, &ntest));
  rbpe_split *b = NULL;
  RBPE_TRY(split_base(ctx, sig, &p, seed, &b));
  if (p.val == 0) {
    *out = b;
    return RBPE_OK;
  }
  size_t n = b->ntrain, want = val_count(p.val, n);
  size_t *tr = malloc((n - want) * sizeof *tr), *va = malloc(want * sizeof *va);
  if (!tr || !va) {
    free(tr);
    free(va);
    rbpe_split_free(b);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
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

static rbpe_status split_base(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const split_spec *p, uint64_t seed,
                              rbpe_split **out) {
  rbpe_err *err = &ctx->err;
  int kind = p->kind;
  long stride = p->stride;
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
    size_t want = random_count(p->frac, n);
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
  /* both counts are what spec_counts checked */
  rbpe_status st = RBPE_OK;
  s->train = malloc(s->ntrain * sizeof(size_t));
  s->test = malloc(s->ntest * sizeof(size_t));
  if (!s->train || !s->test)
    st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
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
