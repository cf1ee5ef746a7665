/* Reading the version strings OpenCL drivers report. No OpenCL types here:
 * the parsers are plain text functions, tested on their own
 * (tests/test_clversion.c) with every form the specification allows and
 * the vendor suffixes drivers add. */
#ifndef RBPE_OPENCL_VERSION_H
#define RBPE_OPENCL_VERSION_H

#include <stddef.h>

/* CL_DEVICE_VERSION and CL_PLATFORM_VERSION read
 * "OpenCL<space><major>.<minor><space><vendor-specific information>"
 * (OpenCL 1.2 to 3.0 specifications); the vendor part may be empty, long
 * (PoCL: "OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-skylake-avx512")
 * or missing. Leading and trailing white space is ignored. Returns 0 with
 * *major and *minor set, or -1 (both set to 0) when the text does not start
 * with that form: a missing or different prefix (case matters, as in the
 * specification), no space after it, a number that is missing, signed or
 * above 9999. Text straight after the minor number ("1.2CUDA", "3.0.1") is
 * taken as the vendor part. */
int rbpe_cl_parse_version(const char *text, int *major, int *minor);

/* CL_DEVICE_OPENCL_C_VERSION: "OpenCL<space>C<space><major>.<minor>
 * <space><vendor-specific information>". Same rules. */
int rbpe_cl_parse_c_version(const char *text, int *major, int *minor);

/* Copies src into dst[cap] for display: when it does not fit, it is cut at
 * a character boundary of UTF-8 and ends with "...". Returns 1 when cut. */
int rbpe_cl_copy_display(char *dst, size_t cap, const char *src);

#endif
