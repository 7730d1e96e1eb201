/* fts_tokenizer.c - the "aularag" FTS5 tokenizer: src/text analysis behind SQLite's fts5_api. */
#include "index/index.h"
#include "core/util.h"

/* tokenize='aularag <lang> [nostem] [nostop] [keepaccent] [snowball]' */
static int tok_create(void *ctx, const char **args, int n_args, Fts5Tokenizer **out) {
  (void)ctx;
  const char *lang = n_args > 0 ? args[0] : "pt";
  int flags = 0;
  for (int i = 1; i < n_args; i++) {
    if (!strcmp(args[i], "nostem")) flags |= AR_AN_NOSTEM;
    else if (!strcmp(args[i], "nostop")) flags |= AR_AN_NOSTOP;
    else if (!strcmp(args[i], "keepaccent")) flags |= AR_AN_KEEPACCENT;
    else if (!strcmp(args[i], "snowball")) flags |= AR_AN_SNOWBALL;
    else return SQLITE_ERROR;
  }
  ar_analyzer *a = NULL;
  ar_status st = ar_analyzer_new(lang, flags, &a, NULL);
  if (st) return st == AR_ERR_NOMEM ? SQLITE_NOMEM : SQLITE_ERROR;
  *out = (Fts5Tokenizer *)a;
  return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *t) { ar_analyzer_free((ar_analyzer *)t); }

struct tok_ctx {
  void *fts_ctx;
  int (*x_token)(void *, int, const char *, int, int, int);
};

static int on_term(void *ud, const char *term, int len, int start, int end) {
  struct tok_ctx *c = ud;
  return c->x_token(c->fts_ctx, 0, term, len, start, end);
}

static int tok_tokenize(Fts5Tokenizer *t, void *fts_ctx, int flags, const char *text, int n_text,
                        int (*x_token)(void *, int, const char *, int, int, int)) {
  (void)flags;  /* documents and queries go through the same analysis */
  struct tok_ctx c = {fts_ctx, x_token};
  if (!text || n_text <= 0) return SQLITE_OK;
  return ar_analyze((ar_analyzer *)t, text, (size_t)n_text, on_term, &c);
}

ar_status ar_fts_register(sqlite3 *db, ar_error *err) {
  fts5_api *api = NULL;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &q, NULL) != SQLITE_OK)
    return ar_fail(err, AR_ERR_DB, "this SQLite has no FTS5: %s", sqlite3_errmsg(db));
  sqlite3_bind_pointer(q, 1, (void *)&api, "fts5_api_ptr", NULL);
  sqlite3_step(q);
  sqlite3_finalize(q);
  if (!api) return ar_fail(err, AR_ERR_DB, "cannot get the FTS5 API from SQLite");
  static fts5_tokenizer tok = {tok_create, tok_delete, tok_tokenize};
  if (api->xCreateTokenizer(api, "aularag", NULL, &tok, NULL) != SQLITE_OK)
    return ar_fail(err, AR_ERR_DB, "cannot register the aularag FTS5 tokenizer: %s", sqlite3_errmsg(db));
  return ar_fts_register_bm25(db, api, err);
}
