/* extractive.c - the answer without an LLM: the sentences of the top segments (text/sentences.c
 * splits them) that share the most terms with the question (the index's own language analysis), in
 * reading order, with numbers. */
#include "answer/answer.h"
#include "text/analyze.h"
#include "text/sentences.h"
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
  int cut_before, cut_after;  /* a window inside a longer sentence: quoted with "…" */
} span;

typedef struct spans { span *v; size_t n, cap; const char *t; int seg; } spans;

static int add_span(spans *s, size_t a, size_t b, int cut_before, int cut_after) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 32;
    span *nv = ar_realloc(s->v, nc * sizeof *nv);
    if (!nv) return -1;
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = (span){s->seg, a, b, 0, 0, 0, cut_before, cut_after};
  return 0;
}

/* One sentence (text/sentences.c); transcripts often lack punctuation, so a sentence longer than
 * WINDOW_WORDS words is cut into windows of that many. */
static int add_sentence(void *ud, size_t a, size_t b) {
  spans *s = ud;
  const char *t = s->t;
  for (size_t a0 = a; a < b;) {
    size_t e = a;
    int words = 0;
    while (e < b && !(t[e] == ' ' && ++words >= WINDOW_WORDS)) e++;
    if (add_span(s, a, e, a > a0, e < b)) return -1;
    a = e;
    while (a < b && t[a] == ' ') a++;
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
  spans sp = {0};
  int *u = NULL;
  ar_buf b = {0};
  if (ar_analyze(an, question, strlen(question), add_qterm, &q)) goto oom;
  size_t n_seg = AR_MIN(r->n, (size_t)TOP_SEGMENTS);
  for (size_t s = 0; s < n_seg; s++) {
    sp.t = r->hits[s].text ? r->hits[s].text : "";
    sp.seg = (int)s;
    if (ar_sentences(sp.t, add_sentence, &sp)) goto oom;
  }
  span *v = sp.v;
  size_t n = sp.n;
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
      size_t a = v[i].a, e = v[i].b;
      ar_buf_printf(&b, "%s- %s%.*s%s [%d]", first ? "" : "\n", v[i].cut_before ? "…" : "", (int)(e - a), t + a,
                    v[i].cut_after ? "…" : "", v[i].seg + 1);
      first = 0;
    }
  }
  if (b.oom) goto oom;
  for (int i = 0; i < q.n; i++) ar_free(q.t[i]);
  ar_free(sp.v);
  ar_analyzer_free(an);
  *text = ar_buf_steal(&b);
  *used = u;
  return AR_OK;
oom:
  for (int i = 0; i < q.n; i++) ar_free(q.t[i]);
  ar_free(sp.v);
  ar_free(u);
  ar_buf_free(&b);
  ar_analyzer_free(an);
  *n_used = 0;
  return ar_fail(err, AR_ERR_NOMEM, "out of memory");
}
