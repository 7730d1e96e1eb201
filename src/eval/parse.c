/* parse.c - reading judges' replies: the 0..3 score after the last "Score:", the final label line. */
#include "core/util.h"
#include "eval/eval.h"
#include <ctype.h>
#include <strings.h>

const char *ar_judge_status_name(ar_judge_status s) {
  switch (s) {
  case AR_JUDGE_OK: return "ok";
  case AR_JUDGE_FAILED: return "failed";
  case AR_JUDGE_SKIPPED: return "skipped";
  }
  return "?";
}

/* A number found in the score line: [b, e) and its value. */
typedef struct num { const char *b, *e; double v; int scale; } num;

static const char *skip_sp(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t')) p++;
  return p;
}

/* Word before position p (letters only, lower-cased into w). */
static void word_before(const char *start, const char *p, char *w, size_t cap) {
  while (p > start && (p[-1] == ' ' || p[-1] == '\t')) p--;
  const char *e = p;
  while (p > start && (isalpha((unsigned char)p[-1]) || (unsigned char)p[-1] >= 0x80)) p--;
  size_t n = (size_t)(e - p);
  if (n >= cap) n = cap - 1;
  for (size_t i = 0; i < n; i++) w[i] = (char)tolower((unsigned char)p[i]);
  w[n] = 0;
}

/* The word (or dash) right after p; returns where it ends. */
static const char *word_after(const char *p, const char *end, char *w, size_t cap) {
  p = skip_sp(p, end);
  size_t n = 0;
  if (p < end && (*p == '-' || *p == '/')) { w[0] = *p; w[1] = 0; return p + 1; }
  if (p + 3 <= end && (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
      ((unsigned char)p[2] == 0x93 || (unsigned char)p[2] == 0x94)) { /* en/em dash */
    w[0] = '-'; w[1] = 0; return p + 3;
  }
  while (p < end && (isalpha((unsigned char)*p) || (unsigned char)*p >= 0x80) && n + 1 < cap)
    w[n++] = (char)tolower((unsigned char)*p++);
  w[n] = 0;
  return p;
}

static int is_range_word(const char *w) {
  return !strcmp(w, "to") || !strcmp(w, "a") || !strcmp(w, "-") || !strcmp(w, "até") ||
         !strcmp(w, "through");
}

/* Finds the numbers in [p, end) and marks those of scale statements. */
static size_t scan_numbers(const char *line, const char *end, num *v, size_t cap) {
  size_t n = 0;
  const char *p = line;
  while (p < end && n < cap) {
    if (!isdigit((unsigned char)*p)) { p++; continue; }
    if (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) { /* part of a word: x2, gpt4 */
      while (p < end && isalnum((unsigned char)*p)) p++;
      continue;
    }
    const char *b = p;
    if (b > line && b[-1] == '-' && (b - 1 == line || !isdigit((unsigned char)b[-2])) &&
        (b - 1 == line || b[-2] == ' ' || b[-2] == ':' || b[-2] == '*'))
      b--;  /* a sign: "-1" (kept so it reads as out of range, not as 1) */
    while (p < end && isdigit((unsigned char)*p)) p++;
    if (p + 1 < end && (*p == '.' || *p == ',') && isdigit((unsigned char)p[1])) {
      p++;
      while (p < end && isdigit((unsigned char)*p)) p++;
    }
    char tmp[64];
    size_t len = (size_t)(p - b) < sizeof tmp - 1 ? (size_t)(p - b) : sizeof tmp - 1;
    memcpy(tmp, b, len);
    tmp[len] = 0;
    for (char *c = tmp; *c; c++) if (*c == ',') *c = '.';
    v[n].b = b; v[n].e = p; v[n].v = strtod(tmp, NULL); v[n].scale = 0;
    n++;
  }
  for (size_t i = 0; i < n; i++) {
    char w[32];
    /* "0 to 3", "0-3", "0 a 3": both ends are the scale */
    const char *after = word_after(v[i].e, end, w, sizeof w);
    if (i + 1 < n && is_range_word(w) && skip_sp(after, end) == v[i + 1].b) {
      v[i].scale = v[i + 1].scale = 1;
    }
    /* "2/3", "2 out of 3", "2 de 3", "scale of 3", "máximo 3" */
    const char *q = v[i].b;
    while (q > line && (q[-1] == ' ' || q[-1] == '\t')) q--;
    if (q > line && q[-1] == '/') v[i].scale = 1;
    word_before(line, v[i].b, w, sizeof w);
    if (!strcmp(w, "of") || !strcmp(w, "de") || !strcmp(w, "máximo") || !strcmp(w, "max") ||
        !strcmp(w, "maximum") || !strcmp(w, "scale") || !strcmp(w, "escala"))
      v[i].scale = 1;
  }
  return n;
}

/* Position right after the last "score" + optional markdown + ':' (case-insensitive). */
static const char *last_score_label(const char *s) {
  const char *best = NULL;
  for (const char *p = s; (p = strcasestr(p, "score")) != NULL; p += 5) {
    const char *q = p + 5;
    while (*q == '*' || *q == '_' || *q == ' ') q++;
    if (*q == ':') best = q + 1;
  }
  return best;
}

int ar_parse_score(const char *reply, int max_score, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (!reply) { *why = "no reply"; return -1; }
  const char *p = last_score_label(reply);
  if (!p) { *why = "no \"Score:\" in the reply"; return -1; }
  /* the rest of the Score line; when empty (markdown only), the next non-empty line */
  for (int tries = 0; tries < 2; tries++) {
    const char *end = strchr(p, '\n');
    if (!end) end = p + strlen(p);
    const char *q = p;
    while (q < end && (*q == ' ' || *q == '\t' || *q == '*' || *q == '_' || *q == '\r')) q++;
    if (q == end && *end == '\n' && tries == 0) {
      p = end + 1;
      while (*p == '\n' || *p == '\r' || *p == ' ') p++;
      continue;
    }
    num v[16];
    size_t n = scan_numbers(p, end, v, 16);
    for (size_t i = 0; i < n; i++) {
      if (v[i].scale) continue;
      double x = v[i].v;
      /* range first: converting a double beyond long's range to long is undefined */
      if (!(x >= 0 && x <= max_score)) { *why = "the score is out of range"; return -1; }
      if (x != (double)(long)x) { *why = "the score is not a whole number"; return -1; }
      return (int)x;
    }
    *why = n ? "only a scale statement after \"Score:\"" : "no number after the last \"Score:\"";
    return -1;
  }
  *why = "no number after the last \"Score:\"";
  return -1;
}

static int line_is_label(const char *b, const char *e, const char **val) {
  while (b < e && (*b == ' ' || *b == '\t' || *b == '*' || *b == '_' || *b == '#' || *b == '-' || *b == '>')) b++;
  static const char *names[] = {"label", "rótulo", "rotulo", "final label", "rótulo final", "classificação"};
  for (size_t i = 0; i < AR_ARRAY_LEN(names); i++) {
    size_t n = strlen(names[i]);
    if ((size_t)(e - b) >= n && !strncasecmp(b, names[i], n)) {
      const char *q = b + n;
      while (q < e && (*q == '*' || *q == '_' || *q == ' ')) q++;
      if (q < e && *q == ':') { *val = q + 1; return 1; }
    }
  }
  return 0;
}

int ar_parse_label(const char *reply, char *const *labels, int n_labels, const char **why) {
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  if (!reply) { *why = "no reply"; return -1; }
  const char *vb = NULL, *ve = NULL;
  for (const char *b = reply; *b;) {
    const char *e = strchr(b, '\n');
    if (!e) e = b + strlen(b);
    const char *val;
    if (line_is_label(b, e, &val)) { vb = val; ve = e; }
    b = *e ? e + 1 : e;
  }
  if (!vb) { *why = "no \"Label:\" line in the reply"; return -1; }
  while (vb < ve && strchr(" \t*_\"'`[(", *vb)) vb++;
  while (ve > vb && strchr(" \t\r*_\"'`.])", ve[-1])) ve--;
  for (int i = 0; i < n_labels; i++) {
    size_t n = strlen(labels[i]);
    if ((size_t)(ve - vb) == n && !strncasecmp(vb, labels[i], n)) return i;
  }
  /* "C (correta)", "P - parcialmente correta": a label followed by its gloss */
  for (int i = 0; i < n_labels; i++) {
    size_t n = strlen(labels[i]);
    if ((size_t)(ve - vb) <= n || strncasecmp(vb, labels[i], n)) continue;
    const char *q = vb + n;
    while (q < ve && (*q == ' ' || *q == '*')) q++;
    if (q > vb + n && q < ve && (*q == '(' || *q == '-' || *q == ':' || (unsigned char)*q == 0xE2)) return i;
  }
  *why = "the last \"Label:\" line names no label of the set";
  return -1;
}

char *ar_cot_text(const char *reply) {
  if (!reply) return ar_strdup("");
  const char *c = strstr(reply, "Criteria:");
  return ar_one_line(c ? c : reply);
}

ar_status ar_labels_parse(const char *spec, char ***labels, int *n, ar_error *err) {
  *labels = NULL;
  *n = 0;
  if (!spec || !*spec) spec = "C,P,I";
  char **v = ar_calloc(AR_MAX_LABELS, sizeof *v);
  if (!v) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  int k = 0;
  const char *p = spec;
  for (;;) {
    const char *c = strchr(p, ',');
    const char *e = c ? c : p + strlen(p);
    while (p < e && *p == ' ') p++;
    while (e > p && e[-1] == ' ') e--;
    if (e == p || k == AR_MAX_LABELS) {
      ar_labels_free(v, k);
      return ar_fail(err, AR_ERR_INVALID, "label set \"%s\": expected 2 to %d non-empty comma-separated labels",
                     spec, AR_MAX_LABELS);
    }
    v[k] = ar_strndup(p, (size_t)(e - p));
    if (!v[k]) { ar_labels_free(v, k); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < k; i++)
      if (!strcasecmp(v[i], v[k])) {
        ar_labels_free(v, k + 1);
        return ar_fail(err, AR_ERR_INVALID, "label set \"%s\": label repeated", spec);
      }
    k++;
    if (!c) break;
    p = c + 1;
  }
  if (k < 2) {
    ar_labels_free(v, k);
    return ar_fail(err, AR_ERR_INVALID, "label set \"%s\": expected at least 2 labels", spec);
  }
  *labels = v;
  *n = k;
  return AR_OK;
}

void ar_labels_free(char **labels, int n) {
  if (!labels) return;
  for (int i = 0; i < n; i++) ar_free(labels[i]);
  ar_free(labels);
}
