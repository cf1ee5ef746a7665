/* Cross-backend op checks. Every case runs on ref and on the device from
 * the same seeded inputs; the output buffer has a canary tail (as CLBlast's
 * tests do) that must come back untouched. A value passes when
 * |dev - ref| <= atol * scale + rtol * |ref|, scale = max(1, max |ref|). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opcheck.h"

#define CANARY 16
#define CANARY_VALUE -12345.5f

/* Per-op tolerances. The pointwise ops differ only by the devices' sin,
 * cos, exp, pow and division accuracy (OpenCL 1.2: sin/cos 4 ulp, exp 3 ulp,
 * pow 16 ulp, divide 2.5 ulp); the operation order is identical. */
static const struct {
  const char *op;
  double atol, rtol;
} tol[] = {
    {"embed_nerf", 2e-6, 0.0},
    {"embed_rff", 2e-6, 0.0},
    {"embed_rbf", 1e-6, 2e-5},
    {"embed_rbf_dsigma", 1e-6, 2e-5},
};

static void tolerance(const char *op, double *atol, double *rtol) {
  for (size_t i = 0; i < sizeof tol / sizeof tol[0]; i++)
    if (!strcmp(tol[i].op, op)) {
      *atol = tol[i].atol;
      *rtol = tol[i].rtol;
      return;
    }
  *atol = *rtol = 0.0;
}

typedef struct side {
  rbpe_backend *be;
  rbpe_buf *in[4];
  rbpe_buf *out;
  float *host;
} side;

static void side_free(side *s) {
  for (int i = 0; i < 4; i++) rbpe_buf_free(s->be, s->in[i]);
  rbpe_buf_free(s->be, s->out);
  free(s->host);
  memset(s->in, 0, sizeof s->in);
  s->out = NULL;
  s->host = NULL;
}

/* Uploads the inputs and a canaried output buffer of `count` floats. */
static rbpe_status side_prepare(side *s, float *const *inputs,
                                const size_t *sizes, int nin, size_t count) {
  for (int i = 0; i < nin; i++)
    RBPE_TRY(rbpe_buf_from_host(s->be, inputs[i], sizes[i], &s->in[i]));
  RBPE_TRY(rbpe_buf_alloc(s->be, (count + CANARY) * sizeof(float), &s->out));
  RBPE_TRY(rbpe_buf_fill(s->be, s->out, 0, count + CANARY, CANARY_VALUE));
  s->host = malloc((count + CANARY) * sizeof(float));
  RBPE_FAIL_IF(!s->host, s->be->err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  return RBPE_OK;
}

static rbpe_status side_fetch(side *s, size_t count) {
  return rbpe_buf_read(s->be, s->out, 0, (count + CANARY) * sizeof(float),
                       s->host);
}

static void compare(const float *ref, const float *dev, size_t count,
                    rbpe_opcheck_result *r) {
  double scale = 1.0;
  for (size_t i = 0; i < count; i++)
    if (fabs(ref[i]) > scale) scale = fabs(ref[i]);
  r->count = count;
  r->max_abs = r->max_rel = 0.0;
  r->pass = 1;
  for (size_t i = 0; i < count; i++) {
    double d = fabs((double)dev[i] - (double)ref[i]);
    if (!(d == d) || !isfinite(dev[i]) != !isfinite(ref[i])) d = INFINITY;
    if (d > r->max_abs) r->max_abs = d;
    if (fabs(ref[i]) > 1e-6 && d / fabs(ref[i]) > r->max_rel)
      r->max_rel = d / fabs(ref[i]);
    if (!(d <= r->atol * scale + r->rtol * fabs(ref[i]))) r->pass = 0;
  }
  r->canary_ok = 1;
  for (int k = 0; k < CANARY; k++)
    if (ref[count + k] != CANARY_VALUE || dev[count + k] != CANARY_VALUE)
      r->canary_ok = 0;
  if (!r->canary_ok) r->pass = 0;
}

typedef enum { OP_NERF, OP_RFF, OP_RBF, OP_RBF_DSIGMA } op_id;

typedef struct op_case {
  op_id op;
  size_t n;
  int ndim;
  int p;        /* L, F or D */
  int diagonals;
  float order;
} op_case;

static const char *op_name(op_id op) {
  switch (op) {
  case OP_NERF: return "embed_nerf";
  case OP_RFF: return "embed_rff";
  case OP_RBF: return "embed_rbf";
  case OP_RBF_DSIGMA: return "embed_rbf_dsigma";
  }
  return "?";
}

static rbpe_status run_op(side *s, const op_case *c, int ndir) {
  switch (c->op) {
  case OP_NERF:
    return rbpe_op_embed_nerf(s->be, c->n, c->ndim, c->p, s->in[0], s->out);
  case OP_RFF:
    return rbpe_op_embed_rff(s->be, c->n, c->ndim, c->p, s->in[0], s->in[1],
                             s->out);
  case OP_RBF:
  case OP_RBF_DSIGMA: {
    rbpe_rbf_op op = {c->n,     c->ndim,  ndir,     c->p,  c->order,
                      s->in[0], s->in[1], s->in[2], s->out};
    return c->op == OP_RBF ? rbpe_op_embed_rbf(s->be, &op)
                           : rbpe_op_embed_rbf_dsigma(s->be, &op);
  }
  }
  return RBPE_ERR_INTERNAL;
}

static rbpe_status run_case(rbpe_backend *ref, rbpe_backend *dev,
                            const op_case *c, uint64_t seed,
                            rbpe_opcheck_result *r) {
  rbpe_rng rng;
  rbpe_rng_seed(&rng, seed);
  float *in[4] = {0};
  size_t sizes[4] = {0};
  int nin = 0, ndir = 0;
  size_t M = 0;
  rbpe_status st = RBPE_OK;
  /* coordinates in [0,1]^N */
  sizes[0] = c->n * c->ndim;
  in[0] = malloc(sizes[0] * sizeof(float));
  nin = 1;
  if (!in[0]) return rbpe_err_set(ref->err, RBPE_ERR_OUT_OF_MEMORY, "oom");
  for (size_t i = 0; i < sizes[0]; i++) in[0][i] = rbpe_rng_uniform(&rng);
  if (c->op == OP_NERF) {
    M = (size_t)2 * c->p * c->ndim;
  } else if (c->op == OP_RFF) {
    M = (size_t)2 * c->p;
    sizes[1] = (size_t)c->p * c->ndim;
    in[1] = malloc(sizes[1] * sizeof(float));
    nin = 2;
    if (in[1])
      for (size_t i = 0; i < sizes[1]; i++) in[1][i] = 10.0f * rbpe_rng_normal(&rng);
  } else {
    ndir = c->ndim + (c->diagonals ? c->ndim * (c->ndim - 1) : 0);
    M = (size_t)ndir * c->p;
    sizes[1] = c->n;
    sizes[2] = (size_t)ndir * (c->ndim + 1);
    in[1] = malloc(sizes[1] * sizeof(float));
    in[2] = calloc(sizes[2], sizeof(float));
    nin = 3;
    if (in[1])
      for (size_t i = 0; i < c->n; i++)
        in[1][i] = 0.01f + 0.19f * rbpe_rng_uniform(&rng);
    if (in[2]) {
      /* axes, then (a,b) diagonals as rbpe_embedding builds them */
      int w = c->ndim + 1, k = 0;
      for (int a = 0; a < c->ndim; a++) in[2][k++ * w + a] = 1.0f;
      if (c->diagonals)
        for (int a = 0; a < c->ndim; a++)
          for (int b = a + 1; b < c->ndim; b++)
            for (int sgn = 0; sgn < 2; sgn++, k++) {
              in[2][k * w + a] = 0.5f;
              in[2][k * w + b] = sgn ? -0.5f : 0.5f;
              in[2][k * w + c->ndim] = sgn ? 0.5f : 0.0f;
            }
    }
  }
  for (int i = 0; i < nin; i++)
    if (!in[i]) st = rbpe_err_set(ref->err, RBPE_ERR_OUT_OF_MEMORY, "oom");

  side a = {.be = ref}, b = {.be = dev};
  size_t count = c->n * M;
  if (st == RBPE_OK) st = side_prepare(&a, in, sizes, nin, count);
  if (st == RBPE_OK) st = side_prepare(&b, in, sizes, nin, count);
  if (st == RBPE_OK) st = run_op(&a, c, ndir);
  if (st == RBPE_OK) st = run_op(&b, c, ndir);
  if (st == RBPE_OK) st = side_fetch(&a, count);
  if (st == RBPE_OK) st = side_fetch(&b, count);
  if (st == RBPE_OK) {
    r->op = op_name(c->op);
    tolerance(r->op, &r->atol, &r->rtol);
    if (c->op == OP_NERF)
      snprintf(r->shape, sizeof r->shape, "n=%zu N=%d L=%d", c->n, c->ndim,
               c->p);
    else if (c->op == OP_RFF)
      snprintf(r->shape, sizeof r->shape, "n=%zu N=%d F=%d", c->n, c->ndim,
               c->p);
    else
      snprintf(r->shape, sizeof r->shape, "n=%zu N=%d D=%d dirs=%d b=%g",
               c->n, c->ndim, c->p, ndir, (double)c->order);
    compare(a.host, b.host, count, r);
  }
  side_free(&a);
  side_free(&b);
  for (int i = 0; i < nin; i++) free(in[i]);
  return st;
}

rbpe_status rbpe_opcheck_run(rbpe_backend *ref, rbpe_backend *dev, int small,
                             rbpe_opcheck_fn fn, void *user, int *failures) {
  /* Sizes include 1 and values that are not multiples of any work-group
   * size; the large ones only outside simulators. */
  static const op_case cases[] = {
      {OP_NERF, 1, 1, 1, 0, 1.0f},      {OP_NERF, 7, 2, 10, 0, 1.0f},
      {OP_NERF, 65, 3, 6, 0, 1.0f},     {OP_NERF, 1000, 2, 10, 0, 1.0f},
      {OP_NERF, 4099, 1, 16, 0, 1.0f},
      {OP_RFF, 1, 1, 1, 0, 1.0f},       {OP_RFF, 7, 2, 37, 0, 1.0f},
      {OP_RFF, 65, 3, 5, 0, 1.0f},      {OP_RFF, 1000, 2, 256, 0, 1.0f},
      {OP_RBF, 1, 1, 1, 0, 1.0f},       {OP_RBF, 7, 2, 13, 1, 2.5f},
      {OP_RBF, 65, 3, 9, 1, 1.0f},      {OP_RBF, 1000, 2, 128, 0, 1.0f},
      {OP_RBF, 333, 2, 100, 1, 4.0f},
      {OP_RBF_DSIGMA, 1, 1, 1, 0, 1.0f}, {OP_RBF_DSIGMA, 7, 2, 13, 1, 2.5f},
      {OP_RBF_DSIGMA, 65, 3, 9, 1, 1.0f},
      {OP_RBF_DSIGMA, 1000, 2, 128, 0, 1.0f},
      {OP_RBF_DSIGMA, 333, 2, 100, 1, 4.0f},
  };
  *failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (small && cases[i].n > 100) continue;
    rbpe_opcheck_result r;
    memset(&r, 0, sizeof r);
    RBPE_TRY(run_case(ref, dev, &cases[i], 0x5eed0000u + i, &r));
    if (!r.pass) (*failures)++;
    if (fn) fn(&r, user);
  }
  return RBPE_OK;
}
