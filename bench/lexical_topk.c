/* lexical_topk.c - lexical top-k latency on one index, interleaved per question, medians:
 *   engine warm  ar_lexical_search (serve: decoded postings cached in the process)
 *   engine cold  the same with the cache dropped before each query (one-shot CLI: read the terms' postings)
 *   exhaustive   the same ranking by FTS5 + ar_bm25, scoring every matching segment (aularag before)
 *   stock FTS5   SQLite FTS5 bm25() over unicode61 (remove_diacritics 2), the question's content words OR-ed
 * Also checks that the engine's hits have the exhaustive path's scores, rank by rank.
 *
 *   lexical_topk INDEX SCRATCH_DB QUESTIONS [-k N] [--reps R] [--scope PERCENT]
 *
 * QUESTIONS: a .jsonl with "question" fields, or one question a line. INDEX gets the exhaustive
 * path's FTS5 table and SCRATCH_DB the stock one (each built once, reused when present): give it a
 * bench index. --scope also times a filtered search allowing about
 * PERCENT% of the corpus ids (course-scoped search). */
#include "core/util.h"
#include "index/postings.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* the content words, quoted and OR-ed (bench/server_baseline.py's front end) */
static char *stock_query(const char *q) {
  static const char *stop[] = {"a", "o", "as", "os", "um", "uma", "uns", "umas", "de", "da", "do", "das", "dos", "e",
                               "é", "em", "no", "na", "nos", "nas", "que", "qual", "quais", "como", "por", "para",
                               "com", "se", "ser", "ao", "aos", "à", "às", "entre", "sobre", "porque", "pois", "mas",
                               "ou", "isso", "isto", "esse", "essa", "este", "esta", NULL};
  ar_buf out = {0}, w = {0};
  for (const char *p = q;; p++) {
    unsigned char c = (unsigned char)*p;
    if (c && (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))) {
      char lc = (char)(c < 0x80 && c >= 'A' && c <= 'Z' ? c | 0x20 : c);
      ar_buf_append(&w, &lc, 1);
      continue;
    }
    if (w.n) {
      int is_stop = 0;
      for (int i = 0; stop[i]; i++) is_stop |= !strcmp(stop[i], w.p);
      if (!is_stop) { ar_buf_puts(&out, out.n ? " OR \"" : "\""); ar_buf_append(&out, w.p, w.n); ar_buf_puts(&out, "\""); }
      w.n = 0;
    }
    if (!c) break;
  }
  ar_buf_free(&w);
  if (!out.n) ar_buf_puts(&out, "\"\"");
  return ar_buf_steal(&out);
}

static char **read_questions(const char *path, int *n) {
  FILE *f = fopen(path, "r");
  char line[65536];
  char **v = NULL;
  *n = 0;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    char *q = NULL;
    if (line[0] == '{') {
      json_t *j = json_loads(line, 0, NULL);
      const char *s = json_string_value(json_object_get(j, "question"));
      if (s) q = strdup(s);
      json_decref(j);
    } else {
      q = strdup(line);
    }
    if (!q) continue;
    v = realloc(v, (size_t)(*n + 1) * sizeof *v);
    v[(*n)++] = q;
  }
  if (f) fclose(f);
  return v;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: lexical_topk INDEX SCRATCH_DB QUESTIONS [-k N] [--reps R] [--scope PCT]\n"); return 2; }
  int k = 10, reps = 5, scope = 0;
  for (int i = 4; i < argc; i++) {
    if (!strcmp(argv[i], "-k") && i + 1 < argc) k = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--scope") && i + 1 < argc) scope = atoi(argv[++i]);
    else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
  }
  int nq = 0;
  char **qs = read_questions(argv[3], &nq);
  if (!nq) { fprintf(stderr, "no questions in %s\n", argv[3]); return 1; }
  ar_error err;
  ar_index *ix;
  ar_index_params p = ar_index_default_params();
  p.create = 0;
  if (ar_index_open(argv[1], p, &ix, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  /* the exhaustive path's FTS5 table, built once in the bench's index */
  sqlite3_stmt *ft = NULL;
  int have_fts = sqlite3_prepare_v2(ix->db, "SELECT 1 FROM sqlite_master WHERE name='fts'", -1, &ft, NULL) == SQLITE_OK &&
                 sqlite3_step(ft) == SQLITE_ROW;
  sqlite3_finalize(ft);
  if (!have_fts) {
    double t0 = ar_now_s();
    if (ar_fts_build(ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    fprintf(stderr, "built the exhaustive path's FTS5 table in %.1f s\n", ar_now_s() - t0);
  }
  /* the cold path gets its own connection, so dropping its cache leaves the warm one's alone */
  ar_index *ixc;
  if (ar_index_open(argv[1], p, &ixc, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  sqlite3 *stock = NULL;
  char sql[1200];
  if (sqlite3_open_v2(argv[2], &stock, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
    return 1;
  if (sqlite3_exec(stock, "SELECT 1 FROM stock LIMIT 1", NULL, NULL, NULL) != SQLITE_OK) {
    double t0 = ar_now_s();
    snprintf(sql, sizeof sql, "ATTACH 'file:%s?mode=ro' AS ix;"
             "CREATE VIRTUAL TABLE stock USING fts5(text, tokenize='unicode61 remove_diacritics 2');"
             "INSERT INTO stock(rowid, text) SELECT id, text FROM ix.segments; DETACH ix;", argv[1]);
    sqlite3_exec(stock, "PRAGMA journal_mode=OFF", NULL, NULL, NULL);
    char *m = NULL;
    if (sqlite3_exec(stock, sql, NULL, NULL, &m) != SQLITE_OK) {
      fprintf(stderr, "building the stock FTS5 table: %s\n", m ? m : "?");
      return 1;
    }
    fprintf(stderr, "built the stock FTS5 table in %.1f s\n", ar_now_s() - t0);
  }
  sqlite3_stmt *sq = NULL;
  if (sqlite3_prepare_v2(stock, "SELECT rowid, bm25(stock) FROM stock WHERE stock MATCH ?1 ORDER BY bm25(stock) LIMIT ?2",
                         -1, &sq, NULL) != SQLITE_OK) { fprintf(stderr, "%s\n", sqlite3_errmsg(stock)); return 1; }
  /* the scope filter: a course's segments are a run of ids; here scope% of them from the middle */
  ar_idfilter filter = {0};
  uint64_t *bits = NULL;
  if (scope > 0) {
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(ix->db, "SELECT max(id) FROM segments", -1, &q, NULL);
    int64_t max_id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) + 1 : 1;
    sqlite3_finalize(q);
    bits = calloc((size_t)(max_id / 64 + 1), sizeof *bits);
    for (int64_t id = 0; id < max_id; id++)
      if (id >= max_id / 2 && id < max_id / 2 + max_id * scope / 100) bits[id >> 6] |= 1ull << (id & 63);
    filter = (ar_idfilter){bits, max_id};
  }
  enum { WARM, COLD, EXH, STOCK, SCOPED, N_MODES };
  const char *names[N_MODES] = {"engine warm (serve)", "engine cold (one-shot)", "exhaustive FTS5+ar_bm25",
                                "stock FTS5 bm25()", "engine warm, scoped"};
  int n_modes = scope > 0 ? N_MODES : N_MODES - 1;
  double *t[N_MODES];
  for (int m = 0; m < N_MODES; m++) t[m] = calloc((size_t)(nq * reps), sizeof(double));
  int n = 0, mismatches = 0;
  /* warm up: SQLite's page caches (every mode reads from memory), the warm path's decoded postings */
  for (int i = 0; i < nq; i++) {
    ar_cand *c = NULL;
    size_t nc = 0;
    ar_lexical_search_fts(ix, qs[i], k, NULL, &c, &nc, NULL);
    ar_free(c);
    ar_lexical_search(ix, qs[i], k, NULL, &c, &nc, NULL);
    ar_free(c);
    ar_lexical_search(ixc, qs[i], k, NULL, &c, &nc, NULL);
    ar_free(c);
  }
  for (int r = 0; r < reps; r++)
    for (int i = 0; i < nq; i++, n++) {
      for (int m = 0; m < n_modes; m++) {
        int mode = (m + i + r) % n_modes;  /* rotate the order so no mode always runs first */
        ar_cand *c = NULL;
        size_t nc = 0;
        if (mode == COLD) ar_lex_invalidate(ixc);
        double t0 = ar_now_s();
        ar_status st = AR_OK;
        if (mode == WARM) st = ar_lexical_search(ix, qs[i], k, NULL, &c, &nc, &err);
        else if (mode == COLD) st = ar_lexical_search(ixc, qs[i], k, NULL, &c, &nc, &err);
        else if (mode == SCOPED) st = ar_lexical_search(ix, qs[i], k, &filter, &c, &nc, &err);
        else if (mode == EXH) st = ar_lexical_search_fts(ix, qs[i], k, NULL, &c, &nc, &err);
        else {
          char *e = stock_query(qs[i]);
          sqlite3_bind_text(sq, 1, e, -1, SQLITE_TRANSIENT);
          sqlite3_bind_int(sq, 2, k);
          while (sqlite3_step(sq) == SQLITE_ROW) {}
          sqlite3_reset(sq);
          free(e);
        }
        t[mode][n] = (ar_now_s() - t0) * 1e3;
        if (st) { fprintf(stderr, "%s\n", err.msg); return 1; }
        ar_free(c);
      }
      if (r == 0) {
        ar_cand *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        ar_lexical_search(ix, qs[i], k, NULL, &a, &na, NULL);
        ar_lexical_search_fts(ix, qs[i], k, NULL, &b, &nb, NULL);
        int same = na == nb;
        for (size_t j = 0; same && j < na; j++) same = a[j].score == b[j].score;
        mismatches += !same;
        ar_free(a); ar_free(b);
      }
    }
  ar_index_info info;
  ar_index_info_get(ix, &info, NULL);
  printf("lexical top-%d on %lld segments, %d questions x %d reps, interleaved (ms)\n", k, (long long)info.n_segments, nq, reps);
  printf("  %-26s %9s %9s %9s\n", "path", "p50", "p99", "mean");
  double med[N_MODES];
  for (int m = 0; m < n_modes; m++) {
    double s = 0;
    for (int i = 0; i < n; i++) s += t[m][i];
    double p99 = pct(t[m], n, 0.99);
    med[m] = pct(t[m], n, 0.5);
    printf("  %-26s %9.3f %9.3f %9.3f\n", names[m], med[m], p99, s / n);
  }
  printf("  p50 ratios: exhaustive / engine warm = %.1fx, stock FTS5 / engine warm = %.1fx, stock FTS5 / engine cold = %.1fx\n",
         med[EXH] / med[WARM], med[STOCK] / med[WARM], med[STOCK] / med[COLD]);
  printf("  engine vs exhaustive: %d of %d questions with a different score list\n", mismatches, nq);
  sqlite3_finalize(sq);
  sqlite3_close(stock);
  ar_index_close(ix);
  ar_index_close(ixc);
  free(bits);
  return mismatches ? 1 : 0;
}
