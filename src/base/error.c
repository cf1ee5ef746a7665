/* Status names and the error record every context carries. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rbpe_status_string(rbpe_status s) {
  switch (s) {
  case RBPE_OK: return "success";
  case RBPE_ERR_INVALID_ARGUMENT: return "invalid argument";
  case RBPE_ERR_OUT_OF_MEMORY: return "out of host memory";
  case RBPE_ERR_IO: return "input/output error";
  case RBPE_ERR_BAD_FORMAT: return "bad file format";
  case RBPE_ERR_TOO_LARGE: return "too large";
  case RBPE_ERR_NO_DEVICE: return "no such device";
  case RBPE_ERR_DEVICE: return "device error";
  case RBPE_ERR_DEVICE_MEMORY: return "out of device memory";
  case RBPE_ERR_BUILD: return "kernel build failed";
  case RBPE_ERR_NUMERIC: return "not a finite number";
  case RBPE_ERR_UNSUPPORTED: return "unsupported";
  case RBPE_ERR_INTERRUPTED: return "interrupted";
  case RBPE_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

rbpe_status rbpe_err_set(rbpe_err *err, rbpe_status code, const char *fmt, ...) {
  if (!err) return code;
  err->status = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  /* One line, always: a newline from a driver string would break the CLI. */
  for (char *p = err->msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  free(err->detail);
  err->detail = NULL;
  return code;
}

void rbpe_err_detail(rbpe_err *err, const char *text) {
  if (!err || !text) return;
  free(err->detail);
  size_t n = strlen(text);
  err->detail = malloc(n + 1);
  if (err->detail) memcpy(err->detail, text, n + 1);
}

void rbpe_err_clear(rbpe_err *err) {
  if (!err) return;
  err->status = RBPE_OK;
  err->msg[0] = '\0';
  free(err->detail);
  err->detail = NULL;
}
