/* Helpers shared by the OpenCL files: error names and info queries. */
#ifndef RBPE_OPENCL_UTIL_H
#define RBPE_OPENCL_UTIL_H

#include <CL/cl.h>

#include "opencl.h"

const char *rbpe_cl_error_name(cl_int code);
/* Maps an OpenCL error to an rbpe status (resource errors -> DEVICE_MEMORY). */
rbpe_status rbpe_cl_status(cl_int code);

/* Platforms and the devices of one platform; arrays are malloc'd. A missing
 * ICD (CL_PLATFORM_NOT_FOUND_KHR) is reported as zero platforms. */
rbpe_status rbpe_cl_platforms(rbpe_err *err, cl_platform_id **out,
                              cl_uint *count);
rbpe_status rbpe_cl_devices(rbpe_err *err, cl_platform_id p,
                            cl_device_id **out, cl_uint *count);
/* Fills info for one device (strings cut for display, versions and
 * usability decided on the full strings); fails only when out of memory. */
rbpe_status rbpe_cl_describe(cl_platform_id p, cl_device_id d, int pi, int di,
                             rbpe_err *err, rbpe_device_info *info);
/* The full, trimmed text of a device string query (malloc'd), NULL when
 * the driver refuses it or memory runs out. */
char *rbpe_cl_device_string(cl_device_id d, cl_device_info what);

/* Builds a program from nsrc sources with the given options (never
 * -cl-fast-relaxed-math: ARCHITECTURE.md); a failure is RBPE_ERR_BUILD
 * naming `what` and the device, with the driver's build log as the
 * error's detail. */
rbpe_status rbpe_cl_build(rbpe_backend *be, cl_context ctx, cl_device_id dev,
                          const char **src, const size_t *len, int nsrc,
                          const char *options, const char *what,
                          cl_program *out);

/* A kernel argument: its size and where its value is. */
typedef struct {
  size_t size;
  const void *ptr;
} karg;
#define KARG(v) ((karg){sizeof(v), &(v)})

/* Sets a kernel's arguments and enqueues it over `dims` dimensions (an
 * injected enqueue fault reads as CL_OUT_OF_RESOURCES); a failure is
 * "WHAT failed on DEVICE: ERROR (code)". */
rbpe_status rbpe_cl_run(rbpe_backend *be, cl_command_queue q, cl_kernel k,
                        const char *what, const karg *args, int nargs,
                        cl_uint dims, const size_t *global,
                        const size_t *local);
/* A read-write buffer, or NULL with *rc set; an injected allocation fault
 * reads as CL_MEM_OBJECT_ALLOCATION_FAILURE. */
cl_mem rbpe_cl_buffer(cl_context ctx, size_t bytes, cl_int *rc);
/* A temporary kept between calls (*buf of *have bytes), replaced by one of
 * `need` bytes when it is smaller (queued work still using the old one
 * keeps it alive); "no room for N MiB of WHAT on DEVICE" when that fails. */
rbpe_status rbpe_cl_grow(rbpe_backend *be, cl_context ctx, cl_mem *buf,
                         size_t *have, size_t need, const char *what);

/* The device of an OpenCL backend (opencl.c). */
cl_device_id rbpe_opencl_device(const rbpe_backend *be);
/* Tells the backend which CLBlast Xgemm kernel (GEMMK) runs after an
 * override, so its GEMMs take the layout that kernel reads without copies. */
void rbpe_opencl_set_gemm_kernel(rbpe_backend *be, int gemmk);
/* rbpe's own GEMM state of an OpenCL backend, and which GEMM runs
 * (RBPE_CL_PATH_OWN or _CLBLAST, opencl_gemm.h) */
struct rbpe_own_gemm *rbpe_opencl_own_gemm(rbpe_backend *be);
void rbpe_opencl_set_gemm_path(rbpe_backend *be, int path);
/* GEMM tuning (opencl_tune.c): applies the cached parameters for this
 * device and driver, if any (1 when applied); and the search itself. */
int rbpe_cl_tuning_apply(rbpe_backend *be, const char *name, const char *driver);
rbpe_status rbpe_cl_tune(rbpe_backend *be, const char *name,
                         const char *driver, size_t max_wg, uint64_t local_mem,
                         int mma, const rbpe_tune_request *req,
                         rbpe_tune_report *rep);

#endif
