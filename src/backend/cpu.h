/* The cpu backend: OpenMP loops and OpenBLAS SGEMM on the host; absent
 * from a build without OpenBLAS (meson option openblas). */
#ifndef RBPE_BACKEND_CPU_H
#define RBPE_BACKEND_CPU_H

#include "backend.h"

rbpe_status rbpe_cpu_backend_create(rbpe_err *err, rbpe_backend **out);

#endif
