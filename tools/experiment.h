/* `rbpe experiment`'s grid, shared by its three parts: the command
 * (cmd_experiment.c: options, signals, fitting), the report
 * (experiment_report.c: tables, CSV, panels) and the shards
 * (experiment_shard.c: a grid split over processes and collected). */
#ifndef RBPE_EXPERIMENT_H
#define RBPE_EXPERIMENT_H

#include <stdio.h>

#include "cli.h"

#define RBPE_PI 3.14159265358979323846

enum { M_LEARNED, M_UNIFORM, M_RFF, M_NERF };

/* A method of the grid. Learned sigma variants carry their recipe, a
 * `rbpe fit` configuration written as BASE[+MOD...] (learned_apply). */
typedef struct method {
  int kind;
  float param;
  char name[64];
  char recipe[56];
} method;

typedef struct signal_item {
  char name[64];
  rbpe_signal *sig;
} signal_item;

#define MAX_METHODS 40
#define MAX_LEARNED 12
#define MAX_SIGNALS 16
#define MAX_LAYERS 4
#define MAX_SEEDS 16
#define NSPLIT_ALL 4

typedef struct run_result {
  double test, train, seconds;
  int done;
  char dev[24]; /* the device it ran on: cpu, ref, cl:P:D */
} run_result;

typedef struct grid {
  signal_item sig[MAX_SIGNALS];
  int nsig;
  method meth[MAX_METHODS];
  int nmeth;
  int layers[MAX_LAYERS];
  int nlayers;
  int seeds, steps, width;
  float lr;
  int diagonals;           /* every rbf method projects on the diagonals */
  int angles;              /* 2-D rbf directions by angle (0: the axes) */
  int rff_features;        /* RFF features (0: rbpe fit's default) */
  int preset;              /* --preset tancik */
  /* --no-pictures: a collect from results.csv files alone (no panels) */
  int no_pictures;
  int split_id[NSPLIT_ALL];/* the splits of the grid (split_spec's index) */
  int nsplit;
  /* signals left out of choosing the default (tallied on their own) */
  unsigned char heldout[MAX_SIGNALS];
  /* --shard K/N: this process fits units u with u % N == K - 1 */
  int shard_k, shard_n;
  /* --figures (fig.h's FIG_PNG | FIG_SVG); with cairo the panels are
   * labelled figures and each signal gets a summary figure */
  int figures;
  /* this process's device as results.csv names it (cpu, ref, cl:P:D) */
  char dev[24];
  /* --devices' workers (experiment_devices.c): the queue folder where
   * each unit is claimed by one worker, and this worker's device */
  const char *queue, *worker;
  /* the device(s) the fits ran on, "; "-separated */
  char device[1024];
  /* a shard's journal: each unit's rows and pictures as soon as it is
   * done, so a shard stopped early still gives what it finished */
  FILE *jcsv, *jbin;
  /* a partial collect: a seed of a setting (signal, depth, split) with a
   * missing fit is left out of every table, a setting without a complete
   * seed too; [s][l][p][k] */
  unsigned char *bad_seed;
  long missing;
  /* [signal][layers][split][method][seed] */
  run_result *res;
  /* the same, for uniform sigmas and RFF scales: PSNR on a validation part
   * of the training samples (SPLIT+val:VAL_FRAC), which chooses among them
   * without the test samples; NULL with --no-validation */
  run_result *val;
  /* seed 0's reconstructions and sigma maps (learned recipes) for the
   * panels */
  rbpe_signal **recon, **sigmap;
} grid;

/* p below is an index into g->split_id */
static inline size_t at(const grid *g, int s, int l, int p, int m, int k) {
  return ((((size_t)s * g->nlayers + l) * g->nsplit + p) * g->nmeth + m) *
             g->seeds + k;
}
static inline size_t rat(const grid *g, int s, int l, int p, int m) {
  return (((size_t)s * g->nlayers + l) * g->nsplit + p) * g->nmeth + m;
}

/* the validation part of the training samples that baselines are chosen on */
#define VAL_FRAC "0.1"

/* every method but NeRF (which has no knob) is also fitted on the
 * validation split: baselines and learned variants are chosen alike */
static inline int validated(const method *m) { return m->kind != M_NERF; }

extern const char *const split_names[NSPLIT_ALL];
const char *split_spec(const grid *g, int ndim, int p);
const char *split_label(const grid *g, int ndim, int p);

/* Units (a method in one setting and seed, with its validation fit) in
 * run_grid's order; whether this process fits unit u; the seeds of a
 * setting that a partial collect kept. */
long units(const grid *g);
/* Unit u's place in the grid: run order is seeds outermost, then signals,
 * depths, splits and methods. */
typedef struct unit_pos {
  int s, l, p, m, k;
} unit_pos;
unit_pos unit_at(const grid *g, long u);
/* The shard (1..n) of n contiguous runs of units that holds unit u. */
int shard_of(const grid *g, long u, int n);
int mine(const grid *g, long u);
int seed_ok(const grid *g, int s, int l, int p, int k);
int seeds_ok(const grid *g, int s, int l, int p);
int absent(const grid *g, int s, int l, int p);

/* ---- the report (experiment_report.c) ---- */
/* Mean and sample standard deviation of n values (NAN and 0 for none). */
void mean_sd(const double *v, int n, double *mean, double *sd);
/* A method's held-out PSNR over the complete seeds of a setting. */
void stats(const grid *g, int s, int l, int p, int m, double *mean,
           double *sd);
/* The method of a kind with the best mean held-out PSNR (the oracle), the
 * one seed k's validation picks, and the first of a kind (-1: none). */
int best_of(const grid *g, int s, int l, int p, int kind);
int val_pick(const grid *g, int s, int l, int p, int kind, int k);
int find_kind(const grid *g, int kind);
typedef struct report_job {
  const grid *g;
  const char *command;
  const char *notes;
  const char *device;
} report_job;
/* A method's results.csv columns "method" and "param". */
void method_key(const method *me, char *kind, size_t klen, char *param,
                size_t plen);
void csv_header(FILE *f);
void csv_row(FILE *f, const grid *g, int s, int l, int p, int m, int k);
int write_csv(FILE *f, void *user);  /* user: the grid */
int write_md(FILE *f, void *user);   /* user: a report_job */
/* A panel's rows, top to bottom: the truth, the primary learned recipe and
 * its sigma map, the best uniform sigma, the best RFF, NeRF (those the
 * grid has; method kinds, or the two below); returns how many. */
#define ROW_TRUTH (-1)
#define ROW_SIGMA (-2)
#define PANEL_ROWS 6
int panel_rows(const grid *g, int rows[PANEL_ROWS]);
/* What row kind shows in split p: the picture (NULL: none, a setting a
 * partial collect left out) and in *method the method (-1: the truth; the
 * best uniform or RFF per column). */
const rbpe_signal *panel_tile(const grid *g, int s, int l, int p, int kind,
                              int *method);
rbpe_status write_panel(rbpe_ctx *ctx, const grid *g, int s, int l,
                        const char *path);

/* ---- figures drawn with cairo (experiment_figures.c) ---- */
/* Signal s's panel at depth l (methods on rows, splits on columns, each
 * tile's held-out PSNR in its corner) into stem.png / stem.svg. */
rbpe_status write_panel_figure(rbpe_ctx *ctx, const grid *g, int s, int l,
                               const char *stem, int kinds);
/* Signal s's held-out PSNR by method, depth and split, mean and spread over
 * the seeds, into stem.png / stem.svg. */
rbpe_status write_summary_figure(rbpe_ctx *ctx, const grid *g, int s,
                                 const char *stem, int kinds);

/* ---- shards (experiment_shard.c) ---- */
void fits_header(FILE *f, const grid *g);
/* Seed 0's reconstruction and sigma map of a method in a setting, those
 * the grid has, as fits.bin records. */
void put_pictures(FILE *f, const grid *g, int s, int l, int p, int m);
int write_fits(FILE *f, void *user); /* user: the grid */
/* Reads the shards' folders (comma-separated) into the grid; with partial
 * the seeds with a missing fit are marked, else any missing fit fails.
 * EXIT_OK or an exit code after saying why. */
int collect(rbpe_ctx *ctx, grid *g, const char *dirs, int partial);

/* Reads a results.csv or journal.csv of this grid into it; 0 or -1 with
 * why. */
int read_results_csv(grid *g, const char *path, char *why, size_t wlen);

/* ---- every device of a machine (experiment_devices.c) ---- */
/* "cpu", "ref" or "cl:P:D" from a device description. */
void short_device(const char *desc, char *out, size_t n);
/* A worker's claim of unit u in the queue: 1 when it is this worker's
 * (newly claimed, or claimed for it from its journal), 0 when another
 * worker has it. */
int claim_unit(const grid *g, long u);
/* Runs the grid on the devices of list ("all" or specs, comma-separated):
 * one worker process per device (this command again with --worker), fed
 * from one queue, their host threads shared out; on success dirs holds
 * the workers' folders for collect. EXIT_OK or an exit code after saying
 * why. */
int run_devices(rbpe_ctx *ctx, grid *g, const char *list, const char *outdir,
                int argc, char **argv, char *dirs, size_t dlen);
/* Which device fitted how many of the grid's fits, and the time. */
void devices_summary(const grid *g, double seconds);

/* ---- resuming (experiment_shard.c) ---- */
/* Whether unit (s, l, p, m, k) has its fit, its validation fit and (seed
 * 0) its pictures. */
int unit_done(const grid *g, int s, int l, int p, int m, int k);
/* Reads this grid's journal left in outdir by a run that stopped (or
 * finished) and, with set_aside, sets it aside as journal.*.old; *resumed:
 * the units it gave (0: no journal of this grid there). EXIT_OK or an exit
 * code. */
int resume_load(rbpe_ctx *ctx, grid *g, const char *outdir, long *resumed,
                int set_aside);
/* Writes a finished unit (its rows; seed 0: its pictures) into the
 * journal and flushes it; 0 or -1. */
int journal_unit(grid *g, unit_pos q);
/* Writes every unit the grid has into the new journal; 0 or -1. */
int journal_replay(grid *g);
/* Removes the set-aside journal once the new one holds its units. */
void resume_done(const char *outdir);

#endif
