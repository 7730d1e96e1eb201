/* head.c - the classifier head of a cross-encoder (BertForSequenceClassification,
 * XLMRobertaForSequenceClassification): logits = W_o tanh(W_d x + b_d) + b_o on the first token's state.
 * BERT names the first product pooler.dense and the second classifier; XLM-R names them classifier.dense
 * and classifier.out_proj. Dropout is off at inference, so that is all either computes. */
#include "model/model.h"
#include "core/util.h"
#include <jansson.h>
#include <math.h>

/* A 1-D or 2-D tensor widened into a new fp32 array (NULL and err set on failure). */
static float *take_tensor(ar_model *m, const char *key, int d0, int d1, ar_error *err) {
  const ar_st_tensor *t = ar_st_find(&m->st, key);
  if (!t) { ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' is missing (classifier head)", m->st.path, key); return NULL; }
  int want = d1 ? 2 : 1;
  if (t->dtype == AR_ST_OTHER || t->ndim != want || t->shape[0] != d0 || (d1 && t->shape[1] != d1)) {
    if (d1) ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': expected F32/F16/BF16 [%d,%d] (classifier head)", m->st.path,
                    t->name, d0, d1);
    else ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': expected F32/F16/BF16 [%d] (classifier head)", m->st.path,
                 t->name, d0);
    return NULL;
  }
  size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
  float *dst = ar_malloc(n * sizeof(float));
  uint8_t *raw = ar_malloc(t->nbytes ? t->nbytes : 1);
  if (!dst || !raw) { ar_free(dst); ar_free(raw); ar_fail(err, AR_ERR_NOMEM, "out of memory"); return NULL; }
  if (ar_st_read(&m->st, t, 0, raw, t->nbytes)) {
    ar_free(dst); ar_free(raw);
    ar_fail(err, AR_ERR_IO, "%s: cannot read tensor '%s'", m->st.path, t->name);
    return NULL;
  }
  if (t->dtype == AR_ST_F32) memcpy(dst, raw, n * 4);
  else if (t->dtype == AR_ST_F16) ar_widen_f16(raw, dst, n);
  else ar_widen_bf16(raw, dst, n);
  ar_free(raw);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(dst[i])) {
      ar_free(dst);
      ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' holds NaN or Inf", m->st.path, t->name);
      return NULL;
    }
  return dst;
}

/* "...ForSequenceClassification" among config.json's architectures. */
static int is_classifier(json_t *cfg) {
  json_t *a = json_object_get(cfg, "architectures");
  for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
    const char *s = json_string_value(json_array_get(a, i));
    size_t n = s ? strlen(s) : 0, k = strlen("ForSequenceClassification");
    if (n > k && !strcmp(s + n - k, "ForSequenceClassification")) return 1;
  }
  return 0;
}

/* transformers' PretrainedConfig: num_labels = len(id2label), 2 when the config says nothing. */
static int num_labels(json_t *cfg) {
  json_t *v = json_object_get(cfg, "num_labels");
  if (json_is_integer(v)) return (int)json_integer_value(v);
  v = json_object_get(cfg, "id2label");
  if (json_is_object(v)) return (int)json_object_size(v);
  return 2;
}

/* The pair template follows the tokenizer class, as transformers' does: XLMRobertaTokenizer (also under
 * BERT-architecture cross-encoders such as the multilingual MiniLM ones) joins with </s></s> and returns no
 * token types; BertTokenizer joins with one [SEP] and types the second sequence 1. No tokenizer_config.json:
 * by model_type. */
static int pair_token_types(const ar_model *m, const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  json_t *tc = json_load_file(path, 0, NULL);
  const char *cls = json_string_value(json_object_get(tc, "tokenizer_class"));
  int types = !strcmp(m->c.model_type, "bert");
  if (cls && strstr(cls, "Roberta")) types = 0;
  else if (cls && strstr(cls, "Bert")) types = 1;
  json_decref(tc);
  return types && m->c.type_vocab >= 2;
}

ar_status ar_head_load(ar_model *m, const char *dir, ar_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", dir);
  json_t *cfg = json_load_file(path, 0, NULL);  /* load_config already parsed and checked it */
  if (!cfg) return ar_fail(err, AR_ERR_IO, "%s: cannot read", path);
  ar_status s = AR_OK;
  if (!is_classifier(cfg)) goto done;
  int H = m->c.hidden, nl = num_labels(cfg);
  if (nl < 1 || nl > 1024) { s = ar_fail(err, AR_ERR_MODEL, "%s: %d labels (1..1024 supported)", path, nl); goto done; }
  int roberta = ar_st_find(&m->st, "classifier.out_proj.weight") != NULL;
  const char *dw = roberta ? "classifier.dense.weight" : "pooler.dense.weight";
  const char *db = roberta ? "classifier.dense.bias" : "pooler.dense.bias";
  const char *ow = roberta ? "classifier.out_proj.weight" : "classifier.weight";
  const char *ob = roberta ? "classifier.out_proj.bias" : "classifier.bias";
  ar_head *h = &m->head;
  if (!(h->wd = take_tensor(m, dw, H, H, err)) || !(h->bd = take_tensor(m, db, H, 0, err)) ||
      !(h->wo = take_tensor(m, ow, nl, H, err)) || !(h->bo = take_tensor(m, ob, nl, 0, err))) {
    s = err ? err->status : AR_ERR_MODEL;
    ar_head_free(h);
    goto done;
  }
  h->n_labels = nl;
  h->token_types = pair_token_types(m, dir);
done:
  json_decref(cfg);
  return s;
}

void ar_head_free(ar_head *h) {
  ar_free(h->wd); ar_free(h->bd); ar_free(h->wo); ar_free(h->bo);
  memset(h, 0, sizeof *h);
}

void ar_head_apply(const ar_head *h, int H, const float *x, float *tmp, float *logits) {
  for (int j = 0; j < H; j++) {
    const float *w = h->wd + (size_t)j * H;
    double acc = h->bd[j];
    for (int k = 0; k < H; k++) acc += (double)w[k] * x[k];
    tmp[j] = (float)tanh(acc);
  }
  for (int l = 0; l < h->n_labels; l++) {
    const float *w = h->wo + (size_t)l * H;
    double acc = h->bo[l];
    for (int k = 0; k < H; k++) acc += (double)w[k] * tmp[k];
    logits[l] = (float)acc;
  }
}
