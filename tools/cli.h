/* Shared pieces of the rbpe command line: exit codes, error reporting and
 * option parsing helpers. */
#ifndef RBPE_CLI_H
#define RBPE_CLI_H

#include "rbpe.h"

/* Documented exit codes (README "Exit codes"). */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_RUN = 1, /* the work failed (device, I/O, numerics) */
  EXIT_USAGE = 2,       /* a bad flag or value */
  EXIT_NO_DEVICE = 3,   /* the requested device does not exist or is unusable */
  EXIT_BAD_INPUT = 4,   /* an input file is missing, damaged or too large */
  EXIT_CHECK_FAILED = 5,/* `rbpe check` found a mismatch */
  EXIT_INTERRUPTED = 130
};

/* Prints "rbpe CMD: message" (one line) and returns the exit code for st. */
int cli_fail(const char *cmd, rbpe_ctx *ctx, rbpe_status st);
int cli_usage_error(const char *cmd, const char *fmt, ...);
int cli_exit_code(rbpe_status st);

/* Strict number parsing: the whole text must be a number in [lo, hi]. */
int cli_parse_long(const char *text, long lo, long hi, long *out);
int cli_parse_float(const char *text, double lo, double hi, float *out);

int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
