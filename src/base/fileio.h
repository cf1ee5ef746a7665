/* Files a run writes: through a temporary name in the same folder,
 * renamed into place when complete (ARCHITECTURE.md "Files a run
 * writes"). Base layer: needs nothing above it. */
#ifndef RBPE_FILEIO_H
#define RBPE_FILEIO_H

#include <stdio.h>

#include "error.h"

/* write() gets the open stream and returns a status; "-" writes to
 * standard output as it is made. */
typedef rbpe_status (*rbpe_write_fn)(FILE *f, void *user, rbpe_err *err);
rbpe_status rbpe_write_atomic(const char *path, rbpe_write_fn write, void *user,
                              rbpe_err *err);

#endif
