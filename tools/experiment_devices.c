/* `rbpe experiment --devices`: one grid on every device of a machine at
 * once. The parent starts one worker process per device (this command
 * again, with --worker SPEC --queue DIR --out DIR/w-SPEC); the workers take
 * units from one queue, a folder where creating the file named by the unit
 * (O_EXCL) claims it, so a fast device simply takes more; each worker
 * journals and writes its part like a shard, and the parent collects them.
 *
 * `all` is the cpu backend and every OpenCL device that is not a CPU (a
 * CPU OpenCL device would compute on the same cores, more slowly).
 * Cores: the workers that compute on the host (the cpu and ref backends,
 * OpenCL CPU devices such as PoCL and rusticl) share the host's cores
 * evenly: OMP_NUM_THREADS for the cpu backend, POCL_MAX_PTHREAD_COUNT for
 * PoCL, LP_NUM_THREADS for rusticl (llvmpipe); a GPU worker gets one host
 * thread, which is all it uses while the device computes. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiment.h"

#define MAX_WORKERS 16

void short_device(const char *desc, char *out, size_t n) {
  const char *d = desc ? desc : "";
  if (!strncmp(d, "opencl ", 7)) d += 7;
  size_t len = strcspn(d, " ");
  snprintf(out, n, "%.*s", (int)len, d);
}

/* The queue file of unit u. */
static void unit_path(const char *queue, long u, char *path, size_t n) {
  snprintf(path, n, "%s/%ld", queue, u);
}

/* Claims unit u for worker: 1 when it is (now or already) the worker's. */
static int claim_for(const char *queue, long u, const char *worker) {
  char path[4300], owner[64];
  unit_path(queue, u, path, sizeof path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) {
    size_t len = strlen(worker);
    int ok = write(fd, worker, len) == (ssize_t)len;
    close(fd);
    return ok;
  }
  if (errno != EEXIST) return 0;
  /* someone's: this worker's when the parent claimed it from its journal
   * (a unit whose rows were journaled but not its pictures) */
  fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t got = read(fd, owner, sizeof owner - 1);
  close(fd);
  owner[got > 0 ? got : 0] = '\0';
  return !strcmp(owner, worker);
}

int claim_unit(const grid *g, long u) {
  return claim_for(g->queue, u, g->worker);
}

typedef struct worker {
  char spec[24];   /* cpu, ref, cl:P:D */
  char dir[4200];  /* OUT/w-SPEC */
  int host;        /* computes on the host's cores */
  const char *thread_var; /* the variable that caps its threads, or NULL */
  pid_t pid;
  int status;
} worker;

/* The workers of list: "all" (cpu and every usable OpenCL device that is
 * not a CPU) or specs; each resolved to its device, none twice. */
static int resolve(rbpe_ctx *ctx, const char *list, worker *w, int *n) {
  rbpe_device_info *devs = NULL;
  size_t nd = 0;
  int found = 0;
  if (rbpe_list_devices(ctx, &devs, &nd, &found) != RBPE_OK) nd = 0;
  char buf[1024], specs[MAX_WORKERS + 1][24];
  int ns = 0, rc = EXIT_OK;
  if (!strcmp(list, "all")) {
    /* the cpu backend, and every device that is not the host's CPU again:
     * an OpenCL CPU device (PoCL, rusticl) computes on the cores the cpu
     * backend uses, more slowly (8x on the quick grid here), so a share of
     * the cores is worth more to the cpu backend; list it to use it */
    snprintf(specs[ns++], sizeof specs[0], "cpu");
    for (size_t i = 0; i < nd && ns < MAX_WORKERS; i++)
      if (devs[i].usable && devs[i].type != RBPE_DEVICE_CPU)
        snprintf(specs[ns++], sizeof specs[0], "cl:%d:%d", devs[i].platform_index,
                 devs[i].device_index);
  } else {
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && rc == EXIT_OK;
         t = strtok_r(NULL, ",", &save)) {
      if (ns == MAX_WORKERS) {
        rc = cli_usage_error("experiment", "--devices takes up to %d devices", MAX_WORKERS);
        break;
      }
      rbpe_ctx *probe = rbpe_ctx_new();
      if (!probe || rbpe_ctx_select_device(probe, t) != RBPE_OK) {
        fprintf(stderr, "rbpe experiment: --devices: %s: %s\n", t,
                probe ? rbpe_last_error(probe) : "out of memory");
        rc = EXIT_NO_DEVICE;
      } else {
        short_device(rbpe_ctx_device_description(probe), specs[ns++], sizeof specs[0]);
      }
      rbpe_ctx_free(probe);
    }
  }
  for (int i = 0; i < ns && rc == EXIT_OK; i++) {
    worker *x = &w[i];
    memset(x, 0, sizeof *x);
    memcpy(x->spec, specs[i], sizeof x->spec);
    for (int j = 0; j < i; j++)
      if (!strcmp(w[j].spec, x->spec)) {
        rc = cli_usage_error("experiment", "--devices names %s twice", x->spec);
        break;
      }
    int p, d;
    x->host = 1;
    if (!strcmp(x->spec, "cpu")) x->thread_var = "OMP_NUM_THREADS";
    else if (sscanf(x->spec, "cl:%d:%d", &p, &d) == 2)
      for (size_t k = 0; k < nd; k++)
        if (devs[k].platform_index == p && devs[k].device_index == d) {
          x->host = devs[k].type == RBPE_DEVICE_CPU;
          if (!x->host) continue; /* a GPU: no host threads to cap */
          if (strstr(devs[k].platform, "Portable Computing Language"))
            x->thread_var = "POCL_MAX_PTHREAD_COUNT";
          else if (strstr(devs[k].platform, "rusticl"))
            x->thread_var = "LP_NUM_THREADS";
        }
  }
  rbpe_free(devs);
  *n = ns;
  if (rc == EXIT_OK && ns == 0)
    rc = cli_usage_error("experiment", "--devices: no device");
  return rc;
}

/* A fresh queue, with the units each worker's journal already holds
 * claimed for it, so no other worker fits them again; 0 or -1. */
static int prepare_queue(grid *g, const char *queue, worker *w, int n) {
  if (mkdir(queue, 0777) != 0 && errno != EEXIST) return -1;
  DIR *d = opendir(queue);
  if (!d) return -1;
  char path[4600], why[4400];
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') {
      snprintf(path, sizeof path, "%s/%s", queue, e->d_name);
      unlink(path);
    }
  closedir(d);
  for (int i = 0; i < n; i++) {
    /* what the worker's resume will read back (a journal it could not
     * have written completely, say stopped in its header, holds nothing) */
    snprintf(path, sizeof path, "%s/journal.csv", w[i].dir);
    if (access(path, R_OK) != 0 ||
        read_results_csv(g, path, why, sizeof why) != 0)
      continue;
    /* the first to hold a unit keeps it */
    for (long u = 0; u < units(g); u++) {
      unit_pos q = unit_at(g, u);
      if (g->res[at(g, q.s, q.l, q.p, q.m, q.k)].done)
        claim_for(queue, u, w[i].spec);
    }
  }
  return 0;
}

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

int run_devices(rbpe_ctx *ctx, grid *g, const char *list, const char *outdir,
                int argc, char **argv, char *dirs, size_t dlen) {
  worker w[MAX_WORKERS];
  int n = 0;
  int rc = resolve(ctx, list, w, &n);
  if (rc != EXIT_OK) return rc;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int hosts = 0;
  for (int i = 0; i < n; i++) hosts += w[i].host;
  long share = hosts ? cores / hosts : 1;
  if (share < 1) share = 1;
  char queue[4200];
  snprintf(queue, sizeof queue, "%s/.queue", outdir);
  dirs[0] = '\0';
  for (int i = 0; i < n; i++) {
    char tag[24];
    memcpy(tag, w[i].spec, sizeof tag);
    for (char *c = tag; *c; c++)
      if (*c == ':') *c = '_';
    snprintf(w[i].dir, sizeof w[i].dir, "%s/w-%s", outdir, tag);
    size_t o = strlen(dirs);
    snprintf(dirs + o, dlen - o, "%s%s", o ? "," : "", w[i].dir);
  }
  if (prepare_queue(g, queue, w, n) != 0) {
    fprintf(stderr, "rbpe experiment: cannot make the queue %s: %s\n", queue,
            strerror(errno));
    return EXIT_OUTPUT;
  }
  /* this command again for each worker: the same grid options, --devices
   * replaced by the worker's own */
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0) {
    fprintf(stderr, "rbpe experiment: cannot find this program: %s\n", strerror(errno));
    return EXIT_FAILURE_RUN;
  }
  self[len] = '\0';
  char **args = calloc((size_t)argc + 10, sizeof *args);
  if (!args) return EXIT_FAILURE_RUN;
  int na = 0;
  args[na++] = "rbpe";
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--devices")) {
      i++;
      continue;
    }
    if (!strncmp(argv[i], "--devices=", 10)) continue;
    args[na++] = argv[i];
  }
  int fixed = na;
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  fprintf(stderr, "rbpe experiment: %d worker(s) on one queue (%s):", n, queue);
  for (int i = 0; i < n; i++)
    fprintf(stderr, " %s%s", w[i].spec,
            w[i].host ? (w[i].thread_var ? "" : " (host threads not capped)") : " (1 host thread)");
  fprintf(stderr, "; %ld core(s) shared by %d host worker(s), %ld each\n", cores,
          hosts, share);
  for (int i = 0; i < n; i++) {
    na = fixed;
    args[na++] = "--worker";
    args[na++] = w[i].spec;
    args[na++] = "--queue";
    args[na++] = queue;
    args[na++] = "--out";
    args[na++] = w[i].dir;
    args[na] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      char v[32];
      snprintf(v, sizeof v, "%ld", w[i].host ? share : 1L);
      setenv("OMP_NUM_THREADS", w[i].host && strcmp(w[i].spec, "cpu") ? "1" : v, 1);
      if (w[i].thread_var) setenv(w[i].thread_var, v, 1);
      execv(self, args);
      fprintf(stderr, "rbpe experiment: cannot start a worker: %s\n", strerror(errno));
      _exit(EXIT_FAILURE_RUN);
    }
    w[i].pid = pid;
    if (pid < 0) {
      fprintf(stderr, "rbpe experiment: cannot start a worker: %s\n", strerror(errno));
      rc = EXIT_FAILURE_RUN;
      break;
    }
  }
  /* wait for all; a stop request goes to every worker, which finishes its
   * fit, journals it and quits */
  for (int i = 0; i < n; i++) {
    if (w[i].pid <= 0) continue;
    while (waitpid(w[i].pid, &w[i].status, 0) < 0) {
      if (errno != EINTR) break;
      for (int j = 0; j < n; j++)
        if (w[j].pid > 0) kill(w[j].pid, stop_signal ? stop_signal : SIGTERM);
    }
    int code = WIFEXITED(w[i].status) ? WEXITSTATUS(w[i].status) : EXIT_INTERRUPTED;
    if (code != EXIT_OK && rc == EXIT_OK) {
      fprintf(stderr, "rbpe experiment: the %s worker stopped (exit %d); the "
                      "fits it finished are kept in %s: run the same command "
                      "again to go on\n",
              w[i].spec, code, w[i].dir);
      rc = code;
    }
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  free(args);
  if (rc == EXIT_OK && stop_signal) rc = EXIT_INTERRUPTED;
  return rc;
}

void devices_summary(const grid *g, double seconds) {
  char seen[MAX_WORKERS][24];
  long count[MAX_WORKERS] = {0};
  int n = 0;
  size_t total = (size_t)g->nsig * g->nlayers * g->nsplit * g->nmeth * g->seeds;
  for (size_t i = 0; i < total; i++) {
    const run_result *r = &g->res[i];
    if (!r->done) continue;
    int j = 0;
    while (j < n && strcmp(seen[j], r->dev)) j++;
    if (j == n && n < MAX_WORKERS) memcpy(seen[n++], r->dev, sizeof seen[0]);
    if (j < n) count[j]++;
  }
  fprintf(stderr, "rbpe experiment: %.0f s on %d device(s):", seconds, n);
  for (int j = 0; j < n; j++)
    fprintf(stderr, "%s %s %ld fit(s)", j ? "," : "", seen[j][0] ? seen[j] : "?",
            count[j]);
  fputc('\n', stderr);
}
