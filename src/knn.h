/* k-nearest-neighbour graphs of coordinate sets in [0,1]^N (N <= 3) with a
 * uniform-grid cell list: O(L k) time and memory, never an L x L matrix
 * (METHOD.md section 3). */
#ifndef RBPE_KNN_H
#define RBPE_KNN_H

#include <stdint.h>

#include "base/error.h"

/* A symmetric graph in CSR form: row i owns the edges row[i]..row[i+1]-1,
 * col[] sorted ascending within a row, no self loops, no duplicates. */
typedef struct rbpe_graph {
  size_t n, nnz;
  uint32_t *row; /* n + 1 */
  uint32_t *col; /* nnz */
} rbpe_graph;


void rbpe_graph_free(rbpe_graph *g);

/* The k nearest other points of every point (ties broken by index), made
 * symmetric: j is a neighbour of i if either is among the other's k. */
rbpe_status rbpe_knn_graph(rbpe_err *err, size_t n, int ndim, const float *x,
                           int k, rbpe_graph *out);

/* The k nearest points of x (n points) to each of q query points, nearest
 * first (ties by index): idx and d2 hold q x k entries. k <= n. */
rbpe_status rbpe_knn_query(rbpe_err *err, size_t n, int ndim, const float *x,
                           size_t q, const float *qx, int k, uint32_t *idx,
                           float *d2);

/* Brute force, O(n^2): the reference the tests hold the cell list to. */
rbpe_status rbpe_knn_graph_brute(rbpe_err *err, size_t n, int ndim,
                                 const float *x, int k, rbpe_graph *out);

#endif
