/* tokenizer.c - the public tokenizer API: load (directory, tokenizer.json or sentencepiece model),
 * special-token splitting, <s> ... </s> template, truncation, counting. */
#include "tokenizer/tok_internal.h"
#include <limits.h>
#include <sys/stat.h>

ar_status tok_add_special(ar_tokenizer *t, const char *s, size_t len, int32_t id, int lstrip, int rstrip,
                          int normalized, ar_error *err) {
  if (id < 0 || id >= t->n_vocab)
    return ar_fail(err, AR_ERR_MODEL, "%s: special token \"%.*s\" has id %d outside the vocabulary", t->source,
                   (int)AR_MIN(len, 64), s, (int)id);
  tok_special *n = ar_realloc(t->spec, (size_t)(t->n_spec + 1) * sizeof *n);
  if (!n) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", t->source);
  t->spec = n;
  char *c = ar_strndup(s, len);
  if (!c) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", t->source);
  /* keep the list sorted longest first so the first match at a position is the longest */
  int i = t->n_spec;
  while (i > 0 && t->spec[i - 1].len < len) { t->spec[i] = t->spec[i - 1]; i--; }
  t->spec[i] = (tok_special){c, len, id, (uint8_t)lstrip, (uint8_t)rstrip, (uint8_t)(normalized != 0)};
  t->n_spec++;
  t->spec_first[normalized != 0][(uint8_t)s[0]] = 1;
  if (normalized) t->n_spec_norm++;
  return AR_OK;
}

/* Leftmost-longest match of a special-token string at or after `from` (HF AddedVocabulary), with its
 * lstrip/rstrip extension over whitespace. Returns 1 and the span, or 0. */
int tok_split_special(const ar_tokenizer *t, const uint8_t *s, size_t n, size_t from, int normalized,
                      size_t *ms, size_t *me, int32_t *id) {
  const uint8_t *first = t->spec_first[normalized];
  for (size_t i = from; i < n; i++) {
    if (!first[s[i]]) continue;
    for (int k = 0; k < t->n_spec; k++) {
      const tok_special *sp = &t->spec[k];
      if (sp->normalized != normalized || sp->len > n - i || memcmp(s + i, sp->s, sp->len)) continue;
      size_t a = i, e = i + sp->len, l;
      if (sp->lstrip) while (a > from && (l = tok_ws_before(s, from, a))) a -= l;
      if (sp->rstrip) while (e < n && (l = tok_ws_at(s + e, n - e))) e += l;
      *ms = a; *me = e; *id = sp->id;
      return 1;
    }
  }
  return 0;
}

static void finish_tables(ar_tokenizer *t) {
  for (int b = 0; b < 128; b++) {
    t->ascii_val[b] = -1;
    t->ascii_len[b] = 0;
    t->ascii_cont[b] = 0;
    if (!t->has_cm) continue;
    uint8_t key[2] = {(uint8_t)b, 0};
    uint32_t lens[2], vals[2];
    if (tok_charsmap_search(&t->cm, key, 1, lens, vals, 1) > 0) {
      size_t rl;
      tok_charsmap_repl(&t->cm, vals[0], &rl);
      if (rl < 256) { t->ascii_val[b] = (int32_t)vals[0]; t->ascii_len[b] = (uint8_t)rl; }
      else t->ascii_cont[b] = 1;  /* absurd replacement: leave it to the slow path */
    }
    for (int c = 0; c < 128 && !t->ascii_cont[b]; c++) {
      key[1] = (uint8_t)c;
      int k = tok_charsmap_search(&t->cm, key, 2, lens, vals, 2);
      for (int j = 0; j < k && j < 2; j++) if (lens[j] == 2) t->ascii_cont[b] = 1;
    }
  }
}

static int has_suffix(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

static ar_status load_path(const char *path, ar_tokenizer **out, ar_error *err) {
  *out = NULL;
  if (!path || !*path) return ar_fail(err, AR_ERR_INVALID, "tokenizer: no path given");
  struct stat st;
  if (stat(path, &st) != 0) return ar_fail(err, AR_ERR_IO, "%s: no such file or directory", path);
  char *file = NULL;
  if (S_ISDIR(st.st_mode)) {
    static const char *names[] = {"tokenizer.json", "sentencepiece.bpe.model"};
    for (int i = 0; i < 2 && !file; i++) {
      size_t l = strlen(path) + strlen(names[i]) + 2;
      char *p = ar_malloc(l);
      if (!p) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
      snprintf(p, l, "%s/%s", path, names[i]);
      if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) file = p; else ar_free(p);
    }
    if (!file)
      return ar_fail(err, AR_ERR_IO, "%s: holds neither tokenizer.json nor sentencepiece.bpe.model", path);
  } else {
    file = ar_strdup(path);
    if (!file) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  char *data = NULL;
  size_t len = 0;
  ar_status s = ar_read_file(file, &data, &len, err);
  if (s == AR_OK) s = tok_load_buffer(file, data, len, out, err);
  free(data);
  ar_free(file);
  return s;
}

/* path may also name a model in the Hugging Face cache, "ORG/NAME[@REV]" (src/hub/cache.c). */
ar_status ar_tokenizer_load(const char *path, ar_tokenizer **out, ar_error *err) {
  *out = NULL;
  if (!path || !*path) return load_path(path, out, err);
  char *dir;
  ar_status s = ar_model_resolve(path, &dir, err);
  if (s) return s;
  s = load_path(dir, out, err);
  free(dir);
  return s;
}

ar_status tok_load_buffer(const char *name, const char *data, size_t len, ar_tokenizer **out, ar_error *err) {
  *out = NULL;
  ar_tokenizer *t = ar_calloc(1, sizeof *t);
  if (!t) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  t->source = ar_strdup(name);
  if (!t->source) { ar_free(t); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  size_t i = 0;
  while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t')) i++;
  t->hf = has_suffix(name, ".json") || (i < len && data[i] == '{');
  ar_status s = t->hf ? tok_load_hf(t, name, data, len, err) : tok_load_spm(t, name, (const uint8_t *)data, len, err);
  if (s != AR_OK) { ar_tokenizer_free(t); return s; }
  finish_tables(t);
  *out = t;
  return AR_OK;
}

void ar_tokenizer_free(ar_tokenizer *t) {
  if (!t) return;
  tok_trie_free(&t->trie);
  tok_trie_free(&t->user);
  tok_charsmap_free(&t->cm);
  for (int i = 0; i < t->n_norm; i++) { ar_free(t->norm[i].pat); ar_free(t->norm[i].content); }
  ar_free(t->norm);
  ar_free(t->pre);
  for (int i = 0; i < t->n_spec; i++) ar_free(t->spec[i].s);
  ar_free(t->spec);
  ar_free(t->score);
  ar_free(t->source);
  ar_free(t);
}

int ar_tokenizer_vocab_size(const ar_tokenizer *t) { return t ? t->n_vocab : 0; }

void tok_scratch_init(tok_scratch *sc) {
  char *a = sc->arena;
  for (int i = 0; i < 3; i++) { sc->buf[i] = a; sc->buf_cap[i] = 1536; a += 1536; }
  for (int i = 0; i < 2; i++) { sc->pc[i] = (uint32_t *)(void *)a; sc->pc_cap[i] = 1024; a += 1024; }
  sc->path = (int32_t *)(void *)a; sc->path_cap = 1536; a += 1536;
  sc->nodes = a; sc->nodes_cap = (size_t)(sc->arena + sizeof sc->arena - a);
  sc->oom = 0;
}

void tok_scratch_free(tok_scratch *sc) {
  void *p[7] = {sc->buf[0], sc->buf[1], sc->buf[2], sc->pc[0], sc->pc[1], sc->nodes, sc->path};
  for (int i = 0; i < 7; i++)
    if (!((char *)p[i] >= sc->arena && (char *)p[i] < sc->arena + sizeof sc->arena)) ar_free(p[i]);
}

int tok_encode_segment(const ar_tokenizer *t, const char *s, size_t n, int at_start, tok_scratch *sc,
                       tok_out *o) {
  if (t->hf) return tok_hf_segment(t, (const uint8_t *)s, n, at_start, sc, o);
  return tok_spm_segment(t, (const uint8_t *)s, n, sc, o);
}

/* Content ids (no template) into o. Returns 0, -1 on OOM. */
static int run(const ar_tokenizer *t, const char *text, size_t len, tok_out *o) {
  tok_scratch sc;
  tok_scratch_init(&sc);
  const uint8_t *s = (const uint8_t *)text;
  size_t pos = 0;
  int rc = 0;
  for (;;) {
    size_t ms = len, me = len;
    int32_t id = -1;
    int found = t->n_spec ? tok_split_special(t, s, len, pos, 0, &ms, &me, &id) : 0;
    if (ms > pos && (rc = tok_encode_segment(t, text + pos, ms - pos, pos == 0, &sc, o)) < 0) break;
    if (!found || tok_out_full(o)) break;
    tok_emit(o, id);
    pos = me;
  }
  tok_scratch_free(&sc);
  return rc;
}

int ar_tokenizer_encode(const ar_tokenizer *t, const char *text, size_t len, int32_t *ids, int n_max,
                        int flags) {
  if (!t || (!text && len) || n_max < 0 || (!ids && n_max > 0)) return INT_MIN;
  if (!text) text = "";
  int np = (flags & AR_TOK_ADD_SPECIAL) ? t->n_prefix : 0, ns = (flags & AR_TOK_ADD_SPECIAL) ? t->n_suffix : 0;
  int trunc = (flags & AR_TOK_TRUNCATE) != 0;
  int cap = n_max - np - ns;
  if (cap < 0) cap = 0;
  tok_out o = {ids ? ids + (n_max > np ? np : 0) : NULL, n_max > np ? cap : 0, 0, trunc ? cap : -1, 0};
  if (!o.ids) o.cap = 0;
  if (run(t, text, len, &o) < 0) return INT_MIN;
  long total = (long)np + o.n + ns;
  if (!trunc && total > n_max) return total > INT_MAX ? INT_MIN + 1 : -(int)total;
  int kept = o.n < cap ? o.n : cap, w = 0;
  for (int i = 0; i < np && w < n_max; i++) ids[w++] = t->prefix[i];
  w += kept;  /* content already in place at ids + np */
  for (int i = 0; i < ns && w < n_max; i++) ids[w++] = t->suffix[i];
  return w;
}

int ar_tokenizer_count(const ar_tokenizer *t, const char *text, size_t len, int flags) {
  if (!t || (!text && len)) return INT_MIN;
  if (!text) text = "";
  tok_out o = {NULL, 0, 0, -1, 0};
  if (run(t, text, len, &o) < 0) return INT_MIN;
  if (flags & AR_TOK_ADD_SPECIAL) o.n += t->n_prefix + t->n_suffix;
  return o.n;
}
