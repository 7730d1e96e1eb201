/* st_config.c - how the model's own files say to pool and prompt (sentence-transformers layout):
 * modules.json lists Transformer -> Pooling (1_Pooling/config.json) -> Normalize; config_sentence_transformers.json
 * holds the prompts. Absent files mean multilingual-e5 as the seed ran it: mean, normalize, "query: "/"passage: ". */
#include "model/model.h"
#include "core/util.h"
#include <jansson.h>

static const char *E5_PREFIX[2] = {"query: ", "passage: "};

/* NULL when the file does not exist; *bad set (and err filled) when it exists but is not JSON. */
static json_t *load_json(const char *path, ar_status *bad, ar_error *err) {
  json_error_t je;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fclose(f);
  json_t *o = json_load_file(path, 0, &je);
  if (!o) *bad = ar_fail(err, AR_ERR_PARSE, "%s: line %d: %s", path, je.line, je.text);
  return o;
}

static int flag(json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }

/* 1_Pooling/config.json: exactly one of the modes we run (mean, CLS, last token). */
static ar_status read_pooling(ar_model *m, const char *path, ar_error *err) {
  ar_status bad = AR_OK;
  json_t *o = load_json(path, &bad, err);
  if (bad) return bad;
  if (!o) return ar_fail(err, AR_ERR_MODEL, "%s: missing (modules.json names a Pooling module there)", path);
  ar_status s = AR_OK;
  static const char *unsupported[] = {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                                      "pooling_mode_weightedmean_tokens"};
  for (size_t i = 0; i < AR_ARRAY_LEN(unsupported) && !s; i++)
    if (flag(o, unsupported[i]))
      s = ar_fail(err, AR_ERR_MODEL, "%s: \"%s\" is not supported (mean, cls or lasttoken pooling are)", path,
                  unsupported[i]);
  int cls = flag(o, "pooling_mode_cls_token"), mean = flag(o, "pooling_mode_mean_tokens"),
      last = flag(o, "pooling_mode_lasttoken");
  json_t *mode = json_object_get(o, "pooling_mode");  /* newer files may name the mode as a string */
  if (json_is_string(mode)) {
    const char *v = json_string_value(mode);
    cls = !strcmp(v, "cls"); mean = !strcmp(v, "mean"); last = !strcmp(v, "lasttoken");
    if (!cls && !mean && !last && !s)
      s = ar_fail(err, AR_ERR_MODEL, "%s: pooling_mode \"%s\" is not supported (mean, cls, lasttoken)", path, v);
  }
  if (!s && cls + mean + last != 1)
    s = ar_fail(err, AR_ERR_MODEL, "%s: expected exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, "
                "pooling_mode_lasttoken to be true (got %d)", path, cls + mean + last);
  if (!s && json_is_false(json_object_get(o, "include_prompt")))
    s = ar_fail(err, AR_ERR_MODEL, "%s: include_prompt false (pooling without the prompt's tokens) is not supported",
                path);
  if (!s) m->pooling = cls ? AR_POOL_CLS : last ? AR_POOL_LAST : AR_POOL_MEAN;
  json_decref(o);
  return s;
}

/* modules.json: Transformer, then Pooling and Normalize; anything else (Dense projections, ...) would
 * make other vectors than ours, so it is refused. */
static ar_status read_modules(ar_model *m, const char *dir, ar_error *err) {
  char path[4096], sub[4096];
  snprintf(path, sizeof path, "%s/modules.json", dir);
  ar_status s = AR_OK;
  json_t *a = load_json(path, &s, err);
  if (s) return s;
  m->pooling = AR_POOL_MEAN;
  m->normalize = 1;
  if (!a) return AR_OK;  /* e5 as the seed ran it */
  if (!json_is_array(a)) { json_decref(a); return ar_fail(err, AR_ERR_PARSE, "%s: expected an array", path); }
  m->normalize = 0;
  int pooled = 0;
  for (size_t i = 0; i < json_array_size(a) && !s; i++) {
    json_t *e = json_array_get(a, i);
    const char *type = json_string_value(json_object_get(e, "type")), *p = json_string_value(json_object_get(e, "path"));
    const char *dot = type ? strrchr(type, '.') : NULL, *name = dot ? dot + 1 : type;
    if (!name) { s = ar_fail(err, AR_ERR_PARSE, "%s: [%zu]: no \"type\" string", path, i); break; }
    if (!strcmp(name, "Transformer")) continue;
    if (!strcmp(name, "Normalize")) { m->normalize = 1; continue; }
    if (!strcmp(name, "Pooling")) {
      snprintf(sub, sizeof sub, "%s/%s/config.json", dir, p ? p : "");
      s = read_pooling(m, sub, err);
      pooled = 1;
      continue;
    }
    s = ar_fail(err, AR_ERR_MODEL, "%s: [%zu]: module %s is not supported (Transformer, Pooling, Normalize are)",
                path, i, type);
  }
  if (!s && !pooled) m->pooling = AR_POOL_MEAN;  /* sentence-transformers' default when none is listed */
  json_decref(a);
  return s;
}

static ar_status set_prefix(ar_model *m, int k, const char *v, ar_error *err) {
  char *c = ar_strdup(v ? v : "");
  if (!c) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_free(m->prefix[k]);
  m->prefix[k] = c;
  return AR_OK;
}

/* Prompts as sentence-transformers' encode_query / encode_document pick them: "query", else the
 * default_prompt_name's; "document", "passage" or "corpus", else the default's. No prompts at all: e5's
 * when the model pools as e5 does (mean + normalize), else none. */
static ar_status read_prompts(ar_model *m, const char *dir, ar_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/config_sentence_transformers.json", dir);
  ar_status s = AR_OK;
  json_t *o = load_json(path, &s, err);
  if (s) return s;
  json_t *pr = json_object_get(o, "prompts");
  if (pr && !json_is_object(pr)) {
    json_decref(o);
    return ar_fail(err, AR_ERR_PARSE, "%s: \"prompts\" must be an object of strings", path);
  }
  const char *def_name = json_string_value(json_object_get(o, "default_prompt_name"));
  const char *def = def_name ? json_string_value(json_object_get(pr, def_name)) : NULL;
  if (pr && json_object_size(pr) > 0) {
    const char *q = json_string_value(json_object_get(pr, "query"));
    const char *p = json_string_value(json_object_get(pr, "document"));
    if (!p) p = json_string_value(json_object_get(pr, "passage"));
    if (!p) p = json_string_value(json_object_get(pr, "corpus"));
    s = set_prefix(m, 0, q ? q : def, err);
    if (!s) s = set_prefix(m, 1, p ? p : def, err);
  } else {
    int e5 = m->pooling == AR_POOL_MEAN && m->normalize;
    s = set_prefix(m, 0, e5 ? E5_PREFIX[0] : "", err);
    if (!s) s = set_prefix(m, 1, e5 ? E5_PREFIX[1] : "", err);
  }
  json_decref(o);
  return s;
}

static uint32_t fnv(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

void ar_model_update_fingerprint(ar_model *m) {
  int n = snprintf(m->fingerprint, sizeof m->fingerprint, "%s", m->base_fingerprint);
  if (m->pooling != AR_POOL_MEAN)
    n += snprintf(m->fingerprint + n, sizeof m->fingerprint - (size_t)n, ":pool=%s", ar_pooling_name(m->pooling));
  if (!m->normalize) n += snprintf(m->fingerprint + n, sizeof m->fingerprint - (size_t)n, ":raw");
  if (strcmp(m->prefix[0], E5_PREFIX[0]) || strcmp(m->prefix[1], E5_PREFIX[1]))
    snprintf(m->fingerprint + n, sizeof m->fingerprint - (size_t)n, ":q%08x:p%08x", fnv(m->prefix[0]),
             fnv(m->prefix[1]));
}

ar_status ar_st_config_load(ar_model *m, const char *dir, ar_error *err) {
  ar_status s = read_modules(m, dir, err);
  if (!s) s = read_prompts(m, dir, err);
  if (!s) ar_model_update_fingerprint(m);
  return s;
}

ar_pooling ar_model_pooling(const ar_model *m) { return m->pooling; }
int ar_model_normalizes(const ar_model *m) { return m->normalize; }
const char *ar_pooling_name(ar_pooling p) {
  return p == AR_POOL_CLS ? "cls" : p == AR_POOL_LAST ? "lasttoken" : "mean";
}
const char *ar_model_prefix(const ar_model *m, ar_embed_kind kind) {
  if (kind != AR_EMBED_QUERY && kind != AR_EMBED_PASSAGE) return "";
  return m->prefix[kind] ? m->prefix[kind] : E5_PREFIX[kind];
}

ar_status ar_model_set_prefix(ar_model *m, ar_embed_kind kind, const char *prefix, ar_error *err) {
  if ((kind != AR_EMBED_QUERY && kind != AR_EMBED_PASSAGE) || !prefix)
    return ar_fail(err, AR_ERR_INVALID, "set prefix: kind must be query or passage, prefix non-NULL");
  ar_status s = set_prefix(m, kind, prefix, err);
  if (!s) ar_model_update_fingerprint(m);
  return s;
}
