/* `rbpe experiment` over processes: a shard writes results.csv and
 * fits.bin (and a journal while it runs); a collect run reads any set of
 * them back into the grid. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment.h"

/*
 * A shard writes results.csv (its rows) and fits.bin: the grid's
 * fingerprint, then seed 0's reconstructions and sigma maps, each as
 * (u32 s, l, p, m, kind, ndim, u64 dims[ndim], u32 channels, f32 data). A
 * collect run, given the same grid options, reads any set of shard folders
 * and writes the report one process would have written. */

#define FITS_MAGIC "RBPEFIT1"

static void fingerprint(const grid *g, char *buf, size_t len) {
  size_t o = (size_t)snprintf(buf, len, "steps %d lr %g width %d seeds %d "
                                        "diag %d val %d;",
                              g->steps, (double)g->lr, g->width, g->seeds,
                              g->diagonals, g->val != NULL);
  /* grids on the axes alone keep the fingerprint they had before angles */
  if (g->angles > 0 && o < len)
    o += (size_t)snprintf(buf + o, len - o, " angles %d;", g->angles);
  if (g->rff_features > 0 && o < len)
    o += (size_t)snprintf(buf + o, len - o, " rff %d;", g->rff_features);
  for (int i = 0; i < g->nsig && o < len; i++) {
    const rbpe_signal *x = g->sig[i].sig;
    o += (size_t)snprintf(buf + o, len - o, " %s", g->sig[i].name);
    for (int a = 0; a < rbpe_signal_ndim(x) && o < len; a++)
      o += (size_t)snprintf(buf + o, len - o, "%c%zu", a ? 'x' : ':',
                            rbpe_signal_dim(x, a));
  }
  for (int i = 0; i < g->nlayers && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " L%d", g->layers[i]);
  for (int i = 0; i < g->nsplit && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " %s", split_names[g->split_id[i]]);
  for (int i = 0; i < g->nmeth && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, " [%s]", g->meth[i].name);
}

static void put_u32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }

static void put_record(FILE *f, int s, int l, int p, int m, int kind,
                       const rbpe_signal *x) {
  int nd = rbpe_signal_ndim(x);
  size_t n = (size_t)rbpe_signal_channels(x);
  uint32_t head[6] = {(uint32_t)s, (uint32_t)l, (uint32_t)p, (uint32_t)m,
                      (uint32_t)kind, (uint32_t)nd};
  fwrite(head, 4, 6, f);
  for (int a = 0; a < nd; a++) {
    uint64_t d = rbpe_signal_dim(x, a);
    fwrite(&d, 8, 1, f);
    n *= (size_t)d;
  }
  put_u32(f, (uint32_t)rbpe_signal_channels(x));
  fwrite(rbpe_signal_data(x), sizeof(float), n, f);
}

void fits_header(FILE *f, const grid *g) {
  char fp[4096];
  fingerprint(g, fp, sizeof fp);
  fwrite(FITS_MAGIC, 1, 8, f);
  put_u32(f, (uint32_t)strlen(fp));
  fwrite(fp, 1, strlen(fp), f);
  put_u32(f, (uint32_t)strlen(g->device));
  fwrite(g->device, 1, strlen(g->device), f);
}

void put_pictures(FILE *f, const grid *g, int s, int l, int p, int m) {
  size_t i = rat(g, s, l, p, m);
  if (g->recon[i]) put_record(f, s, l, p, m, 0, g->recon[i]);
  if (g->sigmap[i]) put_record(f, s, l, p, m, 1, g->sigmap[i]);
}

int write_fits(FILE *f, void *user) {
  const grid *g = user;
  fits_header(f, g);
  for (int s = 0; s < g->nsig; s++)
    for (int l = 0; l < g->nlayers; l++)
      for (int p = 0; p < g->nsplit; p++)
        for (int m = 0; m < g->nmeth; m++) put_pictures(f, g, s, l, p, m);
  return ferror(f) ? -1 : 0;
}

/* Reads one shard's fits.bin into the grid; 0, or -1 with why. A journal
 * (a shard stopped while writing) may end in a cut record: it ends there. */
static int read_fits(rbpe_ctx *ctx, grid *g, const char *path, int journal,
                     char *why, size_t wlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, wlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  char magic[8], fp[4096], mine_fp[4096];
  uint32_t len = 0;
  int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, FITS_MAGIC, 8) &&
           fread(&len, 4, 1, f) == 1 && len < sizeof fp &&
           fread(fp, 1, len, f) == len;
  if (!ok) {
    snprintf(why, wlen, "%s: not an rbpe experiment shard", path);
    fclose(f);
    return -1;
  }
  fp[len] = '\0';
  char dev[1024];
  if (fread(&len, 4, 1, f) != 1 || len >= sizeof dev || fread(dev, 1, len, f) != len) {
    snprintf(why, wlen, "%s: not an rbpe experiment shard", path);
    fclose(f);
    return -1;
  }
  dev[len] = '\0';
  if (!strstr(g->device, dev)) {
    size_t o = strlen(g->device);
    snprintf(g->device + o, sizeof g->device - o, "%s%s", o ? "; " : "", dev);
  }
  fingerprint(g, mine_fp, sizeof mine_fp);
  if (strcmp(fp, mine_fp)) {
    snprintf(why, wlen, "%s: a different grid (collect with the options the "
                        "shards ran with)", path);
    fclose(f);
    return -1;
  }
  uint32_t head[6];
  while (fread(head, 4, 6, f) == 6) {
    int s = (int)head[0], l = (int)head[1], p = (int)head[2], m = (int)head[3];
    ok = s < g->nsig && l < g->nlayers && p < g->nsplit && m < g->nmeth &&
         head[4] <= 1 && head[5] >= 1 && head[5] <= RBPE_MAX_DIMS;
    size_t dims[RBPE_MAX_DIMS], n = 1;
    uint32_t C = 0;
    for (uint32_t a = 0; ok && a < head[5]; a++) {
      uint64_t d;
      ok = fread(&d, 8, 1, f) == 1 && d >= 1 && d <= RBPE_MAX_SAMPLES;
      if (ok) n *= (dims[a] = (size_t)d);
      ok = ok && n <= RBPE_MAX_SAMPLES;
    }
    ok = ok && fread(&C, 4, 1, f) == 1 && C >= 1 && C <= 4;
    float *data = ok ? malloc(n * C * sizeof(float)) : NULL;
    ok = ok && data && fread(data, sizeof(float), n * C, f) == n * C;
    rbpe_signal *x = NULL;
    if (ok && rbpe_signal_from_data(ctx, (int)head[5], dims, (int)C, data, &x) != RBPE_OK)
      ok = 0;
    free(data);
    if (!ok && journal && feof(f)) break;
    if (!ok) {
      snprintf(why, wlen, "%s: a damaged record", path);
      fclose(f);
      return -1;
    }
    rbpe_signal **slot = head[4] ? &g->sigmap[rat(g, s, l, p, m)]
                                 : &g->recon[rat(g, s, l, p, m)];
    rbpe_signal_free(*slot);
    *slot = x;
  }
  fclose(f);
  return 0;
}

/* Reads one shard's results.csv into the grid; 0, or -1 with why. */
int read_results_csv(grid *g, const char *path, char *why, size_t wlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(why, wlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  char line[1024];
  int row = 0;
  if (!fgets(line, sizeof line, f) || strncmp(line, "signal,split,", 13)) {
    snprintf(why, wlen, "%s: not an rbpe experiment results.csv", path);
    fclose(f);
    return -1;
  }
  while (fgets(line, sizeof line, f)) {
    row++;
    if (!strchr(line, '\n') && feof(f)) break; /* a journal's cut last row */
    /* ten columns, or eleven with the device (older files have ten) */
    char *fld[11];
    int nf = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *c = line; nf < 11;) {
      fld[nf++] = c;
      char *comma = strchr(c, ',');
      if (!comma) break;
      *comma = '\0';
      c = comma + 1;
    }
    int s = -1, l = -1, p = -1, m = -1, k = atoi(nf > 5 ? fld[5] : "-1");
    for (int i = 0; nf >= 10 && i < g->nsig; i++)
      if (!strcmp(g->sig[i].name, fld[0])) s = i;
    for (int i = 0; s >= 0 && i < g->nsplit; i++)
      if (!strcmp(split_spec(g, rbpe_signal_ndim(g->sig[s].sig), i), fld[1])) p = i;
    for (int i = 0; nf >= 10 && i < g->nlayers; i++)
      if (g->layers[i] == atoi(fld[2])) l = i;
    for (int i = 0; nf >= 10 && i < g->nmeth; i++) {
      char key[80], par[32];
      method_key(&g->meth[i], key, sizeof key, par, sizeof par);
      if (!strcmp(key, fld[3]) && !strcmp(par, fld[4])) m = i;
    }
    if (s < 0 || l < 0 || p < 0 || m < 0 || k < 0 || k >= g->seeds) {
      snprintf(why, wlen, "%s: row %d is not a fit of this grid", path, row);
      fclose(f);
      return -1;
    }
    run_result *r = &g->res[at(g, s, l, p, m, k)];
    r->test = atof(fld[6]);
    r->train = atof(fld[7]);
    r->seconds = atof(fld[8]);
    r->done = 1;
    snprintf(r->dev, sizeof r->dev, "%s", nf > 10 ? fld[10] : "");
    if (g->val && fld[9][0]) {
      run_result *v = &g->val[at(g, s, l, p, m, k)];
      v->test = atof(fld[9]);
      v->done = 1;
    }
  }
  fclose(f);
  return 0;
}

/* Reads every shard folder of a comma-separated list; then counts the
 * fits still missing. 0, or an exit code after saying why. */
int collect(rbpe_ctx *ctx, grid *g, const char *dirs, int partial) {
  char list[4096], path[4200], why[4400];
  snprintf(list, sizeof list, "%s", dirs);
  for (char *save = NULL, *t = strtok_r(list, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    /* fits.bin first: its fingerprint says whether the shard is of this
     * grid; a shard that did not finish left its journal */
    struct stat st;
    snprintf(path, sizeof path, "%s/fits.bin", t);
    int done = stat(path, &st) == 0;
    if (!done) snprintf(path, sizeof path, "%s/journal.bin", t);
    if (g->no_pictures) /* the CSV alone: a report's kept results.csv */
      done = stat(path, &st) != 0 || done;
    else if (read_fits(ctx, g, path, !done, why, sizeof why) != 0)
      goto bad;
    snprintf(path, sizeof path, "%s/%s", t, done ? "results.csv" : "journal.csv");
    if (read_results_csv(g, path, why, sizeof why) != 0) goto bad;
  }
  long missing = 0, first = -1, unit = units(g);
  for (long u = 0; u < unit; u++) {
    unit_pos q = unit_at(g, u);
    if (unit_done(g, q.s, q.l, q.p, q.m, q.k)) continue;
    if (first < 0) first = u;
    missing++;
    if (partial)
      g->bad_seed[(((size_t)q.s * g->nlayers + q.l) * g->nsplit + q.p) *
                      g->seeds + q.k] = 1;
  }
  g->missing = partial ? missing : 0;
  if (missing && partial)
    fprintf(stderr, "rbpe experiment: %ld of %ld fits missing; their "
                    "settings are left out (--partial)\n",
            missing, unit);
  else if (missing) {
    fprintf(stderr, "rbpe experiment: %ld of %ld fits missing from %s (the "
                    "first: unit %ld; run the shards that hold them, or "
                    "--partial)\n",
            missing, unit, dirs, first);
    return EXIT_BAD_INPUT;
  }
  return EXIT_OK;
bad:
  fprintf(stderr, "rbpe experiment: %s\n", why);
  return EXIT_BAD_INPUT;
}

/* ---- resuming ------------------------------------------------------------ */

int unit_done(const grid *g, int s, int l, int p, int m, int k) {
  size_t i = at(g, s, l, p, m, k);
  return g->res[i].done &&
         (!g->val || !validated(&g->meth[m]) || g->val[i].done) &&
         (k != 0 || g->no_pictures || g->recon[rat(g, s, l, p, m)]);
}

int resume_load(rbpe_ctx *ctx, grid *g, const char *outdir, long *resumed,
                int set_aside) {
  char jb[4200], jc[4200], old[4300], why[4400];
  struct stat st;
  *resumed = 0;
  snprintf(jb, sizeof jb, "%s/journal.bin", outdir);
  snprintf(jc, sizeof jc, "%s/journal.csv", outdir);
  if (stat(jb, &st) != 0 || stat(jc, &st) != 0) return EXIT_OK;
  /* not this grid's journal (or not a journal): the output rule decides
   * what becomes of the files */
  if (read_fits(ctx, g, jb, 1, why, sizeof why) != 0) return EXIT_OK;
  if (read_results_csv(g, jc, why, sizeof why) != 0) {
    for (size_t i = 0; i < (size_t)g->nsig * g->nlayers * g->nsplit * g->nmeth; i++) {
      rbpe_signal_free(g->recon[i]);
      rbpe_signal_free(g->sigmap[i]);
      g->recon[i] = g->sigmap[i] = NULL;
    }
    return EXIT_OK;
  }
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    *resumed += unit_done(g, q.s, q.l, q.p, q.m, q.k);
  }
  if (!set_aside) return EXIT_OK;
  /* kept aside until the new journal holds these units again */
  snprintf(old, sizeof old, "%s.old", jb);
  if (rename(jb, old) != 0) goto fail;
  snprintf(old, sizeof old, "%s.old", jc);
  if (rename(jc, old) != 0) goto fail;
  return EXIT_OK;
fail:
  fprintf(stderr, "rbpe experiment: cannot set the journal aside in %s: %s\n",
          outdir, strerror(errno));
  return EXIT_OUTPUT;
}

int journal_unit(grid *g, unit_pos q) {
  csv_row(g->jcsv, g, q.s, q.l, q.p, q.m, q.k);
  if (q.k == 0) put_pictures(g->jbin, g, q.s, q.l, q.p, q.m);
  return fflush(g->jcsv) != 0 || fflush(g->jbin) != 0 ? -1 : 0;
}

int journal_replay(grid *g) {
  for (long u = 0; u < units(g); u++) {
    unit_pos q = unit_at(g, u);
    if (unit_done(g, q.s, q.l, q.p, q.m, q.k) && journal_unit(g, q) != 0)
      return -1;
  }
  return 0;
}

void resume_done(const char *outdir) {
  char path[4300];
  snprintf(path, sizeof path, "%s/journal.bin.old", outdir);
  remove(path);
  snprintf(path, sizeof path, "%s/journal.csv.old", outdir);
  remove(path);
}
