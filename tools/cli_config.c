/* `rbpe fit --config metrics.json`: the command line a run recorded in its
 * metrics.json ("command_line": an array of JSON strings, the arguments
 * after `fit`), expanded in place of --config FILE so that arguments given
 * after it still override the recorded ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CONFIG_MAX_BYTES (4u << 20)
#define CONFIG_MAX_ARGS 256

/* One JSON string at *p (after its opening quote) into a malloc'd UTF-8
 * string; *p moves past the closing quote. NULL when malformed. */
static char *json_string(const char **p) {
  const char *s = *p;
  size_t cap = strlen(s) + 1;
  char *out = malloc(cap), *o = out;
  if (!out) return NULL;
  while (*s && *s != '"') {
    if ((unsigned char)*s < 0x20) break;
    if (*s != '\\') {
      *o++ = *s++;
      continue;
    }
    s++;
    char c = *s++;
    if (c == 'n') *o++ = '\n';
    else if (c == 't') *o++ = '\t';
    else if (c == 'r') *o++ = '\r';
    else if (c == 'b') *o++ = '\b';
    else if (c == 'f') *o++ = '\f';
    else if (c == '"' || c == '\\' || c == '/') *o++ = c;
    else if (c == 'u') {
      unsigned v = 0;
      for (int k = 0; k < 4; k++) {
        char h = *s++;
        v = v * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
                               : h >= 'a' && h <= 'f' ? h - 'a' + 10
                               : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                      : 99);
        if (v > 0xFFFF) break;
      }
      if (v == 0 || v > 0xFFFF || (v >= 0xD800 && v <= 0xDFFF)) break;
      if (v < 0x80) *o++ = (char)v;
      else if (v < 0x800) {
        *o++ = (char)(0xC0 | (v >> 6));
        *o++ = (char)(0x80 | (v & 0x3F));
      } else {
        *o++ = (char)(0xE0 | (v >> 12));
        *o++ = (char)(0x80 | ((v >> 6) & 0x3F));
        *o++ = (char)(0x80 | (v & 0x3F));
      }
    } else {
      break;
    }
  }
  if (*s != '"') {
    free(out);
    return NULL;
  }
  *o = '\0';
  *p = s + 1;
  return out;
}

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
  return p;
}

/* The recorded arguments: n strings, malloc'd. 0, or -1 with why. */
static int read_recorded(const char *path, char ***args, int *n, char *why,
                         size_t why_len) {
  *args = NULL;
  *n = 0;
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    snprintf(why, why_len, "--config %s: %s", path, strerror(errno));
    return -1;
  }
  char *text = malloc(CONFIG_MAX_BYTES + 1);
  size_t len = text ? fread(text, 1, CONFIG_MAX_BYTES + 1, f) : 0;
  if (f != stdin) fclose(f);
  if (!text || len > CONFIG_MAX_BYTES) {
    free(text);
    snprintf(why, why_len, "--config %s: %s", path,
             text ? "larger than 4 MiB, not a metrics.json" : "out of memory");
    return -1;
  }
  text[len] = '\0';
  const char *key = strstr(text, "\"command_line\"");
  const char *p = key ? skip_ws(key + strlen("\"command_line\"")) : NULL;
  if (!p || *p != ':' || *(p = skip_ws(p + 1)) != '[') {
    free(text);
    snprintf(why, why_len,
             "--config %s: no \"command_line\" array (a metrics.json written "
             "by rbpe fit has one)",
             path);
    return -1;
  }
  p = skip_ws(p + 1);
  char **list = calloc(CONFIG_MAX_ARGS, sizeof *list);
  int count = 0, ok = list != NULL;
  while (ok && *p != ']') {
    if (*p != '"' || count == CONFIG_MAX_ARGS) {
      ok = 0;
      break;
    }
    p++;
    char *s = json_string(&p);
    if (!s) {
      ok = 0;
      break;
    }
    list[count++] = s;
    p = skip_ws(p);
    if (*p == ',') p = skip_ws(p + 1);
    else if (*p != ']') ok = 0;
  }
  free(text);
  if (!ok) {
    for (int k = 0; k < count; k++) free(list[k]);
    free(list);
    snprintf(why, why_len, "--config %s: its \"command_line\" is damaged", path);
    return -1;
  }
  for (int k = 0; k < count; k++)
    if (!strcmp(list[k], "--config") || !strncmp(list[k], "--config=", 9)) {
      for (int j = 0; j < count; j++) free(list[j]);
      free(list);
      snprintf(why, why_len, "--config %s: records another --config", path);
      return -1;
    }
  *args = list;
  *n = count;
  return 0;
}

int cli_expand_config(int argc, char **argv, cli_args *out, char *why,
                      size_t why_len) {
  memset(out, 0, sizeof *out);
  int at = -1;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--config") && i + 1 < argc) {
      at = i;
      path = argv[i + 1];
      break;
    }
    if (!strncmp(argv[i], "--config=", 9)) {
      at = i;
      path = argv[i] + 9;
      break;
    }
    if (!strcmp(argv[i], "--config")) {
      snprintf(why, why_len, "--config needs a metrics.json");
      return -1;
    }
  }
  if (at < 0) {
    out->argc = argc;
    out->argv = argv;
    out->recorded_from = out->user_from = argc;
    return 0;
  }
  char **rec;
  int nrec;
  if (read_recorded(path, &rec, &nrec, why, why_len) != 0) return -1;
  int skip = strncmp(argv[at], "--config=", 9) ? 2 : 1;
  int total = argc - skip + nrec;
  char **v = calloc((size_t)total + 1, sizeof *v);
  if (!v) {
    for (int k = 0; k < nrec; k++) free(rec[k]);
    free(rec);
    snprintf(why, why_len, "out of memory");
    return -1;
  }
  /* the command, what was there before --config, the recorded arguments,
   * then everything after --config FILE (later arguments win) */
  int k = 0;
  for (int i = 0; i < at; i++) v[k++] = argv[i];
  out->recorded_from = k;
  for (int i = 0; i < nrec; i++) v[k++] = rec[i];
  out->user_from = k;
  for (int i = at + skip; i < argc; i++) v[k++] = argv[i];
  out->argc = k;
  out->argv = v;
  out->owned = rec;
  out->n_owned = nrec;
  out->expanded = 1;
  return 0;
}

void cli_args_free(cli_args *a) {
  if (a->expanded) {
    for (int k = 0; k < a->n_owned; k++) free(a->owned[k]);
    free(a->owned);
    free(a->argv);
  }
  memset(a, 0, sizeof *a);
}
