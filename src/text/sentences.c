/* sentences.c - Portuguese-aware sentence splitting (abbreviations, decimals, ellipses): the one
 * splitter, for the groundedness judge (eval/) and the extractive answer (answer/). */
#include "core/util.h"
#include "text/sentences.h"
#include <ctype.h>
#include <strings.h>

/* Titles and abbreviations that are followed by a name or a word, so a period after them never
 * ends a sentence (lower-case, without the final period). */
static const char *const never_end[] = {
  "sr", "sra", "srta", "srs", "sras", "dr", "dra", "drs", "dras", "prof", "profa", "profs", "eng",
  "exmo", "exma", "sto", "sta", "av", "vs", "nº", "n", "no", "núm", "num", "pág", "pag", "págs",
  "cap", "fig", "figs", "vol", "ed", "obs", "art", "tel", "dept", "depto", "mr", "mrs", "ms",
  "st", "jr", "p", "pp", "ex", "cf", "aprox", "min", "máx", "max", "séc", "sec", "ref", "refs",
};

static int is_lower_start(const unsigned char *p) {
  if (*p >= 'a' && *p <= 'z') return 1;
  /* Latin-1 supplement lower case: U+00DF..U+00FF = C3 9F..C3 BF */
  if (p[0] == 0xC3 && p[1] >= 0x9F && p[1] <= 0xBF) return 1;
  return 0;
}

/* The token that ends at e (exclusive, e points at the '.'): from the previous space. */
static int token_is_abbrev(const char *start, const char *e) {
  const char *b = e;
  while (b > start && !isspace((unsigned char)b[-1]) && b[-1] != '(' && b[-1] != '"') b--;
  size_t n = (size_t)(e - b);
  if (n == 0) return 0;
  /* single letter initial: "J. Silva" */
  if (n == 1 && isupper((unsigned char)*b)) return 1;
  /* a token with inner periods: "p.ex", "i.e", "e.g" */
  if (memchr(b, '.', n) && isalpha((unsigned char)e[-1])) return 1;
  char w[16];
  if (n >= sizeof w) return 0;
  for (size_t i = 0; i < n; i++) w[i] = (char)tolower((unsigned char)b[i]);
  w[n] = 0;
  for (size_t i = 0; i < AR_ARRAY_LEN(never_end); i++)
    if (!strcmp(w, never_end[i])) return 1;
  return 0;
}

/* Reports the sentence [b, e) of text without its surrounding white space (none when blank). */
static int emit(const char *text, const char *b, const char *e, ar_sentence_fn fn, void *ud) {
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  return e == b ? 0 : fn(ud, (size_t)(b - text), (size_t)(e - text));
}

int ar_sentences(const char *text, ar_sentence_fn fn, void *ud) {
  if (!text) return 0;
  const char *start = text, *p = text;
  int rc;
  while (*p) {
    const char *end = NULL;  /* exclusive end of a sentence ending at p */
    if (*p == '\n') {
      end = p;
      p++;
    } else if (*p == '!' || *p == '?' || *p == '.' ||
               ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xA6)) {
      int ellipsis = *p != '.' && *p != '!' && *p != '?';
      const char *q = p;
      if (ellipsis) q += 3;
      else {
        if (*q == '.' && q[1] == '.') ellipsis = 1;
        while (*q == '.' || *q == '!' || *q == '?') q++;
      }
      /* closing quotes / brackets belong to the sentence */
      while (*q == '"' || *q == '\'' || *q == ')' || *q == ']' ||
             ((unsigned char)q[0] == 0xC2 && (unsigned char)q[1] == 0xBB) ||
             ((unsigned char)q[0] == 0xE2 && (unsigned char)q[1] == 0x80 && (unsigned char)q[2] == 0x9D))
        q += ((unsigned char)*q >= 0x80) ? ((unsigned char)*q == 0xC2 ? 2 : 3) : 1;
      if (*q && !isspace((unsigned char)*q)) {  /* "3.5", "p.ex", "www.x.org": inside a token */
        p = q;
        continue;
      }
      const char *nx = q;
      while (*nx == ' ' || *nx == '\t') nx++;
      int split = 1;
      if (*nx && *nx != '\n') {
        if (*p == '.' && !ellipsis && token_is_abbrev(start, p)) split = 0;
        else if ((*p == '.' || ellipsis) && is_lower_start((const unsigned char *)nx)) split = 0;
      }
      if (split) end = q;
      p = q;
    } else {
      p++;
    }
    if (end) {
      if ((rc = emit(text, start, end, fn, ud))) return rc;
      start = end;
    }
  }
  return emit(text, start, p, fn, ud);
}

typedef struct copies { const char *text; char **v; size_t n, cap; } copies;

static int copy_one(void *ud, size_t a, size_t b) {
  copies *c = ud;
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 8;
    char **nv = ar_realloc(c->v, nc * sizeof *nv);
    if (!nv) return -1;
    c->v = nv;
    c->cap = nc;
  }
  if (!(c->v[c->n] = ar_strndup(c->text + a, b - a))) return -1;
  c->n++;
  return 0;
}

size_t ar_split_sentences(const char *text, char ***out) {
  copies c = {text, NULL, 0, 0};
  if (ar_sentences(text, copy_one, &c)) { ar_strings_free(c.v, c.n); *out = NULL; return 0; }
  *out = c.v;
  return c.n;
}

void ar_strings_free(char **v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) ar_free(v[i]);
  ar_free(v);
}
