/* Error records: a status, a one-line message and an optional detail (a
 * build log), owned by a context and filled by whoever fails first. */
#ifndef RBPE_ERROR_H
#define RBPE_ERROR_H

#include "rbpe.h"

#define RBPE_ERR_MSG_MAX 512

typedef struct rbpe_err {
  rbpe_status status;
  char msg[RBPE_ERR_MSG_MAX];
  char *detail; /* malloc'd, may be NULL */
} rbpe_err;

#if defined(__GNUC__)
#define RBPE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RBPE_PRINTF(a, b)
#endif

/* Records the error (unless err is NULL) and returns code. */
rbpe_status rbpe_err_set(rbpe_err *err, rbpe_status code, const char *fmt, ...)
    RBPE_PRINTF(3, 4);
/* Attaches a detail text (copied, may be long) to the current error. */
void rbpe_err_detail(rbpe_err *err, const char *text);
void rbpe_err_clear(rbpe_err *err);

/* Explain and return in one step (after PoCL's POCL_RETURN_ERROR_ON). */
#define RBPE_FAIL_IF(cond, err, code, ...)                                      \
  do {                                                                         \
    if (cond) return rbpe_err_set((err), (code), __VA_ARGS__);                 \
  } while (0)

#define RBPE_TRY(expr)                                                         \
  do {                                                                         \
    rbpe_status rbpe_try_st_ = (expr);                                         \
    if (rbpe_try_st_ != RBPE_OK) return rbpe_try_st_;                          \
  } while (0)

/* Overflow-checked size arithmetic: returns 0 on overflow. */
static inline int rbpe_mul_ok(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > (size_t)-1 / a) return 0;
  *out = a * b;
  return 1;
}

#endif
