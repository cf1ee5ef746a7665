/* One options table per command (cli_option): it parses the command
 * line, says what a bad value needs, and writes the options part of
 * --help, defaults read from the targets (the library's defaults) and
 * enumerations' names from the library. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "--device" is also "-d", "--out" also "-o" (cli_opt); "--quiet" "-q". */
static const char *short_form(const char *name) {
  return !strcmp(name, "--device")                               ? "-d"
         : !strcmp(name, "--out") || !strcmp(name, "--output") ? "-o"
         : !strcmp(name, "--quiet")                              ? "-q"
         : !strcmp(name, "--help")                               ? "-h"
                                                                 : NULL;
}

static int takes_value(const cli_option *o) {
  return o->kind != CLI_FLAG && o->kind != CLI_FLAGF && o->kind != CLI_SECTION;
}

/* The i-th name a CLI_ENUM (the library's table) or CLI_CHOICE (meta,
 * "a|b") option takes, into buf; 0 when there is none. */
static int option_name(const cli_option *o, int i, char *buf, size_t len) {
  if (o->kind == CLI_ENUM) {
    const char *const *names;
    if (i < 0 || i >= rbpe_enum_names((rbpe_enum)o->lo, &names)) return 0;
    snprintf(buf, len, "%s", names[i]);
    return 1;
  }
  const char *list = o->meta;
  for (int k = 0; k < i && list; k++) {
    list = strchr(list, '|');
    if (list) list++;
  }
  if (!list || i < 0) return 0;
  size_t n = strcspn(list, "|");
  snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), list);
  return 1;
}

/* The value's index among the option's names, or -1. */
static int name_index(const cli_option *o, const char *v) {
  char name[64];
  for (int i = 0; option_name(o, i, name, sizeof name); i++)
    if (!strcmp(name, v)) return i;
  return -1;
}

/* Every name the option takes, joined by sep. */
static void names_of(const cli_option *o, char *buf, size_t len, const char *sep) {
  char name[64];
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; k < len && option_name(o, i, name, sizeof name); i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? sep : "", name);
}

/* What a bad value of o needs, after "--name needs ". */
static void needs(const cli_option *o, char *buf, size_t len) {
  char names[160];
  if (o->needs) {
    snprintf(buf, len, "%s", o->needs);
    return;
  }
  switch (o->kind) {
  case CLI_INT:
  case CLI_SIZE:
  case CLI_U64:
  case CLI_LONG:
    if (o->hi >= 1e6)
      snprintf(buf, len, "an integer >= %.0f", o->lo);
    else
      snprintf(buf, len, "an integer %.0f..%.0f", o->lo, o->hi);
    return;
  case CLI_FLOAT:
    if (o->lo > 0 && o->lo <= 1e-6 && o->hi >= 1e3)
      snprintf(buf, len, "a number > 0");
    else
      snprintf(buf, len, "a number in [%g, %g]", o->lo, o->hi);
    return;
  case CLI_ENUM:
  case CLI_CHOICE:
    names_of(o, names, sizeof names, ", ");
    snprintf(buf, len, "one of %s", names);
    return;
  case CLI_BYTES: snprintf(buf, len, "a size such as 512M"); return;
  default: snprintf(buf, len, "a value"); return;
  }
}

static int bad_value(const char *cmd, const cli_option *o) {
  char what[200];
  needs(o, what, sizeof what);
  return cli_usage_error(cmd, "%s needs %s", o->name, what);
}

/* Stores v into o's target: 1, or 0 when v is not a value it takes. */
static int store(const cli_option *o, const char *v) {
  long n;
  int k;
  switch (o->kind) {
  case CLI_INT:
  case CLI_SIZE:
  case CLI_U64:
  case CLI_LONG:
    if (!cli_parse_long(v, (long)o->lo, (long)o->hi, &n)) return 0;
    if (o->kind == CLI_INT) *(int *)o->at = (int)n;
    else if (o->kind == CLI_SIZE) *(size_t *)o->at = (size_t)n;
    else if (o->kind == CLI_U64) *(uint64_t *)o->at = (uint64_t)n;
    else *(long *)o->at = n;
    return 1;
  case CLI_FLOAT: return cli_parse_float(v, o->lo, o->hi, (float *)o->at);
  case CLI_STRING: *(const char **)o->at = v; return 1;
  case CLI_ENUM:
  case CLI_CHOICE:
    if ((k = name_index(o, v)) < 0) return 0;
    *(int *)o->at = k;
    return 1;
  case CLI_BYTES: return cli_parse_bytes(v, (uint64_t *)o->at);
  case CLI_CUSTOM: return o->parse(o->at, v) == 0;
  default: return 0; /* sections and flags take no value */
  }
}

int cli_options_parse(const char *cmd, const cli_option *opts, int argc,
                      char **argv, int *i) {
  const char *a = argv[*i];
  for (const cli_option *o = opts; o->name; o++) {
    if (o->kind == CLI_SECTION) continue;
    if (!takes_value(o)) {
      if (!cli_flag(a, o->name)) continue;
      if (o->kind == CLI_FLAG) *(int *)o->at = (int)o->lo;
      else *(float *)o->at = (float)o->lo;
      return 1;
    }
    const char *v;
    int r = cli_opt(argc, argv, i, o->name, &v);
    if (!r) continue;
    if (r < 0 || !store(o, v)) return -bad_value(cmd, o);
    return 1;
  }
  return 0;
}

/* Text with "%D" replaced by the target's present value (the default). */
static void expand(const cli_option *o, char *buf, size_t len) {
  char def[96] = "";
  switch (o->kind) {
  case CLI_INT: snprintf(def, sizeof def, "%d", *(const int *)o->at); break;
  case CLI_SIZE: snprintf(def, sizeof def, "%zu", *(const size_t *)o->at); break;
  case CLI_U64:
    snprintf(def, sizeof def, "%llu", (unsigned long long)*(const uint64_t *)o->at);
    break;
  case CLI_LONG: snprintf(def, sizeof def, "%ld", *(const long *)o->at); break;
  case CLI_FLOAT: snprintf(def, sizeof def, "%g", (double)*(const float *)o->at); break;
  case CLI_STRING:
    snprintf(def, sizeof def, "%s",
             *(const char *const *)o->at ? *(const char *const *)o->at : "");
    break;
  case CLI_ENUM:
  case CLI_CHOICE: option_name(o, *(const int *)o->at, def, sizeof def); break;
  default: break;
  }
  size_t k = 0;
  for (const char *p = o->help ? o->help : ""; *p && k + 1 < len; p++) {
    if (p[0] == '%' && p[1] == 'D') {
      k += (size_t)snprintf(buf + k, len - k, "%s", def);
      if (k >= len) k = len - 1;
      p++;
    } else {
      buf[k++] = *p;
    }
  }
  buf[k] = '\0';
}

/* Writes text wrapped at 78 columns, continuation lines indented to col. */
static void wrapped(FILE *f, const char *text, int at, int col) {
  const char *p = text;
  int space = 0;
  while (*p) {
    size_t word = strcspn(p, " ");
    if (at > col && at + space + (int)word > 78) {
      fprintf(f, "\n%*s", col, "");
      at = col;
      space = 0;
    }
    fprintf(f, "%*s%.*s", space, "", (int)word, p);
    at += space + (int)word;
    p += word;
    for (space = 0; *p == ' '; p++) space = 1;
  }
  fputc('\n', f);
}

void cli_options_help(FILE *f, const cli_option *opts) {
  enum { COL = 26 };
  for (const cli_option *o = opts; o->name; o++) {
    if (o->kind == CLI_SECTION) {
      fprintf(f, "%s:\n", o->name);
      continue;
    }
    char head[200], meta[160], text[1024];
    const char *s = short_form(o->name);
    if (o->kind == CLI_ENUM || o->kind == CLI_CHOICE)
      names_of(o, meta, sizeof meta, "|");
    else
      snprintf(meta, sizeof meta, "%s", o->meta ? o->meta : "");
    snprintf(head, sizeof head, "  %s%s%s%s%s", s ? s : "", s ? ", " : "",
             o->name, takes_value(o) ? " " : "", takes_value(o) ? meta : "");
    expand(o, text, sizeof text);
    int at = (int)strlen(head);
    fputs(head, f);
    if (at + 2 > COL) {
      fprintf(f, "\n%*s", COL, "");
    } else {
      fprintf(f, "%*s", COL - at, "");
    }
    wrapped(f, text, COL, COL);
  }
}

int cli_options_run(const char *cmd, const char *usage, const cli_option *opts,
                    int argc, char **argv, const char **pos, int npos) {
  int got = 0;
  for (int i = 1; i < argc; i++) {
    int r = cli_options_parse(cmd, opts, argc, argv, &i);
    if (r < 0) return -r;
    if (r > 0) continue;
    const char *a = argv[i];
    if (cli_flag(a, "--help")) {
      fputs(usage, stdout);
      cli_options_help(stdout, opts);
      printf("  -h, --help              this text\n");
      return EXIT_OK;
    }
    if ((a[0] == '-' && a[1]) || got == npos)
      return cli_usage_error(cmd, "%s '%s'",
                             a[0] == '-' && a[1] ? "unknown option"
                                                 : "unexpected argument",
                             a);
    pos[got++] = a;
  }
  return -1;
}

int cli_channel_opt(void *at, const char *v) {
  long n;
  if (!cli_parse_long(v, 1, RBPE_MAX_CHANNELS, &n)) return -1;
  *(int *)at = (int)n - 1;
  return 0;
}
