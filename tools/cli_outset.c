/* A run's output files, replaced as a set, touching only rbpe's own; see
 * cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cli.h"

#define MANIFEST_HEADER "# rbpe outputs: files rbpe wrote into this folder (CRC-32, bytes, name); rbpe replaces or removes only these"

static void say(char *why, size_t len, const char *fmt, const char *a,
                const char *b) {
  if (why && len) snprintf(why, len, fmt, a, b);
}

/* mkdir -p: each missing component of path, in turn; *made gets the
 * length of the first component it had to create (0: none). */
static int make_dirs(const char *path, size_t *made) {
  char buf[4200];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  *made = 0;
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char keep = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) == 0) {
      if (!*made) *made = i;
    } else if (errno != EEXIST) {
      return -1;
    }
    buf[i] = keep;
  }
  return 0;
}

/* Size and CRC-32 of a regular file (symbolic links are not followed);
 * 1 when it exists as one, 0 when absent, -1 when something else is
 * there or it cannot be read. */
static int digest(const char *path, unsigned long *crc,
                  unsigned long long *size) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  unsigned char buf[65536];
  uLong c = crc32(0L, Z_NULL, 0);
  unsigned long long total = 0;
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0) {
    c = crc32(c, buf, (uInt)got);
    total += (unsigned long long)got;
  }
  close(fd);
  if (got < 0) return -1;
  *crc = c;
  *size = total;
  return 1;
}

static int is_known(const cli_outset *o, const char *name) {
  if (!o->known) return 0;
  for (const char *const *k = o->known; *k; k++)
    if (!strcmp(*k, name)) return 1;
  return 0;
}

/* 1 when dir/name is absent or rbpe's unchanged output, 0 when not. */
static int ours_or_absent(const cli_outset *o, const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", o->dir, name);
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT;
  unsigned long crc;
  unsigned long long size;
  if (digest(path, &crc, &size) != 1) return 0;
  for (int i = 0; i < o->n_owned; i++)
    if (!strcmp(o->owned[i].name, name) && o->owned[i].crc == crc &&
        o->owned[i].size == size)
      return 1;
  return 0;
}

static int read_manifest(cli_outset *o, char *why, size_t why_len) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", o->dir, CLI_MANIFEST);
  o->n_owned = 0;
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return 0;
    say(why, why_len, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  char line[256];
  int first = 1, rc = 0;
  while (fgets(line, sizeof line, f)) {
    if (first) {
      first = 0;
      if (strncmp(line, MANIFEST_HEADER, strlen(MANIFEST_HEADER))) {
        say(why, why_len,
            "%s is not rbpe's list of its outputs%s: rbpe will not write "
            "into this folder; move the file or choose another --out",
            path, "");
        rc = -1;
        break;
      }
      continue;
    }
    cli_owned e;
    char name[256];
    if (sscanf(line, "%lx %llu %255s", &e.crc, &e.size, name) != 3 ||
        strlen(name) >= sizeof e.name || strchr(name, '/'))
      continue;
    snprintf(e.name, sizeof e.name, "%s", name);
    if (o->n_owned < (int)(sizeof o->owned / sizeof o->owned[0]))
      o->owned[o->n_owned++] = e;
  }
  fclose(f);
  return rc;
}

/* Writes the manifest (a temporary file, synced, renamed over it). */
static int write_manifest(const cli_outset *o, const cli_owned *a, int na,
                          const cli_owned *b, int nb) {
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/%s", o->dir, CLI_MANIFEST);
  snprintf(tmp, sizeof tmp, "%s/%s.tmp-%ld", o->dir, CLI_MANIFEST,
           (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) return -1;
  FILE *f = fdopen(fd, "w");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    errno = e;
    return -1;
  }
  fprintf(f, "%s\n", MANIFEST_HEADER);
  for (int i = 0; i < na; i++)
    fprintf(f, "%08lx %llu %s\n", a[i].crc, a[i].size, a[i].name);
  for (int i = 0; i < nb; i++)
    fprintf(f, "%08lx %llu %s\n", b[i].crc, b[i].size, b[i].name);
  int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !bad) bad = 1, e = errno;
  if (bad || rename(tmp, path) != 0) {
    if (!bad) e = errno;
    unlink(tmp);
    errno = e;
    return -1;
  }
  return 0;
}

int cli_outset_prepare(cli_outset *o, const char *dir,
                       const char *const *known, char *why, size_t why_len) {
  memset(o, 0, sizeof *o);
  if (!dir || !*dir) {
    say(why, why_len, "no output folder given%s%s", "", "");
    return -1;
  }
  if (strlen(dir) >= sizeof o->dir - 64) {
    say(why, why_len, "output folder name too long (%.40s...)%s", dir, "");
    return -1;
  }
  snprintf(o->dir, sizeof o->dir, "%s", dir);
  o->known = known;
  struct stat st;
  if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
    say(why, why_len, "%s exists and is not a folder%s", dir, "");
    return -1;
  }
  if (make_dirs(dir, &o->made) != 0) {
    say(why, why_len, "cannot create the output folder %s: %s", dir,
        strerror(errno));
    return -1;
  }
  /* prove it writable now, not after the work */
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/.rbpe-probe-XXXXXX", dir);
  int fd = mkstemp(probe);
  if (fd < 0) {
    say(why, why_len, "cannot write into the output folder %s: %s", dir,
        strerror(errno));
    return -1;
  }
  close(fd);
  unlink(probe);
  return read_manifest(o, why, why_len);
}

int cli_outset_claim(const cli_outset *o, const char *const *names, char *why,
                     size_t why_len) {
  for (const char *const *k = names; *k; k++)
    if (!ours_or_absent(o, *k)) {
      char path[4200];
      snprintf(path, sizeof path, "%s/%s", o->dir, *k);
      say(why, why_len,
          "%s is in the way: rbpe did not write it (or it changed since, "
          "or an rbpe older than its list of outputs did), and replaces "
          "only its own outputs; move it or choose another --out%s",
          path, "");
      return -1;
    }
  return 0;
}

/* Who owns the folder. While a set is staged or committed (BUSY) a fatal
 * signal is only recorded, and the main thread acts on it between two
 * files or after the commit: a handler that unlinked the staged files at
 * once could miss the temporary file the library is writing (seen in
 * test_interrupt: a .model.rbpe.staged-PID.tmp.* left behind) or end the
 * process half-way through the renames. The state is lock-free atomic,
 * usable in a handler on any thread: sigprocmask holds signals for the
 * calling thread only, and a process-directed signal may be handled on an
 * OpenMP worker. */
enum { IDLE, BUSY, DYING };
static atomic_int state = IDLE;
static atomic_int pending_sig;

static void remove_staged(cli_outset *o, int n) {
  for (int i = 0; i < n; i++) unlink(o->staged_path[i]);
}

/* Ends the process by the recorded signal, the staged files removed. */
static void die_now(cli_outset *o) {
  int sig = atomic_load(&pending_sig);
  atomic_store(&state, DYING);
  if (o) remove_staged(o, o->n);
  sigset_t all;
  sigemptyset(&all);
  sigaddset(&all, sig);
  signal(sig, SIG_DFL);
  sigprocmask(SIG_UNBLOCK, &all, NULL);
  raise(sig);
  for (;;) pause();
}

void cli_outset_begin(cli_outset *o) {
  o->n = 0;
  int expect = IDLE;
  if (!atomic_compare_exchange_strong(&state, &expect, BUSY))
    for (;;) pause(); /* a handler is ending the process */
}

const char *cli_outset_path(cli_outset *o, const char *name) {
  if (atomic_load(&pending_sig)) die_now(o); /* between two files */
  if (!is_known(o, name) || o->n >= CLI_OUTSET_MAX) return NULL;
  for (int i = 0; i < o->n; i++)
    if (!strcmp(strrchr(o->final_path[i], '/') + 1, name))
      return o->staged_path[i];
  int i = o->n;
  char dir[sizeof o->dir];
  memcpy(dir, o->dir, sizeof dir);
  snprintf(o->final_path[i], sizeof o->final_path[i], "%s/%s", dir, name);
  snprintf(o->staged_path[i], sizeof o->staged_path[i], "%s/.%s.staged-%ld",
           dir, name, (long)getpid());
  o->n = i + 1;
  return o->staged_path[i];
}

void cli_outset_release(cli_outset *o) {
  if (!o->made || o->committed) return;
  /* the folders prepare made, deepest first, each only while empty */
  char buf[sizeof o->dir];
  snprintf(buf, sizeof buf, "%s", o->dir);
  size_t len = strlen(buf);
  while (len > o->made && buf[len - 1] == '/') buf[--len] = '\0';
  for (size_t n = len; n >= o->made; n--) {
    if (n < strlen(buf) && buf[n] != '/') continue;
    buf[n] = '\0';
    if (rmdir(buf) != 0) break;
    if (n == o->made) break;
  }
  o->made = 0;
}

void cli_outset_abort(cli_outset *o) {
  remove_staged(o, o->n);
  atomic_store(&state, IDLE);
  if (atomic_load(&pending_sig)) die_now(NULL);
}

int cli_outset_on_fatal_signal(int sig) {
  /* recorded before the state is read: either this handler sees IDLE and
   * ends the process, or the main thread, leaving BUSY, sees the signal */
  atomic_store(&pending_sig, sig);
  int expect = IDLE;
  if (atomic_compare_exchange_strong(&state, &expect, DYING)) return 1;
  return expect == DYING;
}

int cli_outset_commit(cli_outset *o) {
  o->committed = 1;
  sigset_t hold, old;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  sigprocmask(SIG_BLOCK, &hold, &old);
  if (atomic_load(&pending_sig)) die_now(o); /* the old set stays */
  int rc = 0, saved = 0;
  /* First check every staged file is there and no foreign file has taken
   * an output's name since the claim, so a failure leaves the old set. */
  cli_owned fresh[CLI_OUTSET_MAX];
  for (int i = 0; i < o->n && !rc; i++) {
    const char *name = strrchr(o->final_path[i], '/') + 1;
    snprintf(fresh[i].name, sizeof fresh[i].name, "%s", name);
    if (digest(o->staged_path[i], &fresh[i].crc, &fresh[i].size) != 1)
      rc = -1, saved = errno ? errno : EIO;
    else if (!ours_or_absent(o, name))
      rc = -1, saved = EEXIST;
  }
  /* The manifest lists old and new files while both may be in the folder;
   * then the renames; then stale outputs, if unchanged; then the new list. */
  if (!rc && write_manifest(o, o->owned, o->n_owned, fresh, o->n) != 0)
    rc = -1, saved = errno;
  for (int i = 0; i < o->n && !rc; i++)
    if (rename(o->staged_path[i], o->final_path[i]) != 0) rc = -1, saved = errno;
  if (!rc) {
    for (int k = 0; k < o->n_owned; k++) {
      const char *name = o->owned[k].name;
      int renewed = 0;
      for (int i = 0; i < o->n; i++) renewed |= !strcmp(fresh[i].name, name);
      if (renewed || !is_known(o, name)) continue;
      /* an earlier run's output, removed only as rbpe left it */
      char path[4200];
      snprintf(path, sizeof path, "%s/%s", o->dir, name);
      if (ours_or_absent(o, name)) unlink(path);
    }
    /* on failure the list written before the renames stays: it holds
     * the new set too */
    (void)write_manifest(o, fresh, o->n, NULL, 0);
    memcpy(o->owned, fresh, (size_t)o->n * sizeof fresh[0]);
    o->n_owned = o->n;
    int fd = open(o->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      fsync(fd); /* the renames themselves reach the disk */
      close(fd);
    }
  } else {
    remove_staged(o, o->n);
  }
  atomic_store(&state, IDLE);
  /* a signal during the commit: the new set is in place, now die */
  if (atomic_load(&pending_sig)) die_now(NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return rc;
}

int cli_outset_record(cli_outset *o, const char *const *names) {
  cli_owned keep[CLI_OWNED_MAX], *fresh = NULL;
  int nk = 0, nf = 0, nn = 0;
  for (const char *const *k = names; *k; k++) nn++;
  fresh = calloc((size_t)nn + 1, sizeof *fresh);
  if (!fresh) return -1;
  for (int i = 0; i < o->n_owned; i++) {
    int renewed = 0;
    for (const char *const *k = names; *k; k++)
      renewed |= !strcmp(*k, o->owned[i].name);
    if (!renewed && nk < (int)(sizeof keep / sizeof keep[0]))
      keep[nk++] = o->owned[i];
  }
  for (const char *const *k = names; *k; k++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", o->dir, *k);
    if (strlen(*k) >= sizeof fresh[nf].name) continue;
    snprintf(fresh[nf].name, sizeof fresh[nf].name, "%s", *k);
    if (digest(path, &fresh[nf].crc, &fresh[nf].size) == 1) nf++;
  }
  int rc = write_manifest(o, keep, nk, fresh, nf);
  free(fresh);
  return rc;
}
