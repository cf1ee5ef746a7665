/* `rbpe devices`: every OpenCL platform and device, whether rbpe can use
 * it, and which device a --device spec selects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *devices_help =
    "usage: rbpe devices [--device SPEC] [--json]\n"
    "Lists every OpenCL platform and device with its type, vendor, driver,\n"
    "OpenCL version, compute units, memory and whether rbpe can use it,\n"
    "then the device that SPEC (or $RBPE_DEVICE, or auto) selects.\n";

static void mib(char *buf, size_t n, uint64_t bytes) {
  if (bytes >= ((uint64_t)1 << 30))
    snprintf(buf, n, "%.1f GiB", bytes / 1073741824.0);
  else if (bytes >= ((uint64_t)1 << 20))
    snprintf(buf, n, "%.1f MiB", bytes / 1048576.0);
  else
    snprintf(buf, n, "%.0f KiB", bytes / 1024.0);
}

static void print_json(const rbpe_device_info *list, size_t n, int nplat,
                       const char *selected) {
  FILE *f = stdout;
  fprintf(f, "{\"opencl_platforms\": %d, \"opencl_devices\": [", nplat);
  for (size_t i = 0; i < n; i++) {
    const rbpe_device_info *d = &list[i];
    fprintf(f, "%s\n  {\"spec\": \"cl:%d:%d\", \"name\": ", i ? "," : "",
            d->platform_index, d->device_index);
    cli_json_str(f, d->name);
    fputs(", \"platform\": ", f);
    cli_json_str(f, d->platform);
    fputs(", \"platform_vendor\": ", f);
    cli_json_str(f, d->platform_vendor);
    fputs(", \"vendor\": ", f);
    cli_json_str(f, d->vendor);
    fputs(", \"type\": ", f);
    cli_json_str(f, rbpe_device_type_string(d->type));
    fputs(", \"driver_version\": ", f);
    cli_json_str(f, d->driver_version);
    fputs(", \"opencl_version\": ", f);
    cli_json_str(f, d->opencl_version);
    fprintf(f, ", \"opencl\": \"%d.%d\", \"opencl_c\": \"%d.%d\", "
               "\"compute_units\": %u, \"max_work_group_size\": %zu, "
               "\"global_mem_bytes\": %llu, \"local_mem_bytes\": %llu, "
               "\"max_alloc_bytes\": %llu, \"usable\": %s",
            d->opencl_major, d->opencl_minor, d->opencl_c_major,
            d->opencl_c_minor, d->compute_units, d->max_work_group_size,
            (unsigned long long)d->global_mem_bytes,
            (unsigned long long)d->local_mem_bytes,
            (unsigned long long)d->max_alloc_bytes, d->usable ? "true" : "false");
    if (!d->usable) {
      fputs(", \"why_not\": ", f);
      cli_json_str(f, d->why_not);
    }
    fputc('}', f);
  }
  fputs("],\n \"host_devices\": [{\"spec\": \"cpu\", \"what\": \"threaded host "
        "backend, OpenBLAS SGEMM\"}, {\"spec\": \"ref\", \"what\": \"reference "
        "C backend\"}],\n \"selected\": ", f);
  cli_json_str(f, selected);
  fputs("}\n", f);
}

int cmd_devices(int argc, char **argv) {
  const char *spec = NULL;
  int json = 0;
  const cli_option table[] = {
      {"--device", CLI_STRING, &spec, 0, 0, "SPEC", "the device to select: auto | cpu | ref | cl | cl:P:D | cl:NAME (substring of platform, vendor or device name, case-insensitive; $RBPE_DEVICE, else auto)"},
      {"--json", CLI_FLAG, &json, 1, 0, NULL, "the same as one JSON object on stdout"},
      {NULL}};
  int prc = cli_options_run("devices", devices_help, table, argc, argv, NULL, 0);
  if (prc >= 0) return prc;
  rbpe_ctx *ctx = rbpe_ctx_new();
  if (!ctx) return cli_usage_error("devices", "out of memory");
  /* Resolve the spec first: a mistake is one line, not a listing. */
  rbpe_status st = rbpe_ctx_select_device(ctx, spec);
  if (st != RBPE_OK) {
    int rc = cli_fail("devices", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  rbpe_device_info *list;
  size_t n;
  int nplat;
  st = rbpe_list_devices(ctx, &list, &n, &nplat);
  if (st != RBPE_OK) {
    int rc = cli_fail("devices", ctx, st);
    rbpe_ctx_free(ctx);
    return rc;
  }
  if (json) {
    print_json(list, n, nplat, rbpe_ctx_device_description(ctx));
    rbpe_free(list);
    rbpe_ctx_free(ctx);
    return EXIT_OK;
  }
  if (nplat == 0) {
    printf("No OpenCL platform found: the ICD loader lists no vendor "
           "(/etc/OpenCL/vendors is empty or missing).\n"
           "Install a driver (e.g. pocl-opencl-icd for CPUs) to use cl "
           "devices; ref works without one.\n");
  } else {
    printf("%d OpenCL platform(s), %zu device(s):\n", nplat, n);
    for (size_t i = 0; i < n; i++) {
      const rbpe_device_info *d = &list[i];
      char g[32], l[32], a[32];
      mib(g, sizeof g, d->global_mem_bytes);
      mib(l, sizeof l, d->local_mem_bytes);
      mib(a, sizeof a, d->max_alloc_bytes);
      printf("  cl:%d:%d  %s\n", d->platform_index, d->device_index, d->name);
      printf("      platform: %s (%s) | vendor: %s | type: %s\n",
             d->platform, d->platform_vendor, d->vendor,
             rbpe_device_type_string(d->type));
      printf("      driver: %s | %s (read as %d.%d, OpenCL C %d.%d) | "
             "compute units: %u | max work-group: %zu\n",
             d->driver_version, d->opencl_version, d->opencl_major,
             d->opencl_minor, d->opencl_c_major, d->opencl_c_minor,
             d->compute_units, d->max_work_group_size);
      printf("      global memory: %s | local memory: %s | max allocation: "
             "%s\n",
             g, l, a);
      printf("      usable by rbpe: %s%s\n", d->usable ? "yes" : "no, ",
             d->usable ? "" : d->why_not);
    }
  }
  printf("  cpu     threaded host backend, OpenBLAS SGEMM (always available)\n");
  printf("  ref     reference C backend (always available)\n");
  rbpe_free(list);
  const char *shown = spec ? spec : getenv("RBPE_DEVICE");
  printf("selected (%s): %s\n", shown && *shown ? shown : "auto",
         rbpe_ctx_device_description(ctx));
  char gemm[320];
  if (rbpe_ctx_gemm(ctx, NULL, gemm, sizeof gemm) == RBPE_OK)
    printf("GEMM there: %s\n", gemm);
  rbpe_ctx_free(ctx);
  return EXIT_OK;
}
