/* Output files are written under a temporary name in the target folder and
 * renamed into place, so readers never see a truncated file under the
 * final name (ARCHITECTURE.md, "Files a run writes"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

rbpe_status rbpe_write_atomic(const char *path, rbpe_write_fn write, void *user,
                              rbpe_err *err) {
  if (!strcmp(path, "-")) { /* standard output: written as it is made */
    rbpe_status st = write(stdout, user, err);
    if (st == RBPE_OK && (fflush(stdout) != 0 || ferror(stdout)))
      st = rbpe_err_set(err, RBPE_ERR_IO, "writing to standard output failed: %s",
                        strerror(errno));
    return st;
  }
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  RBPE_FAIL_IF(!tmp, err, RBPE_ERR_OUT_OF_MEMORY, "out of memory");
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    rbpe_status st = rbpe_err_set(err, RBPE_ERR_IO, "cannot create %s: %s",
                                  path, strerror(errno));
    free(tmp);
    return st;
  }
  /* mkstemp makes the file 0600; outputs get the usual 0666 & ~umask */
  mode_t mask = umask(0);
  umask(mask);
  FILE *f = fchmod(fd, 0666 & ~mask) == 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    rbpe_status st = rbpe_err_set(err, RBPE_ERR_IO, "cannot write %s: %s",
                                  path, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return st;
  }
  rbpe_status st = write(f, user, err);
  if (st == RBPE_OK && (fflush(f) != 0 || ferror(f) || fsync(fd) != 0))
    st = rbpe_err_set(err, RBPE_ERR_IO, "writing %s failed: %s", path,
                      strerror(errno));
  if (fclose(f) != 0 && st == RBPE_OK)
    st = rbpe_err_set(err, RBPE_ERR_IO, "writing %s failed: %s", path,
                      strerror(errno));
  if (st == RBPE_OK && rename(tmp, path) != 0)
    st = rbpe_err_set(err, RBPE_ERR_IO, "cannot rename into %s: %s", path,
                      strerror(errno));
  if (st != RBPE_OK) unlink(tmp);
  free(tmp);
  return st;
}
