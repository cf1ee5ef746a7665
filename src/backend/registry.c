/* Device selection: turns a device spec into an open backend. The spec
 * grammar is documented at rbpe_ctx_select_device in include/rbpe.h. */
#include <string.h>

#include "cpu.h"
#include "opencl.h"
#include "ref.h"

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

/* Which kinds this build has (meson options opencl and openblas); ref is
 * always there. */
#ifdef RBPE_HAVE_OPENCL
#define HAVE_OPENCL 1
#else
#define HAVE_OPENCL 0
#endif
#ifdef RBPE_HAVE_CPU
#define HAVE_CPU 1
#else
#define HAVE_CPU 0
#endif

/* A kind this build left out (what: the library; option: meson's). */
static rbpe_status absent(rbpe_err *err, const char *spec, const char *what,
                          const char *option) {
  return rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                      "device '%s': this rbpe was built without %s (meson "
                      "option %s); ref is always there",
                      spec, what, option);
}

/* The host's best backend: cpu when built, else ref. */
static rbpe_status open_host(rbpe_err *err, rbpe_backend **out) {
#if HAVE_CPU
  return rbpe_cpu_backend_create(err, out);
#else
  return rbpe_ref_backend_create(err, out);
#endif
}

static rbpe_status open_spec(const char *spec, rbpe_err *err,
                             rbpe_backend **out) {
  RBPE_FAIL_IF(!spec || !*spec, err, RBPE_ERR_INVALID_ARGUMENT,
               "empty device spec (expected auto, cpu, ref, cl, cl:P:D "
               "or cl:NAME)");
  if (strcmp(spec, "ref") == 0) return rbpe_ref_backend_create(err, out);
  if (strcmp(spec, "cpu") == 0)
    return HAVE_CPU ? open_host(err, out) : absent(err, spec, "OpenBLAS", "openblas");
#if HAVE_OPENCL
  int found = 0, p = 0, d = 0;
  rbpe_device_type type = RBPE_DEVICE_OTHER;
  RBPE_TRY(rbpe_opencl_resolve(spec, err, &found, &p, &d, &type));
  /* auto: an OpenCL GPU or accelerator; otherwise the host is better
   * served by the cpu backend (OpenBLAS) than by an OpenCL CPU driver */
  if (strcmp(spec, "auto") == 0 && (!found || type == RBPE_DEVICE_CPU))
    return open_host(err, out);
  return rbpe_opencl_backend_create(p, d, err, out);
#else
  if (strcmp(spec, "auto") == 0) return open_host(err, out);
  if (strcmp(spec, "cl") == 0 || strncmp(spec, "cl:", 3) == 0)
    return absent(err, spec, "OpenCL", "opencl");
  return rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                      "unknown device '%s' (expected auto, cpu or ref)", spec);
#endif
}

rbpe_status rbpe_backend_open(const char *spec, rbpe_err *err,
                              rbpe_backend **out) {
  *out = NULL;
  RBPE_TRY(open_spec(spec, err, out));
  rbpe_status st = rbpe_backend_ops_check((*out)->ops, (*out)->kind, err);
  if (st != RBPE_OK) {
    rbpe_backend_close(*out);
    *out = NULL;
  }
  return st;
}

rbpe_status rbpe_backend_list_devices(rbpe_err *err, rbpe_device_info **devices,
                                      size_t *count, int *platforms_found) {
#if HAVE_OPENCL
  return rbpe_opencl_list_devices(err, devices, count, platforms_found);
#else
  (void)err;
  *devices = NULL;
  *count = 0;
  if (platforms_found) *platforms_found = 0;
  return RBPE_OK;
#endif
}

void rbpe_backend_close(rbpe_backend *be) {
  if (be) be->ops->destroy(be);
}
