/* test_model.c - encoder loading: good files load, bad ones fail with clear errors, never crash. */
#include "test.h"
#include "aularag.h"
#include "core/util.h"
#include "model/model.h"
#include <stdint.h>

/* A tiny bert-shaped model, written by hand so each test can break one thing. */
enum { TH = 16, TL = 1, TNH = 2, TF = 32, TV = 50, TP = 40 };

typedef struct tensor_spec { char name[96]; int d0, d1; } tensor_spec;

static int model_tensors(tensor_spec *t) {
  int n = 0;
#define ADD(nm, a, b) do { snprintf(t[n].name, sizeof t[n].name, "%s", nm); t[n].d0 = a; t[n].d1 = b; n++; } while (0)
  ADD("embeddings.word_embeddings.weight", TV, TH);
  ADD("embeddings.position_embeddings.weight", TP, TH);
  ADD("embeddings.token_type_embeddings.weight", 2, TH);
  ADD("embeddings.LayerNorm.weight", TH, 0);
  ADD("embeddings.LayerNorm.bias", TH, 0);
  const char *lin[][3] = {{"attention.self.query", "H", "H"}, {"attention.self.key", "H", "H"},
                          {"attention.self.value", "H", "H"}, {"attention.output.dense", "H", "H"},
                          {"intermediate.dense", "F", "H"}, {"output.dense", "H", "F"}};
  char k[96];
  for (int l = 0; l < TL; l++) {
    for (size_t i = 0; i < 6; i++) {
      int o = lin[i][1][0] == 'H' ? TH : TF, in = lin[i][2][0] == 'H' ? TH : TF;
      snprintf(k, sizeof k, "encoder.layer.%d.%s.weight", l, lin[i][0]); ADD(k, o, in);
      snprintf(k, sizeof k, "encoder.layer.%d.%s.bias", l, lin[i][0]); ADD(k, o, 0);
    }
    snprintf(k, sizeof k, "encoder.layer.%d.attention.output.LayerNorm.weight", l); ADD(k, TH, 0);
    snprintf(k, sizeof k, "encoder.layer.%d.attention.output.LayerNorm.bias", l); ADD(k, TH, 0);
    snprintf(k, sizeof k, "encoder.layer.%d.output.LayerNorm.weight", l); ADD(k, TH, 0);
    snprintf(k, sizeof k, "encoder.layer.%d.output.LayerNorm.bias", l); ADD(k, TH, 0);
  }
#undef ADD
  return n;
}

static void write_config(const char *dir, const char *extra) {
  char p[512], buf[1024];
  snprintf(p, sizeof p, "%s/config.json", dir);
  int n = snprintf(buf, sizeof buf,
                   "{\"model_type\":\"bert\",\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
                   "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d,\"type_vocab_size\":2,"
                   "\"layer_norm_eps\":1e-12,\"pad_token_id\":0%s}", TH, TL, TNH, TF, TV, TP, extra ? extra : "");
  ar_write_file_atomic(p, buf, (size_t)n, NULL);
}

/* float -> IEEE half, round to nearest even (portable: no F16C on aarch64). Finite inputs whose
 * magnitude stays below 65504; halves below 2^-14 come out subnormal. */
static uint16_t to_half(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  float a = fabsf(v);
  if (a < 0x1p-14f) return (uint16_t)(sign | (uint16_t)lrintf(a * 0x1p24f)); /* subnormal: units of 2^-24 */
  uint32_t e = ((u >> 23) & 0xFF) - 112, m = u & 0x7FFFFF;
  uint32_t h = (e << 10) | (m >> 13), rest = m & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* a carry into the exponent is right too */
  return (uint16_t)(sign | h);
}

/* Writes model.safetensors (F32, or F16 when f16) with values from a fixed LCG. Returns the header
 * JSON in *hdr_out (malloc'd) so callers can build corrupted variants. */
static void write_weights(const char *dir, const char *prefix, int f16, char **hdr_out, size_t *data_len) {
  tensor_spec t[64];
  int n = model_tensors(t);
  ar_buf h = {0};
  size_t off = 0, el = f16 ? 2 : 4;
  ar_buf_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
  for (int i = 0; i < n; i++) {
    size_t cnt = (size_t)t[i].d0 * (size_t)(t[i].d1 ? t[i].d1 : 1);
    if (t[i].d1)
      ar_buf_printf(&h, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", prefix,
                    t[i].name, f16 ? "F16" : "F32", t[i].d0, t[i].d1, off, off + cnt * el);
    else
      ar_buf_printf(&h, ",\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", prefix, t[i].name,
                    f16 ? "F16" : "F32", t[i].d0, off, off + cnt * el);
    off += cnt * el;
  }
  ar_buf_puts(&h, "}");
  ar_buf f = {0};
  uint64_t hl = h.n;
  ar_buf_append(&f, (const char *)&hl, 8);
  ar_buf_append(&f, h.p, h.n);
  uint32_t s = 12345;
  for (size_t i = 0; i < off / el; i++) {
    s = s * 1103515245u + 12345u;
    float v = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.2f;
    if (f16) { uint16_t x = to_half(v); ar_buf_append(&f, (const char *)&x, 2); }
    else ar_buf_append(&f, (const char *)&v, 4);
  }
  char p[512];
  snprintf(p, sizeof p, "%s/model.safetensors", dir);
  ar_write_file_atomic(p, f.p, f.n, NULL);
  if (hdr_out) *hdr_out = ar_buf_steal(&h); else ar_buf_free(&h);
  if (data_len) *data_len = off;
  ar_buf_free(&f);
}

/* Rewrites model.safetensors with the given header and `data_len` bytes of data. */
static void write_raw(const char *dir, const char *hdr, size_t hlen, size_t data_len, uint64_t claimed) {
  ar_buf f = {0};
  ar_buf_append(&f, (const char *)&claimed, 8);
  ar_buf_append(&f, hdr, hlen);
  char *z = calloc(1, data_len + 1);
  ar_buf_append(&f, z, data_len);
  free(z);
  char p[512];
  snprintf(p, sizeof p, "%s/model.safetensors", dir);
  ar_write_file_atomic(p, f.p, f.n, NULL);
  ar_buf_free(&f);
}

static ar_model_params ids_params(void) {
  ar_model_params p = ar_model_default_params();
  p.ids_only = 1; /* these models have no tokenizer files */
  return p;
}

static const char *good_model(const char *prefix, int f16) {
  const char *d = test_tmpdir();
  write_config(d, NULL);
  write_weights(d, prefix, f16, NULL, NULL);
  return d;
}

static ar_status load(const char *dir, ar_error *err) {
  ar_model *m = NULL;
  ar_model_params p = ids_params();
  p.n_threads = 1;
  ar_status s = ar_model_load(dir, p, &m, err);
  if (s == AR_OK) ar_model_free(m);
  return s;
}

TEST(model_loads_and_embeds) {
  const char *d = good_model("", 0);
  ar_model *m;
  ar_error err = {0};
  ar_model_params p = ids_params();
  p.n_threads = 1;
  ASSERT_MSG(ar_model_load(d, p, &m, &err) == AR_OK, "%s", err.msg);
  ASSERT_EQ_INT(ar_model_dim(m), TH);
  ASSERT_EQ_INT(ar_model_max_tokens(m), 40); /* bert: all max_position_embeddings rows */
  ASSERT(strstr(ar_model_fingerprint(m), "bert") && strstr(ar_model_fingerprint(m), "h16"));
  int32_t a[] = {0, 7, 9, 2}, b[] = {0, 3, 2};
  const int32_t *ids[] = {a, b};
  int n[] = {4, 3};
  float out[2 * TH];
  ASSERT_MSG(ar_model_embed_ids(m, ids, n, 2, out, &err) == AR_OK, "%s", err.msg);
  double nn = 0;
  for (int i = 0; i < TH; i++) nn += (double)out[i] * out[i];
  ASSERT_NEAR(nn, 1.0, 1e-5); /* L2-normalised */
  int bad[] = {41};
  ASSERT_EQ_INT(ar_model_embed_ids(m, ids, bad, 1, out, &err), AR_ERR_INVALID); /* > max tokens */
  int32_t c[] = {0, 50, 2};
  const int32_t *ids2[] = {c};
  ASSERT_EQ_INT(ar_model_embed_ids(m, ids2, (int[]){3}, 1, out, &err), AR_ERR_INVALID);
  ASSERT(strstr(err.msg, "id 50"));
  ar_model_free(m);
}

/* Every kernel this machine runs embeds the same model; unknown or missing kernels are clear errors. */
TEST(model_kernels_agree_and_overrides) {
  const char *d = good_model("", 0);
  int32_t a[] = {0, 7, 9, 11, 13, 2}, b[] = {0, 3, 2};
  const int32_t *ids[] = {a, b};
  int n[] = {6, 3};
  float ref[2 * TH], out[2 * TH];
  ar_error err = {0};
  int loaded = 0;
  for (ar_kernel k = AR_KERNEL_SCALAR; k <= AR_KERNEL_AVX512; k++) {
    ar_model_params p = ids_params();
    p.kernel = k;
    ar_model *m = NULL;
    ar_status s = ar_model_load(d, p, &m, &err);
    if (!ar_kernel_gemm(k)) { /* not on this CPU or build: refused, naming it */
      ASSERT_EQ_INT(s, AR_ERR_INVALID);
      ASSERT_MSG(strstr(err.msg, ar_kernel_name(k)) && strstr(err.msg, "not available"), "%s", err.msg);
      continue;
    }
    ASSERT_MSG(s == AR_OK, "%s", err.msg);
    ASSERT_STREQ(ar_model_kernel(m), ar_kernel_name(k));
    ASSERT_MSG(ar_model_embed_ids(m, ids, n, 2, out, &err) == AR_OK, "%s", err.msg);
    ar_model_free(m);
    if (!loaded++) { memcpy(ref, out, sizeof ref); continue; }
    /* same chain of operations in every kernel (test_gemm.c): the same bits, not just close */
    ASSERT_MSG(!memcmp(ref, out, sizeof ref), "kernel %s differs from scalar", ar_kernel_name(k));
  }
  ASSERT(loaded >= 1);
  /* AUTO: the environment variable, else the best */
  ar_model *m = NULL;
  const char *old = getenv("AULARAG_KERNEL");
  char *saved = old ? strdup(old) : NULL;
  setenv("AULARAG_KERNEL", "scalar", 1);
  ASSERT_MSG(ar_model_load(d, ids_params(), &m, &err) == AR_OK, "%s", err.msg);
  ASSERT_STREQ(ar_model_kernel(m), "scalar");
  ar_model_free(m);
  setenv("AULARAG_KERNEL", "sse9", 1);
  ar_status s = ar_model_load(d, ids_params(), &m, &err);
  ASSERT_EQ_INT(s, AR_ERR_INVALID);
  ASSERT_MSG(strstr(err.msg, "AULARAG_KERNEL=sse9"), "%s", err.msg);
  unsetenv("AULARAG_KERNEL");
  ASSERT_MSG(ar_model_load(d, ids_params(), &m, &err) == AR_OK, "%s", err.msg);
  ASSERT_STREQ(ar_model_kernel(m), ar_kernel_name(ar_kernel_best()));
  ar_model_free(m);
  ar_model_params p = ids_params();
  p.gemm = AR_GEMM_OPENBLAS;
  ASSERT_MSG(ar_model_load(d, p, &m, &err) == AR_OK, "%s", err.msg);
  ASSERT_STREQ(ar_model_kernel(m), "openblas");
  ar_model_free(m);
  if (saved) { setenv("AULARAG_KERNEL", saved, 1); free(saved); }
}

TEST(model_fingerprint_tracks_weights) {
  const char *d1 = good_model("", 0), *d2 = good_model("", 0);
  ar_model *m1, *m2;
  ar_error err;
  ar_model_params p = ids_params();
  ASSERT(ar_model_load(d1, p, &m1, &err) == AR_OK && ar_model_load(d2, p, &m2, &err) == AR_OK);
  ASSERT_STREQ(ar_model_fingerprint(m1), ar_model_fingerprint(m2)); /* same bytes, same fingerprint */
  ar_model_free(m2);
  /* change one weight byte in the middle of the data: the fingerprint must change */
  char path[512], *data;
  size_t len;
  snprintf(path, sizeof path, "%s/model.safetensors", d2);
  ASSERT(ar_read_file(path, &data, &len, NULL) == AR_OK);
  data[len / 2] ^= 0x40;
  ar_write_file_atomic(path, data, len, NULL);
  free(data);
  ASSERT(ar_model_load(d2, p, &m2, &err) == AR_OK);
  ASSERT(strcmp(ar_model_fingerprint(m1), ar_model_fingerprint(m2)) != 0);
  ar_model_free(m1);
  ar_model_free(m2);
}

TEST(model_prefix_and_f16) {
  ar_error err = {0};
  ASSERT_MSG(load(good_model("bert.", 0), &err) == AR_OK, "%s", err.msg);
  ASSERT_MSG(load(good_model("roberta.", 1), &err) == AR_OK, "%s", err.msg);
}

TEST(model_f16_bf16_widening) {
  /* IEEE binary16 bit patterns with known values, including subnormals and extremes */
  const uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x3555, 0x7C00, 0x0000};
  const float want[] = {1.0f, -2.0f, 65504.0f, 5.9604645e-8f, 6.0975552e-5f, 6.1035156e-5f, -0.0f,
                        0.33325195f, INFINITY, 0.0f};
  float got[10];
  ar_widen_f16((const uint8_t *)h, got, 10);
  for (int i = 0; i < 10; i++) ASSERT_MSG(got[i] == want[i], "f16 %04x -> %g, want %g", h[i], got[i], want[i]);
  const uint16_t b[] = {0x3F80, 0xC040, 0x0001, 0x7F7F, 0x3EAB, 0x8000, 0x4049, 0x3C00, 0xBF80};
  const float wb[] = {1.0f, -3.0f, 9.1835496e-41f, 3.3895314e38f, 0.333984375f, -0.0f, 3.140625f, 0.0078125f, -1.0f};
  ar_widen_bf16((const uint8_t *)b, got, 9);
  for (int i = 0; i < 9; i++) ASSERT_MSG(got[i] == wb[i], "bf16 %04x -> %g, want %g", b[i], got[i], wb[i]);
}

TEST(model_missing_files) {
  ar_error err = {0};
  const char *d = test_tmpdir();
  ASSERT_EQ_INT(load(d, &err), AR_ERR_IO);
  ASSERT(strstr(err.msg, "config.json"));
  write_config(d, NULL);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_IO);
  ASSERT(strstr(err.msg, "model.safetensors"));
  ASSERT_EQ_INT(load("", &err), AR_ERR_INVALID);
}

TEST(model_bad_config) {
  ar_error err = {0};
  const char *d = good_model("", 0);
  char p[512];
  snprintf(p, sizeof p, "%s/config.json", d);
  ar_write_file_atomic(p, "{\n\"model_type\": \"bert\",\n oops}", 31, NULL);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_PARSE);
  ASSERT(strstr(err.msg, "config.json") && strstr(err.msg, "line 3"));
  ar_write_file_atomic(p, "{\"model_type\":\"gpt2\"}", 21, NULL);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "gpt2") && strstr(err.msg, "not supported"));
  write_config(d, ",\"hidden_act\":\"gelu_new\"");
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "hidden_act"));
  write_config(d, ",\"num_attention_heads\":3"); /* the last duplicate wins: 16 is not divisible by 3 */
  ASSERT(load(d, &err) != AR_OK);
}

TEST(model_dim_mismatch_names_tensor) {
  ar_error err = {0};
  const char *d = good_model("", 0);
  char p[512];
  snprintf(p, sizeof p, "%s/config.json", d);
  char buf[512];
  int n = snprintf(buf, sizeof buf,
                   "{\"model_type\":\"bert\",\"hidden_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
                   "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d}", TH, TL, TNH, TF + 8,
                   TV, TP);
  ar_write_file_atomic(p, buf, (size_t)n, NULL);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "encoder.layer.0.intermediate.dense.weight") && strstr(err.msg, "[32,16]"), "%s", err.msg);
  n = snprintf(buf, sizeof buf,
               "{\"model_type\":\"bert\",\"hidden_size\":%d,\"num_hidden_layers\":2,\"num_attention_heads\":%d,"
               "\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d}", TH, TNH, TF, TV, TP);
  ar_write_file_atomic(p, buf, (size_t)n, NULL);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "encoder.layer.1.") && strstr(err.msg, "missing"), "%s", err.msg);
}

/* Replaces the first occurrence of `from` in the header by `to` and rewrites the file. */
static ar_status load_with_header_edit(const char *from, const char *to, ar_error *err) {
  const char *d = test_tmpdir();
  write_config(d, NULL);
  char *hdr;
  size_t dlen;
  write_weights(d, "", 0, &hdr, &dlen);
  char *at = strstr(hdr, from);
  if (!at) { free(hdr); return AR_OK; }
  ar_buf b = {0};
  ar_buf_append(&b, hdr, (size_t)(at - hdr));
  ar_buf_puts(&b, to);
  ar_buf_puts(&b, at + strlen(from));
  write_raw(d, b.p, b.n, dlen, b.n);
  ar_buf_free(&b);
  free(hdr);
  return load(d, err);
}

TEST(model_lying_headers) {
  ar_error err = {0};
  /* word embedding is [50,16] F32 = 3200 bytes at [0,3200] */
  ASSERT_EQ_INT(load_with_header_edit("\"data_offsets\":[0,3200]", "\"data_offsets\":[0,3204]", &err), AR_ERR_PARSE);
  ASSERT_MSG(strstr(err.msg, "embeddings.word_embeddings.weight") && strstr(err.msg, "3200 bytes"), "%s", err.msg);
  ASSERT_EQ_INT(load_with_header_edit("\"shape\":[50,16]", "\"shape\":[50,17]", &err), AR_ERR_PARSE);
  ASSERT(strstr(err.msg, "word_embeddings"));
  ASSERT_EQ_INT(load_with_header_edit("\"dtype\":\"F32\",\"shape\":[50,16]", "\"dtype\":\"F16\",\"shape\":[50,16]", &err),
                AR_ERR_PARSE);
  ASSERT_EQ_INT(load_with_header_edit("\"dtype\":\"F32\",\"shape\":[50,16]", "\"dtype\":\"Q4\",\"shape\":[50,16]", &err),
                AR_ERR_PARSE);
  ASSERT(strstr(err.msg, "unknown dtype 'Q4'"));
  ASSERT_EQ_INT(load_with_header_edit("\"dtype\":\"F32\",\"shape\":[50,16]", "\"dtype\":\"I32\",\"shape\":[50,16]", &err),
                AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "dtype I32"));
  /* position table [40,16] at [3200,5760]: make it overlap the word embedding */
  ASSERT_EQ_INT(load_with_header_edit("[3200,5760]", "[3100,5660]", &err), AR_ERR_PARSE);
  ASSERT_MSG(strstr(err.msg, "overlap"), "%s", err.msg);
  ASSERT_EQ_INT(load_with_header_edit("[3200,5760]", "[3200,99999999]", &err), AR_ERR_PARSE);
  ASSERT(strstr(err.msg, "beyond"));
  ASSERT_EQ_INT(load_with_header_edit("[3200,5760]", "[-1,2559]", &err), AR_ERR_PARSE);
  ASSERT_EQ_INT(load_with_header_edit("{\"__metadata__\"", "[\"__metadata__\"", &err), AR_ERR_PARSE);
  /* duplicate names: the loader must not silently pick one */
  ASSERT_EQ_INT(load_with_header_edit("embeddings.position_embeddings.weight", "embeddings.word_embeddings.weight", &err),
                AR_ERR_PARSE);
}

TEST(model_header_length_lies) {
  ar_error err = {0};
  const char *d = test_tmpdir();
  write_config(d, NULL);
  write_raw(d, "{}", 2, 0, 1000); /* claims 1000 header bytes, file has 2 */
  ASSERT_EQ_INT(load(d, &err), AR_ERR_PARSE);
  ASSERT(strstr(err.msg, "header length"));
  write_raw(d, "{}", 2, 0, UINT64_MAX);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_PARSE);
  write_raw(d, "", 0, 0, 0);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_PARSE);
  write_raw(d, "{}", 2, 0, 2); /* valid but empty */
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT(strstr(err.msg, "missing"));
}

TEST(model_nan_weights_refused) {
  ar_error err = {0};
  const char *d = good_model("", 0);
  char path[512], *data;
  size_t len;
  snprintf(path, sizeof path, "%s/model.safetensors", d);
  ASSERT(ar_read_file(path, &data, &len, NULL) == AR_OK);
  float nan = NAN;
  memcpy(data + len - 4, &nan, 4); /* last tensor: encoder.layer.0.output.LayerNorm.bias */
  ar_write_file_atomic(path, data, len, NULL);
  free(data);
  ASSERT_EQ_INT(load(d, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "output.LayerNorm.bias") && strstr(err.msg, "NaN"), "%s", err.msg);
  /* a NaN in a word-embedding row is found when the row is used, and named */
  write_weights(d, "", 0, NULL, NULL);
  ASSERT(ar_read_file(path, &data, &len, NULL) == AR_OK);
  uint64_t hl;
  memcpy(&hl, data, 8);
  float inf = INFINITY;
  memcpy(data + 8 + hl + (7 * TH + 3) * 4, &inf, 4); /* row 7 */
  ar_write_file_atomic(path, data, len, NULL);
  free(data);
  ar_model *m;
  ASSERT(ar_model_load(d, ids_params(), &m, &err) == AR_OK);
  int32_t a[] = {0, 7, 2};
  const int32_t *ids[] = {a};
  float out[TH];
  ASSERT_EQ_INT(ar_model_embed_ids(m, ids, (int[]){3}, 1, out, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "word_embeddings") && strstr(err.msg, "row 7"), "%s", err.msg);
  /* the lookups run in pieces on the pool: a bad row in the third of three sequences is still found */
  int32_t c1[30], c3[25];
  for (int i = 0; i < 30; i++) c1[i] = 2 + i % 4;
  for (int i = 0; i < 25; i++) c3[i] = i == 20 ? 7 : 3;
  const int32_t *ids3[] = {c1, c1, c3};
  float out3[3 * TH];
  memset(&err, 0, sizeof err);
  ASSERT_EQ_INT(ar_model_embed_ids(m, ids3, (int[]){30, 30, 25}, 3, out3, &err), AR_ERR_MODEL);
  ASSERT_MSG(strstr(err.msg, "word_embeddings") && strstr(err.msg, "row 7"), "%s", err.msg);
  ASSERT_EQ_INT(ar_model_embed_ids(m, ids3, (int[]){30, 30, 20}, 3, out3, &err), AR_OK); /* without it */
  ar_model_free(m);
}

TEST(model_fuzz_header_bytes) {
  const char *d = test_tmpdir();
  write_config(d, NULL);
  char *hdr;
  size_t dlen;
  write_weights(d, "", 0, &hdr, &dlen);
  size_t hl = strlen(hdr);
  uint32_t s = 777;
  int ok = 0, bad = 0;
  for (int it = 0; it < 400; it++) {
    char *h = ar_strdup(hdr);
    int edits = 1 + it % 4;
    for (int e = 0; e < edits; e++) {
      s = s * 1103515245u + 12345u;
      size_t at = (s >> 8) % hl;
      s = s * 1103515245u + 12345u;
      static const char alphabet[] = "0123456789[]{},:\"-. eEFBI";
      h[at] = (s >> 16) & 1 ? alphabet[(s >> 8) % (sizeof alphabet - 1)] : (char)(s >> 8);
    }
    write_raw(d, h, hl, dlen, hl);
    ar_error err = {0};
    ar_status st = load(d, &err);
    if (st == AR_OK) ok++;
    else { bad++; ASSERT(err.msg[0] != 0); }
    free(h);
  }
  free(hdr);
  ASSERT(bad > 300); /* most mutations must be caught; the rest (e.g. inside a number) may load */
  (void)ok;
}

TEST(model_needs_tokenizer_unless_ids_only) {
  const char *d = good_model("", 0);
  ar_model *m;
  ar_error err = {0};
  ASSERT(ar_model_load(d, ar_model_default_params(), &m, &err) != AR_OK);
  ASSERT_MSG(strstr(err.msg, "tokenizer.json") || strstr(err.msg, "sentencepiece"), "%s", err.msg);
  ASSERT(ar_model_load(d, ids_params(), &m, &err) == AR_OK);
  ASSERT_EQ_INT(ar_model_count_tokens(m, AR_EMBED_QUERY, "x", 1), -1);
  const char *t[] = {"hello"};
  float v[TH];
  ASSERT_EQ_INT(ar_model_embed_texts(m, AR_EMBED_QUERY, t, 1, v, &err), AR_ERR_MODEL);
  ar_model_free(m);
}

TEST(model_load_oom) {
  const char *d = good_model("", 1);
  for (long n = 0; n < 40; n++) {
    ar_error err = {0};
    ar_alloc_fail_after(n);
    ar_model *m = NULL;
    ar_status s = ar_model_load(d, ids_params(), &m, &err);
    ar_alloc_fail_after(-1);
    if (s == AR_OK) { ar_model_free(m); break; }
    ASSERT_MSG(s == AR_ERR_NOMEM, "fail-after %ld: %s", n, err.msg);
  }
}

#include "core/pool.h"
#include <sched.h>
#include <stdatomic.h>

static void add_task(void *ctx, int task, int worker) {
  (void)worker;
  atomic_fetch_add((atomic_long *)ctx, task + 1);
}

/* Regression: a pool freed (or given a job) before its threads first ran deadlocked. */
TEST(model_pool_jobs_and_immediate_free) {
  for (int i = 0; i < 200; i++) ar_pool_free(ar_pool_new(3));
  ar_pool *p = ar_pool_new(4);
  ASSERT(p != NULL);
  atomic_long sum = 0;
  for (int job = 0; job < 2000; job++) ar_pool_run(p, 1 + job % 13, add_task, &sum);
  long want = 0;
  for (int job = 0; job < 2000; job++) { int n = 1 + job % 13; want += (long)n * (n + 1) / 2; }
  ASSERT_EQ_INT(atomic_load(&sum), want); /* every task ran exactly once */
  ar_pool_free(p);
}

/* Tasks of one job: each runs once, only while its job is the current one (a worker holding an old job
 * number must not run the next job's tasks with the old context, nor an old task after the job returned). */
typedef struct pool_job {
  atomic_int *current;
  int number;
  atomic_int hits[32];
  atomic_int wrong;
} pool_job;

static void job_task(void *ctx, int task, int worker) {
  pool_job *j = ctx;
  if (atomic_load(j->current) != j->number || worker < 0 || worker >= 3) atomic_fetch_add(&j->wrong, 1);
  atomic_fetch_add(&j->hits[task], 1);
  if (task % 5 == 0) sched_yield();   /* stragglers: a worker still inside a task when others finish */
}

TEST(model_pool_tasks_once_and_only_in_their_job) {
  ar_pool *p = ar_pool_new(3);
  ASSERT(p != NULL);
  atomic_int current = 0;
  int bad = 0;
  for (int n = 0; n < 3000 && !bad; n++) {
    pool_job j = {.current = &current, .number = n};
    atomic_store(&current, n);
    int tasks = 1 + (n * 7) % 32;
    ar_pool_run(p, tasks, job_task, &j);
    atomic_store(&current, -1);   /* anything still running j's tasks now counts as wrong */
    for (int t = 0; t < 32; t++) bad |= atomic_load(&j.hits[t]) != (t < tasks);
    bad |= atomic_load(&j.wrong) != 0;
    if (bad) fprintf(stderr, "  job %d (%d tasks): a task ran twice, never, or outside its job\n", n, tasks);
  }
  ar_pool_free(p);
  ASSERT(!bad);
}

static void count_task(void *ctx, int task, int worker) {
  (void)worker;
  atomic_fetch_add(&((atomic_int *)ctx)[task], 1);
}

/* more tasks than one job word counts (65,535): run as several jobs, every task number once */
TEST(model_pool_more_tasks_than_a_job_holds) {
  ar_pool *p = ar_pool_new(2);
  ASSERT(p != NULL);
  int n = 140000;
  atomic_int *hits = calloc((size_t)n, sizeof *hits);
  ASSERT(hits != NULL);
  ar_pool_run(p, n, count_task, hits);
  int bad = 0;
  for (int t = 0; t < n; t++) bad += atomic_load(&hits[t]) != 1;
  free(hits);
  ar_pool_free(p);
  ASSERT_EQ_INT(bad, 0);
}
