/* hf_json.c - reads a Hugging Face tokenizer.json (Unigram model, Precompiled/Replace/Strip normalizers,
 * WhitespaceSplit/Metaspace pre-tokenizers, TemplateProcessing, added tokens) with jansson. */
#include "tokenizer/tok_internal.h"
#include <jansson.h>
#include <math.h>

#define FAIL(...) do { st = ar_fail(err, AR_ERR_MODEL, __VA_ARGS__); goto done; } while (0)

static int b64_val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decodes standard base64 (padding optional). Returns the byte count, or -1 on a bad character. */
static long b64_decode(const char *s, size_t n, uint8_t *out) {
  uint32_t acc = 0;
  int bits = 0;
  long o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '=') break;
    int v = b64_val((unsigned char)s[i]);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) { bits -= 8; out[o++] = (uint8_t)(acc >> bits); }
  }
  return o;
}

static ar_status add_norm(ar_tokenizer *t, tok_norm_step s, const char *path, ar_error *err) {
  tok_norm_step *n = ar_realloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *n);
  if (!n) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
  t->norm = n;
  t->norm[t->n_norm++] = s;
  return AR_OK;
}

static ar_status parse_normalizer(ar_tokenizer *t, json_t *n, const char *field, const char *path, ar_error *err) {
  ar_status st = AR_OK;
  if (json_is_null(n)) return AR_OK;
  const char *type = json_string_value(json_object_get(n, "type"));
  if (!json_is_object(n) || !type) FAIL("%s: %s: expected an object with a \"type\"", path, field);
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(n, "normalizers");
    if (!json_is_array(arr)) FAIL("%s: %s.normalizers: expected an array", path, field);
    for (size_t i = 0; i < json_array_size(arr); i++) {
      char sub[256];
      snprintf(sub, sizeof sub, "%s.normalizers[%zu]", field, i);
      if ((st = parse_normalizer(t, json_array_get(arr, i), sub, path, err)) != AR_OK) goto done;
    }
  } else if (!strcmp(type, "Precompiled")) {
    json_t *cm = json_object_get(n, "precompiled_charsmap");
    if (json_is_null(cm) || (json_is_string(cm) && json_string_length(cm) == 0)) goto done;  /* no-op */
    if (!json_is_string(cm)) FAIL("%s: %s.precompiled_charsmap: expected a base64 string", path, field);
    if (t->has_cm) FAIL("%s: %s: more than one Precompiled normalizer is not supported", path, field);
    size_t l = json_string_length(cm);
    uint8_t *raw = ar_malloc(l / 4 * 3 + 4);
    if (!raw) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto done; }
    long rl = b64_decode(json_string_value(cm), l, raw);
    if (rl < 0) { ar_free(raw); FAIL("%s: %s.precompiled_charsmap: invalid base64", path, field); }
    char what[600];
    snprintf(what, sizeof what, "%s: %s", path, field);
    st = tok_charsmap_init(&t->cm, raw, (size_t)rl, what, err);
    ar_free(raw);
    if (st != AR_OK) goto done;
    t->has_cm = 1;
    st = add_norm(t, (tok_norm_step){.kind = TOK_N_PRECOMPILED}, path, err);
  } else if (!strcmp(type, "Replace")) {
    json_t *pat = json_object_get(n, "pattern");
    const char *content = json_string_value(json_object_get(n, "content"));
    const char *re = json_string_value(json_object_get(pat, "Regex"));
    json_t *str = json_object_get(pat, "String");
    if (!content) FAIL("%s: %s.content: expected a string", path, field);
    if (re) {
      /* the one regex converters emit; anything else would need a regex engine */
      if (strcmp(re, " {2,}") || strcmp(content, " "))
        FAIL("%s: %s.pattern.Regex \"%s\" is not supported (only \" {2,}\" -> \" \")", path, field, re);
      st = add_norm(t, (tok_norm_step){.kind = TOK_N_COLLAPSE_SPACES}, path, err);
    } else if (json_is_string(str) && json_string_length(str) > 0) {
      tok_norm_step s = {.kind = TOK_N_REPLACE};
      s.pat_len = json_string_length(str);
      s.content_len = json_string_length(json_object_get(n, "content"));
      s.pat = ar_strndup(json_string_value(str), s.pat_len);
      s.content = ar_strndup(content, s.content_len);
      if (!s.pat || !s.content || add_norm(t, s, path, err) != AR_OK) {
        ar_free(s.pat); ar_free(s.content);
        st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
      }
    } else {
      FAIL("%s: %s.pattern: expected {\"String\": non-empty} or {\"Regex\": ...}", path, field);
    }
  } else if (!strcmp(type, "Strip")) {
    json_t *l = json_object_get(n, "strip_left"), *r = json_object_get(n, "strip_right");
    st = add_norm(t, (tok_norm_step){.kind = TOK_N_STRIP, .left = l ? json_is_true(l) : 1,
                                     .right = r ? json_is_true(r) : 1}, path, err);
  } else {
    FAIL("%s: %s.type \"%s\" is not supported (Precompiled, Replace, Strip, Sequence are)", path, field, type);
  }
done:
  return st;
}

static ar_status add_pre(ar_tokenizer *t, tok_pre_step s, const char *path, ar_error *err) {
  tok_pre_step *n = ar_realloc(t->pre, (size_t)(t->n_pre + 1) * sizeof *n);
  if (!n) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
  t->pre = n;
  t->pre[t->n_pre++] = s;
  return AR_OK;
}

static ar_status parse_pre(ar_tokenizer *t, json_t *n, const char *field, const char *path, ar_error *err) {
  ar_status st = AR_OK;
  if (json_is_null(n)) return AR_OK;
  const char *type = json_string_value(json_object_get(n, "type"));
  if (!json_is_object(n) || !type) FAIL("%s: %s: expected an object with a \"type\"", path, field);
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(n, "pretokenizers");
    if (!json_is_array(arr)) FAIL("%s: %s.pretokenizers: expected an array", path, field);
    for (size_t i = 0; i < json_array_size(arr); i++) {
      char sub[256];
      snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", field, i);
      if ((st = parse_pre(t, json_array_get(arr, i), sub, path, err)) != AR_OK) goto done;
    }
  } else if (!strcmp(type, "WhitespaceSplit")) {
    st = add_pre(t, (tok_pre_step){.kind = TOK_P_WHITESPACE_SPLIT}, path, err);
  } else if (!strcmp(type, "Metaspace")) {
    tok_pre_step s = {.kind = TOK_P_METASPACE, .prepend = TOK_PREPEND_ALWAYS, .split = 1};
    json_t *rep = json_object_get(n, "replacement");
    const char *r = json_string_value(rep);
    if (!r || json_string_length(rep) == 0 || json_string_length(rep) > 4 ||
        ar_utf8_len((const unsigned char *)r, json_string_length(rep)) != (int)json_string_length(rep))
      FAIL("%s: %s.replacement: expected one character", path, field);
    s.repl_len = (int)json_string_length(rep);
    memcpy(s.repl, r, (size_t)s.repl_len);
    json_t *aps = json_object_get(n, "add_prefix_space");
    if (aps) s.prepend = json_is_true(aps) ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
    const char *ps = json_string_value(json_object_get(n, "prepend_scheme"));
    if (ps) {
      if (!strcmp(ps, "always")) s.prepend = TOK_PREPEND_ALWAYS;
      else if (!strcmp(ps, "never")) s.prepend = TOK_PREPEND_NEVER;
      else if (!strcmp(ps, "first")) s.prepend = TOK_PREPEND_FIRST;
      else FAIL("%s: %s.prepend_scheme \"%s\" is not supported", path, field, ps);
    }
    json_t *sp = json_object_get(n, "split");
    if (sp) s.split = json_is_true(sp);
    st = add_pre(t, s, path, err);
  } else {
    FAIL("%s: %s.type \"%s\" is not supported (WhitespaceSplit, Metaspace, Sequence are)", path, field, type);
  }
done:
  return st;
}

/* Looks up an added/special token's id by content. */
static int32_t special_id(json_t *specials, const char *name) {
  json_t *e = json_object_get(specials, name);
  json_t *ids = json_object_get(e, "ids");
  if (json_is_array(ids) && json_array_size(ids) == 1 && json_is_integer(json_array_get(ids, 0)))
    return (int32_t)json_integer_value(json_array_get(ids, 0));
  return -1;
}

static ar_status parse_post(ar_tokenizer *t, json_t *n, const char *path, ar_error *err) {
  ar_status st = AR_OK;
  if (json_is_null(n) || !n) return AR_OK;
  const char *type = json_string_value(json_object_get(n, "type"));
  if (!type) FAIL("%s: post_processor: expected an object with a \"type\"", path);
  if (!strcmp(type, "TemplateProcessing")) {
    json_t *single = json_object_get(n, "single"), *specials = json_object_get(n, "special_tokens");
    if (!json_is_array(single)) FAIL("%s: post_processor.single: expected an array", path);
    int seen_a = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
      json_t *it = json_array_get(single, i), *x;
      if ((x = json_object_get(it, "Sequence"))) {
        if (seen_a) FAIL("%s: post_processor.single[%zu]: more than one sequence", path, i);
        seen_a = 1;
      } else if ((x = json_object_get(it, "SpecialToken"))) {
        const char *name = json_string_value(json_object_get(x, "id"));
        int32_t id = name ? special_id(specials, name) : -1;
        if (id < 0 || id >= t->n_vocab)
          FAIL("%s: post_processor.single[%zu]: special token \"%s\" has no single id in special_tokens", path, i,
               name ? name : "?");
        int32_t *dst = seen_a ? t->suffix : t->prefix;
        int *nd = seen_a ? &t->n_suffix : &t->n_prefix;
        if (*nd >= 4) FAIL("%s: post_processor.single: more than 4 special tokens on one side", path);
        dst[(*nd)++] = id;
      } else {
        FAIL("%s: post_processor.single[%zu]: expected Sequence or SpecialToken", path, i);
      }
    }
    if (!seen_a) FAIL("%s: post_processor.single: no $A sequence", path);
  } else if (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing")) {
    json_t *cls = json_object_get(n, "cls"), *sep = json_object_get(n, "sep");
    if (!json_is_integer(json_array_get(cls, 1)) || !json_is_integer(json_array_get(sep, 1)))
      FAIL("%s: post_processor.cls/sep: expected [token, id]", path);
    t->prefix[t->n_prefix++] = (int32_t)json_integer_value(json_array_get(cls, 1));
    t->suffix[t->n_suffix++] = (int32_t)json_integer_value(json_array_get(sep, 1));
  } else {
    FAIL("%s: post_processor.type \"%s\" is not supported (TemplateProcessing, RobertaProcessing are)", path, type);
  }
  for (int i = 0; i < t->n_prefix; i++)
    if (t->prefix[i] < 0 || t->prefix[i] >= t->n_vocab) FAIL("%s: post_processor: id %d out of range", path, t->prefix[i]);
  for (int i = 0; i < t->n_suffix; i++)
    if (t->suffix[i] < 0 || t->suffix[i] >= t->n_vocab) FAIL("%s: post_processor: id %d out of range", path, t->suffix[i]);
done:
  return st;
}

ar_status tok_load_hf(ar_tokenizer *t, const char *path, const char *data, size_t len, ar_error *err) {
  ar_status st = AR_OK;
  json_error_t je;
  tok_key *keys = NULL;
  json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &je);
  if (!root) {
    return ar_fail(err, AR_ERR_PARSE, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
  }
  if (!json_is_object(root)) FAIL("%s: expected a JSON object at the top", path);
  json_t *model = json_object_get(root, "model");
  const char *mtype = json_string_value(json_object_get(model, "type"));
  if (!json_is_object(model)) FAIL("%s: model: missing or not an object", path);
  if (!mtype || strcmp(mtype, "Unigram"))
    FAIL("%s: model.type \"%s\" is not supported (only Unigram)", path, mtype ? mtype : "(missing)");
  if (json_is_true(json_object_get(model, "byte_fallback"))) FAIL("%s: model.byte_fallback=true is not supported", path);
  json_t *vocab = json_object_get(model, "vocab");
  if (!json_is_array(vocab) || json_array_size(vocab) == 0) FAIL("%s: model.vocab: expected a non-empty array", path);
  size_t nv = json_array_size(vocab);
  if (nv > (size_t)INT32_MAX / 2) FAIL("%s: model.vocab: too many entries", path);
  json_t *unk = json_object_get(model, "unk_id");
  if (!json_is_integer(unk) || json_integer_value(unk) < 0 || (size_t)json_integer_value(unk) >= nv)
    FAIL("%s: model.unk_id: expected an id inside the vocabulary", path);
  t->unk_id = (int32_t)json_integer_value(unk);
  /* the vocabulary may be shorter than the added tokens' ids (ids past it are added tokens only) */
  int32_t n_vocab = (int32_t)nv;
  json_t *added = json_object_get(root, "added_tokens");
  if (added && !json_is_null(added) && !json_is_array(added)) FAIL("%s: added_tokens: expected an array", path);
  for (size_t i = 0; i < json_array_size(added); i++) {
    json_t *id = json_object_get(json_array_get(added, i), "id");
    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX / 2)
      FAIL("%s: added_tokens[%zu].id: expected a non-negative integer", path, i);
    if (json_integer_value(id) >= n_vocab) n_vocab = (int32_t)json_integer_value(id) + 1;
  }
  t->n_vocab = n_vocab;
  t->score = ar_calloc((size_t)n_vocab, sizeof *t->score);
  keys = ar_malloc(nv * sizeof *keys);
  if (!t->score || !keys) { st = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); goto done; }
  double min_s = INFINITY;
  for (size_t i = 0; i < nv; i++) {
    json_t *e = json_array_get(vocab, i), *p = json_array_get(e, 0), *s = json_array_get(e, 1);
    if (!json_is_array(e) || !json_is_string(p) || !json_is_number(s))
      FAIL("%s: model.vocab[%zu]: expected [piece, score]", path, i);
    size_t pl = json_string_length(p);
    if (pl == 0 || pl > 4096) FAIL("%s: model.vocab[%zu]: piece length %zu (must be 1..4096)", path, i, pl);
    double sc = json_number_value(s);
    if (!isfinite(sc)) FAIL("%s: model.vocab[%zu]: score is not finite", path, i);
    t->score[i] = sc;
    if (sc < min_s) min_s = sc;
    keys[i] = (tok_key){json_string_value(p), (uint32_t)pl, (int32_t)i};
  }
  t->unk_score = min_s - 10.0;
  t->unk_score_f = (float)t->unk_score;
  t->fuse_unk = 1;
  json_t *fu = json_object_get(model, "fuse_unk");
  if (json_is_boolean(fu)) t->fuse_unk = json_is_true(fu);
  t->chunkable = 1;
  if ((st = tok_trie_build(&t->trie, keys, nv, err)) != AR_OK) {
    char m[sizeof err->msg];
    if (err) { snprintf(m, sizeof m, "%.200s: model.vocab: %.800s", path, err->msg); st = ar_fail(err, st, "%s", m); }
    goto done;
  }
  if ((st = parse_normalizer(t, json_object_get(root, "normalizer"), "normalizer", path, err)) != AR_OK) goto done;
  if ((st = parse_pre(t, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", path, err)) != AR_OK) goto done;
  if ((st = parse_post(t, json_object_get(root, "post_processor"), path, err)) != AR_OK) goto done;
  for (size_t i = 0; i < json_array_size(added); i++) {
    json_t *a = json_array_get(added, i), *c = json_object_get(a, "content");
    if (!json_is_string(c) || json_string_length(c) == 0)
      FAIL("%s: added_tokens[%zu].content: expected a non-empty string", path, i);
    if (json_is_true(json_object_get(a, "single_word")))
      FAIL("%s: added_tokens[%zu].single_word=true is not supported", path, i);
    st = tok_add_special(t, json_string_value(c), json_string_length(c),
                         (int32_t)json_integer_value(json_object_get(a, "id")),
                         json_is_true(json_object_get(a, "lstrip")), json_is_true(json_object_get(a, "rstrip")),
                         json_is_true(json_object_get(a, "normalized")), err);
    if (st != AR_OK) goto done;
  }
done:
  ar_free(keys);
  json_decref(root);
  return st;
}
