/* A run's output files, replaced as a set; see cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static cli_outset *volatile active;
static volatile sig_atomic_t active_n;

/* Who owns the folder. sigprocmask holds signals for the calling thread
 * only, and a process-directed signal goes to any thread that does not
 * hold it: the cpu backend's OpenMP workers, say. So a handler may run on
 * another thread in the middle of a commit; this state (lock-free, so
 * usable in a handler) decides between the two: a commit that started
 * finishes and the signal is re-raised after it, a handler that claimed
 * the folder first makes the commit give up. */
enum { IDLE, COMMITTING, DYING };
static atomic_int state = IDLE;
static volatile sig_atomic_t pending_sig;

void cli_outset_begin(cli_outset *o, const char *dir,
                      const char *const *known) {
  memset(o, 0, sizeof *o);
  snprintf(o->dir, sizeof o->dir, "%s", dir);
  o->known = known;
  active_n = 0;
  active = o;
}

const char *cli_outset_path(cli_outset *o, const char *name) {
  int known = 0;
  for (const char *const *k = o->known; *k; k++) known |= !strcmp(*k, name);
  if (!known || o->n >= CLI_OUTSET_MAX) return NULL;
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
  active_n = o->n; /* the handler sees the path only once it is complete */
  return o->staged_path[i];
}

static void remove_staged(cli_outset *o, int n) {
  for (int i = 0; i < n; i++) unlink(o->staged_path[i]);
}

void cli_outset_abort(cli_outset *o) {
  remove_staged(o, o->n);
  active = NULL;
  active_n = 0;
}

int cli_outset_on_fatal_signal(int sig) {
  int expect = IDLE;
  if (!atomic_compare_exchange_strong(&state, &expect, DYING)) {
    if (expect == COMMITTING) {
      pending_sig = sig; /* commit raises it once the set is in place */
      return 0;
    }
    return 1; /* another thread is already dying */
  }
  cli_outset *o = active;
  if (o)
    for (int i = 0; i < active_n; i++) unlink(o->staged_path[i]);
  return 1;
}

int cli_outset_commit(cli_outset *o) {
  sigset_t hold, old;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  sigprocmask(SIG_BLOCK, &hold, &old);
  int expect = IDLE;
  if (!atomic_compare_exchange_strong(&state, &expect, COMMITTING)) {
    /* a handler on another thread removes the staged files and ends the
     * process: leave the folder to it */
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = EINTR;
    return -1;
  }
  int rc = 0, saved = 0;
  /* First check every staged file is there, so a failure leaves the old set. */
  for (int i = 0; i < o->n && !rc; i++)
    if (access(o->staged_path[i], F_OK) != 0) rc = -1, saved = errno;
  for (int i = 0; i < o->n && !rc; i++)
    if (rename(o->staged_path[i], o->final_path[i]) != 0) rc = -1, saved = errno;
  if (!rc) {
    /* outputs of an earlier run that this one does not write */
    for (const char *const *k = o->known; *k; k++) {
      int ours = 0;
      for (int i = 0; i < o->n; i++)
        ours |= !strcmp(strrchr(o->final_path[i], '/') + 1, *k);
      if (!ours) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", o->dir, *k);
        unlink(path);
      }
    }
    int fd = open(o->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      fsync(fd); /* the renames themselves reach the disk */
      close(fd);
    }
  } else {
    remove_staged(o, o->n);
  }
  active = NULL;
  active_n = 0;
  atomic_store(&state, IDLE);
  if (pending_sig) { /* a second signal came while committing: die now */
    signal(pending_sig, SIG_DFL);
    raise(pending_sig);
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return rc;
}
