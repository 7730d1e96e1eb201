/* extractive.c - the answer without an LLM: the sentences of the top segments that share the most
 * terms with the question (the index's own language analysis), in reading order, with numbers. */
#include "answer/answer.h"
#include "text/analyze.h"
#include <math.h>

enum {
  TOP_SEGMENTS = 5,      /* only the best-ranked segments are quoted */
  MAX_SENTENCES = 3,
  MAX_CHARS = 700,       /* cap on quoted text (code points, roughly) */
  WINDOW_WORDS = 30,     /* transcripts often lack punctuation: long runs are cut into windows */
  MAX_TERMS = 64
};

typedef struct qterms { char *t[MAX_TERMS]; int n; } qterms;

static int add_qterm(void *ud, const char *term, int len, int start, int end) {
  qterms *q = ud;
  for (int i = 0; i < q->n; i++) if ((int)strlen(q->t[i]) == len && !memcmp(q->t[i], term, (size_t)len)) return 0;
  if (q->n == MAX_TERMS) return 0;
  if (!(q->t[q->n] = ar_strndup(term, (size_t)len))) return -1;  /* out of memory: stop */
  q->n++;
  return 0;
}

typedef struct match { const qterms *q; uint64_t hit; } match;

static int mark(void *ud, const char *term, int len, int start, int end) {
  match *m = ud;
  for (int i = 0; i < m->q->n; i++)
    if ((int)strlen(m->q->t[i]) == len && !memcmp(m->q->t[i], term, (size_t)len)) m->hit |= 1ull << i;
  return 0;
}

typedef struct span {
  int seg;               /* 0-based hit index */
  size_t a, b;           /* byte range in the segment text */
  uint64_t hit;          /* question terms present (bit i = q.t[i]) */
  double score;
  int picked;
} span;

/* Sentence ends: . ! ? … followed by a space. Runs longer than WINDOW_WORDS words are cut. */
static int split(const char *t, int seg, span **v, size_t *n, size_t *cap) {
  size_t len = strlen(t), a = 0;
  while (a < len) {
    while (a < len && t[a] == ' ') a++;
    if (a >= len) break;
    size_t b = a;
    int words = 0;
    while (b < len) {
      if (t[b] == ' ' && ++words >= WINDOW_WORDS) break;
      int end = (t[b] == '.' || t[b] == '!' || t[b] == '?') ||
                (b + 2 < len && !memcmp(t + b, "\xE2\x80\xA6", 3) && (b += 2, 1));
      b++;
      if (end && (b >= len || t[b] == ' ')) break;
    }
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 32;
      span *nv = ar_realloc(*v, nc * sizeof *nv);
      if (!nv) return -1;
      *v = nv;
      *cap = nc;
    }
    (*v)[(*n)++] = (span){seg, a, b, 0, 0, 0};
    a = b;
  }
  return 0;
}

ar_status ar_extractive_answer(const char *question, const ar_results *r, const char *lang, char **text,
                               int **used, int *n_used, ar_error *err) {
  return ar_extractive_answer_cov(question, r, lang, AR_EXTRACTIVE_MIN_COVERAGE, text, used, n_used, NULL, err);
}

ar_status ar_extractive_answer_cov(const char *question, const ar_results *r, const char *lang, double min_coverage,
                                   char **text, int **used, int *n_used, double *coverage, ar_error *err) {
  if (coverage) *coverage = 0;
  *text = NULL;
  *used = NULL;
  *n_used = 0;
  ar_analyzer *an = NULL;
  ar_status st = ar_analyzer_new(lang && *lang ? lang : "pt", 0, &an, err);
  if (st != AR_OK) return st;
  qterms q = {{0}, 0};
  span *v = NULL;
  size_t n = 0, cap = 0;
  int *u = NULL;
  ar_buf b = {0};
  if (ar_analyze(an, question, strlen(question), add_qterm, &q)) goto oom;
  size_t n_seg = AR_MIN(r->n, (size_t)TOP_SEGMENTS);
  for (size_t s = 0; s < n_seg; s++)
    if (split(r->hits[s].text ? r->hits[s].text : "", (int)s, &v, &n, &cap)) goto oom;
  /* Score: the question terms in the sentence, each weighted by its rarity among the candidate
   * sentences (a term in every sentence, like the course's subject, says little); ties go to the
   * better-ranked segment. */
  int df[MAX_TERMS] = {0};
  for (size_t i = 0; i < n && q.n; i++) {
    match m = {&q, 0};
    const char *t = r->hits[v[i].seg].text;
    ar_analyze(an, t + v[i].a, v[i].b - v[i].a, mark, &m);
    v[i].hit = m.hit;
    for (int j = 0; j < q.n; j++) df[j] += (int)(m.hit >> j & 1);
  }
  /* "Not covered": a segment that shares few of the question's terms is retrieval's best guess,
   * not an answer; quoting it would pass an unrelated lecture off as one. */
  uint64_t seg_hit[TOP_SEGMENTS] = {0};
  for (size_t i = 0; i < n; i++) seg_hit[v[i].seg] |= v[i].hit;
  double cov = 0;
  for (size_t s = 0; s < n_seg && q.n; s++) {
    double c = (double)__builtin_popcountll(seg_hit[s]) / q.n;
    if (c > cov) cov = c;
  }
  if (coverage) *coverage = cov;
  int covered = q.n == 0 || cov >= min_coverage;
  for (size_t i = 0; i < n && q.n && covered; i++) {
    double sc = 0;
    for (int j = 0; j < q.n; j++)
      if (v[i].hit >> j & 1) sc += log(((double)n + 1) / (df[j] + 0.5));
    v[i].score = sc > 0 ? sc - 0.001 * v[i].seg : 0;
  }
  int chars = 0, picked = 0;
  for (; picked < MAX_SENTENCES; picked++) {
    size_t best = n;
    for (size_t i = 0; i < n; i++)
      if (!v[i].picked && v[i].score > 0 && (best == n || v[i].score > v[best].score)) best = i;
    if (best == n) break;
    int c = ar_approx_tokens(r->hits[v[best].seg].text + v[best].a, v[best].b - v[best].a) * 4;
    if (picked > 0 && chars + c > MAX_CHARS) break;
    v[best].picked = 1;
    chars += c;
  }
  ar_buf_puts(&b, AR_EXTRACTIVE_LABEL "\n");
  if (!picked) {
    ar_buf_puts(&b, AR_EXTRACTIVE_NONE);
  } else {
    u = ar_malloc(MAX_SENTENCES * sizeof *u);
    if (!u) goto oom;
    /* reading order: segment rank, then position in the segment */
    int first = 1;
    for (size_t i = 0; i < n; i++) {
      if (!v[i].picked) continue;
      const char *t = r->hits[v[i].seg].text;
      int seen = 0;
      for (int j = 0; j < *n_used; j++) seen |= u[j] == v[i].seg;
      if (!seen) u[(*n_used)++] = v[i].seg;
      size_t len = strlen(t), a = v[i].a, e = v[i].b;
      int cut_before = a > 0 && !strchr(".!?", t[a >= 2 ? a - 2 : 0]) &&
                       !(a >= 4 && !memcmp(t + a - 4, "\xE2\x80\xA6", 3));
      int cut_after = e < len && !strchr(".!?", t[e - 1]) && !(e >= 3 && !memcmp(t + e - 3, "\xE2\x80\xA6", 3));
      ar_buf_printf(&b, "%s- %s%.*s%s [%d]", first ? "" : "\n", cut_before ? "…" : "", (int)(e - a), t + a,
                    cut_after ? "…" : "", v[i].seg + 1);
      first = 0;
    }
  }
  if (b.oom) goto oom;
  for (int i = 0; i < q.n; i++) ar_free(q.t[i]);
  ar_free(v);
  ar_analyzer_free(an);
  *text = ar_buf_steal(&b);
  *used = u;
  return AR_OK;
oom:
  for (int i = 0; i < q.n; i++) ar_free(q.t[i]);
  ar_free(v);
  ar_free(u);
  ar_buf_free(&b);
  ar_analyzer_free(an);
  *n_used = 0;
  return ar_fail(err, AR_ERR_NOMEM, "out of memory");
}
