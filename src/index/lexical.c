/* lexical.c - BM25 retrieval: a user question -> its distinct terms -> ranked corpus ids, by the
 * exact top-k of lexsearch.c; and the same question as a safe FTS5 expression for the exhaustive
 * path (FTS5 + ar_bm25, kept for the bench and as a reference). */
#include "index/postings.h"
#include "core/util.h"

struct qbuild {
  ar_buf buf;
  const char *text;
  char **terms;          /* distinct terms seen so far (a question has few words: linear scan) */
  int n_terms, cap_terms;
  int oom;
};

/* A pasted paragraph is still a question; its first terms are plenty for BM25, and the cap keeps
 * the expression (and the de-duplication scan) small. */
#define MAX_QUERY_TERMS 256

static int on_query_term(void *ud, const char *term, int len, int start, int end) {
  struct qbuild *b = ud;
  if (b->n_terms >= MAX_QUERY_TERMS) return 1;
  for (int i = 0; i < b->n_terms; i++)
    if ((int)strlen(b->terms[i]) == len && !memcmp(b->terms[i], term, (size_t)len)) return 0;
  if (b->n_terms == b->cap_terms) {
    int nc = b->cap_terms ? b->cap_terms * 2 : 16;
    char **nt = ar_realloc(b->terms, (size_t)nc * sizeof *nt);
    if (!nt) { b->oom = 1; return 1; }
    b->terms = nt;
    b->cap_terms = nc;
  }
  if (!(b->terms[b->n_terms] = ar_strndup(term, (size_t)len))) { b->oom = 1; return 1; }
  b->n_terms++;
  if (!b->text) return 0;  /* terms only */
  /* The word as the user wrote it, double-quoted: it holds only letters, digits and marks
   * (the analyzer's word definition), so it cannot contain '"' or FTS operators, and FTS5 runs
   * it through the same tokenizer, giving back exactly `term`. */
  if (b->buf.n) ar_buf_puts(&b->buf, " OR ");
  ar_buf_puts(&b->buf, "\"");
  ar_buf_append(&b->buf, b->text + start, (size_t)(end - start));
  ar_buf_puts(&b->buf, "\"");
  return b->buf.oom ? 1 : 0;
}

ar_status ar_lexical_query(ar_analyzer *an, const char *question, char **out, ar_error *err) {
  *out = NULL;
  struct qbuild b = {0};
  b.text = question;
  ar_analyze(an, question, strlen(question), on_query_term, &b);
  for (int i = 0; i < b.n_terms; i++) ar_free(b.terms[i]);
  ar_free(b.terms);
  if (b.oom || b.buf.oom || !(*out = ar_buf_steal(&b.buf))) {
    ar_buf_free(&b.buf);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory building the query");
  }
  return AR_OK;
}

ar_status ar_fts_build(ar_index *ix, ar_error *err) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "DROP TABLE IF EXISTS fts; CREATE VIRTUAL TABLE fts USING fts5(text, content='segments', content_rowid='id',"
           " tokenize='aularag %s'); INSERT INTO fts(fts) VALUES('rebuild');", ix->lang);
  if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, "building the FTS5 table");
  return AR_OK;
}

ar_status ar_lexical_search_fts(ar_index *ix, const char *question, int n, const ar_idfilter *filter, ar_cand **out,
                                size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  if (n <= 0) return AR_OK;
  char *expr = NULL;
  ar_status st = ar_lexical_query(ix->query_an, question, &expr, err);
  if (st) return st;
  if (!*expr) { ar_free(expr); return AR_OK; }  /* only stop words / punctuation: nothing to match */
  ar_cand *c = ar_malloc((size_t)n * sizeof *c);
  if (!c) { ar_free(expr); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  sqlite3_stmt *q = NULL;
  /* ar_bm25 is negative like bm25(), more negative = better; naming it as the rank function lets
   * FTS5 sort by it with its ORDER BY rank LIMIT optimisation */
  char sql[192];
  snprintf(sql, sizeof sql, "SELECT rowid, rank FROM fts WHERE fts MATCH ?1 AND rank MATCH 'ar_bm25(%.17g, %.17g, %d)'"
           " ORDER BY rank LIMIT ?2", AR_BM25_K1, AR_BM25_B, AR_BM25_IDF);
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) != SQLITE_OK) {
    ar_free(expr); ar_free(c);
    return ar_index_db_fail(ix, err, "lexical search");
  }
  sqlite3_bind_text(q, 1, expr, -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, filter ? -1 : n);  /* filtered: walk the ranking until n allowed rows */
  size_t k = 0;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW && k < (size_t)n) {
    if (!ar_idfilter_has(filter, sqlite3_column_int64(q, 0))) continue;
    c[k].id = sqlite3_column_int64(q, 0);
    c[k].score = -sqlite3_column_double(q, 1);
    k++;
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    st = ar_index_db_fail(ix, err, "lexical search");
    ar_free(c);
    c = NULL;
    k = 0;
  }
  sqlite3_finalize(q);
  ar_free(expr);
  *out = c;
  *n_out = k;
  return st;
}

ar_status ar_lexical_search(ar_index *ix, const char *question, int n, const ar_idfilter *filter, ar_cand **out,
                            size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  if (n <= 0) return AR_OK;
  struct qbuild b = {0};  /* no text: the distinct terms only, by the same rules as the FTS5 expression */
  ar_analyze(ix->query_an, question, strlen(question), on_query_term, &b);
  int *lens = b.oom ? NULL : ar_malloc((size_t)b.n_terms * sizeof *lens + 1);
  ar_status st;
  if (!lens) {
    st = ar_fail(err, AR_ERR_NOMEM, "out of memory building the query");
  } else {
    for (int i = 0; i < b.n_terms; i++) lens[i] = (int)strlen(b.terms[i]);
    st = ar_lex_search_terms(ix, b.terms, lens, b.n_terms, n, filter, out, n_out, err);
  }
  for (int i = 0; i < b.n_terms; i++) ar_free(b.terms[i]);
  ar_free(b.terms);
  ar_free(lens);
  return st;
}
