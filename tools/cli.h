/* Shared pieces of the rbpe command line: exit codes, error reporting and
 * option parsing helpers. */
#ifndef RBPE_CLI_H
#define RBPE_CLI_H

#include <stdio.h>

#include "rbpe.h"

/* Documented exit codes (README "Exit codes"). */
enum {
  EXIT_OK = 0,
  EXIT_FAILURE_RUN = 1, /* the work failed (device, I/O, numerics) */
  EXIT_USAGE = 2,       /* a bad flag or value */
  EXIT_NO_DEVICE = 3,   /* the requested device does not exist or is unusable */
  EXIT_BAD_INPUT = 4,   /* an input file is missing, damaged or too large */
  EXIT_CHECK_FAILED = 5,/* `rbpe check` found a mismatch */
  EXIT_OUTPUT = 6,      /* an output cannot be written: the folder cannot be
                           made or written, or a file rbpe did not write is
                           in the way */
  EXIT_INTERRUPTED = 130
};

/* Prints "rbpe CMD: message" (one line) and returns the exit code for st. */
int cli_fail(const char *cmd, rbpe_ctx *ctx, rbpe_status st);
int cli_usage_error(const char *cmd, const char *fmt, ...);
int cli_exit_code(rbpe_status st);

/* Strict number parsing: the whole text must be a number in [lo, hi]. */
int cli_parse_long(const char *text, long lo, long hi, long *out);
int cli_parse_float(const char *text, double lo, double hi, float *out);

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past
 * the value. Returns 1 and sets *value on a match, -1 when the value is
 * missing, 0 otherwise. */
int cli_opt(int argc, char **argv, int *i, const char *name,
            const char **value);
/* A command's options, one table (cli_opts.c): the table parses, says
 * what a bad value needs ("--width needs an integer 1..8192", from the
 * bounds, or the entry's own needs), and writes --help, with each
 * option's default read from its target ("%D" in its help) and the names
 * of library enumerations from the library. A table ends with a NULL
 * name. */
typedef enum cli_kind {
  CLI_SECTION, /* a heading in --help: name is its text */
  CLI_FLAG,    /* no value: stores (int)lo */
  CLI_FLAGF,   /* no value: stores (float)lo */
  CLI_INT, CLI_SIZE, CLI_U64, CLI_LONG, /* integers in [lo, hi] */
  CLI_FLOAT,   /* a float in [lo, hi] */
  CLI_STRING,  /* the text itself (const char *) */
  CLI_ENUM,    /* a library enumeration (rbpe_enum lo) by name, as int */
  CLI_CHOICE,  /* one of meta's names ("a|b"), its index as int */
  CLI_BYTES,   /* "512M" into a uint64_t */
  CLI_CUSTOM   /* parse(at, value): 0, or -1 when the value is bad */
} cli_kind;
typedef struct cli_option {
  const char *name;
  cli_kind kind;
  void *at;
  double lo, hi;
  const char *meta;  /* the value's name in --help */
  const char *help;
  const char *needs; /* what a bad value needs, when the bounds do not say */
  int (*parse)(void *at, const char *value);
} cli_option;
/* Matches argv[*i]: 1 when it is an option of the table (its value stored,
 * *i advanced past it), 0 when not, or the usage error's exit code
 * negated after saying it. */
int cli_options_parse(const char *cmd, const cli_option *opts, int argc,
                      char **argv, int *i);
/* The options part of --help. */
void cli_options_help(FILE *f, const cli_option *opts);
/* A whole command line: the table's options, -h/--help (usage, then the
 * table's help), and up to npos other arguments into pos (unset ones left
 * as they were). -1 to go on, else the exit code (after --help, or a usage
 * error said). */
int cli_options_run(const char *cmd, const char *usage, const cli_option *opts,
                    int argc, char **argv, const char **pos, int npos);
/* --channel K (from 1) into a 0-based int. */
int cli_channel_opt(void *at, const char *value);
/* Parses "123", "64K", "1M", "2G" (powers of 1024) into bytes. */
int cli_parse_bytes(const char *text, uint64_t *out);
/* Selects the device and announces it on stderr (unless quiet); returns
 * the exit code (EXIT_OK, or the error's after printing it). */
int cli_select(const char *cmd, rbpe_ctx *ctx, const char *device, int quiet);
/* A context with the device from --device (or RBPE_DEVICE) selected and
 * announced on stderr; NULL after printing the error (exit code in *rc). */
rbpe_ctx *cli_open(const char *cmd, const char *device, uint64_t max_memory,
                   int quiet, int *rc);

/* A signal's values, one per line, written atomically. */
rbpe_status cli_save_text(rbpe_ctx *ctx, const char *path,
                          const rbpe_signal *s);

/* Pictures written by fit (cli_pictures.c). */
/* truth | training samples | reconstruction | 4x |error| [| sigma map,
 * smin black .. smax white] */
rbpe_status cli_save_panel(rbpe_ctx *ctx, const rbpe_signal *truth,
                           const rbpe_split *split, const rbpe_signal *recon,
                           const rbpe_signal *sigma, float smin, float smax,
                           const char *path);
/* The sigma map and the same map at the training samples only. */
rbpe_status cli_save_sigma_maps(rbpe_ctx *ctx, const rbpe_signal *sigma,
                                const rbpe_split *split, float smin,
                                float smax, const char *map_path,
                                const char *train_path);
/* An RGB picture in [0, 1], white at first (cli_pictures.c). */
typedef struct cli_canvas {
  float *px; /* h x w x 3 */
  int w, h;
} cli_canvas;
int cli_canvas_init(cli_canvas *cv, int w, int h); /* 0, or -1: no memory */
rbpe_status cli_canvas_save(rbpe_ctx *ctx, const cli_canvas *cv,
                            const char *path);
/* A 1-D signal (gray), its reconstruction (red, optional) and its training
 * samples (blue dots, optional) in the given rectangle of the canvas. */
void cli_draw_plot(cli_canvas *cv, int left, int top, int width, int height,
                   const rbpe_signal *truth, const rbpe_split *split,
                   const rbpe_signal *recon);
rbpe_status cli_save_plot(rbpe_ctx *ctx, const rbpe_signal *truth,
                          const rbpe_split *split, const rbpe_signal *recon,
                          const char *path);

/* The files one run writes into a folder, replaced as a set (cli_outset.c).
 *
 * Ownership: rbpe replaces or removes only files it wrote itself. Each
 * commit records the files it put in the folder (name, size, CRC-32) in a
 * manifest there, CLI_MANIFEST; a file of an output's name that the
 * manifest does not list with its present size and checksum is a person's
 * (or was changed since), and the run refuses to start rather than touch
 * it. Stale outputs of an earlier run are removed only when unchanged.
 *
 * Order: cli_outset_prepare before any work (creates the folder with its
 * parents, proves it writable, reads the manifest), cli_outset_claim once
 * the names the run will write are known (refuses foreign files), then
 * after the work cli_outset_begin, cli_outset_path for each file, and
 * cli_outset_commit. Each file is first written under a hidden staging
 * name; commit renames them all into place with SIGINT and SIGTERM held,
 * so the folder holds either the complete earlier set or the complete new
 * one. A fatal signal from begin to the end of the commit (the handler
 * calls cli_outset_on_fatal_signal) is acted on between two files, when
 * the staged files are removed and the process dies, or after the commit. */
#define CLI_OUTSET_MAX 16
#define CLI_OWNED_MAX 160 /* manifest entries (rbpe experiment: up to 66) */
#define CLI_MANIFEST ".rbpe-outputs"
typedef struct cli_owned {
  char name[64];
  unsigned long crc;
  unsigned long long size;
} cli_owned;
typedef struct cli_outset {
  char dir[4100];
  const char *const *known; /* every name this command can write, NULL-ended */
  int n;
  char final_path[CLI_OUTSET_MAX][4200];
  char staged_path[CLI_OUTSET_MAX][4200];
  /* the manifest as read by prepare: files earlier runs wrote here (a
   * name can appear twice after a commit cut short) */
  int n_owned;
  cli_owned owned[CLI_OWNED_MAX];
  size_t made;   /* prepare created dir from this length of it on (0: none) */
  int committed; /* a set was written here */
} cli_outset;

/* 0, or -1 with a one-line reason in why (naming the folder). */
int cli_outset_prepare(cli_outset *o, const char *dir,
                       const char *const *known, char *why, size_t why_len);
/* 0 when each of names (NULL-ended) is absent from the folder or rbpe's
 * own unchanged output; else -1 with the first foreign file in why. */
int cli_outset_claim(const cli_outset *o, const char *const *names, char *why,
                     size_t why_len);
void cli_outset_begin(cli_outset *o);
/* For files written one by one (each atomically, rbpe experiment): adds
 * names (NULL-ended), as they now are in the folder, to the manifest. 0, or
 * -1 with errno set. */
int cli_outset_record(cli_outset *o, const char *const *names);
/* The path to write NAME to (NULL when the set is full or NAME unknown). */
const char *cli_outset_path(cli_outset *o, const char *name);
/* 0 on success; otherwise -1 with errno set (EEXIST: a foreign file took
 * an output's name since the claim) and the staged files removed. */
int cli_outset_commit(cli_outset *o);
void cli_outset_abort(cli_outset *o);
/* A run that wrote nothing: removes the folders prepare created, while
 * they are empty (a refused run leaves no trace). */
void cli_outset_release(cli_outset *o);
/* Async-signal-safe, from a handler (on any thread) about to end the
 * process: returns 1 (go on and die: no set is being written), or 0 while
 * a set is staged or committed, whose thread then ends the process itself
 * at the next file or after the commit. */
int cli_outset_on_fatal_signal(int sig);

/* A command line with `--config FILE` (a metrics.json) replaced by the
 * arguments that run recorded (cli_config.c): argv[recorded_from ..
 * user_from) are the recorded ones, later ones the person's, which win. */
typedef struct cli_args {
  int argc;
  char **argv;
  int recorded_from, user_from;
  char **owned;
  int n_owned, expanded;
} cli_args;
int cli_expand_config(int argc, char **argv, cli_args *out, char *why,
                      size_t why_len);
void cli_args_free(cli_args *a);

/* Short forms: -o for --out/--output, -d for --device (cli_opt), -q for
 * --quiet and -h for --help (cli_flag). */
int cli_flag(const char *arg, const char *name);
/* JSON output helpers: a string with escapes, a finite number or null. */
void cli_json_str(FILE *f, const char *s);
void cli_json_num(FILE *f, double v);

/* The pictures of one fit (cli_figures.c): with cairo the figures of
 * fig_fit.c (panel or plot, and curve) in the kinds of --figures (fig.h's
 * FIG_PNG | FIG_SVG), without it the plain panel.png or plot.png. */
typedef struct cli_fit_info {
  const char *input, *device;
  const rbpe_signal *sig;
  const rbpe_fit_config *cfg;
  const rbpe_fit_report *rep;
  int figures;
  int fitting; /* split all: every sample trained on, none held out */
} cli_fit_info;
/* Says on stderr when the figures will lack text (no font) or be the plain
 * pictures (built without cairo; not with quiet). */
void cli_figures_note(const char *cmd, int quiet);
/* The names such a fit writes into its folder, NULL-terminated (out has
 * room for 12); returns how many. */
int cli_fit_figure_names(const char **out, int one_d, int learned,
                         int figures);
rbpe_status cli_fit_figures(rbpe_ctx *ctx, cli_outset *set,
                            const cli_fit_info *in);

int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_experiment(int argc, char **argv);
int cmd_tune(int argc, char **argv);

#endif
