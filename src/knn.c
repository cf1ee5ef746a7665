/* k-NN with a uniform-grid cell list. Points are bucketed into G^N cells
 * (about two points per cell); a query scans rings of cells outward from
 * its own and stops once the k-th best distance is no larger than the
 * distance to the next unscanned ring. Distances are float32 squared
 * Euclidean; ties go to the lower index, so results are deterministic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn.h"

#define POINTS_PER_CELL 2.0

void rbpe_graph_free(rbpe_graph *g) {
  free(g->row);
  free(g->col);
  memset(g, 0, sizeof *g);
}

typedef struct cells {
  int ndim;
  int G;           /* cells per axis */
  size_t ncells;
  uint32_t *start; /* ncells + 1 */
  uint32_t *items; /* point indices bucketed by cell */
  const float *x;
} cells;

static int cell_coord(float v, int G) {
  int c = (int)floorf(v * (float)G);
  return c < 0 ? 0 : c >= G ? G - 1 : c;
}

static size_t cell_of(const cells *c, const float *p) {
  size_t id = 0;
  for (int a = 0; a < c->ndim; a++) id = id * c->G + cell_coord(p[a], c->G);
  return id;
}

static void cells_free(cells *c) {
  free(c->start);
  free(c->items);
}

static rbpe_status cells_build(rbpe_err *err, size_t n, int ndim,
                               const float *x, cells *c) {
  memset(c, 0, sizeof *c);
  c->ndim = ndim;
  c->x = x;
  double per_axis = pow((double)n / POINTS_PER_CELL, 1.0 / ndim);
  c->G = per_axis < 1 ? 1 : per_axis > 1 << 20 ? 1 << 20 : (int)per_axis;
  c->ncells = 1;
  for (int a = 0; a < ndim; a++) c->ncells *= (size_t)c->G;
  c->start = calloc(c->ncells + 1, sizeof(uint32_t));
  c->items = malloc((n ? n : 1) * sizeof(uint32_t));
  uint32_t *fill = calloc(c->ncells, sizeof(uint32_t));
  if (!c->start || !c->items || !fill) {
    free(fill);
    cells_free(c);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY,
                        "out of memory for a cell list of %zu points", n);
  }
  for (size_t i = 0; i < n; i++) c->start[cell_of(c, x + i * ndim) + 1]++;
  for (size_t k = 0; k < c->ncells; k++) c->start[k + 1] += c->start[k];
  for (size_t i = 0; i < n; i++) {
    size_t id = cell_of(c, x + i * ndim);
    c->items[c->start[id] + fill[id]++] = (uint32_t)i;
  }
  free(fill);
  return RBPE_OK;
}

/* Keeps the best k (d2, index) pairs, sorted ascending. */
typedef struct best {
  int k, count;
  float *d2;
  uint32_t *idx;
} best;

static void best_offer(best *b, float d2, uint32_t j) {
  if (b->count == b->k &&
      (d2 > b->d2[b->k - 1] || (d2 == b->d2[b->k - 1] && j > b->idx[b->k - 1])))
    return;
  int pos = b->count < b->k ? b->count++ : b->k - 1;
  while (pos > 0 && (b->d2[pos - 1] > d2 || (b->d2[pos - 1] == d2 && b->idx[pos - 1] > j))) {
    b->d2[pos] = b->d2[pos - 1];
    b->idx[pos] = b->idx[pos - 1];
    pos--;
  }
  b->d2[pos] = d2;
  b->idx[pos] = j;
}

static float dist2(const float *a, const float *b, int ndim) {
  float s = 0.0f;
  for (int d = 0; d < ndim; d++) {
    float t = a[d] - b[d];
    s += t * t;
  }
  return s;
}

/* The k nearest to p, skipping index `self` (or none: UINT32_MAX). */
static void search(const cells *c, const float *p, uint32_t self, best *b) {
  int home[3] = {0, 0, 0};
  for (int a = 0; a < c->ndim; a++) home[a] = cell_coord(p[a], c->G);
  float w = 1.0f / (float)c->G;
  b->count = 0;
  for (int r = 0; r <= c->G; r++) {
    int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int a = 0; a < c->ndim; a++) {
      lo[a] = home[a] - r;
      hi[a] = home[a] + r;
    }
    int cur[3];
    memcpy(cur, lo, sizeof cur);
    for (;;) {
      /* only the shell at Chebyshev distance r, inside the grid */
      int shell = 0, inside = 1;
      for (int a = 0; a < c->ndim; a++) {
        if (cur[a] == lo[a] || cur[a] == hi[a]) shell = 1;
        if (cur[a] < 0 || cur[a] >= c->G) inside = 0;
      }
      if ((shell || r == 0) && inside) {
        size_t id = 0;
        for (int a = 0; a < c->ndim; a++) id = id * c->G + (size_t)cur[a];
        for (uint32_t t = c->start[id]; t < c->start[id + 1]; t++) {
          uint32_t j = c->items[t];
          if (j != self) best_offer(b, dist2(p, c->x + (size_t)j * c->ndim, c->ndim), j);
        }
      }
      /* odometer over the cube [lo, hi]^N, last axis fastest */
      int a = c->ndim - 1;
      while (a >= 0 && cur[a] == hi[a]) {
        cur[a] = lo[a];
        a--;
      }
      if (a < 0) break;
      cur[a]++;
    }
    /* every unscanned point is at least r cell widths away */
    float reach = (float)r * w;
    if (b->count == b->k && b->d2[b->k - 1] <= reach * reach) break;
  }
}

static rbpe_status check_args(rbpe_err *err, size_t n, int ndim, int k,
                              const float *x) {
  RBPE_FAIL_IF(ndim < 1 || ndim > 3, err, RBPE_ERR_INVALID_ARGUMENT,
               "k-NN of %d-D points (1 to 3)", ndim);
  RBPE_FAIL_IF(n > UINT32_MAX / 2, err, RBPE_ERR_TOO_LARGE,
               "k-NN of %zu points", n);
  RBPE_FAIL_IF(k < 1, err, RBPE_ERR_INVALID_ARGUMENT,
               "k = %d neighbours (must be >= 1)", k);
  for (size_t i = 0; i < n * ndim; i++)
    RBPE_FAIL_IF(!isfinite(x[i]), err, RBPE_ERR_NUMERIC,
                 "coordinate %zu is not finite", i / ndim);
  return RBPE_OK;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Symmetrises directed lists nb (n x k) into CSR. */
static rbpe_status symmetrise(rbpe_err *err, size_t n, int k,
                              const uint32_t *nb, rbpe_graph *g) {
  size_t m = n * (size_t)k;
  uint32_t *cnt = calloc(n + 1, sizeof(uint32_t));
  uint32_t *tmp = malloc(2 * m * sizeof(uint32_t));
  RBPE_FAIL_IF(!cnt || !tmp, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < n; i++)
    for (int t = 0; t < k; t++) {
      cnt[i + 1]++;
      cnt[nb[i * k + t] + 1]++;
    }
  for (size_t i = 0; i < n; i++) cnt[i + 1] += cnt[i];
  uint32_t *pos = malloc(n * sizeof(uint32_t));
  if (!pos) {
    free(cnt);
    free(tmp);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  memcpy(pos, cnt, n * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++)
    for (int t = 0; t < k; t++) {
      uint32_t j = nb[i * k + t];
      tmp[pos[i]++] = j;
      tmp[pos[j]++] = (uint32_t)i;
    }
  g->n = n;
  g->row = malloc((n + 1) * sizeof(uint32_t));
  if (!g->row) {
    free(cnt);
    free(tmp);
    free(pos);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t *r = tmp + cnt[i];
    size_t len = cnt[i + 1] - cnt[i];
    qsort(r, len, sizeof *r, cmp_u32);
    g->row[i] = (uint32_t)w;
    for (size_t t = 0; t < len; t++)
      if (t == 0 || r[t] != r[t - 1]) tmp[w++] = r[t];
  }
  g->row[n] = (uint32_t)w;
  g->nnz = w;
  g->col = realloc(tmp, (w ? w : 1) * sizeof(uint32_t));
  if (!g->col) g->col = tmp;
  free(cnt);
  free(pos);
  return RBPE_OK;
}

rbpe_status rbpe_knn_graph(rbpe_err *err, size_t n, int ndim, const float *x,
                           int k, rbpe_graph *out) {
  memset(out, 0, sizeof *out);
  RBPE_TRY(check_args(err, n, ndim, k, x));
  RBPE_FAIL_IF((size_t)k >= n, err, RBPE_ERR_INVALID_ARGUMENT,
               "k = %d neighbours needs more than %d points (have %zu)", k, k,
               n);
  cells c;
  RBPE_TRY(cells_build(err, n, ndim, x, &c));
  uint32_t *nb = malloc(n * (size_t)k * sizeof(uint32_t));
  float *d2 = malloc((size_t)k * sizeof(float));
  if (!nb || !d2) {
    free(nb);
    free(d2);
    cells_free(&c);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    best b = {k, 0, d2, nb + i * k};
    search(&c, x + i * ndim, (uint32_t)i, &b);
  }
  free(d2);
  cells_free(&c);
  rbpe_status st = symmetrise(err, n, k, nb, out);
  free(nb);
  return st;
}

rbpe_status rbpe_knn_query(rbpe_err *err, size_t n, int ndim, const float *x,
                           size_t q, const float *qx, int k, uint32_t *idx,
                           float *d2) {
  RBPE_TRY(check_args(err, n, ndim, k, x));
  RBPE_FAIL_IF((size_t)k > n, err, RBPE_ERR_INVALID_ARGUMENT,
               "k = %d neighbours of %zu points", k, n);
  cells c;
  RBPE_TRY(cells_build(err, n, ndim, x, &c));
  for (size_t i = 0; i < q; i++) {
    best b = {k, 0, d2 + i * k, idx + i * k};
    search(&c, qx + i * ndim, UINT32_MAX, &b);
  }
  cells_free(&c);
  return RBPE_OK;
}

rbpe_status rbpe_knn_graph_brute(rbpe_err *err, size_t n, int ndim,
                                 const float *x, int k, rbpe_graph *out) {
  memset(out, 0, sizeof *out);
  RBPE_TRY(check_args(err, n, ndim, k, x));
  RBPE_FAIL_IF((size_t)k >= n, err, RBPE_ERR_INVALID_ARGUMENT, "k >= n");
  uint32_t *nb = malloc(n * (size_t)k * sizeof(uint32_t));
  float *d2 = malloc((size_t)k * sizeof(float));
  if (!nb || !d2) {
    free(nb);
    free(d2);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    best b = {k, 0, d2, nb + i * k};
    for (size_t j = 0; j < n; j++)
      if (j != i) best_offer(&b, dist2(x + i * ndim, x + j * ndim, ndim), (uint32_t)j);
  }
  free(d2);
  rbpe_status st = symmetrise(err, n, k, nb, out);
  free(nb);
  return st;
}

