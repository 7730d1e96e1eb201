/* model.h - the encoder's internal state: config, weights, scratch buffers (llama2.c style). */
#ifndef AR_MODEL_H
#define AR_MODEL_H
#include "aularag.h"
#include "model/safetensors.h"

typedef struct ar_model_config {
  char model_type[32];   /* "bert" | "xlm-roberta" | "roberta" */
  int hidden;            /* H */
  int layers;            /* L */
  int heads;             /* nh, head_dim = H / nh */
  int inter;             /* F */
  int vocab;             /* V: rows of the word embedding */
  int max_pos;           /* rows of the position embedding */
  int type_vocab;
  int pad_id;
  float eps;
  int pos_offset;        /* 0 for bert, pad_id + 1 for xlm-roberta */
} ar_model_config;

/* An embedding table stays in the file's dtype (e5-small's word embedding is 80% of its
 * weights; only the looked-up rows are widened). */
typedef struct ar_emb_table {
  const ar_st_tensor *t;
  int rows, cols;
} ar_emb_table;

typedef struct ar_layer {
  /* linear weights [out, in] row-major, biases [out]; fp32 */
  const float *wq, *wk, *wv, *wo, *wi, *wout;
  const float *bq, *bk, *bv, *bo, *bi, *bout;
  const float *ln1_g, *ln1_b;   /* attention.output.LayerNorm [H] */
  const float *ln2_g, *ln2_b;   /* output.LayerNorm [H] */
} ar_layer;

/* Activations for up to cap_tokens tokens of a batch, concatenated without padding. */
typedef struct ar_run_state {
  int cap_tokens;
  float *x;      /* [T, H] hidden state */
  float *q, *k, *v; /* [T, H] each */
  float *ctx;    /* [T, H] attention output (heads concatenated) */
  float *a;      /* [T, H] after attention block */
  float *ff;     /* [T, F] intermediate */
  float *att;    /* [n_threads, 512, 512] scores per worker */
  int att_cap;   /* max sequence length the score buffers hold */
} ar_run_state;

struct ar_model {
  ar_model_config c;
  ar_st_file st;
  ar_emb_table word, pos, type;
  const float *emb_ln_g, *emb_ln_b;
  ar_layer *layer;
  float *owned;          /* widened / realigned weights (one block) */
  size_t owned_floats;
  ar_tokenizer *tok;
  int n_threads;
  int max_tokens;
  char fingerprint[160];
  ar_run_state rs;
  float *row;            /* [H] scratch for one embedding row */
  uint8_t *rowraw;       /* [H * 4] raw bytes of one row, as stored */
};

/* forward.c */
void ar_run_state_free(ar_run_state *rs);
/* kernels.c */
void ar_widen_f16(const uint8_t *src, float *dst, size_t n);
void ar_widen_bf16(const uint8_t *src, float *dst, size_t n);
void ar_layernorm(float *x, const float *g, const float *b, int n, float eps);
/* y = LayerNorm(x + y + bias) in place on y */
void ar_add_bias_residual_layernorm(float *y, const float *x, const float *bias, const float *g, const float *b,
                                    int n, float eps);
void ar_add_bias(float *y, const float *bias, int n);
void ar_add_bias_gelu(float *y, const float *bias, int n);
void ar_softmax(float *x, int n);
#endif
