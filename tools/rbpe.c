/* The rbpe command line: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *what;
} commands[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices"},
    {"info", cmd_info, "load a signal file and describe it"},
    {"fit", cmd_fit, "fit a coordinate-MLP to an image or 1-D signal"},
    {"render", cmd_render, "render a saved model at any resolution"},
    {"check", cmd_check, "compare every op and a short training run with ref"},
    {"bench", cmd_bench, "training and inference throughput per device"},
    {"experiment", cmd_experiment, "the seed's experiment grid: RESULTS.md, CSV and panels"},
    {"tune", cmd_tune, "tune CLBlast GEMM for an OpenCL device and cache it"},
};

static void usage(FILE *to) {
  fprintf(to, "usage: rbpe COMMAND [OPTIONS]  (rbpe COMMAND --help)\n\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].what);
  fprintf(to, "\nDevice: -d/--device SPEC or RBPE_DEVICE: auto, cpu, ref, cl, "
              "cl:P:D or cl:NAME\n(rbpe devices lists them). rbpe -V prints "
              "the version.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("rbpe %d.%d.%d\n", RBPE_VERSION_MAJOR, RBPE_VERSION_MINOR,
           RBPE_VERSION_PATCH);
    return EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "rbpe: unknown command '%s' (see rbpe --help)\n", argv[1]);
  return EXIT_USAGE;
}
