/* Error reporting and strict option parsing for the rbpe command line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_exit_code(rbpe_status st) {
  switch (st) {
  case RBPE_OK: return EXIT_OK;
  case RBPE_ERR_INVALID_ARGUMENT: return EXIT_USAGE;
  case RBPE_ERR_NO_DEVICE: return EXIT_NO_DEVICE;
  case RBPE_ERR_IO:
  case RBPE_ERR_BAD_FORMAT:
  case RBPE_ERR_TOO_LARGE: return EXIT_BAD_INPUT;
  case RBPE_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
  default: return EXIT_FAILURE_RUN;
  }
}

int cli_fail(const char *cmd, rbpe_ctx *ctx, rbpe_status st) {
  const char *msg = ctx ? rbpe_last_error(ctx) : "";
  fprintf(stderr, "rbpe %s: %s\n", cmd, *msg ? msg : rbpe_status_string(st));
  const char *detail = ctx ? rbpe_last_error_detail(ctx) : "";
  if (*detail && getenv("RBPE_VERBOSE"))
    fprintf(stderr, "--- detail ---\n%s\n", detail);
  else if (*detail)
    fprintf(stderr, "(set RBPE_VERBOSE=1 to see the %s detail)\n",
            rbpe_status_string(st));
  return cli_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rbpe %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (see rbpe %s --help)\n", cmd);
  va_end(ap);
  return EXIT_USAGE;
}

int cli_parse_long(const char *text, long lo, long hi, long *out) {
  if (!text || !*text) return 0;
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (*end || errno || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

int cli_parse_float(const char *text, double lo, double hi, float *out) {
  if (!text || !*text) return 0;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (*end || errno || !isfinite(v) || v < lo || v > hi) return 0;
  *out = (float)v;
  return 1;
}
