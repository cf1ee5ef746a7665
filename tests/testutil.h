/* Minimal test helpers: CHECK records a failure with its line and goes on;
 * tests end with `return test_summary("name")`, which prints the
 * "N passed, N failed" line and returns the exit status. */
#ifndef RBPE_TESTUTIL_H
#define RBPE_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbpe.h"

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

/* Whether the OpenCL part of a test must run. A machine with an OpenCL
 * platform that lists a device must have a usable one: a device rbpe
 * rejects there is a bug (or a driver to report), never a skip. Only
 * RBPE_EXPECT_NO_OPENCL=1 says that none is expected (a machine whose
 * listed devices are known to be unusable); CI=true and
 * RBPE_REQUIRE_OPENCL=1 require a usable device even when no platform is
 * installed. */
static inline int test_require_opencl(void) {
  const char *none = getenv("RBPE_EXPECT_NO_OPENCL");
  if (none && !strcmp(none, "1")) return 0;
  const char *ci = getenv("CI"), *req = getenv("RBPE_REQUIRE_OPENCL");
  if ((ci && !strcmp(ci, "true")) || (req && !strcmp(req, "1"))) return 1;
  rbpe_ctx *ctx = rbpe_ctx_new();
  rbpe_device_info *list = NULL;
  size_t n = 0;
  int nplat = 0;
  int listed = ctx && rbpe_list_devices(ctx, &list, &n, &nplat) == RBPE_OK &&
               n > 0;
  rbpe_free(list);
  rbpe_ctx_free(ctx);
  return listed;
}

#define TEST_NO_OPENCL_MSG                                                     \
  "no usable OpenCL device, and one is required (a platform lists a "          \
  "device, or CI=true / RBPE_REQUIRE_OPENCL=1; see `rbpe devices`, or set "    \
  "RBPE_EXPECT_NO_OPENCL=1 where none is expected)"

#define TEST_SKIP 77

#endif
