/* Minimal test helpers: CHECK records a failure with its line and goes on;
 * tests end with `return test_summary("name")`, which prints the
 * "N passed, N failed" line and returns the exit status. */
#ifndef RBPE_TESTUTIL_H
#define RBPE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_pass_count, test_fail_count;

#define CHECK(cond, ...)                                                        \
  do {                                                                         \
    if (cond) {                                                                \
      test_pass_count++;                                                       \
    } else {                                                                   \
      test_fail_count++;                                                       \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

static inline int test_summary(const char *name) {
  printf("%s: %d passed, %d failed\n", name, test_pass_count, test_fail_count);
  return test_fail_count ? 1 : 0;
}

/* Under CI=true or RBPE_REQUIRE_OPENCL=1 a missing OpenCL device is a
 * failure; elsewhere the OpenCL part is skipped (meson's skip code 77). */
static inline int test_require_opencl(void) {
  const char *ci = getenv("CI"), *req = getenv("RBPE_REQUIRE_OPENCL");
  return (ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"));
}

#define TEST_SKIP 77

#endif
