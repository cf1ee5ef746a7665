/* The OpenCL backend (opencl*.c): the only part of rbpe that knows
 * OpenCL; absent from a build without it (meson option opencl). */
#ifndef RBPE_BACKEND_OPENCL_H
#define RBPE_BACKEND_OPENCL_H

#include "backend.h"

rbpe_status rbpe_opencl_backend_create(int platform, int device, rbpe_err *err,
                                       rbpe_backend **out);
/* Tests only (opencl_tune.c): every later GEMM on this OpenCL device takes
 * CLBlast's indirect route, with its own parameters (gemmk < 0) or a fixed
 * set of its kernel 0 or 1; process-wide, not undone. */
rbpe_status rbpe_opencl_gemm_test_route(rbpe_backend *be, int gemmk);
/* Tests only (opencl_gemm.c): every later GEMM on this device runs rbpe's
 * own kernels with the given tiles ("MWG=..,NWG=..,KWG=..,MDIM=..,NDIM=..");
 * refused when they do not fit the device. */
rbpe_status rbpe_opencl_gemm_test_tiles(rbpe_backend *be, const char *tiles);
/* rbpe_cl_gemm_selftest on the backend's own GEMM, its main tiles */
rbpe_status rbpe_opencl_gemm_selftest(rbpe_backend *be, double *ratio);
/* Every OpenCL device (opencl_devices.c); see rbpe_list_devices. */
rbpe_status rbpe_opencl_list_devices(rbpe_err *err, rbpe_device_info **devices,
                                     size_t *count, int *platforms_found);
/* Resolves an OpenCL spec ("cl", "cl:P:D", "cl:TEXT", or "auto" which may
 * answer *found = 0) to indices (opencl_devices.c). */
rbpe_status rbpe_opencl_resolve(const char *spec, rbpe_err *err, int *found,
                                int *platform, int *device,
                                rbpe_device_type *type);

#endif
