/* Error reporting and strict option parsing for the rbpe command line. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  const char *detail = ctx ? rbpe_last_error_detail(ctx) : "";
  int verbose = getenv("RBPE_VERBOSE") != NULL;
  /* one line; the detail (a build log) on request */
  fprintf(stderr, "rbpe %s: %s%s\n", cmd, *msg ? msg : rbpe_status_string(st),
          *detail && !verbose ? " (RBPE_VERBOSE=1 prints the details)" : "");
  if (*detail && verbose) fprintf(stderr, "--- details ---\n%s\n", detail);
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

int cli_flag(const char *arg, const char *name) {
  if (!strcmp(arg, name)) return 1;
  if (!strcmp(name, "--quiet")) return !strcmp(arg, "-q");
  if (!strcmp(name, "--help")) return !strcmp(arg, "-h");
  return 0;
}

void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

void cli_json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.9g", v);
  else fputs("null", f);
}

int cli_opt(int argc, char **argv, int *i, const char *name,
            const char **value) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  /* the short form of the common options: "-o DIR", "-d SPEC" */
  const char *alias = !strcmp(name, "--out") || !strcmp(name, "--output") ? "-o"
                      : !strcmp(name, "--device")                        ? "-d"
                                                                         : NULL;
  if (alias && !strcmp(a, alias)) {
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
  }
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}

int cli_parse_bytes(const char *text, uint64_t *out) {
  if (!text || !*text) return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || end == text || text[0] == '-') return 0;
  uint64_t mul = 1;
  if (*end == 'K' || *end == 'k') mul = 1024, end++;
  else if (*end == 'M' || *end == 'm') mul = 1024 * 1024, end++;
  else if (*end == 'G' || *end == 'g') mul = 1024ull * 1024 * 1024, end++;
  if (*end || v == 0 || v > UINT64_MAX / mul) return 0;
  *out = v * mul;
  return 1;
}

int cli_select(const char *cmd, rbpe_ctx *ctx, const char *device, int quiet) {
  rbpe_status st = rbpe_ctx_select_device(ctx, device);
  if (st != RBPE_OK) return cli_fail(cmd, ctx, st);
  if (!quiet)
    fprintf(stderr, "rbpe %s: device %s\n", cmd, rbpe_ctx_device_description(ctx));
  return EXIT_OK;
}

rbpe_ctx *cli_open(const char *cmd, const char *device, uint64_t max_memory,
                   int quiet, int *rc) {
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) {
    fprintf(stderr, "rbpe %s: out of memory\n", cmd);
    *rc = EXIT_FAILURE_RUN;
    return NULL;
  }
  rbpe_ctx_set_memory_limit(ctx, max_memory);
  *rc = cli_select(cmd, ctx, device, quiet);
  if (*rc != EXIT_OK) {
    rbpe_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}

/* One sample per line; channels as comma-separated columns (the text
 * loader reads them back). */
static int write_values(FILE *f, void *user) {
  const rbpe_signal *s = user;
  const float *d = rbpe_signal_data(s);
  size_t n = rbpe_signal_samples(s);
  int C = rbpe_signal_channels(s);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < C; c++)
      if (fprintf(f, "%.9g%c", (double)d[i * C + c], c + 1 < C ? ',' : '\n') < 0)
        return -1;
  return 0;
}

rbpe_status cli_save_text(rbpe_ctx *ctx, const char *path,
                          const rbpe_signal *s) {
  return rbpe_write_file(ctx, path, write_values, (void *)s);
}
