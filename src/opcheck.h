/* Op-by-op comparison of a backend against ref, on seeded random inputs,
 * with per-op tolerances: used by tests/test_ops.c and `rbpe check`. */
#ifndef RBPE_OPCHECK_H
#define RBPE_OPCHECK_H

#include "backend/backend.h"

typedef struct rbpe_opcheck_result {
  const char *op;
  char shape[96];
  size_t count;    /* values compared */
  double max_abs;  /* worst |dev - ref| */
  double max_rel;  /* worst |dev - ref| / |ref| over |ref| > 1e-6 */
  double atol, rtol;
  int pass;        /* every value within atol*scale + rtol*|ref|, canary intact */
  int canary_ok;
} rbpe_opcheck_result;

typedef void (*rbpe_opcheck_fn)(const rbpe_opcheck_result *r, void *user);

/* Runs every op case (only: just the op of that name, NULL: all); calls
 * fn per case; *failures counts failed cases.
 * small: only the small shapes (for slow simulators such as oclgrind).
 * Returns an error status only when a case could not run at all. */
rbpe_status rbpe_opcheck_run(rbpe_backend *ref, rbpe_backend *dev, int small,
                             const char *only, rbpe_opcheck_fn fn, void *user,
                             int *failures);

#endif
