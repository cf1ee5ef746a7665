/* Test-only fault injection; see fault.h. Not thread-safe by design: the
 * OpenCL backend is driven from one host thread. */
#include "fault.h"

#ifdef RBPE_FAULT_INJECTION
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_name[RBPE_FAULT_KINDS] = {"alloc", "build",
                                                        "enqueue", "clblast"};
static unsigned long counts[RBPE_FAULT_KINDS];
static unsigned long fail_at[RBPE_FAULT_KINDS];
static int parsed;

static void parse(void) {
  parsed = 1;
  const char *s = getenv("RBPE_FAULT");
  while (s && *s) {
    for (int k = 0; k < RBPE_FAULT_KINDS; k++) {
      size_t n = strlen(kind_name[k]);
      if (!strncmp(s, kind_name[k], n) && s[n] == ':') {
        fail_at[k] = strtoul(s + n + 1, NULL, 10);
        break;
      }
    }
    s = strchr(s, ',');
    if (s) s++;
  }
}

int rbpe_fault_hit(rbpe_fault_kind kind) {
  if (!parsed) parse();
  counts[kind]++;
  return fail_at[kind] != 0 && counts[kind] == fail_at[kind];
}

void rbpe_fault_report(void) {
  const char *path = getenv("RBPE_FAULT_COUNTS");
  if (!path) return;
  FILE *f = fopen(path, "w");
  if (!f) return;
  for (int k = 0; k < RBPE_FAULT_KINDS; k++)
    fprintf(f, "%s %lu\n", kind_name[k], counts[k]);
  fclose(f);
}
#else
/* ISO C wants something in a translation unit. */
typedef int rbpe_fault_unused;
#endif
