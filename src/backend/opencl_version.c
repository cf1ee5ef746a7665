/* OpenCL version strings (see opencl_version.h). */
#include "opencl_version.h"

#include <string.h>

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A decimal number of 1 to 4 digits at *p; advances *p past it. */
static int number(const char **p, int *out) {
  int v = 0, k = 0;
  while (is_digit(**p)) {
    if (++k > 4) return -1;
    v = v * 10 + (**p - '0');
    (*p)++;
  }
  if (k == 0) return -1;
  *out = v;
  return 0;
}

/* "<major>.<minor>" followed by the end of the text or a non-digit that
 * does not continue the number (white space, or a vendor suffix written
 * straight after, as in "1.2CUDA"). A third component ("3.0.1") is taken
 * as vendor text after major.minor. */
static int major_minor(const char *p, int *major, int *minor) {
  int a, b;
  if (number(&p, &a)) return -1;
  if (*p != '.') return -1;
  p++;
  if (number(&p, &b)) return -1;
  *major = a;
  *minor = b;
  return 0;
}

static int parse(const char *text, const char *prefix, int *major,
                 int *minor) {
  *major = *minor = 0;
  if (!text) return -1;
  const char *p = text;
  while (is_space(*p)) p++;
  /* the prefix's words, each followed by one or more spaces */
  while (*prefix) {
    size_t n = strcspn(prefix, " ");
    if (strncmp(p, prefix, n)) return -1;
    p += n;
    prefix += n;
    if (!is_space(*p)) return -1;
    while (is_space(*p)) p++;
    while (*prefix == ' ') prefix++;
  }
  int a, b;
  if (major_minor(p, &a, &b)) return -1;
  *major = a;
  *minor = b;
  return 0;
}

int rbpe_cl_parse_version(const char *text, int *major, int *minor) {
  return parse(text, "OpenCL", major, minor);
}

int rbpe_cl_parse_c_version(const char *text, int *major, int *minor) {
  return parse(text, "OpenCL C", major, minor);
}

int rbpe_cl_copy_display(char *dst, size_t cap, const char *src) {
  if (cap == 0) return 1;
  if (!src) src = "";
  size_t n = strlen(src);
  if (n < cap) {
    memcpy(dst, src, n + 1);
    return 0;
  }
  if (cap < 4) {
    memset(dst, '.', cap - 1);
    dst[cap - 1] = '\0';
    return 1;
  }
  size_t keep = cap - 4;
  /* never end inside a UTF-8 sequence: back off continuation bytes */
  while (keep > 0 && ((unsigned char)src[keep] & 0xC0) == 0x80) keep--;
  memcpy(dst, src, keep);
  memcpy(dst + keep, "...", 4);
  return 1;
}
