/* fuzz_model.c - config.json + model.safetensors as ar_model_load reads them (a directory of files),
 * then one forward pass when they load. Structure-aware: the input picks a tiny config and dtype, the
 * target writes every tensor the loader wants with the right shape and offsets, then applies one
 * corruption the input chooses (a shape, an offset, a dtype, a missing tensor, a header length, raw
 * header bytes, or raw files). Weights are input bytes, NaN and Inf included. */
#include "fuzz.h"
#include "aularag.h"
#include "core/util.h"

typedef struct tensor { char name[96]; int d0, d1; } tensor;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  unsigned mode = fz_byte(&f) % 10, pick = fz_byte(&f);
  char cfg[512];
  ar_buf hdr = {0}, st = {0};
  int H = 2 << fz_pick(&f, 2), heads = 1 + (int)fz_pick(&f, 2), F = 2 + (int)fz_pick(&f, 6), V = 4 + (int)fz_pick(&f, 8);
  int T = 1 + (int)fz_pick(&f, 2), P = 4 + (int)fz_pick(&f, 8), bert = fz_byte(&f) & 1, layers = 1 + (int)fz_pick(&f, 2);
  static const char *dt[] = {"F32", "F16", "BF16", "I64"};
  static const int el[] = {4, 2, 2, 8};
  int d = (int)fz_pick(&f, 3);
  if (mode == 9) {   /* raw: config up to the first NUL, the rest is the safetensors file */
    const uint8_t *nul = memchr(f.p, 0, f.n);
    size_t cl = nul ? (size_t)(nul - f.p) : f.n;
    fz_write("config.json", f.p, cl);
    fz_write("model.safetensors", f.p + cl + (nul != NULL), f.n - cl - (nul != NULL));
  } else {
    snprintf(cfg, sizeof cfg, "{\"model_type\":\"%s\",\"hidden_size\":%d,\"num_hidden_layers\":%d,"
             "\"num_attention_heads\":%d,\"intermediate_size\":%d,\"vocab_size\":%d,\"max_position_embeddings\":%d,"
             "\"type_vocab_size\":%d,\"pad_token_id\":%d,\"layer_norm_eps\":1e-5}",
             bert ? "bert" : "xlm-roberta", H, layers, heads, F, V, P, T, bert ? 0 : 1);
    fz_write("config.json", cfg, strlen(cfg));
    tensor t[64];
    int n = 0;
#define ADD(nm, a, b) do { snprintf(t[n].name, sizeof t[n].name, "%s", nm); t[n].d0 = a; t[n].d1 = b; n++; } while (0)
    ADD("embeddings.word_embeddings.weight", V, H);
    ADD("embeddings.position_embeddings.weight", P, H);
    ADD("embeddings.token_type_embeddings.weight", T, H);
    ADD("embeddings.LayerNorm.weight", H, 0);
    ADD("embeddings.LayerNorm.bias", H, 0);
    for (int l = 0; l < layers; l++) {
      static const struct { const char *s; int r, k; } per[] = {
        {"attention.self.query.weight", 1, 1}, {"attention.self.query.bias", 1, 0},
        {"attention.self.key.weight", 1, 1}, {"attention.self.key.bias", 1, 0},
        {"attention.self.value.weight", 1, 1}, {"attention.self.value.bias", 1, 0},
        {"attention.output.dense.weight", 1, 1}, {"attention.output.dense.bias", 1, 0},
        {"attention.output.LayerNorm.weight", 1, 0}, {"attention.output.LayerNorm.bias", 1, 0},
        {"intermediate.dense.weight", 2, 1}, {"intermediate.dense.bias", 2, 0},
        {"output.dense.weight", 1, 2}, {"output.dense.bias", 1, 0},
        {"output.LayerNorm.weight", 1, 0}, {"output.LayerNorm.bias", 1, 0}};
      for (size_t k = 0; k < sizeof per / sizeof *per; k++) {
        char nm[96];
        snprintf(nm, sizeof nm, "encoder.layer.%d.%s", l, per[k].s);
        ADD(nm, per[k].r == 2 ? F : H, per[k].k == 0 ? 0 : per[k].k == 2 ? F : H);
      }
    }
#undef ADD
    unsigned victim = pick % (unsigned)n;
    if (mode == 1) t[victim].d0++;
    ar_buf_append(&hdr, "{", 1);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
      if (mode == 2 && (unsigned)i == victim) continue;   /* missing tensor */
      size_t cnt = (size_t)t[i].d0 * (size_t)(t[i].d1 ? t[i].d1 : 1), nb = cnt * (size_t)el[d];
      char e[256], shape[40];
      if (t[i].d1) snprintf(shape, sizeof shape, "[%d,%d]", t[i].d0, t[i].d1);
      else snprintf(shape, sizeof shape, "[%d]", t[i].d0);
      size_t b = off, en = off + nb;
      if (mode == 3 && (unsigned)i == victim) { b += pick % 7; en += pick % 5; }
      int k = snprintf(e, sizeof e, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}", i ? "," : "",
                       t[i].name, mode == 4 && (unsigned)i == victim ? dt[3] : dt[d], shape, b, en);
      ar_buf_append(&hdr, e, (size_t)k);
      for (size_t j = 0; j < nb; j++) {   /* weights from the input, then a fixed small pattern */
        char c = f.n ? (char)fz_byte(&f) : (char)(j * 37 % 11);
        ar_buf_append(&st, &c, 1);
      }
      off = en > off + nb ? en : off + nb;
      while (st.n < off) ar_buf_append(&st, "", 1);
    }
    ar_buf_append(&hdr, "}", 1);
    if (mode == 5 && hdr.n) hdr.p[pick % hdr.n] = (char)fz_byte(&f);   /* one header byte */
    uint64_t hl = hdr.n;
    if (mode == 6) hl += (uint64_t)(pick % 9) - 4;                     /* a wrong header length */
    ar_buf file = {0};
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(hl >> (8 * i));
    ar_buf_append(&file, (const char *)le, 8);
    ar_buf_append(&file, hdr.p, hdr.n);
    ar_buf_append(&file, st.p, mode == 7 && st.n ? st.n - 1 - pick % st.n : st.n);   /* truncated data */
    fz_write("model.safetensors", file.p, file.n);
    ar_buf_free(&file);
  }
  ar_buf_free(&hdr);
  ar_buf_free(&st);
  ar_model_params mp = ar_model_default_params();
  mp.ids_only = 1;
  mp.n_threads = 1;
  ar_model *m = NULL;
  if (ar_model_load(fz_dir(), mp, &m, NULL) == AR_OK) {
    int32_t ids[6] = {0, 3, 2, 1, 3, 2};
    const int32_t *pi[1] = {ids};
    int ni[1] = {6};
    float out[64];
    if (ar_model_dim(m) <= 64) ar_model_embed_ids(m, pi, ni, 1, out, NULL);
    ar_model_free(m);
  }
  return 0;
}
