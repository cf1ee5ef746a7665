/* The ref backend: plain C, one thread, the arithmetic every other
 * backend is checked against (ARCHITECTURE.md). */
#ifndef RBPE_BACKEND_REF_H
#define RBPE_BACKEND_REF_H

#include "backend.h"

rbpe_status rbpe_ref_backend_create(rbpe_err *err, rbpe_backend **out);

#endif
