/* index.h - internal view of the index: the handle (the dense helper and the LLM cache use `db`),
 * the schema constants and the helpers shared by store, lexical search and ingest. */
#ifndef AR_INDEX_H
#define AR_INDEX_H
#include "aularag.h"
#include "text/analyze.h"
#include "index/filter.h"
#include <sqlite3.h>

/* Schema version in PRAGMA user_version. Bump it with every incompatible change; an index
 * with a larger number is refused ("made by a newer aularag"). */
#define AR_SCHEMA_VERSION 2   /* 2: aularag's own lexical postings (lex_* tables, postings.h) */
/* Names the lexical analysis (stop lists, folding, stemmer). Stored in meta 'analyzer'; when a
 * writable index was made with another analysis, its lexical postings are rebuilt at open. */
#define AR_ANALYZER_VERSION "aularag-analysis-3"

struct ar_index {
  sqlite3 *db;           /* one connection; the dense helper reads/writes `vectors` through it */
  char *path;
  char lang[8];          /* fixed at creation (meta 'lang') */
  int read_only;
  ar_analyzer *query_an; /* the index's analysis: query text, and segments for the lexical postings */
  struct ar_vcache *vcache; /* dense: the loaded vector matrix (src/index/vectors.c), NULL until used */
  struct ar_ccache *ccache; /* scoped search: recent courses' id filters (src/index/courses.c) */
  struct ar_lcache *lcache; /* lexical: decoded postings (src/index/lexsearch.c), NULL until used */
};

/* Sets err from the connection's last error: "<path>: <what>: <sqlite message>". */
ar_status ar_index_db_fail(ar_index *ix, ar_error *err, const char *what);

/* meta table: key/value strings. *value malloc'd, NULL when absent. */
ar_status ar_index_meta_get(ar_index *ix, const char *key, char **value, ar_error *err);
ar_status ar_index_meta_set(ar_index *ix, const char *key, const char *value, ar_error *err);

/* ar_index_put_video that also says whether anything changed (0: same content hash, only the
 * video's title/url/source were refreshed; corpus ids kept). */
ar_status ar_index_put_video_ex(ar_index *ix, const ar_video *v, const ar_segments *segs, int *changed,
                                ar_error *err);

/* Courses (src/index/courses.c). The migration adds the course column, the courses table and an index
 * on videos(course) to a writable index that lacks them (idempotent; read-only: nothing, no courses). */
ar_status ar_courses_migrate(ar_index *ix, ar_error *err);
/* Inside put_video's transaction: gives video row vid the course of v (upserting the course and its
 * title), and drops the course it left when that has no videos left. */
ar_status ar_courses_set_video(ar_index *ix, int64_t vid, const ar_video *v, ar_error *err);
/* The corpus ids of a course, owned by the handle's cache (valid until the next call on ix). An unknown
 * course is AR_ERR_NOTFOUND naming it. */
ar_status ar_course_filter(ar_index *ix, const char *course, const ar_idfilter **out, ar_error *err);
typedef struct ar_ccache ar_ccache;
void ar_courses_invalidate(ar_index *ix);
void ar_ccache_free(ar_ccache *c);

/* Full consistency check: PRAGMA integrity_check, segment/vector references, the lexical postings
 * recomputed from the segments' text (postings.c). AR_OK when clean; otherwise AR_ERR_DB with the first problem in err. */
ar_status ar_index_check(ar_index *ix, ar_error *err);

/* Registers the "aularag" FTS5 tokenizer on a connection: tokenize='aularag <lang> [flags]' (for
 * the bench's analysis variants and the exhaustive reference, ar_fts_build). */
ar_status ar_fts_register(sqlite3 *db, ar_error *err);

/* Registers the FTS5 auxiliary function ar_bm25(fts, k1, b) (src/index/fts_bm25.c): BM25 with
 * tunable parameters, same formula and sign as FTS5's bm25(). Called by ar_fts_register. */
ar_status ar_fts_register_bm25(sqlite3 *db, fts5_api *api, ar_error *err);

/* BM25 of lexical search (chosen with bench/bench_lexical.sh on PsTuts-VQA): the usual k1/b, and
 * Lucene's idf (1) rather than FTS5's (0), which gives a word found in over half of a small
 * course's segments a weight of ~0; Lucene's idf won every metric at both segment sizes. */
#define AR_BM25_K1 1.2
#define AR_BM25_B 0.75
#define AR_BM25_IDF 1

/* A retrieved candidate before its text is loaded. */
typedef struct ar_cand {
  int64_t id;            /* corpus id = segments.id */
  double score;          /* higher is better */
} ar_cand;

/* Builds the FTS5 MATCH expression for a user question: the words that survive analysis, each
 * double-quoted, de-duplicated by term and OR-ed. Any user text (quotes, parentheses, AND/OR/NEAR,
 * '*', '-', ':') becomes a valid expression. *out malloc'd; "" when no term survives. */
ar_status ar_lexical_query(ar_analyzer *an, const char *question, char **out, ar_error *err);
/* BM25 top-n: *out malloc'd (n_out may be 0), best first, equal scores by smaller id. The exact
 * top-n of scoring every segment with -ar_bm25(fts, AR_BM25_K1, AR_BM25_B, AR_BM25_IDF), computed
 * from aularag's own postings without scoring every match (src/index/lexsearch.c).
 * filter (may be NULL): the top-n among the allowed ids. */
ar_status ar_lexical_search(ar_index *ix, const char *question, int n, const ar_idfilter *filter, ar_cand **out,
                            size_t *n_out, ar_error *err);
/* The same ranking the exhaustive way: FTS5 scores every matching row with ar_bm25 (how aularag
 * searched before schema 2; the bench's and the tests' reference; its order among equal scores is
 * FTS5's). Needs the table ar_fts_build makes. */
ar_status ar_lexical_search_fts(ar_index *ix, const char *question, int n, const ar_idfilter *filter, ar_cand **out,
                                size_t *n_out, ar_error *err);
/* (Re)builds an FTS5 table `fts` over segments with the index's analysis: a snapshot, not kept in
 * step with later writes (index files have no FTS5 table since schema 2; benches and tests make
 * one in a scratch copy). */
ar_status ar_fts_build(ar_index *ix, ar_error *err);
/* Fills video_id/title/url/text/start_s/end_s of hits whose corpus_id is set. */
ar_status ar_hits_load(ar_index *ix, ar_hit *hits, size_t n, ar_error *err);

/* "file:PATH?immutable=1" with PATH percent-encoded, for opening a snapshot (src/index/snapshot.c);
 * malloc'd, NULL when out of memory. */
char *ar_snapshot_uri(const char *path);

#endif
