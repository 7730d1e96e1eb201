/* lexical_bench.c - in-process lexical retrieval for the bench: questions on stdin (one a line)
 * -> top-k corpus ids on stdout (one line each), then "# latency_ms p50=.. p99=.. mean=.. n=.."
 *
 *   lexical_bench INDEX [-k N] [--variant nostem,nostop,keepaccent,snowball] [--bm25 K1,B[,IDF]]
 *
 * Without options it runs ar_search (the product's path). --bm25 ranks with ar_bm25(K1, B, IDF) over an FTS5 table `fts`
 * it builds in the given index when missing (ar_fts_build). With --variant it builds a second FTS5
 * table (fts_v, in the given index: use a scratch copy) over the same segments with tokenize='aularag <lang> <flags>' and queries it with the same
 * analysis, so analysis choices can be compared on identical segments. */
#include "core/util.h"
#include "index/index.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: lexical_bench INDEX [-k N] [--variant F,...]\n"); return 2; }
  int k = 10, flags = 0;
  const char *variant = NULL;
  double k1 = AR_BM25_K1, b = AR_BM25_B;
  int idf_kind = AR_BM25_IDF;
  int custom = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-k") && i + 1 < argc) k = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--variant") && i + 1 < argc) variant = argv[++i], custom = 1;
    else if (!strcmp(argv[i], "--bm25") && i + 1 < argc) {
      if (sscanf(argv[++i], "%lf,%lf,%d", &k1, &b, &idf_kind) < 2) { fprintf(stderr, "--bm25 K1,B[,IDF]\n"); return 2; }
      custom = 1;
    }
    else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
  }
  char fts_args[128] = "";
  if (variant) {
    char *v = strdup(variant), *save = NULL;
    for (char *t = strtok_r(v, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      if (!strcmp(t, "nostem")) flags |= AR_AN_NOSTEM;
      else if (!strcmp(t, "nostop")) flags |= AR_AN_NOSTOP;
      else if (!strcmp(t, "keepaccent")) flags |= AR_AN_KEEPACCENT;
      else if (!strcmp(t, "snowball")) flags |= AR_AN_SNOWBALL;
      else if (strcmp(t, "default")) { fprintf(stderr, "unknown variant %s\n", t); return 2; }
      if (strcmp(t, "default")) { strcat(fts_args, " "); strcat(fts_args, t); }
    }
    free(v);
  }
  ar_error err;
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (ar_index_open(argv[1], ip, &ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_analyzer *an = NULL;
  if (custom && ar_analyzer_new(ix->lang, flags, &an, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  if (variant) {
    char sql[512];
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS fts_v; CREATE VIRTUAL TABLE fts_v USING fts5(text, content='segments',"
             " content_rowid='id', tokenize='aularag %s%s'); INSERT INTO fts_v(fts_v) VALUES('rebuild');",
             ix->lang, fts_args);
    char *msg = NULL;
    if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg)) { fprintf(stderr, "variant: %s\n", msg); return 1; }
  }
  if (custom && !variant) {
    sqlite3_stmt *t = NULL;
    int have = sqlite3_prepare_v2(ix->db, "SELECT 1 FROM sqlite_master WHERE name='fts'", -1, &t, NULL) == SQLITE_OK &&
               sqlite3_step(t) == SQLITE_ROW;
    sqlite3_finalize(t);
    if (!have && ar_fts_build(ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  }
  sqlite3_stmt *q = NULL;
  char qsql[256];
  const char *tab = variant ? "fts_v" : "fts";
  snprintf(qsql, sizeof qsql, "SELECT rowid FROM %s WHERE %s MATCH ?1 ORDER BY ar_bm25(%s, %.17g, %.17g, %d) LIMIT ?2",
           tab, tab, tab, k1, b, idf_kind);
  if (custom && sqlite3_prepare_v2(ix->db, qsql, -1, &q, NULL)) {
    fprintf(stderr, "%s\n", sqlite3_errmsg(ix->db));
    return 1;
  }
  size_t cap = 4096, n = 0;
  double *lat = malloc(cap * sizeof *lat);
  char line[8192];
  ar_search_params sp = ar_search_default_params();
  sp.k = k;
  sp.mode = AR_MODE_LEXICAL;
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    double t0 = ar_now_s();
    if (!custom) {
      ar_results r;
      if (ar_search(ix, line, &sp, &r, &err)) { fprintf(stderr, "search: %s\n", err.msg); return 1; }
      lat[n] = (ar_now_s() - t0) * 1e3;
      for (size_t i = 0; i < r.n; i++) printf("%s%lld", i ? " " : "", (long long)r.hits[i].corpus_id);
      ar_results_free(&r);
    } else {
      char *expr = NULL;
      if (ar_lexical_query(an, line, &expr, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
      int first = 1;
      if (*expr) {
        sqlite3_bind_text(q, 1, expr, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, k);
        while (sqlite3_step(q) == SQLITE_ROW) {
          printf("%s%lld", first ? "" : " ", (long long)sqlite3_column_int64(q, 0));
          first = 0;
        }
        sqlite3_reset(q);
      }
      free(expr);
      lat[n] = (ar_now_s() - t0) * 1e3;
    }
    putchar('\n');
    if (++n == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
  }
  if (n) {
    double mean = 0;
    for (size_t i = 0; i < n; i++) mean += lat[i];
    qsort(lat, n, sizeof *lat, cmp_d);
    printf("# latency_ms p50=%.4f p99=%.4f mean=%.4f n=%zu\n", lat[n / 2], lat[(size_t)floor(0.99 * (double)(n - 1))],
           mean / (double)n, n);
  }
  sqlite3_finalize(q);
  ar_analyzer_free(an);
  ar_index_close(ix);
  free(lat);
  return 0;
}
