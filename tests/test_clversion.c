/* The OpenCL version parsers and the display copy (opencl_version.h): every
 * form of CL_DEVICE_VERSION and CL_DEVICE_OPENCL_C_VERSION the
 * specification allows, the vendor suffixes real drivers write (long ones
 * included: PoCL on a Skylake-AVX512 host reports 65 characters, which a
 * 64-byte buffer once turned into "version 0.0"), and text that must be
 * refused. */
#include <string.h>

#include "backend/opencl_version.h"
#include "testutil.h"

static void ok(const char *text, int want_major, int want_minor) {
  int a = -1, b = -1;
  CHECK(rbpe_cl_parse_version(text, &a, &b) == 0 && a == want_major &&
            b == want_minor,
        "\"%s\" read as %d.%d, want %d.%d", text, a, b, want_major,
        want_minor);
}

static void bad(const char *text) {
  int a = -1, b = -1;
  CHECK(rbpe_cl_parse_version(text, &a, &b) == -1 && a == 0 && b == 0,
        "\"%s\" accepted as %d.%d", text ? text : "(null)", a, b);
}

static void c_ok(const char *text, int want_major, int want_minor) {
  int a = -1, b = -1;
  CHECK(rbpe_cl_parse_c_version(text, &a, &b) == 0 && a == want_major &&
            b == want_minor,
        "OpenCL C \"%s\" read as %d.%d, want %d.%d", text, a, b, want_major,
        want_minor);
}

static void c_bad(const char *text) {
  int a = -1, b = -1;
  CHECK(rbpe_cl_parse_c_version(text, &a, &b) == -1,
        "OpenCL C \"%s\" accepted as %d.%d", text, a, b);
}

int main(void) {
  /* what drivers report */
  ok("OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-skylake-avx512", 3, 0);
  ok("OpenCL 3.0 PoCL HSTR: pthread-x86_64-pc-linux-gnu-znver4", 3, 0);
  ok("OpenCL 1.2 pocl 1.8  Linux, None+Asserts, RELOC, LLVM 11.0.1, SLEEF", 1,
     2);
  ok("OpenCL 3.0 CUDA", 3, 0);
  ok("OpenCL 1.2 CUDA", 1, 2);
  ok("OpenCL 2.0 AMD-APP (3614.0)", 2, 0);
  ok("OpenCL 2.1 AMD-APP.dbg (3380.4)", 2, 1);
  ok("OpenCL 3.0 NEO ", 3, 0);
  ok("OpenCL 1.2 (Build 37)", 1, 2);
  ok("OpenCL 3.0 Mesa 23.2.1 (LLVM 15.0.7)", 3, 0);
  ok("OpenCL 1.1 Mesa 22.3.6", 1, 1);
  ok("OpenCL 1.2 Oclgrind 21.10", 1, 2);
  /* the specification's bare forms and white space */
  ok("OpenCL 1.2 ", 1, 2);
  ok("OpenCL 1.2", 1, 2);
  ok("  OpenCL 1.2 x", 1, 2);
  ok("OpenCL\t2.2\tvendor", 2, 2);
  ok("OpenCL   3.0   spaced", 3, 0);
  ok("OpenCL 10.12 future", 10, 12);
  ok("OpenCL 1.20 two-digit minor", 1, 20);
  ok("OpenCL 1.2CUDA", 1, 2);   /* a suffix written straight after */
  ok("OpenCL 3.0.1 patch", 3, 0);
  ok("OpenCL 2.0 \xc3\xa9t\xc3\xa9", 2, 0);
  /* a vendor part far longer than any fixed buffer */
  char longer[4096];
  strcpy(longer, "OpenCL 3.0 ");
  memset(longer + 11, 'x', sizeof longer - 12);
  longer[sizeof longer - 1] = '\0';
  ok(longer, 3, 0);
  /* refused */
  bad(NULL);
  bad("");
  bad("   ");
  bad("OpenCL");
  bad("OpenCL ");
  bad("OpenCL1.2");
  bad("opencl 1.2");
  bad("OpenGL 4.6");
  bad("OpenCL C 1.2");     /* the OpenCL C version is another query */
  bad("OpenCL 1");
  bad("OpenCL 1.");
  bad("OpenCL .2");
  bad("OpenCL -1.2");
  bad("OpenCL +1.2");
  bad("OpenCL 1,2");
  bad("OpenCL 12345.0");
  bad("OpenCL 1.99999");
  bad("HSTR: OpenCL 3.0");

  c_ok("OpenCL C 1.2 PoCL", 1, 2);
  c_ok("OpenCL C 1.2 ", 1, 2);
  c_ok("OpenCL C 3.0", 3, 0);
  c_ok("OpenCL C 2.0 ", 2, 0);
  c_ok("OpenCL C 1.1", 1, 1);
  c_bad("OpenCL 1.2");
  c_bad("OpenCL C1.2");
  c_bad("OpenCL C x");
  c_bad("");

  /* display copies: cut with "...", never inside a UTF-8 sequence */
  char d[16];
  CHECK(rbpe_cl_copy_display(d, sizeof d, "short") == 0 && !strcmp(d, "short"),
        "short copy: \"%s\"", d);
  CHECK(rbpe_cl_copy_display(d, sizeof d, "exactly15chars!") == 0 &&
            !strcmp(d, "exactly15chars!"),
        "15 characters in 16: \"%s\"", d);
  CHECK(rbpe_cl_copy_display(d, sizeof d, "sixteen chars!!!") == 1 &&
            !strcmp(d, "sixteen char..."),
        "cut: \"%s\"", d);
  CHECK(rbpe_cl_copy_display(d, sizeof d, "abcdefghijk\xc3\xa9\xc3\xa9\xc3\xa9") == 1 &&
            !strcmp(d, "abcdefghijk..."),
        "cut before a two-byte character: \"%s\"", d);
  CHECK(rbpe_cl_copy_display(d, sizeof d, NULL) == 0 && d[0] == '\0',
        "NULL: \"%s\"", d);
  char tiny[3];
  CHECK(rbpe_cl_copy_display(tiny, sizeof tiny, "abcdef") == 1 &&
            !strcmp(tiny, ".."),
        "3-byte field: \"%s\"", tiny);
  return test_summary("test_clversion");
}
