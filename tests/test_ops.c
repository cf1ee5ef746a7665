/* Every op on random inputs on ref and on every usable OpenCL device,
 * compared with the per-op tolerances in src/opcheck.c. `--small` keeps
 * only small shapes (for oclgrind). */
#include <string.h>

#include "opcheck.h"
#include "testutil.h"

static void show(const rbpe_opcheck_result *r, void *user) {
  const char *dev = user;
  printf("%-18s %-34s %8zu  abs %.3e  rel %.3e  (atol %.0e rtol %.0e)%s %s\n",
         r->op, r->shape, r->count, r->max_abs, r->max_rel, r->atol, r->rtol,
         r->canary_ok ? "" : " CANARY OVERWRITTEN", r->pass ? "ok" : "FAIL");
  if (!r->pass) fprintf(stderr, "FAIL %s on %s\n", r->op, dev);
}

int main(int argc, char **argv) {
  /* [--small] [OP]: small shapes only; only the op named OP */
  int small = 0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--small")) small = 1;
    else only = argv[i];
  }
  rbpe_err err = {0};
  rbpe_backend *ref = NULL;
  CHECK(rbpe_ref_backend_create(&err, &ref) == RBPE_OK, "%s", err.msg);
  if (!ref) return test_summary("test_ops");

  /* the threaded host backend, always present */
  {
    rbpe_backend *cpu = NULL;
    CHECK(rbpe_cpu_backend_create(&err, &cpu) == RBPE_OK, "%s", err.msg);
    if (cpu) {
      printf("== %s\n", cpu->description);
      int failures = -1;
      rbpe_status st = rbpe_opcheck_run(ref, cpu, small, only, show,
                                        cpu->description, &failures);
      CHECK(st == RBPE_OK, "op check on cpu: %s", err.msg);
      CHECK(failures == 0, "%d op case(s) out of tolerance on cpu", failures);
      rbpe_backend_close(cpu);
    }
  }

  rbpe_device_info *list = NULL;
  size_t n = 0;
  int nplat = 0;
  CHECK(rbpe_opencl_list_devices(&err, &list, &n, &nplat) == RBPE_OK, "%s",
        err.msg);
  int usable = 0;
  for (size_t i = 0; i < n; i++) {
    if (!list[i].usable) {
      printf("skipping unusable device %s: %s\n", list[i].name,
             list[i].why_not);
      continue;
    }
    usable++;
    rbpe_backend *dev = NULL;
    rbpe_status st = rbpe_opencl_backend_create(
        list[i].platform_index, list[i].device_index, &err, &dev);
    CHECK(st == RBPE_OK, "opening %s: %s", list[i].name, err.msg);
    if (st != RBPE_OK) continue;
    printf("== %s\n", dev->description);
    int failures = -1;
    st = rbpe_opcheck_run(ref, dev, small, only, show, dev->description,
                          &failures);
    CHECK(st == RBPE_OK, "op check on %s: %s%s%s", dev->description, err.msg,
          err.detail ? "\n" : "", err.detail ? err.detail : "");
    CHECK(failures == 0, "%d op case(s) out of tolerance on %s", failures,
          dev->description);
    rbpe_backend_close(dev);
  }
  rbpe_free(list);
  rbpe_backend_close(ref);
  rbpe_err_clear(&err);
  if (usable == 0) {
    if (test_require_opencl()) {
      CHECK(usable > 0, "no usable OpenCL device (%d platform(s)) and CI=true "
                        "or RBPE_REQUIRE_OPENCL=1 requires one", nplat);
    } else {
      printf("no usable OpenCL device: skipped\n");
      return TEST_SKIP;
    }
  }
  return test_summary("test_ops");
}
