/* OpenCL platform and device enumeration, `rbpe devices`, and resolution
 * of a device spec ("cl", "cl:P:D", "cl:TEXT", "auto") to indices. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "opencl_util.h"
#include "opencl_version.h"

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

const char *rbpe_cl_error_name(cl_int c) {
  switch (c) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE)
    E(CL_COMPILER_NOT_AVAILABLE) E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP)
    E(CL_IMAGE_FORMAT_MISMATCH) E(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE)
    E(CL_LINK_PROGRAM_FAILURE) E(CL_DEVICE_PARTITION_FAILED)
    E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
    E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE)
    E(CL_INVALID_CONTEXT) E(CL_INVALID_QUEUE_PROPERTIES)
    E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    E(CL_INVALID_IMAGE_SIZE) E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY)
    E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
    E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL)
    E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION)
    E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE)
    E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT)
    E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_MIP_LEVEL)
    E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
    E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS)
    E(CL_INVALID_LINKER_OPTIONS) E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
  case CL_PLATFORM_NOT_FOUND_KHR: return "CL_PLATFORM_NOT_FOUND_KHR";
  }
  return "unknown OpenCL error";
}

rbpe_status rbpe_cl_status(cl_int c) {
  switch (c) {
  case CL_MEM_OBJECT_ALLOCATION_FAILURE:
  case CL_OUT_OF_RESOURCES:
  case CL_INVALID_BUFFER_SIZE:
    return RBPE_ERR_DEVICE_MEMORY;
  case CL_OUT_OF_HOST_MEMORY:
    return RBPE_ERR_OUT_OF_MEMORY;
  case CL_BUILD_PROGRAM_FAILURE:
    return RBPE_ERR_BUILD;
  default:
    return RBPE_ERR_DEVICE;
  }
}

rbpe_status rbpe_cl_platforms(rbpe_err *err, cl_platform_id **out,
                              cl_uint *count) {
  *out = NULL;
  *count = 0;
  cl_uint n = 0;
  cl_int rc = clGetPlatformIDs(0, NULL, &n);
  if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && n == 0))
    return RBPE_OK;
  RBPE_FAIL_IF(rc != CL_SUCCESS, err, RBPE_ERR_DEVICE,
               "clGetPlatformIDs failed: %s", rbpe_cl_error_name(rc));
  cl_platform_id *p = calloc(n, sizeof *p);
  RBPE_FAIL_IF(!p, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  rc = clGetPlatformIDs(n, p, &n);
  if (rc != CL_SUCCESS) {
    free(p);
    return rbpe_err_set(err, RBPE_ERR_DEVICE, "clGetPlatformIDs failed: %s",
                        rbpe_cl_error_name(rc));
  }
  *out = p;
  *count = n;
  return RBPE_OK;
}

rbpe_status rbpe_cl_devices(rbpe_err *err, cl_platform_id p,
                            cl_device_id **out, cl_uint *count) {
  *out = NULL;
  *count = 0;
  cl_uint n = 0;
  cl_int rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &n);
  if (rc == CL_DEVICE_NOT_FOUND || (rc == CL_SUCCESS && n == 0)) return RBPE_OK;
  RBPE_FAIL_IF(rc != CL_SUCCESS, err, RBPE_ERR_DEVICE,
               "clGetDeviceIDs failed: %s", rbpe_cl_error_name(rc));
  cl_device_id *d = calloc(n, sizeof *d);
  RBPE_FAIL_IF(!d, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n, d, &n);
  if (rc != CL_SUCCESS) {
    free(d);
    return rbpe_err_set(err, RBPE_ERR_DEVICE, "clGetDeviceIDs failed: %s",
                        rbpe_cl_error_name(rc));
  }
  *out = d;
  *count = n;
  return RBPE_OK;
}

/* Drivers fill string queries to any length; longer than this is taken as
 * a broken driver, not a name. */
#define INFO_STRING_MAX ((size_t)1 << 20)

static void trim(char *s) {
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  size_t k = 0;
  while (s[k] && isspace((unsigned char)s[k])) k++;
  if (k) memmove(s, s + k, n - k + 1);
}

/* One string query, asked for its size first: dev or plat is set. */
static char *info_string(cl_device_id dev, cl_platform_id plat, cl_uint what,
                         int *oom) {
  size_t n = 0;
  cl_int rc = dev ? clGetDeviceInfo(dev, what, 0, NULL, &n)
                  : clGetPlatformInfo(plat, what, 0, NULL, &n);
  if (rc != CL_SUCCESS || n == 0 || n > INFO_STRING_MAX) return NULL;
  char *s = malloc(n + 1);
  if (!s) {
    if (oom) *oom = 1;
    return NULL;
  }
  rc = dev ? clGetDeviceInfo(dev, what, n, s, NULL)
           : clGetPlatformInfo(plat, what, n, s, NULL);
  if (rc != CL_SUCCESS) {
    free(s);
    return NULL;
  }
  s[n] = '\0';
  trim(s);
  return s;
}

char *rbpe_cl_device_string(cl_device_id d, cl_device_info what) {
  return info_string(d, NULL, what, NULL);
}

/* CL_DEVICE_NUMERIC_VERSION (OpenCL 3.0): the fallback when a 3.0 driver's
 * version text cannot be read. Not in the 1.2 headers rbpe targets. */
#define RBPE_CL_DEVICE_NUMERIC_VERSION 0x105E

/* The device's type, sizes and availability, into info. */
static void device_numbers(cl_device_id d, rbpe_device_info *info, int *available,
                           int *has_compiler) {
  cl_device_type t = 0;
  cl_bool unified = CL_FALSE, avail = CL_FALSE, compiler = CL_FALSE;
  cl_uint cu = 0;
  cl_ulong gmem = 0, lmem = 0, maxalloc = 0;
  size_t wg = 0;
  clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
  clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                  NULL);
  clGetDeviceInfo(d, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
  clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler,
                  NULL);
  clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
  clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
  clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
  clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc,
                  NULL);
  clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);

  if (t & CL_DEVICE_TYPE_GPU)
    info->type = unified ? RBPE_DEVICE_INTEGRATED_GPU : RBPE_DEVICE_GPU;
  else if (t & CL_DEVICE_TYPE_ACCELERATOR)
    info->type = RBPE_DEVICE_ACCELERATOR;
  else if (t & CL_DEVICE_TYPE_CPU)
    info->type = RBPE_DEVICE_CPU;
  else
    info->type = RBPE_DEVICE_OTHER;
  info->compute_units = cu;
  info->global_mem_bytes = gmem;
  info->local_mem_bytes = lmem;
  info->max_alloc_bytes = maxalloc;
  info->max_work_group_size = wg;
  *available = avail == CL_TRUE;
  *has_compiler = compiler == CL_TRUE;

}

/* Whether rbpe can use the device, and if not, why, in words that say
 * what to do. */
static void device_verdict(rbpe_device_info *info, int avail, int compiler,
                           int version_ok, int c_ok, const char *version) {
  int major = info->opencl_major, minor = info->opencl_minor;
  int cmajor = info->opencl_c_major, cminor = info->opencl_c_minor;
  uint64_t maxalloc = info->max_alloc_bytes;
  info->usable = 0;
  char *why = info->why_not;
  size_t wn = sizeof info->why_not;
  char amount[32];
  if (!avail)
    snprintf(why, wn,
             "the driver reports it unavailable (CL_DEVICE_AVAILABLE is "
             "false: in use elsewhere, disabled, or its driver is not set "
             "up); `clinfo` should show the same");
  else if (!compiler)
    snprintf(why, wn,
             "its driver has no OpenCL C compiler, and rbpe builds its "
             "kernels at run time: install the vendor's full OpenCL runtime, "
             "not only its ICD");
  else if (!version_ok)
    snprintf(why, wn,
             "its version string \"%.80s%s\" does not read as \"OpenCL "
             "<major>.<minor> ...\"; please report it to rbpe with the "
             "output of `clinfo`",
             version ? version : "",
             version && strlen(version) > 80 ? "..." : "");
  else if (major * 100 + minor < 102)
    snprintf(why, wn,
             "it offers OpenCL %d.%d and rbpe needs 1.2 or later: a newer "
             "driver for this device may offer it",
             major, minor);
  else if (c_ok && cmajor * 100 + cminor < 102)
    snprintf(why, wn,
             "its kernel compiler offers OpenCL C %d.%d and rbpe's kernels "
             "need 1.2: a newer driver for this device may offer it",
             cmajor, cminor);
  else if (maxalloc < ((uint64_t)16 << 20))
    snprintf(why, wn,
             "its largest buffer (CL_DEVICE_MAX_MEM_ALLOC_SIZE) is %s, under "
             "the 16 MiB rbpe needs",
             rbpe_fmt_bytes(maxalloc, amount));
  else
    info->usable = 1;
}

rbpe_status rbpe_cl_describe(cl_platform_id p, cl_device_id d, int pi, int di,
                             rbpe_err *err, rbpe_device_info *info) {
  memset(info, 0, sizeof *info);
  info->platform_index = pi;
  info->device_index = di;
  int oom = 0;
  struct {
    int device;
    cl_uint what;
    char *field;
    size_t cap;
  } strs[] = {
      {0, CL_PLATFORM_NAME, info->platform, sizeof info->platform},
      {0, CL_PLATFORM_VENDOR, info->platform_vendor,
       sizeof info->platform_vendor},
      {1, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor},
      {1, CL_DEVICE_NAME, info->name, sizeof info->name},
      {1, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version},
      {1, CL_DEVICE_VERSION, info->opencl_version, sizeof info->opencl_version},
  };
  char *version = NULL;
  for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
    char *full = info_string(strs[k].device ? d : NULL, strs[k].device ? NULL : p,
                             strs[k].what, &oom);
    rbpe_cl_copy_display(strs[k].field, strs[k].cap, full);
    if (strs[k].what == CL_DEVICE_VERSION)
      version = full;
    else
      free(full);
  }
  char *c_version = info_string(d, NULL, CL_DEVICE_OPENCL_C_VERSION, &oom);
  if (oom) {
    free(version);
    free(c_version);
    return rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY,
                        "out of memory reading the OpenCL device's strings");
  }

  int avail = 0, compiler = 0;
  device_numbers(d, info, &avail, &compiler);
  int major, minor, cmajor, cminor;
  int version_ok = rbpe_cl_parse_version(version, &major, &minor) == 0;
  if (!version_ok) {
    cl_uint v = 0;
    if (clGetDeviceInfo(d, RBPE_CL_DEVICE_NUMERIC_VERSION, sizeof v, &v,
                        NULL) == CL_SUCCESS &&
        (v >> 22) >= 3) {
      major = (int)(v >> 22);
      minor = (int)((v >> 12) & 0x3ff);
      version_ok = 1;
    }
  }
  int c_ok = rbpe_cl_parse_c_version(c_version, &cmajor, &cminor) == 0;
  info->opencl_major = major;
  info->opencl_minor = minor;
  info->opencl_c_major = cmajor;
  info->opencl_c_minor = cminor;

  device_verdict(info, avail, compiler, version_ok, c_ok, version);
  free(version);
  free(c_version);
  return RBPE_OK;
}

rbpe_status rbpe_opencl_list_devices(rbpe_err *err, rbpe_device_info **devices,
                                     size_t *count, int *platforms_found) {
  *devices = NULL;
  *count = 0;
  if (platforms_found) *platforms_found = 0;
  cl_platform_id *plats;
  cl_uint np;
  RBPE_TRY(rbpe_cl_platforms(err, &plats, &np));
  if (platforms_found) *platforms_found = (int)np;
  rbpe_device_info *list = NULL;
  size_t n = 0;
  rbpe_status st = RBPE_OK;
  for (cl_uint p = 0; p < np && st == RBPE_OK; p++) {
    cl_device_id *devs;
    cl_uint nd;
    /* A platform that cannot list devices is skipped, not fatal: one broken
     * vendor driver must not hide the others. */
    if (rbpe_cl_devices(NULL, plats[p], &devs, &nd) != RBPE_OK) continue;
    rbpe_device_info *grown = nd ? realloc(list, (n + nd) * sizeof *list) : list;
    if (nd && !grown) {
      st = rbpe_err_set(err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
      list = grown;
      for (cl_uint d = 0; d < nd && st == RBPE_OK; d++) {
        st = rbpe_cl_describe(plats[p], devs[d], (int)p, (int)d, err, &list[n]);
        if (st == RBPE_OK) n++;
      }
    }
    free(devs);
  }
  free(plats);
  if (st != RBPE_OK) {
    free(list);
    return st;
  }
  *devices = list;
  *count = n;
  return RBPE_OK;
}

static int type_rank(rbpe_device_type t) {
  switch (t) {
  case RBPE_DEVICE_GPU: return 4;
  case RBPE_DEVICE_INTEGRATED_GPU: return 3;
  case RBPE_DEVICE_ACCELERATOR: return 2;
  case RBPE_DEVICE_CPU: return 1;
  default: return 0;
  }
}

static int contains_ci(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (; *hay; hay++) {
    size_t k = 0;
    while (k < nl && hay[k] &&
           tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k]))
      k++;
    if (k == nl) return 1;
  }
  return nl == 0;
}

rbpe_status rbpe_opencl_resolve(const char *spec, rbpe_err *err, int *found,
                                int *platform, int *device,
                                rbpe_device_type *type) {
  *found = 0;
  int is_auto = strcmp(spec, "auto") == 0;
  rbpe_device_info *list = NULL;
  size_t n = 0;
  int nplat = 0;
  RBPE_TRY(rbpe_opencl_list_devices(err, &list, &n, &nplat));
  int best = -1;
  rbpe_status st = RBPE_OK;
  if (is_auto || strcmp(spec, "cl") == 0) {
    for (size_t i = 0; i < n; i++)
      if (list[i].usable &&
          (best < 0 || type_rank(list[i].type) > type_rank(list[best].type)))
        best = (int)i;
    if (best < 0 && !is_auto)
      st = rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                        nplat == 0 ? "device 'cl': no OpenCL platform found "
                                     "(is an ICD such as pocl-opencl-icd "
                                     "installed?)"
                                   : "device 'cl': no usable OpenCL device "
                                     "among %zu found (see `rbpe devices`)",
                        n);
  } else if (strncmp(spec, "cl:", 3) == 0) {
    const char *rest = spec + 3;
    int p, d;
    char tail;
    if (sscanf(rest, "%d:%d%c", &p, &d, &tail) == 2) {
      for (size_t i = 0; i < n; i++)
        if (list[i].platform_index == p && list[i].device_index == d) best = (int)i;
      if (best < 0)
        st = rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                          "device '%s': no OpenCL platform %d device %d "
                          "(%zu device(s) found; see `rbpe devices`)",
                          spec, p, d, n);
      else if (!list[best].usable) {
        st = rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                          "device '%s' (%s) is not usable: %s", spec,
                          list[best].name, list[best].why_not);
        best = -1;
      }
    } else if (*rest == '\0') {
      st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                        "device 'cl:' needs P:D indices or a name");
    } else {
      for (size_t i = 0; i < n && best < 0; i++)
        if (list[i].usable && (contains_ci(list[i].platform, rest) ||
                               contains_ci(list[i].platform_vendor, rest) ||
                               contains_ci(list[i].vendor, rest) ||
                               contains_ci(list[i].name, rest)))
          best = (int)i;
      if (best < 0)
        st = rbpe_err_set(err, RBPE_ERR_NO_DEVICE,
                          nplat == 0 ? "device '%s': no OpenCL platform found"
                                     : "device '%s': no usable OpenCL device "
                                       "whose platform, vendor or name "
                                       "contains \"%s\" (see `rbpe devices`)",
                          spec, rest);
    }
  } else {
    st = rbpe_err_set(err, RBPE_ERR_INVALID_ARGUMENT,
                      "unknown device '%s' (expected auto, cpu, ref, cl, "
                      "cl:P:D or cl:NAME)",
                      spec);
  }
  if (st == RBPE_OK && best >= 0) {
    *found = 1;
    *platform = list[best].platform_index;
    *device = list[best].device_index;
    if (type) *type = list[best].type;
  }
  free(list);
  return st;
}

rbpe_status rbpe_cl_build(rbpe_backend *be, cl_context ctx, cl_device_id dev,
                          const char **src, const size_t *len, int nsrc,
                          const char *options, const char *what,
                          cl_program *out) {
  cl_int rc;
  cl_program prog =
      clCreateProgramWithSource(ctx, (cl_uint)nsrc, src, len, &rc);
  if (rc != CL_SUCCESS)
    return rbpe_err_set(be->err, rbpe_cl_status(rc),
                        "clCreateProgramWithSource failed on %s: %s (%d)",
                        be->description, rbpe_cl_error_name(rc), (int)rc);
  rc = rbpe_fault_hit(RBPE_FAULT_BUILD)
           ? CL_BUILD_PROGRAM_FAILURE
           : clBuildProgram(prog, 1, &dev, options, NULL, NULL);
  if (rc != CL_SUCCESS) {
    size_t loglen = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL,
                              &loglen) == CL_SUCCESS &&
        loglen > 0 && (log = malloc(loglen + 1)) != NULL) {
      if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, loglen, log,
                                NULL) != CL_SUCCESS)
        log[0] = '\0';
      log[loglen] = '\0';
    }
    rbpe_err_set(be->err, RBPE_ERR_BUILD, "building kernels %s for %s failed: %s",
                 what, be->description, rbpe_cl_error_name(rc));
    rbpe_err_detail(be->err, log ? log : "(the driver gave no build log)");
    free(log);
    clReleaseProgram(prog);
    return RBPE_ERR_BUILD;
  }
  *out = prog;
  return RBPE_OK;
}

rbpe_status rbpe_cl_run(rbpe_backend *be, cl_command_queue q, cl_kernel k,
                        const char *what, const karg *args, int nargs,
                        cl_uint dims, const size_t *global,
                        const size_t *local) {
  cl_int rc = CL_SUCCESS;
  for (int i = 0; i < nargs && rc == CL_SUCCESS; i++)
    rc = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].ptr);
  if (rc == CL_SUCCESS)
    rc = rbpe_fault_hit(RBPE_FAULT_ENQUEUE)
             ? CL_OUT_OF_RESOURCES
             : clEnqueueNDRangeKernel(q, k, dims, NULL, global, local, 0,
                                      NULL, NULL);
  if (rc != CL_SUCCESS)
    return rbpe_err_set(be->err, rbpe_cl_status(rc), "%s failed on %s: %s (%d)",
                        what, be->description, rbpe_cl_error_name(rc), (int)rc);
  return RBPE_OK;
}

cl_mem rbpe_cl_buffer(cl_context ctx, size_t bytes, cl_int *rc) {
  *rc = CL_MEM_OBJECT_ALLOCATION_FAILURE;
  if (rbpe_fault_hit(RBPE_FAULT_ALLOC)) return NULL;
  cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, bytes, NULL, rc);
  return *rc == CL_SUCCESS ? m : NULL;
}

rbpe_status rbpe_cl_grow(rbpe_backend *be, cl_context ctx, cl_mem *buf,
                         size_t *have, size_t need, const char *what) {
  if (need <= *have) return RBPE_OK;
  if (*buf) clReleaseMemObject(*buf);
  *have = 0;
  cl_int rc;
  *buf = rbpe_cl_buffer(ctx, need, &rc);
  if (!*buf)
    return rbpe_err_set(be->err, RBPE_ERR_DEVICE_MEMORY,
                        "no room for %zu MiB of %s on %s: %s", need >> 20,
                        what, be->description, rbpe_cl_error_name(rc));
  *have = need;
  return RBPE_OK;
}
