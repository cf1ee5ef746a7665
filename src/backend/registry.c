/* Device selection: turns a device spec into an open backend. The spec
 * grammar is documented at rbpe_ctx_select_device in include/rbpe.h. */
#include <string.h>

#include "backend.h"

const char *rbpe_device_type_string(rbpe_device_type t) {
  switch (t) {
  case RBPE_DEVICE_CPU: return "CPU";
  case RBPE_DEVICE_GPU: return "GPU";
  case RBPE_DEVICE_INTEGRATED_GPU: return "integrated GPU";
  case RBPE_DEVICE_ACCELERATOR: return "accelerator";
  case RBPE_DEVICE_OTHER: break;
  }
  return "other";
}

rbpe_status rbpe_backend_open(const char *spec, rbpe_err *err,
                              rbpe_backend **out) {
  *out = NULL;
  RBPE_FAIL_IF(!spec || !*spec, err, RBPE_ERR_INVALID_ARGUMENT,
               "empty device spec (expected auto, cpu, ref, cl, cl:P:D "
               "or cl:NAME)");
  if (strcmp(spec, "ref") == 0) return rbpe_ref_backend_create(err, out);
  if (strcmp(spec, "cpu") == 0) return rbpe_cpu_backend_create(err, out);
  int found = 0, p = 0, d = 0;
  rbpe_device_type type = RBPE_DEVICE_OTHER;
  RBPE_TRY(rbpe_opencl_resolve(spec, err, &found, &p, &d, &type));
  /* auto: an OpenCL GPU or accelerator; otherwise the host is better
   * served by the cpu backend (OpenBLAS) than by an OpenCL CPU driver */
  if (strcmp(spec, "auto") == 0 && (!found || type == RBPE_DEVICE_CPU))
    return rbpe_cpu_backend_create(err, out);
  return rbpe_opencl_backend_create(p, d, err, out);
}

void rbpe_backend_close(rbpe_backend *be) {
  if (be) be->ops->destroy(be);
}
