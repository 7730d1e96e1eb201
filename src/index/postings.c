/* postings.c - the lexical runs in the index file: writing a transaction's run, tiered merges,
 * reading one term's live postings, rebuild and check (layout in postings.h). */
#include "index/postings.h"
#include "core/util.h"

/* A page holds up to this many bytes (or one longer list): a video's run is a few rows, and a
 * query term costs one short page read per run besides its own list. */
#define PAGE_TARGET 4096
/* Rebuild feeds segments in runs of this many (memory stays bounded; merges do the rest). */
#define REBUILD_BATCH 2048

/* ---- varints and growable arrays ------------------------------------------------------------ */

static int put_varint(ar_buf *b, uint64_t v) {
  char tmp[10];
  int n = 0;
  do { tmp[n++] = (char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)); v >>= 7; } while (v);
  return ar_buf_append(b, tmp, (size_t)n);
}

/* 0 on a truncated or over-long varint */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; *p < end && shift < 64; shift += 7) {
    uint8_t c = *(*p)++;
    r |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) { *v = r; return 1; }
  }
  return 0;
}

typedef struct { ar_posting *v; size_t n, cap; } pvec;
typedef struct { int64_t *v; size_t n, cap; } ivec;

static int grow(void **v, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return 0;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) nc *= 2;
  void *nv = ar_realloc(*v, nc * size);
  if (!nv) return -1;
  *v = nv;
  *cap = nc;
  return 0;
}

/* ---- lists ----------------------------------------------------------------------------------- */

/* Appends a list's positives to P and its negatives to N. 0 when the list is malformed. */
static int decode_list(const uint8_t *p, size_t len, pvec *P, ivec *N, int *oom) {
  const uint8_t *end = p + len;
  uint64_t np, nn, d, tf, dl;
  if (!get_varint(&p, end, &np) || !get_varint(&p, end, &nn) || np > len || nn > len) return 0;
  if (grow((void **)&P->v, &P->cap, P->n + np, sizeof *P->v) || grow((void **)&N->v, &N->cap, N->n + nn, sizeof *N->v)) {
    *oom = 1;
    return 0;
  }
  int64_t id = 0;
  for (uint64_t i = 0; i < np; i++) {
    if (!get_varint(&p, end, &d) || !get_varint(&p, end, &tf) || !get_varint(&p, end, &dl) || tf == 0 ||
        tf > UINT32_MAX || dl > UINT32_MAX || (i > 0 && d == 0))
      return 0;
    id += (int64_t)d;
    P->v[P->n++] = (ar_posting){id, (uint32_t)tf, (uint32_t)dl};
  }
  id = 0;
  for (uint64_t i = 0; i < nn; i++) {
    if (!get_varint(&p, end, &d) || (i > 0 && d == 0)) return 0;
    id += (int64_t)d;
    N->v[N->n++] = id;
  }
  return p == end;
}

static int encode_list(ar_buf *b, const ar_posting *P, size_t np, const int64_t *N, size_t nn) {
  b->n = 0;
  put_varint(b, np);
  put_varint(b, nn);
  int64_t prev = 0;
  for (size_t i = 0; i < np; i++) {
    put_varint(b, (uint64_t)(P[i].id - prev));
    put_varint(b, P[i].tf);
    put_varint(b, P[i].dl);
    prev = P[i].id;
  }
  prev = 0;
  for (size_t i = 0; i < nn; i++) {
    put_varint(b, (uint64_t)(N[i] - prev));
    prev = N[i];
  }
  return b->oom ? -1 : 0;
}

static int cmp_posting(const void *a, const void *b) {
  int64_t x = ((const ar_posting *)a)->id, y = ((const ar_posting *)b)->id;
  return x < y ? -1 : x > y;
}
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Tombstones meet their postings: P -= N and N -= P (both sorted by id first). */
static void cancel(pvec *P, ivec *N) {
  for (size_t i = 1; i < P->n; i++)
    if (P->v[i].id <= P->v[i - 1].id) { qsort(P->v, P->n, sizeof *P->v, cmp_posting); break; }
  if (!N->n) return;
  qsort(N->v, N->n, sizeof *N->v, cmp_i64);
  size_t i = 0, j = 0, pk = 0, nk = 0;
  while (i < P->n || j < N->n) {
    if (j == N->n || (i < P->n && P->v[i].id < N->v[j])) P->v[pk++] = P->v[i++];
    else if (i == P->n || N->v[j] < P->v[i].id) N->v[nk++] = N->v[j++];
    else { i++; j++; }
  }
  P->n = pk;
  N->n = nk;
}

static int term_cmp(const char *a, size_t na, const char *b, size_t nb) {
  int c = memcmp(a, b, na < nb ? na : nb);
  return c ? c : (na > nb) - (na < nb);
}

/* ---- schema ---------------------------------------------------------------------------------- */

static ar_status exec(ar_index *ix, const char *sql, ar_error *err) {
  if (sqlite3_exec(ix->db, sql, NULL, NULL, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, sql);
  return AR_OK;
}

ar_status ar_lex_create(ar_index *ix, ar_error *err) {
  return exec(ix,
              "CREATE TABLE IF NOT EXISTS lex_runs(id INTEGER PRIMARY KEY, level INTEGER NOT NULL);"
              "CREATE INDEX IF NOT EXISTS lex_runs_level ON lex_runs(level, id);"
              "CREATE TABLE IF NOT EXISTS lex_pages(run INTEGER NOT NULL, first_term BLOB NOT NULL, data BLOB NOT NULL,"
              " PRIMARY KEY(run, first_term));"
              "CREATE TABLE IF NOT EXISTS lex_stats(id INTEGER PRIMARY KEY CHECK (id = 0), n_docs INTEGER NOT NULL,"
              " n_tokens INTEGER NOT NULL);"
              "INSERT OR IGNORE INTO lex_stats VALUES (0, 0, 0);",
              err);
}

/* ---- page writer ----------------------------------------------------------------------------- */

typedef struct {
  ar_index *ix;
  sqlite3_stmt *ins;
  int64_t run;
  ar_buf page, first;
} page_writer;

static ar_status pw_flush(page_writer *w, ar_error *err) {
  if (!w->page.n) return AR_OK;
  sqlite3_bind_int64(w->ins, 1, w->run);
  sqlite3_bind_blob(w->ins, 2, w->first.p, (int)w->first.n, SQLITE_STATIC);
  sqlite3_bind_blob(w->ins, 3, w->page.p, (int)w->page.n, SQLITE_STATIC);
  int rc = sqlite3_step(w->ins);
  sqlite3_reset(w->ins);
  w->page.n = 0;
  return rc == SQLITE_DONE ? AR_OK : ar_index_db_fail(w->ix, err, "writing lexical postings");
}

static ar_status pw_add(page_writer *w, const char *term, size_t len, const ar_buf *list, ar_error *err) {
  ar_status st;
  /* a long list gets a page of its own, so looking up a short one never reads it */
  if (w->page.n && w->page.n + len + list->n + 20 > PAGE_TARGET && (st = pw_flush(w, err))) return st;
  if (!w->page.n) { w->first.n = 0; ar_buf_append(&w->first, term, len); }
  put_varint(&w->page, len);
  ar_buf_append(&w->page, term, len);
  put_varint(&w->page, list->n);
  ar_buf_append(&w->page, list->p, list->n);
  return w->page.oom || w->first.oom ? ar_fail(err, AR_ERR_NOMEM, "out of memory writing postings") : AR_OK;
}

static ar_status pw_open(ar_index *ix, page_writer *w, int level, ar_error *err) {
  memset(w, 0, sizeof *w);
  w->ix = ix;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "INSERT INTO lex_runs(level) VALUES (?1)", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "adding a lexical run");
  sqlite3_bind_int(q, 1, level);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE) return ar_index_db_fail(ix, err, "adding a lexical run");
  w->run = sqlite3_last_insert_rowid(ix->db);
  if (sqlite3_prepare_v2(ix->db, "INSERT INTO lex_pages(run, first_term, data) VALUES (?1, ?2, ?3)", -1, &w->ins,
                         NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "writing lexical postings");
  return AR_OK;
}

static void pw_close(page_writer *w) {
  sqlite3_finalize(w->ins);
  ar_buf_free(&w->page);
  ar_buf_free(&w->first);
}

/* ---- run cursors: a run's (term, list) entries in term order, page by page --------------------- */

typedef struct {
  sqlite3_stmt *q;
  int64_t run;
  uint8_t *page;
  size_t len, cap;
  const uint8_t *pos;
  const char *term;      /* current entry; NULL at the end */
  size_t term_len;
  const uint8_t *list;
  size_t list_len;
} run_cursor;

/* 1 entry ready, 0 end, -1 error (err set) */
static int rc_next(ar_index *ix, run_cursor *c, ar_error *err) {
  for (;;) {
    if (c->page && c->pos < c->page + c->len) {
      const uint8_t *end = c->page + c->len;
      uint64_t tl, ll;
      if (!get_varint(&c->pos, end, &tl) || tl > (uint64_t)(end - c->pos)) break;
      c->term = (const char *)c->pos;
      c->term_len = tl;
      c->pos += tl;
      if (!get_varint(&c->pos, end, &ll) || ll > (uint64_t)(end - c->pos)) break;
      c->list = c->pos;
      c->list_len = ll;
      c->pos += ll;
      return 1;
    }
    int rc = sqlite3_step(c->q);
    if (rc == SQLITE_DONE) { c->term = NULL; return 0; }
    if (rc != SQLITE_ROW) { ar_index_db_fail(ix, err, "reading lexical postings"); return -1; }
    size_t n = (size_t)sqlite3_column_bytes(c->q, 0);
    if (grow((void **)&c->page, &c->cap, n + 1, 1)) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return -1; }
    if (n) memcpy(c->page, sqlite3_column_blob(c->q, 0), n);
    c->len = n;
    c->pos = c->page;
  }
  ar_fail(err, AR_ERR_DB, "%s: lexical run %lld: malformed page", ix->path, (long long)c->run);
  return -1;
}

/* Walks several runs (given oldest first) term by term, yielding each term's positives minus the
 * tombstones among these runs; both the merge and the check use it. */
typedef struct {
  ar_index *ix;
  run_cursor *c;
  int n;
  pvec P;
  ivec N;
  const char *term;
  size_t term_len;
  ar_buf term_buf;
} run_merge;

static ar_status rm_open(ar_index *ix, run_merge *m, const int64_t *runs, int n, ar_error *err) {
  memset(m, 0, sizeof *m);
  m->ix = ix;
  if (!(m->c = ar_calloc((size_t)n + 1, sizeof *m->c))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  m->n = n;
  for (int i = 0; i < n; i++) {
    m->c[i].run = runs[i];
    if (sqlite3_prepare_v2(ix->db, "SELECT data FROM lex_pages WHERE run=?1 ORDER BY first_term", -1, &m->c[i].q,
                           NULL) != SQLITE_OK)
      return ar_index_db_fail(ix, err, "reading lexical postings");
    sqlite3_bind_int64(m->c[i].q, 1, runs[i]);
    if (rc_next(ix, &m->c[i], err) < 0) return err ? err->status : AR_ERR_DB;
  }
  return AR_OK;
}

static void rm_close(run_merge *m) {
  for (int i = 0; i < m->n; i++) {
    sqlite3_finalize(m->c[i].q);
    ar_free(m->c[i].page);
  }
  ar_free(m->c);
  ar_free(m->P.v);
  ar_free(m->N.v);
  ar_buf_free(&m->term_buf);
}

/* 1: m->term, m->P (ascending ids), m->N (tombstones for older runs) hold the next term; 0: end. */
static int rm_next(run_merge *m, ar_error *err) {
  int lo = -1;
  for (int i = 0; i < m->n; i++)
    if (m->c[i].term && (lo < 0 || term_cmp(m->c[i].term, m->c[i].term_len, m->c[lo].term, m->c[lo].term_len) < 0))
      lo = i;
  if (lo < 0) return 0;
  m->term_buf.n = 0;
  if (ar_buf_append(&m->term_buf, m->c[lo].term, m->c[lo].term_len)) { ar_fail(err, AR_ERR_NOMEM, "out of memory"); return -1; }
  m->term = m->term_buf.p;
  m->term_len = m->term_buf.n;
  m->P.n = m->N.n = 0;
  for (int i = 0; i < m->n; i++) {
    run_cursor *c = &m->c[i];
    if (!c->term || term_cmp(c->term, c->term_len, m->term, m->term_len) != 0) continue;
    int oom = 0;
    if (!decode_list(c->list, c->list_len, &m->P, &m->N, &oom)) {
      if (oom) ar_fail(err, AR_ERR_NOMEM, "out of memory");
      else ar_fail(err, AR_ERR_DB, "%s: lexical run %lld: malformed list for term '%.*s'", m->ix->path,
                   (long long)c->run, (int)m->term_len, m->term);
      return -1;
    }
    if (rc_next(m->ix, c, err) < 0) return -1;
  }
  cancel(&m->P, &m->N);
  return 1;
}

/* ---- merges ---------------------------------------------------------------------------------- */

static ar_status ids_of(ar_index *ix, const char *sql, int64_t arg, ivec *out, ar_error *err) {
  sqlite3_stmt *q = NULL;
  out->n = 0;
  if (sqlite3_prepare_v2(ix->db, sql, -1, &q, NULL) != SQLITE_OK) return ar_index_db_fail(ix, err, "listing lexical runs");
  sqlite3_bind_int64(q, 1, arg);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v)) {
      sqlite3_finalize(q);
      return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    }
    out->v[out->n++] = sqlite3_column_int64(q, 0);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? AR_OK : ar_index_db_fail(ix, err, "listing lexical runs");
}

/* Merges the runs of `level` (all of them are newer than every other level's, since merges
 * cascade upwards at once) into one run of level + 1. */
static ar_status merge_level(ar_index *ix, const ivec *runs, int level, ar_error *err) {
  run_merge m;
  page_writer w;
  ar_buf list = {0};
  ar_status st = rm_open(ix, &m, runs->v, (int)runs->n, err);
  memset(&w, 0, sizeof w);
  if (!st) st = pw_open(ix, &w, level + 1, err);
  int r;
  while (!st && (r = rm_next(&m, err)) != 0) {
    if (r < 0) { st = err ? err->status : AR_ERR_DB; break; }
    if (!m.P.n && !m.N.n) continue;
    if (encode_list(&list, m.P.v, m.P.n, m.N.v, m.N.n)) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    else st = pw_add(&w, m.term, m.term_len, &list, err);
  }
  if (!st) st = pw_flush(&w, err);
  pw_close(&w);
  rm_close(&m);
  ar_buf_free(&list);
  sqlite3_stmt *dp = NULL, *dr = NULL;
  if (!st && (sqlite3_prepare_v2(ix->db, "DELETE FROM lex_pages WHERE run=?1", -1, &dp, NULL) != SQLITE_OK ||
              sqlite3_prepare_v2(ix->db, "DELETE FROM lex_runs WHERE id=?1", -1, &dr, NULL) != SQLITE_OK))
    st = ar_index_db_fail(ix, err, "dropping merged lexical runs");
  for (size_t i = 0; !st && i < runs->n; i++) {
    sqlite3_bind_int64(dp, 1, runs->v[i]);
    sqlite3_bind_int64(dr, 1, runs->v[i]);
    if (sqlite3_step(dp) != SQLITE_DONE || sqlite3_step(dr) != SQLITE_DONE)
      st = ar_index_db_fail(ix, err, "dropping merged lexical runs");
    sqlite3_reset(dp);
    sqlite3_reset(dr);
  }
  sqlite3_finalize(dp);
  sqlite3_finalize(dr);
  return st;
}

static ar_status merge_cascade(ar_index *ix, ar_error *err) {
  ivec runs = {0};
  ar_status st = AR_OK;
  for (int level = 0; !st; level++) {
    if ((st = ids_of(ix, "SELECT id FROM lex_runs WHERE level=?1 ORDER BY id", level, &runs, err))) break;
    if (runs.n < AR_LEX_FANOUT) break;
    st = merge_level(ix, &runs, level, err);
  }
  ar_free(runs.v);
  return st;
}

/* ---- a transaction's batch ------------------------------------------------------------------- */

typedef struct {
  uint32_t off, len;     /* term bytes in the batch's arena */
  int64_t id;
  uint32_t tf, dl;
  int deleted;
} lex_entry;

struct ar_lex_batch {
  lex_entry *e;
  size_t n, cap;
  ar_buf arena;
  int64_t d_docs, d_tokens;
  int oom;
};

ar_lex_batch *ar_lex_batch_new(void) { return ar_calloc(1, sizeof(ar_lex_batch)); }

void ar_lex_batch_free(ar_lex_batch *b) {
  if (!b) return;
  ar_free(b->e);
  ar_buf_free(&b->arena);
  ar_free(b);
}

static int on_doc_term(void *ud, const char *term, int len, int start, int end) {
  (void)start; (void)end;
  ar_lex_batch *b = ud;
  if (grow((void **)&b->e, &b->cap, b->n + 1, sizeof *b->e)) { b->oom = 1; return 1; }
  b->e[b->n++] = (lex_entry){(uint32_t)b->arena.n, (uint32_t)len, 0, 1, 0, 0};
  if (ar_buf_append(&b->arena, term, (size_t)len)) { b->oom = 1; return 1; }
  return 0;
}

static int cmp_entry_term(const void *a, const void *b, void *arena) {
  const lex_entry *x = a, *y = b;
  const char *p = arena;
  return term_cmp(p + x->off, x->len, p + y->off, y->len);
}

/* whole batch: term, then live postings before tombstones, then id */
static int cmp_entry(const void *a, const void *b, void *arena) {
  int c = cmp_entry_term(a, b, arena);
  if (c) return c;
  const lex_entry *x = a, *y = b;
  if (x->deleted != y->deleted) return x->deleted - y->deleted;
  return x->id < y->id ? -1 : x->id > y->id;
}

ar_status ar_lex_batch_add(ar_index *ix, ar_lex_batch *b, int64_t id, const char *text, int deleted, ar_error *err) {
  if (!text) return ar_fail(err, AR_ERR_NOMEM, "out of memory reading segment %lld", (long long)id);
  size_t first = b->n;
  ar_analyze(ix->query_an, text, strlen(text), on_doc_term, b);
  if (b->oom) return ar_fail(err, AR_ERR_NOMEM, "out of memory indexing segment %lld", (long long)id);
  uint32_t dl = (uint32_t)(b->n - first);
  /* one entry per distinct term of the segment, tf = its count */
  if (dl > 1) qsort_r(b->e + first, dl, sizeof *b->e, cmp_entry_term, b->arena.p);
  size_t k = first;
  for (size_t i = first; i < b->n; i++) {
    if (k > first && !cmp_entry_term(&b->e[k - 1], &b->e[i], b->arena.p)) { b->e[k - 1].tf++; continue; }
    b->e[k++] = b->e[i];
  }
  b->n = k;
  for (size_t i = first; i < k; i++) { b->e[i].id = id; b->e[i].dl = dl; b->e[i].deleted = deleted; }
  b->d_docs += deleted ? -1 : 1;
  b->d_tokens += deleted ? -(int64_t)dl : (int64_t)dl;
  return AR_OK;
}

ar_status ar_lex_batch_write(ar_index *ix, ar_lex_batch *b, ar_error *err) {
  ar_status st = AR_OK;
  if (b->n) {
    qsort_r(b->e, b->n, sizeof *b->e, cmp_entry, b->arena.p);
    page_writer w;
    pvec P = {0};
    ivec N = {0};
    ar_buf list = {0};
    st = pw_open(ix, &w, 0, err);
    for (size_t i = 0; !st && i < b->n;) {
      size_t j = i;
      P.n = N.n = 0;
      for (; j < b->n && !cmp_entry_term(&b->e[i], &b->e[j], b->arena.p); j++) {
        if (grow((void **)&P.v, &P.cap, P.n + 1, sizeof *P.v) || grow((void **)&N.v, &N.cap, N.n + 1, sizeof *N.v)) {
          st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
          break;
        }
        if (b->e[j].deleted) N.v[N.n++] = b->e[j].id;
        else P.v[P.n++] = (ar_posting){b->e[j].id, b->e[j].tf, b->e[j].dl};
      }
      if (st) break;
      if (encode_list(&list, P.v, P.n, N.v, N.n)) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      else st = pw_add(&w, b->arena.p + b->e[i].off, b->e[i].len, &list, err);
      i = j;
    }
    if (!st) st = pw_flush(&w, err);
    pw_close(&w);
    ar_free(P.v);
    ar_free(N.v);
    ar_buf_free(&list);
  }
  if (!st && (b->d_docs || b->d_tokens)) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(ix->db, "UPDATE lex_stats SET n_docs = n_docs + ?1, n_tokens = n_tokens + ?2 WHERE id = 0",
                           -1, &q, NULL) != SQLITE_OK)
      return ar_index_db_fail(ix, err, "updating lexical statistics");
    sqlite3_bind_int64(q, 1, b->d_docs);
    sqlite3_bind_int64(q, 2, b->d_tokens);
    if (sqlite3_step(q) != SQLITE_DONE || sqlite3_changes(ix->db) != 1)
      st = ar_index_db_fail(ix, err, "updating lexical statistics");
    sqlite3_finalize(q);
  }
  if (!st && b->n) st = merge_cascade(ix, err);
  b->n = 0;
  b->arena.n = 0;
  b->d_docs = b->d_tokens = 0;
  return st;
}

ar_status ar_lex_rebuild(ar_index *ix, ar_error *err) {
  ar_status st;
  if ((st = ar_lex_create(ix, err)) ||
      (st = exec(ix, "DELETE FROM lex_pages; DELETE FROM lex_runs; UPDATE lex_stats SET n_docs=0, n_tokens=0", err)))
    return st;
  ar_lex_batch *b = ar_lex_batch_new();
  if (!b) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(ix->db, "SELECT id, text FROM segments ORDER BY id", -1, &q, NULL) != SQLITE_OK) {
    ar_lex_batch_free(b);
    return ar_index_db_fail(ix, err, "reading segments");
  }
  int rc, n = 0;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(q, 1);
    st = ar_lex_batch_add(ix, b, sqlite3_column_int64(q, 0), t ? t : "", 0, err);
    if (!st && ++n % REBUILD_BATCH == 0) st = ar_lex_batch_write(ix, b, err);
  }
  if (!st && rc != SQLITE_DONE) st = ar_index_db_fail(ix, err, "reading segments");
  sqlite3_finalize(q);
  if (!st) st = ar_lex_batch_write(ix, b, err);
  ar_lex_batch_free(b);
  ar_lex_invalidate(ix);
  return st;
}

/* ---- reading --------------------------------------------------------------------------------- */

ar_status ar_lex_stats(ar_index *ix, int64_t *n_docs, int64_t *n_tokens, ar_error *err) {
  sqlite3_stmt *q = NULL;
  *n_docs = *n_tokens = 0;
  if (sqlite3_prepare_v2(ix->db, "SELECT n_docs, n_tokens FROM lex_stats WHERE id=0", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "reading lexical statistics");
  ar_status st = AR_OK;
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    *n_docs = sqlite3_column_int64(q, 0);
    *n_tokens = sqlite3_column_int64(q, 1);
  } else {
    st = rc == SQLITE_DONE ? ar_fail(err, AR_ERR_DB, "%s: lex_stats has no row", ix->path)
                           : ar_index_db_fail(ix, err, "reading lexical statistics");
  }
  sqlite3_finalize(q);
  return st;
}

ar_status ar_lex_runs(ar_index *ix, int64_t **runs, int *n_runs, ar_error *err) {
  ivec v = {0};
  /* oldest first: higher levels are older; within a level, smaller ids */
  ar_status st = ids_of(ix, "SELECT id FROM lex_runs WHERE ?1 = ?1 ORDER BY level DESC, id", 0, &v, err);
  if (st) { ar_free(v.v); return st; }
  *runs = v.v;
  *n_runs = (int)v.n;
  return AR_OK;
}

ar_status ar_lex_term_postings(ar_index *ix, const int64_t *runs, int n_runs, const char *term, int len,
                               ar_posting **out, size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  sqlite3_stmt *q = NULL;
  /* the page whose first term is the last one <= term holds term, if the run has it */
  if (sqlite3_prepare_v2(ix->db, "SELECT data FROM lex_pages WHERE run=?1 AND first_term<=?2"
                         " ORDER BY first_term DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return ar_index_db_fail(ix, err, "reading lexical postings");
  pvec P = {0};
  ivec N = {0};
  ar_status st = AR_OK;
  sqlite3_bind_blob(q, 2, term, len, SQLITE_STATIC);
  for (int r = 0; !st && r < n_runs; r++) {
    sqlite3_bind_int64(q, 1, runs[r]);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      /* an empty page (NULL blob) is damage: pages are written only with a list in them */
      const uint8_t *p = sqlite3_column_blob(q, 0);
      if (!p) goto bad;
      const uint8_t *end = p + sqlite3_column_bytes(q, 0);
      while (p < end) {
        uint64_t tl, ll;
        if (!get_varint(&p, end, &tl) || tl > (uint64_t)(end - p)) goto bad;
        const char *t = (const char *)p;
        p += tl;
        if (!get_varint(&p, end, &ll) || ll > (uint64_t)(end - p)) goto bad;
        int c = term_cmp(t, tl, term, (size_t)len);
        if (c == 0) {
          int oom = 0;
          if (!decode_list(p, ll, &P, &N, &oom)) {
            if (oom) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
            else goto bad;
          }
          break;
        }
        if (c > 0) break;
        p += ll;
      }
    } else if (rc != SQLITE_DONE) {
      st = ar_index_db_fail(ix, err, "reading lexical postings");
    }
    sqlite3_reset(q);
    continue;
  bad:
    st = ar_fail(err, AR_ERR_DB, "%s: lexical run %lld: malformed page", ix->path, (long long)runs[r]);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  if (!st) cancel(&P, &N);
  ar_free(N.v);
  if (st) { ar_free(P.v); return st; }
  *out = P.v;
  *n_out = P.n;
  return AR_OK;
}

/* ---- check ----------------------------------------------------------------------------------- */

/* Expected postings, from the segments' text: per term its document frequency and an
 * order-independent digest of its (id, tf, dl) triples. */
typedef struct { uint32_t off, len; int64_t df; uint64_t digest; int seen; } exp_term;
typedef struct { exp_term *slot; size_t cap, n; ar_buf arena; } exp_map;

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
  return x;
}

static uint64_t posting_digest(int64_t id, uint32_t tf, uint32_t dl) {
  return mix64((uint64_t)id * 0x9e3779b97f4a7c15ull ^ mix64(((uint64_t)tf << 32) | dl));
}

static exp_term *exp_find(exp_map *m, const char *t, size_t n, int add) {
  if (add && (m->n + 1) * 2 > m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 1024;
    exp_term *ns = ar_calloc(nc, sizeof *ns);
    if (!ns) return NULL;
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->slot[i].len) continue;
      size_t h = hash_bytes(m->arena.p + m->slot[i].off, m->slot[i].len) & (nc - 1);
      while (ns[h].len) h = (h + 1) & (nc - 1);
      ns[h] = m->slot[i];
    }
    ar_free(m->slot);
    m->slot = ns;
    m->cap = nc;
  }
  if (!m->cap) return NULL;
  size_t h = hash_bytes(t, n) & (m->cap - 1);
  for (; m->slot[h].len; h = (h + 1) & (m->cap - 1))
    if (m->slot[h].len == n && !memcmp(m->arena.p + m->slot[h].off, t, n)) return &m->slot[h];
  if (!add) return NULL;
  m->slot[h] = (exp_term){(uint32_t)m->arena.n, (uint32_t)n, 0, 0, 0};
  if (ar_buf_append(&m->arena, t, n)) return NULL;
  m->n++;
  return &m->slot[h];
}

ar_status ar_lex_check(ar_index *ix, ar_error *err) {
  exp_map m = {0};
  ar_lex_batch *b = ar_lex_batch_new();
  run_merge rm;
  memset(&rm, 0, sizeof rm);
  int64_t *runs = NULL;
  int n_runs = 0;
  ar_status st = b ? AR_OK : ar_fail(err, AR_ERR_NOMEM, "out of memory");
  int64_t n_docs = 0, n_tokens = 0, s_docs, s_tokens;
  sqlite3_stmt *q = NULL;
  if (!st && sqlite3_prepare_v2(ix->db, "SELECT id, text FROM segments ORDER BY id", -1, &q, NULL) != SQLITE_OK)
    st = ar_index_db_fail(ix, err, "reading segments");
  int rc = SQLITE_DONE;
  while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(q, 1);
    int64_t id = sqlite3_column_int64(q, 0);
    if ((st = ar_lex_batch_add(ix, b, id, t ? t : "", 0, err))) break;
    n_docs++;
    n_tokens += b->d_tokens;
    for (size_t i = 0; i < b->n; i++) {
      exp_term *e = exp_find(&m, b->arena.p + b->e[i].off, b->e[i].len, 1);
      if (!e) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      e->df++;
      e->digest += posting_digest(id, b->e[i].tf, b->e[i].dl);
    }
    b->n = 0;
    b->arena.n = 0;
    b->d_docs = b->d_tokens = 0;
  }
  if (!st && rc != SQLITE_DONE) st = ar_index_db_fail(ix, err, "reading segments");
  sqlite3_finalize(q);
  if (!st) st = ar_lex_stats(ix, &s_docs, &s_tokens, err);
  if (!st && (s_docs != n_docs || s_tokens != n_tokens))
    st = ar_fail(err, AR_ERR_DB, "%s: lexical statistics say %lld segments / %lld terms, the segments have %lld / %lld",
                 ix->path, (long long)s_docs, (long long)s_tokens, (long long)n_docs, (long long)n_tokens);
  if (!st) st = ar_lex_runs(ix, &runs, &n_runs, err);
  if (!st) st = rm_open(ix, &rm, runs, n_runs, err);
  int r;
  while (!st && (r = rm_next(&rm, err)) != 0) {
    if (r < 0) { st = err ? err->status : AR_ERR_DB; break; }
    const char *t = rm.term;
    int tl = (int)rm.term_len;
    if (rm.N.n) {
      st = ar_fail(err, AR_ERR_DB, "%s: lexical term '%.*s': tombstone for segment %lld, which no run holds", ix->path,
                   tl, t, (long long)rm.N.v[0]);
      break;
    }
    uint64_t digest = 0;
    for (size_t i = 0; i < rm.P.n; i++) {
      if (i && rm.P.v[i].id == rm.P.v[i - 1].id) {
        st = ar_fail(err, AR_ERR_DB, "%s: lexical term '%.*s': segment %lld listed twice", ix->path, tl, t,
                     (long long)rm.P.v[i].id);
        break;
      }
      digest += posting_digest(rm.P.v[i].id, rm.P.v[i].tf, rm.P.v[i].dl);
    }
    if (st) break;
    if (!rm.P.n) continue;
    exp_term *e = exp_find(&m, t, rm.term_len, 0);
    if (!e)
      st = ar_fail(err, AR_ERR_DB, "%s: lexical term '%.*s' has postings (e.g. segment %lld) but no segment contains it",
                   ix->path, tl, t, (long long)rm.P.v[0].id);
    else if (e->df != (int64_t)rm.P.n || e->digest != digest)
      st = ar_fail(err, AR_ERR_DB, "%s: lexical term '%.*s': postings disagree with the segments' text (%zu postings,"
                   " %lld segments contain it)", ix->path, tl, t, rm.P.n, (long long)e->df);
    else e->seen = 1;
  }
  for (size_t i = 0; !st && i < m.cap; i++)
    if (m.slot[i].len && !m.slot[i].seen)
      st = ar_fail(err, AR_ERR_DB, "%s: lexical term '%.*s' (in %lld segments) has no postings", ix->path,
                   (int)m.slot[i].len, m.arena.p + m.slot[i].off, (long long)m.slot[i].df);
  rm_close(&rm);
  ar_free(runs);
  ar_free(m.slot);
  ar_buf_free(&m.arena);
  ar_lex_batch_free(b);
  return st;
}
