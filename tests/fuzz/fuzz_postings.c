/* fuzz_postings.c - lexical search over a damaged index (src/index/postings.c, lexsearch.c). Structure-aware:
 * the harness builds one small valid index at start (videos put one by one, some replaced, so there are
 * several runs, a merge and tombstones) and keeps its bytes; each input gets a fresh copy, damaged through
 * SQLite as the input says (a lex_pages blob's bytes overwritten, cut, extended, replaced, or given a huge
 * varint; a page's first_term changed; runs dropped or moved between levels; lex_stats set to odd values),
 * then lexical searches run over it with the index's own terms and the input's bytes. The reader must give
 * results or an error: never crash, hang or read out of bounds. */
#include "fuzz.h"
#include "aularag.h"
#include <sqlite3.h>
#include <stdint.h>

static const char *const words[] = {"vetor", "matriz", "derivada", "integral", "limite", "função", "gradiente",
                                    "rede", "neural", "camada", "peso", "erro", "treino", "dados", "modelo",
                                    "espaço", "base", "linear", "transformação", "determinante", "autovalor",
                                    "probabilidade", "série", "fourier", "convolução", "imagem", "pixel", "cor"};
#define N_WORDS (sizeof words / sizeof *words)

static unsigned char *pristine;
static size_t pristine_n;
static char path[600];

static void put(ar_index *ix, int v, int variant) {
  char id[32], text[2048];
  snprintf(id, sizeof id, "video%02d", v);
  ar_segment seg[6];
  for (int s = 0; s < 6; s++) {
    size_t n = 0;
    uint32_t r = (uint32_t)(v * 7919 + s * 104729 + variant * 1299709);
    int len = 8 + (int)(r % 40);
    for (int w = 0; w < len; w++) {
      r = r * 1103515245u + 12345u;
      n += (size_t)snprintf(text + n, sizeof text - n, "%s ", words[(r >> 16) % N_WORDS]);
    }
    seg[s] = (ar_segment){.start_s = s * 90.0, .end_s = s * 90.0 + 120, .text = strdup(text), .n_cues = 1};
  }
  ar_segments segs = {.v = seg, .n = 6, .cap = 6};
  ar_video vid = {.video_id = id, .title = id, .url = "", .source_path = id, .course = v % 2 ? "a" : "b"};
  ar_error err;
  if (ar_index_put_video(ix, &vid, &segs, &err)) { fprintf(stderr, "fuzz_postings: %s\n", err.msg); abort(); }
  for (int s = 0; s < 6; s++) free(seg[s].text);
}

static void build(void) {
  snprintf(path, sizeof path, "%s/postings.db", fz_dir());
  char seed[600];
  snprintf(seed, sizeof seed, "%s/seed.db", fz_dir());
  ar_index *ix;
  ar_error err;
  if (ar_index_open(seed, ar_index_default_params(), &ix, &err)) { fprintf(stderr, "fuzz_postings: %s\n", err.msg); abort(); }
  for (int v = 0; v < 12; v++) put(ix, v, 0);    /* 12 runs: the first 8 merge into a level-1 run */
  for (int v = 0; v < 3; v++) put(ix, v, 1);     /* replaced: tombstones over older runs */
  ar_index_close(ix);                            /* the last close checkpoints the WAL into the file */
  FILE *f = fopen(seed, "rb");
  if (!f) abort();
  fseek(f, 0, SEEK_END);
  pristine_n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  pristine = malloc(pristine_n);
  if (!pristine || fread(pristine, 1, pristine_n, f) != pristine_n) abort();
  fclose(f);
}

static int64_t pick_i64(fz *f) {
  static const int64_t v[] = {0, 1, -1, 2, 7, 1000, INT32_MAX, (int64_t)UINT32_MAX + 1, INT64_MAX, INT64_MIN};
  return v[fz_pick(f, sizeof v / sizeof *v)];
}

/* Rewrites one lex_pages blob (by position among the pages) with the input's damage. */
static void damage_page(sqlite3 *db, fz *f, int op) {
  sqlite3_stmt *q = NULL;
  int n_pages = 0;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM lex_pages", -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    n_pages = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (!n_pages) return;
  int which = (int)fz_pick(f, (unsigned)n_pages);
  if (sqlite3_prepare_v2(db, "SELECT rowid, data FROM lex_pages ORDER BY rowid LIMIT 1 OFFSET ?1", -1, &q, NULL) != SQLITE_OK)
    return;
  sqlite3_bind_int(q, 1, which);
  if (sqlite3_step(q) != SQLITE_ROW) { sqlite3_finalize(q); return; }
  int64_t rowid = sqlite3_column_int64(q, 0);
  size_t n = (size_t)sqlite3_column_bytes(q, 1);
  unsigned char *b = malloc(n + 300);
  if (!b) abort();
  if (n) memcpy(b, sqlite3_column_blob(q, 1), n);
  sqlite3_finalize(q);
  size_t pos = n ? fz_pick(f, 65536) % n : 0;
  const uint8_t *ins;
  size_t k;
  const char *col = "data";
  switch (op) {
  case 0: if (n) b[pos] = (unsigned char)fz_byte(f); break;          /* one byte */
  case 1: n = pos; break;                                             /* cut */
  case 2:                                                             /* bytes inserted */
    k = fz_bytes(f, 32, &ins);
    memmove(b + pos + k, b + pos, n - pos);
    memcpy(b + pos, ins, k);
    n += k;
    break;
  case 3: n = fz_bytes(f, 255, &ins); memcpy(b, ins, n); break;       /* replaced whole */
  case 4: {                                                           /* a huge varint at pos */
    uint64_t v = (uint64_t)pick_i64(f);
    size_t m = 0;
    unsigned char tmp[10];
    do { tmp[m++] = (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)); v >>= 7; } while (v && m < 10);
    if (pos + m > n) n = pos + m;
    memcpy(b + pos, tmp, m);
    break;
  }
  default: n = fz_bytes(f, 24, &ins); memcpy(b, ins, n); col = "first_term"; break;
  }
  char sql[80];
  snprintf(sql, sizeof sql, "UPDATE lex_pages SET %s = ?1 WHERE rowid = ?2", col);
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_blob(q, 1, b, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, rowid);
    sqlite3_step(q);
  }
  sqlite3_finalize(q);
  free(b);
}

static void exec_i64(sqlite3 *db, const char *sql, int64_t a, int64_t b) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    sqlite3_step(q);
  }
  sqlite3_finalize(q);
}

static void damage(fz *f) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) abort();
  sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);   /* no fsync: a scratch copy */
  for (int i = 0, ops = 1 + (int)fz_pick(f, 4); i < ops && f->n; i++) {
    unsigned op = fz_pick(f, 10);
    if (op < 6) damage_page(db, f, (int)op);
    else if (op == 6) exec_i64(db, "UPDATE lex_stats SET n_docs = ?1, n_tokens = ?2", pick_i64(f), pick_i64(f));
    else if (op == 7) exec_i64(db, "UPDATE lex_runs SET level = ?1 WHERE id = (SELECT id FROM lex_runs ORDER BY id LIMIT 1 OFFSET ?2)",
                               pick_i64(f), fz_pick(f, 8));
    else if (op == 8) exec_i64(db, "DELETE FROM lex_runs WHERE id = (SELECT id FROM lex_runs ORDER BY id LIMIT 1 OFFSET ?1) AND ?2 = ?2",
                               fz_pick(f, 8), 0);
    else exec_i64(db, "DELETE FROM lex_pages WHERE rowid = (SELECT rowid FROM lex_pages ORDER BY rowid LIMIT 1 OFFSET ?1) AND ?2 = ?2",
                  fz_pick(f, 16), 0);
  }
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!pristine) build();
  char side[640];
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
  fz_write("postings.db", pristine, pristine_n);
  fz f = {data, size};
  damage(&f);

  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  ar_index *ix;
  ar_error err;
  if (ar_index_open(path, ip, &ix, &err)) return 0;   /* refused at open: fine */
  ar_search_params sp = ar_search_default_params();
  sp.mode = AR_MODE_LEXICAL;
  for (int qn = 0; qn < 4; qn++) {
    char query[512];
    size_t n = 0;
    if (qn < 3) {   /* words the index holds, so the damaged lists are read */
      for (int w = 0, nw = 1 + (int)fz_pick(&f, 5); w < nw; w++)
        n += (size_t)snprintf(query + n, sizeof query - n, "%s ", words[fz_pick(&f, N_WORDS)]);
    } else {        /* and the input's own bytes */
      const uint8_t *b;
      n = fz_bytes(&f, 200, &b);
      memcpy(query, b, n);
      query[n] = 0;
    }
    static const int ks[] = {1, 3, 10, 50};
    sp.k = ks[fz_pick(&f, 4)];
    sp.course = fz_pick(&f, 3) == 0 ? "a" : NULL;
    ar_results res;
    if (ar_search(ix, query, &sp, &res, &err) == AR_OK) ar_results_free(&res);
  }
  ar_index_close(ix);
  return 0;
}
