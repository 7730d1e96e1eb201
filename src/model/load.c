/* load.c - ar_model_load: config.json + model.safetensors (+ tokenizer) -> ready-to-run encoder. */
#include "model/model.h"
#include "core/util.h"
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

ar_status ar_model_attach_tokenizer(ar_model *m, const char *dir, ar_error *err); /* text.c */
void ar_model_detach_tokenizer(ar_model *m);

ar_model_params ar_model_default_params(void) {
  return (ar_model_params){.n_threads = 0, .ids_only = 0, .gemm = AR_GEMM_PACKED, .kernel = AR_KERNEL_AUTO,
                           .precision = AR_PRECISION_FP32};
}

/* p.kernel, else AULARAG_KERNEL, else the best this CPU runs; a kernel it cannot run is an error
 * (a test that asks for avx512 must not silently measure avx2). */
static ar_status pick_kernel(ar_model *m, ar_kernel want, ar_error *err) {
  const char *env = getenv("AULARAG_KERNEL"), *from = "ar_model_params.kernel";
  if (want == AR_KERNEL_AUTO && env && *env) {
    if (ar_kernel_parse(env, &want))
      return ar_fail(err, AR_ERR_INVALID, "AULARAG_KERNEL=%s: unknown kernel (auto, scalar, avx2 or avx512)", env);
    from = "AULARAG_KERNEL";
  }
  if (want == AR_KERNEL_AUTO) want = ar_kernel_best();
  if (!(m->gemm_fn = ar_kernel_gemm(want)))
    return ar_fail(err, AR_ERR_INVALID, "%s: kernel '%s' is not available on this CPU or build (best here: %s)", from,
                   ar_kernel_name(want), ar_kernel_name(ar_kernel_best()));
  m->kernel = want;
#if defined(__x86_64__) || defined(__i386__)
  m->exp_fn = want == AR_KERNEL_AVX512 ? ar_exp_shifted_avx512 : ar_exp_shifted;
#else
  m->exp_fn = ar_exp_shifted;
#endif
  return AR_OK;
}

static int json_int(json_t *o, const char *k, int def, int *out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) { *out = def; return 0; }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 24)) return -1;
  *out = (int)json_integer_value(v);
  return 0;
}

static ar_status load_config(const char *path, ar_model_config *c, ar_error *err) {
  json_error_t je;
  json_t *o = json_load_file(path, 0, &je);
  if (!o) {
    if (je.line < 0 || !strncmp(je.text, "unable to open", 14))
      return ar_fail(err, AR_ERR_IO, "%s: cannot read: %s", path, je.text);
    return ar_fail(err, AR_ERR_PARSE, "%s: line %d: %s", path, je.line, je.text);
  }
  ar_status s = AR_OK;
  memset(c, 0, sizeof *c);
  json_t *mt = json_object_get(o, "model_type");
  if (!json_is_object(o) || !json_is_string(mt)) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: no \"model_type\" string", path);
    goto done;
  }
  const char *t = json_string_value(mt);
  int bert = !strcmp(t, "bert");
  if (!bert && strcmp(t, "xlm-roberta") && strcmp(t, "roberta")) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: model_type \"%s\" is not supported (bert, xlm-roberta, roberta)", path, t);
    goto done;
  }
  snprintf(c->model_type, sizeof c->model_type, "%s", t);
  /* Missing keys take the transformers config classes' defaults (BertConfig / XLMRobertaConfig). */
  const char *bad = NULL;
  if (json_int(o, "hidden_size", 768, &c->hidden)) bad = "hidden_size";
  else if (json_int(o, "num_hidden_layers", 12, &c->layers)) bad = "num_hidden_layers";
  else if (json_int(o, "num_attention_heads", 12, &c->heads)) bad = "num_attention_heads";
  else if (json_int(o, "intermediate_size", 3072, &c->inter)) bad = "intermediate_size";
  else if (json_int(o, "vocab_size", 30522, &c->vocab)) bad = "vocab_size";
  else if (json_int(o, "max_position_embeddings", 512, &c->max_pos)) bad = "max_position_embeddings";
  else if (json_int(o, "type_vocab_size", 2, &c->type_vocab)) bad = "type_vocab_size";
  else if (json_int(o, "pad_token_id", bert ? 0 : 1, &c->pad_id)) bad = "pad_token_id";
  if (bad) { s = ar_fail(err, AR_ERR_MODEL, "%s: \"%s\" must be a non-negative integer", path, bad); goto done; }
  json_t *e = json_object_get(o, "layer_norm_eps");
  c->eps = 1e-12f;
  if (e && !json_is_null(e)) {
    if (!json_is_number(e) || !(json_number_value(e) > 0) || json_number_value(e) > 1) {
      s = ar_fail(err, AR_ERR_MODEL, "%s: \"layer_norm_eps\" must be a number in (0, 1]", path);
      goto done;
    }
    c->eps = (float)json_number_value(e);
  }
  json_t *act = json_object_get(o, "hidden_act");
  if (act && !(json_is_string(act) && !strcmp(json_string_value(act), "gelu"))) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: hidden_act must be \"gelu\" (erf GELU)", path);
    goto done;
  }
  json_t *pet = json_object_get(o, "position_embedding_type");
  if (pet && !json_is_null(pet) && !(json_is_string(pet) && !strcmp(json_string_value(pet), "absolute"))) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: position_embedding_type must be \"absolute\"", path);
    goto done;
  }
  if (!c->hidden || !c->layers || !c->heads || !c->inter || !c->vocab || !c->type_vocab || c->hidden % c->heads) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: inconsistent sizes (hidden_size %d, heads %d, layers %d, intermediate %d, "
                "vocab %d, type_vocab %d)", path, c->hidden, c->heads, c->layers, c->inter, c->vocab, c->type_vocab);
    goto done;
  }
  c->pos_offset = bert ? 0 : c->pad_id + 1;
  if (c->max_pos <= c->pos_offset) {
    s = ar_fail(err, AR_ERR_MODEL, "%s: max_position_embeddings %d leaves no positions", path, c->max_pos);
    goto done;
  }
done:
  json_decref(o);
  return s;
}

/* ---- weights ---- */
typedef struct loader {
  ar_model *m;
  float *next;           /* bump pointer into m->owned (NULL while sizing) */
  size_t need;           /* floats that must be owned (sizing pass) */
  float *scratch;        /* one tensor group, widened: reused by every layer (fresh pages per tensor
                          * cost a page fault each on this kind of machine) */
  size_t scratch_floats;
} loader;

static const ar_st_tensor *find_ln(const ar_st_file *f, const char *base, const char *w, const char *alias) {
  char k[300];
  snprintf(k, sizeof k, "%s.%s", base, w);
  const ar_st_tensor *t = ar_st_find(f, k);
  if (t) return t;
  snprintf(k, sizeof k, "%s.%s", base, alias);
  return ar_st_find(f, k);
}

static ar_status check_tensor(ar_model *m, const ar_st_tensor *t, const char *key, int d0, int d1, ar_error *err) {
  const char *path = m->st.path;
  if (!t) return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' is missing", path, key);
  if (t->dtype == AR_ST_OTHER)
    return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': dtype %s (need F32, F16 or BF16)", path, t->name,
                   t->dtype_name);
  int want = d1 ? 2 : 1;
  if (t->ndim != want || t->shape[0] != d0 || (d1 && t->shape[1] != d1)) {
    char got[96] = "";
    for (int i = 0, o = 0; i < t->ndim && o < 80; i++)
      o += snprintf(got + o, sizeof got - (size_t)o, "%s%lld", i ? "," : "", (long long)t->shape[i]);
    if (d1) return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': shape [%s], config.json implies [%d,%d]", path,
                           t->name, got, d0, d1);
    return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s': shape [%s], config.json implies [%d]", path, t->name, got, d0);
  }
  return AR_OK;
}

static int all_finite(const float *p, size_t n) {
  /* integer test of the exponent bits: vectorizes (a float reduction would not, without -ffast-math) */
  const uint32_t *u = (const uint32_t *)p;
  uint32_t bad = 0;
  for (size_t i = 0; i < n; i++) bad |= (u[i] & 0x7F800000u) == 0x7F800000u;
  return !bad;
}

static const ar_st_tensor *find_tensor(const ar_st_file *f, const char *key) {
  size_t klen = strlen(key);
  char base[256];
  if (klen > 7 && !strcmp(key + klen - 7, ".weight") && strstr(key, "LayerNorm")) {
    snprintf(base, sizeof base, "%.*s", (int)(klen - 7), key);
    return find_ln(f, base, "weight", "gamma");
  }
  if (klen > 5 && !strcmp(key + klen - 5, ".bias") && strstr(key, "LayerNorm")) {
    snprintf(base, sizeof base, "%.*s", (int)(klen - 5), key);
    return find_ln(f, base, "bias", "beta");
  }
  return ar_st_find(f, key);
}

/* Drops a tensor's source pages once we hold our own copy, so peak RSS stays near the fp32 size. */
static void release_source(const ar_st_tensor *t) {
  long pg = sysconf(_SC_PAGESIZE);
  uintptr_t b = ((uintptr_t)t->data + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
  uintptr_t e = ((uintptr_t)t->data + t->nbytes) & ~((uintptr_t)pg - 1);
  if (e > b) madvise((void *)b, e - b, MADV_DONTNEED);
}

static void widen(const ar_st_tensor *t, float *dst, size_t n) {
  if (t->dtype == AR_ST_F32) memcpy(dst, t->data, n * 4);
  else if (t->dtype == AR_ST_F16) ar_widen_f16(t->data, dst, n);
  else ar_widen_bf16(t->data, dst, n);
}

/* L->scratch with room for n floats, or NULL when out of memory. */
static float *scratch(loader *L, size_t n) {
  if (n > L->scratch_floats) {
    ar_free(L->scratch);
    L->scratch_floats = 0;
    if (!(L->scratch = ar_malloc(n * sizeof(float)))) return NULL;
    L->scratch_floats = n;
  }
  return L->scratch;
}

/* Asks for transparent huge pages over the 2 MiB-aligned inside of a large block: tens of thousands of
 * 4 KiB page faults were a third of a one-shot query's model load. Only advice: ignored where THP is off. */
static void advise_huge(void *p, size_t bytes) {
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t b = ((uintptr_t)p + huge - 1) & ~(huge - 1), e = ((uintptr_t)p + bytes) & ~(huge - 1);
#ifdef MADV_HUGEPAGE
  if (e > b) madvise((void *)b, e - b, MADV_HUGEPAGE);
#else
  (void)b; (void)e;
#endif
}

static float *take(loader *L, size_t n) {
  float *p = L->next;
  L->next += (n + 15) & ~(size_t)15; /* keeps every block 64-byte aligned */
  return p;
}

/* Returns fp32 weights: a pointer into the mapping when F32 and aligned, else widened into m->owned. */
static ar_status get_f32(loader *L, const char *key, int d0, int d1, const float **out, ar_error *err) {
  ar_model *m = L->m;
  const ar_st_tensor *t = find_tensor(&m->st, key);
  ar_status s = check_tensor(m, t, key, d0, d1, err);
  if (s) return s;
  size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
  int direct = t->dtype == AR_ST_F32 && ((uintptr_t)t->data & 3) == 0;
  if (!L->next) { /* sizing pass */
    if (!direct) L->need += (n + 15) & ~(size_t)15;
    *out = NULL;
    return AR_OK;
  }
  float *dst;
  if (direct) {
    dst = (float *)t->data;
  } else {
    dst = take(L, n);
    widen(t, dst, n);
    release_source(t);
  }
  if (!all_finite(dst, n)) return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' holds NaN or Inf", m->st.path, t->name);
  *out = dst;
  return AR_OK;
}

/* A linear layer's weights ([rows, K] each; several are stacked into one [nk * rows, K] matrix) or
 * biases (K == 0), always owned: weights packed for ar_gemm, or row-major for OpenBLAS. */
static ar_status get_linear(loader *L, const char *const *keys, int nk, int rows, int K, const float **out,
                            ar_error *err) {
  ar_model *m = L->m;
  const ar_st_tensor *t[3];
  int N = nk * rows, packed = K && m->gemm == AR_GEMM_PACKED;
  size_t each = (size_t)rows * (size_t)(K ? K : 1), total = packed ? ar_pack_size(K, N) : (size_t)nk * each;
  for (int i = 0; i < nk; i++) {
    t[i] = find_tensor(&m->st, keys[i]);
    ar_status s = check_tensor(m, t[i], keys[i], rows, K, err);
    if (s) return s;
  }
  if (!L->next) { L->need += (total + 15) & ~(size_t)15; *out = NULL; return AR_OK; }
  float *dst = take(L, total), *tmp = dst;
  /* F32 weights whose tensors fill whole panels are packed straight from the mapping (no copy) */
  int direct = packed && rows % AR_PANEL == 0;
  for (int i = 0; i < nk && direct; i++) direct = t[i]->dtype == AR_ST_F32 && (uintptr_t)t[i]->data % sizeof(float) == 0;
  if (direct) {
    for (int i = 0; i < nk; i++) {
      const float *w = (const float *)t[i]->data;
      if (!all_finite(w, each))
        return ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' holds NaN or Inf", m->st.path, t[i]->name);
      ar_pack_rows(w, rows, K, (size_t)K, dst + (size_t)i * each);  /* tensor i = panels [i*rows/16, ...) */
      release_source(t[i]);
    }
    *out = dst;
    return AR_OK;
  }
  if (packed && !(tmp = scratch(L, (size_t)nk * each)))
    return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory packing '%s'", m->st.path, keys[0]);
  ar_status s = AR_OK;
  for (int i = 0; i < nk && !s; i++) {
    widen(t[i], tmp + i * each, each);
    release_source(t[i]);
    if (!all_finite(tmp + i * each, each))
      s = ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' holds NaN or Inf", m->st.path, t[i]->name);
  }
  if (packed && !s) ar_pack_rows(tmp, N, K, (size_t)K, dst);
  *out = dst;
  return s;
}

/* int8: a linear layer's weights (stacked like get_linear's) quantized into q, one tensor widened at a
 * time (the fp32 weights are never all in memory). ln_g/ln_b: the LayerNorm that feeds it, or NULL. */
static ar_status get_q8(loader *L, const char *const *keys, int nk, int rows, int K, const float *ln_g,
                        const float *ln_b, ar_q8 *q, ar_error *err) {
  ar_model *m = L->m;
  const ar_st_tensor *t[3];
  size_t each = (size_t)rows * K;
  for (int i = 0; i < nk; i++) {
    t[i] = find_tensor(&m->st, keys[i]);
    ar_status s = check_tensor(m, t[i], keys[i], rows, K, err);
    if (s) return s;
  }
  if (!L->next) return AR_OK; /* sizing pass: nothing in m->owned */
  float *tmp = scratch(L, (size_t)nk * each);
  if (!tmp) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory quantizing '%s'", m->st.path, keys[0]);
  ar_status s = AR_OK;
  for (int i = 0; i < nk && !s; i++) {
    widen(t[i], tmp + i * each, each);
    release_source(t[i]);
    if (!all_finite(tmp + i * each, each))
      s = ar_fail(err, AR_ERR_MODEL, "%s: tensor '%s' holds NaN or Inf", m->st.path, t[i]->name);
  }
  if (!s) s = ar_q8_make(tmp, nk * rows, K, ln_g, ln_b, q, err);
  return s;
}

static ar_status load_weights(ar_model *m, loader *L, ar_error *err) {
  const ar_model_config *c = &m->c;
  int H = c->hidden, F = c->inter;
  ar_status s;
#define GET(dst, key, d0, d1) do { if ((s = get_f32(L, key, d0, d1, &(dst), err))) return s; } while (0)
  GET(m->emb_ln_g, "embeddings.LayerNorm.weight", H, 0);
  GET(m->emb_ln_b, "embeddings.LayerNorm.bias", H, 0);
  char k[3][160];
  for (int i = 0; i < c->layers; i++) {
    ar_layer *l = &m->layer[i];
#define KEY(j, name) (snprintf(k[j], sizeof k[j], "encoder.layer.%d.%s", i, name), k[j])
#define LGET(dst, name, d0, d1) do { GET(dst, KEY(0, name), d0, d1); } while (0)
#define LIN(dst, nk, rows, K) do { if ((s = get_linear(L, (const char *const *)keys, nk, rows, K, &(dst), err))) return s; } while (0)
    /* int8: the weights go to q (slot of m->q8), quantized with the LayerNorm (g, b) that feeds them */
#define QLIN(dst, slot, nk, rows, K, g, b) do { \
      if (m->precision != AR_PRECISION_INT8) LIN(dst, nk, rows, K); \
      else if ((s = get_q8(L, (const char *const *)keys, nk, rows, K, g, b, &m->q8[4 * i + (slot)], err))) return s; \
    } while (0)
    const char *keys[3];
    /* the LayerNorms first: int8 picks its outlier channels from them */
    LGET(l->ln1_g, "attention.output.LayerNorm.weight", H, 0);
    LGET(l->ln1_b, "attention.output.LayerNorm.bias", H, 0);
    LGET(l->ln2_g, "output.LayerNorm.weight", H, 0);
    LGET(l->ln2_b, "output.LayerNorm.bias", H, 0);
    const float *in_g = i ? m->layer[i - 1].ln2_g : m->emb_ln_g, *in_b = i ? m->layer[i - 1].ln2_b : m->emb_ln_b;
    keys[0] = KEY(0, "attention.self.query.weight");
    keys[1] = KEY(1, "attention.self.key.weight");
    keys[2] = KEY(2, "attention.self.value.weight");
    QLIN(l->wqkv, 0, 3, H, H, in_g, in_b);
    keys[0] = KEY(0, "attention.self.query.bias");
    keys[1] = KEY(1, "attention.self.key.bias");
    keys[2] = KEY(2, "attention.self.value.bias");
    LIN(l->bqkv, 3, H, 0);
    keys[0] = KEY(0, "attention.output.dense.weight"); QLIN(l->wo, 1, 1, H, H, NULL, NULL);
    keys[0] = KEY(0, "attention.output.dense.bias"); LIN(l->bo, 1, H, 0);
    keys[0] = KEY(0, "intermediate.dense.weight"); QLIN(l->wi, 2, 1, F, H, l->ln1_g, l->ln1_b);
    keys[0] = KEY(0, "intermediate.dense.bias"); LIN(l->bi, 1, F, 0);
    keys[0] = KEY(0, "output.dense.weight"); QLIN(l->wout, 3, 1, H, F, NULL, NULL);
    keys[0] = KEY(0, "output.dense.bias"); LIN(l->bout, 1, H, 0);
    if (m->precision == AR_PRECISION_INT8 && L->next) {
      l->qqkv = &m->q8[4 * i]; l->qo = &m->q8[4 * i + 1]; l->qi = &m->q8[4 * i + 2]; l->qout = &m->q8[4 * i + 3];
    }
#undef QLIN
#undef LIN
#undef LGET
#undef KEY
  }
#undef GET
  return AR_OK;
}

static ar_status load_tables(ar_model *m, ar_error *err) {
  const ar_model_config *c = &m->c;
  struct { ar_emb_table *t; const char *key; int rows; } tab[] = {
    {&m->word, "embeddings.word_embeddings.weight", c->vocab},
    {&m->pos, "embeddings.position_embeddings.weight", c->max_pos},
    {&m->type, "embeddings.token_type_embeddings.weight", c->type_vocab},
  };
  for (size_t i = 0; i < AR_ARRAY_LEN(tab); i++) {
    const ar_st_tensor *t = ar_st_find(&m->st, tab[i].key);
    ar_status s = check_tensor(m, t, tab[i].key, tab[i].rows, c->hidden, err);
    if (s) return s;
    *tab[i].t = (ar_emb_table){t, tab[i].rows, c->hidden};
  }
  return AR_OK;
}

/* Fingerprint hash: the header, the file size and 1024 evenly spaced 4 KiB blocks of the data.
 * A full pass would fault in the whole file (e5-small: 471 MB, mostly embedding rows never used);
 * any retrained or converted checkpoint changes the header or essentially every block. */
static uint64_t mix(uint64_t h, const uint8_t *p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

static ar_status make_fingerprint(ar_model *m, ar_error *err) {
  const ar_st_file *f = &m->st;
  uint64_t h = mix(0xCBF29CE484222325ull, f->map, 8 + f->header_len);
  uint64_t sz = f->size;
  h = mix(h, (const uint8_t *)&sz, 8);
  size_t base = 8 + f->header_len, len = f->size - base, blk = 4096, nblk = 1024;
  uint8_t *buf = ar_malloc(blk);
  if (!buf) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < nblk && len; i++) { /* pread, not the mapping: see ar_st_read */
    size_t off = len <= blk ? 0 : (size_t)((double)i / (nblk - 1) * (double)(len - blk)), n = AR_MIN(blk, len);
    ssize_t r = pread(f->fd, buf, n, (off_t)(base + off));
    if (r != (ssize_t)n) { ar_free(buf); return ar_fail(err, AR_ERR_IO, "%s: read failed", f->path); }
    h = mix(h, buf, n);
    if (len <= blk) break;
  }
  ar_free(buf);
  const ar_model_config *c = &m->c;
  snprintf(m->base_fingerprint, sizeof m->base_fingerprint, "e5:%s:h%d:l%d:a%d:f%d:v%d:%016llx", c->model_type,
           c->hidden, c->layers, c->heads, c->inter, c->vocab, (unsigned long long)h);
  snprintf(m->fingerprint, sizeof m->fingerprint, "%s", m->base_fingerprint);
  return AR_OK;
}

static ar_status load_dir(const char *dir, ar_model_params p, ar_model **out, ar_error *err) {
  *out = NULL;
  if (!dir || !*dir) return ar_fail(err, AR_ERR_INVALID, "no model directory given");
  char path[4096];
  ar_model *m = ar_calloc(1, sizeof *m);
  if (!m) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&m->pool_mu, NULL);
  pthread_mutex_init(&m->states_mu, NULL);
  ar_status s;
  snprintf(path, sizeof path, "%s/config.json", dir);
  if ((s = load_config(path, &m->c, err))) goto fail;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  if ((s = ar_st_open(path, &m->st, err))) goto fail;
  if ((s = load_tables(m, err))) goto fail;
  if (p.gemm != AR_GEMM_PACKED && p.gemm != AR_GEMM_OPENBLAS) {
    s = ar_fail(err, AR_ERR_INVALID, "unknown matrix-product backend %d", (int)p.gemm);
    goto fail;
  }
  m->gemm = p.gemm;
  if ((s = pick_kernel(m, p.kernel, err))) goto fail;
  if (p.precision != AR_PRECISION_FP32 && p.precision != AR_PRECISION_INT8) {
    s = ar_fail(err, AR_ERR_INVALID, "unknown precision %d", (int)p.precision);
    goto fail;
  }
  m->precision = p.precision;
  if (m->precision == AR_PRECISION_INT8) {
    m->q8k = ar_q8_best_kernel();
    /* bf16 attention rides on the AVX-512 kernel: AULARAG_KERNEL=avx2 keeps the x86-64-v3 path whole */
    m->att_bf16 = m->gemm == AR_GEMM_PACKED && m->kernel == AR_KERNEL_AVX512 && ar_attention_bf16_available();
    if (!(m->q8 = ar_calloc((size_t)m->c.layers * 4, sizeof *m->q8))) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto fail; }
  }
  m->layer = ar_calloc((size_t)m->c.layers, sizeof *m->layer);
  if (!m->layer) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto fail; }
  loader L = {.m = m};
  if ((s = load_weights(m, &L, err))) goto fail;
  if (L.need) {
    m->owned = ar_malloc(L.need * sizeof(float) + 64);
    if (!m->owned) { s = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory widening weights", path); goto fail; }
    m->owned_floats = L.need;
    advise_huge(m->owned, L.need * sizeof(float));
    L.next = (float *)(((uintptr_t)m->owned + 63) & ~(uintptr_t)63);
  } else {
    L.next = (float *)m->layer; /* non-NULL: fill pass; nothing is written through it */
  }
  s = load_weights(m, &L, err);
  ar_free(L.scratch);
  L.scratch = NULL;
  if (s) goto fail;
  /* every position the table holds: BERT max_position_embeddings, XLM-R that less padding_idx + 1 (bge-m3:
   * 8194 - 2 = 8192; e5: 512) */
  m->max_tokens = m->c.max_pos - m->c.pos_offset;
  m->n_threads = p.n_threads > 0 ? p.n_threads : ar_n_cores();
  m->pool = ar_pool_new(m->n_threads);
  if (!m->pool) { s = ar_fail(err, AR_ERR_NOMEM, "cannot start %d threads", m->n_threads); goto fail; }
  if ((s = make_fingerprint(m, err))) goto fail;
  if ((s = ar_head_load(m, dir, err))) goto fail;      /* cross-encoders (head.c) */
  if ((s = ar_st_config_load(m, dir, err))) goto fail; /* pooling and prompts (st_config.c) */
  if (!p.ids_only && (s = ar_model_attach_tokenizer(m, dir, err))) goto fail;
  *out = m;
  return AR_OK;
fail:
  ar_model_free(m);
  return s;
}

void ar_model_free(ar_model *m) {
  if (!m) return;
  ar_model_detach_tokenizer(m);
  ar_head_free(&m->head);
  ar_free(m->prefix[0]);
  ar_free(m->prefix[1]);
  ar_pool_free(m->pool);
  ar_model_states_free(m);
  pthread_mutex_destroy(&m->pool_mu);
  pthread_mutex_destroy(&m->states_mu);
  ar_st_close(&m->st);
  ar_free(m->owned);
  if (m->q8)
    for (int i = 0; i < 4 * m->c.layers; i++) ar_q8_free(&m->q8[i]);
  ar_free(m->q8);
  ar_free(m->layer);
  ar_free(m);
}

int ar_model_dim(const ar_model *m) { return m->c.hidden; }
const char *ar_model_kernel(const ar_model *m) {
  return m->gemm == AR_GEMM_OPENBLAS ? "openblas" : ar_kernel_name(m->kernel);
}
int ar_model_max_tokens(const ar_model *m) { return m->max_tokens; }
const char *ar_model_fingerprint(const ar_model *m) { return m->fingerprint; }
const ar_tokenizer *ar_model_tokenizer(const ar_model *m) { return m->tok; }
ar_precision ar_model_precision(const ar_model *m) { return m->precision; }
const char *ar_precision_name(ar_precision p) { return p == AR_PRECISION_INT8 ? "int8" : "fp32"; }
int ar_precision_parse(const char *s) {
  if (s && !strcmp(s, "fp32")) return AR_PRECISION_FP32;
  if (s && !strcmp(s, "int8")) return AR_PRECISION_INT8;
  return -1;
}

/* dir may also name a model in the Hugging Face cache, "ORG/NAME[@REV]" (src/hub/cache.c). */
ar_status ar_model_load(const char *dir, ar_model_params p, ar_model **out, ar_error *err) {
  *out = NULL;
  if (!dir || !*dir) return load_dir(dir, p, out, err);
  char *path;
  ar_status s = ar_model_resolve(dir, &path, err);
  if (s) return s;
  s = load_dir(path, p, out, err);
  free(path);
  return s;
}
/* Our pool owns the parallelism; OpenBLAS (attention, AR_GEMM_OPENBLAS) should run single-threaded
 * inside its tasks. Process-wide, so the program calls it, not ar_model_load. */
void ar_blas_single_thread(void) { openblas_set_num_threads(1); }
