/* A run's output files, replaced as a set; see cli.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

void cli_outset_begin(cli_outset *o, const char *dir,
                      const char *const *known) {
  memset(o, 0, sizeof *o);
  snprintf(o->dir, sizeof o->dir, "%s", dir);
  o->known = known;
  int expect = IDLE;
  if (!atomic_compare_exchange_strong(&state, &expect, BUSY))
    for (;;) pause(); /* a handler is ending the process */
}

const char *cli_outset_path(cli_outset *o, const char *name) {
  if (atomic_load(&pending_sig)) die_now(o); /* between two files */
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
  return o->staged_path[i];
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
  sigset_t hold, old;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  sigprocmask(SIG_BLOCK, &hold, &old);
  if (atomic_load(&pending_sig)) die_now(o); /* the old set stays */
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
  atomic_store(&state, IDLE);
  /* a signal during the commit: the new set is in place, now die */
  if (atomic_load(&pending_sig)) die_now(NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return rc;
}
