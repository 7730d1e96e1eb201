/* model.h - the encoder's internal state: config, weights, scratch buffers (llama2.c style). */
#ifndef AR_MODEL_H
#define AR_MODEL_H
#include "aularag.h"
#include "model/safetensors.h"
#include "core/pool.h"
#include <pthread.h>

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

/* An int8 linear layer (--precision int8; q8.c, gemm_q8.c). Weights: symmetric per output channel,
 * packed in 16-column panels of 4-byte k-groups: panel p, group g holds w[16p + c][4g .. 4g + 3] at
 * byte 64 (p Kp/4 + g) + 4c + i (the operand layout of vpdpbusd). Input channels that a LayerNorm makes
 * large (outliers, see q8.c) stay fp32: their activations are left out of the int8 product. */
typedef struct ar_q8 {
  int N, K, Kp;          /* outputs, inputs, inputs rounded up to 4 */
  int8_t *w;             /* packed [ceil(N/16) panels][Kp/4][16][4], zero past N and K */
  float *ws;             /* [panels * 16] weight scale per output (0 past N) */
  int32_t *comp;         /* [panels * 16] 128 * sum_k w: what u8 activations (q + 128) add */
  int no;                /* outlier input channels */
  int *oc;               /* [no] their indices */
  float *wo;             /* [no, N] their fp32 weights */
} ar_q8;

/* Per-call int8 scratch: the quantized rows of one linear layer's input. */
typedef struct ar_q8_state {
  int cap_rows, cap_k;
  uint8_t *qa;           /* [rows, Kp] s8 (or u8 = s8 + 128 for the VNNI kernels) */
  float *sa;             /* [rows] activation scale per row */
  float *xo;             /* [rows, no] the outlier channels' fp32 values */
} ar_q8_state;

typedef enum ar_q8_kernel { AR_Q8_SCALAR = 0, AR_Q8_AVX2, AR_Q8_AVXVNNI, AR_Q8_AVX512VNNI, AR_Q8_KERNELS } ar_q8_kernel;

typedef struct ar_layer {
  /* linear weights, fp32, owned: packed for ar_gemm (AR_GEMM_PACKED) or row-major [out, in]
   * (AR_GEMM_OPENBLAS). Query, key and value are one [3H, H] matrix, so one product. */
  const float *wqkv, *wo, *wi, *wout;
  const float *bqkv, *bo, *bi, *bout;  /* [out] */
  const float *ln1_g, *ln1_b;   /* attention.output.LayerNorm [H] */
  const float *ln2_g, *ln2_b;   /* output.LayerNorm [H] */
  ar_q8 *qqkv, *qo, *qi, *qout; /* int8: the same four products (the float weights are then NULL) */
} ar_layer;

/* Activations for up to cap_tokens tokens of a batch, concatenated without padding. */
typedef struct ar_run_state {
  int cap_tokens;
  float *x;      /* [T, H] hidden state */
  float *qkv;    /* [T, 3H] query | key | value */
  float *ctx;    /* [T, H] attention output (heads concatenated) */
  float *a;      /* [T, H] after attention block */
  float *ff;     /* [T, F] intermediate */
  float *att;    /* per worker: packed keys and values + a block of scores (packed), or [n, n] scores */
  void *act;     /* the allocation that holds x, qkv, ctx, a and ff */
  size_t att_stride; /* floats per worker in att */
  ar_q8_state q8;
} ar_run_state;

/* What one forward pass writes (whisper.cpp's whisper_state idea): the weights stay immutable, so
 * calls from several threads each take a state of their own from the model's free list. */
typedef struct ar_model_state {
  ar_run_state rs;
  float *row;            /* [n_threads][H] scratch for one embedding row per worker */
  uint8_t *rowraw;       /* [n_threads][H * 4] raw bytes of one row, as stored, per worker */
  struct ar_model_state *next;  /* free list */
} ar_model_state;
/* A sequence-classification head (head.c): BERT's pooler (dense + tanh on the CLS row) then classifier, or
 * XLM-R's RobertaClassificationHead (dense + tanh on the <s> row, then out_proj): the same arithmetic under
 * other tensor names. fp32 at every precision: it is two small products per pair. */
typedef struct ar_head {
  int n_labels;          /* 0: the model has no head (an embedding model) */
  float *wd, *bd;        /* [H, H] row-major, [H] */
  float *wo, *bo;        /* [n_labels, H], [n_labels] */
  int token_types;       /* pair template: 1 = [CLS] A [SEP] B [SEP] with B typed 1 (BERT tokenizers),
                            0 = <s> A </s></s> B </s>, all type 0 (XLM-R / RoBERTa tokenizers) */
} ar_head;

/* C[m, n] = gelu?(alpha * sum_k A[m, k] B[k, n] + bias[n]) for m < M and n in panels [p0, p1) (n < N).
 * A [M, K] row stride lda, C row stride ldc; bias may be NULL. P 32-byte aligned. Each output is one
 * chain of FMAs over k, so no kernel's result depends on the rows or panels that share the call.
 * epi: AR_EPI_GELU, and AR_EPI_STREAM: C will not be read soon, so a kernel may write it around the
 * cache (the AVX-512 one does, where C and ldc keep whole 64-byte lines); the values are the same. */
#define AR_EPI_GELU 1
#define AR_EPI_STREAM 2
typedef void (*ar_gemm_fn)(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                           size_t ldc, float alpha, const float *bias, int epi);

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
  ar_gemm_backend gemm;
  ar_kernel kernel;      /* resolved (never AUTO) */
  ar_gemm_fn gemm_fn;    /* the packed product of that kernel */
  float (*exp_fn)(float *x, int n); /* and its softmax exp (ar_exp_shifted or the AVX-512 one) */
  int att_bf16;          /* int8 on AVX512_BF16: attention's two products in bf16 (attention_bf16.c) */
  ar_precision precision;
  ar_q8_kernel q8k;      /* int8: the kernel picked for this CPU at load */
  ar_q8 *q8;             /* int8: [4 * layers] (owned) */
  ar_pool *pool;         /* n_threads workers; OpenBLAS itself runs single-threaded inside them */
  pthread_mutex_t pool_mu; /* held by the call using the pool; a concurrent call runs on its own thread */
  pthread_mutex_t states_mu;
  ar_model_state *free_states; /* idle states, one per call that ran at once (under states_mu) */
  int max_tokens;
  char fingerprint[160];
  char base_fingerprint[160]; /* the weights' alone (make_fingerprint); fingerprint adds pooling/prompts */
  ar_pooling pooling;    /* from 1_Pooling/config.json (st_config.c); mean without it */
  int normalize;         /* a 2_Normalize module (or no modules.json: e5's) */
  char *prefix[2];       /* [AR_EMBED_QUERY], [AR_EMBED_PASSAGE]: the prompts prepended (owned) */
  ar_head head;
};

/* forward.c: n sequences (ids with their specials; types NULL = all 0) through the encoder, each
 * pooled into out [n, H] (normalized or not). ar_model_embed_ids is this with the model's own pooling. */
ar_status ar_model_forward(ar_model *m, const int32_t *const *ids, const int32_t *const *types, const int *n_ids,
                           int n, ar_pooling pooling, int normalize, float *out, ar_error *err);
/* head.c */
ar_status ar_head_load(ar_model *m, const char *dir, ar_error *err);  /* AR_OK and no head for other models */
void ar_head_free(ar_head *h);
/* logits [n_labels] of one pooled row x [H]; tmp: H floats */
void ar_head_apply(const ar_head *h, int H, const float *x, float *tmp, float *logits);
/* st_config.c: pooling, Normalize and prompts from the sentence-transformers files of dir */
ar_status ar_st_config_load(ar_model *m, const char *dir, ar_error *err);
/* the fingerprint: the weights' plus whatever pooling/prompt differs from e5's */
void ar_model_update_fingerprint(ar_model *m);

/* forward.c */
void ar_model_states_free(ar_model *m);
/* kernels.c */
void ar_widen_f16(const uint8_t *src, float *dst, size_t n);
void ar_widen_bf16(const uint8_t *src, float *dst, size_t n);
void ar_layernorm(float *x, const float *g, const float *b, int n, float eps);
/* y = LayerNorm(y + x) in place on y (the biases were added with the matrix products) */
void ar_add_residual_layernorm(float *y, const float *x, const float *g, const float *b, int n, float eps);
void ar_add_bias(float *y, const float *bias, int n);
void ar_gelu(float *y, int n); /* in place */
void ar_softmax(float *x, int n);
/* x <- exp(x - max x); returns the sum (softmax without the division) */
float ar_exp_shifted(float *x, int n);
/* attention_bf16.c */
int ar_attention_bf16_available(void);
size_t ar_attention_bf16_bytes(int n, int d); /* scratch for one (sequence, head) */
void ar_attention_bf16(const float *q, const float *k, const float *v, size_t ld, int n, int d, float scale, float *o,
                       size_t H, void *w);
/* kernels_avx512.c: ar_exp_shifted, 16 lanes (x86 with AVX-512 only; see there for how they differ) */
float ar_exp_shifted_avx512(float *x, int n);
/* gemm.c: B [K, N] packed in 16-column panels (see there). */
#define AR_PANEL 16
/* Rows [*r0, *r1) of block b of n, when T rows in whole tiles of mr rows are split into n blocks whose
 * tile counts differ by at most one: with 17 equal blocks on 2 threads one thread would do 9 and wait. */
static inline void ar_row_block(int T, int mr, int n, int b, int *r0, int *r1) {
  long tiles = (T + mr - 1) / mr;
  int e = (int)(tiles * (b + 1) / n) * mr;
  *r0 = (int)(tiles * b / n) * mr;
  *r1 = e < T ? e : T;
}
size_t ar_pack_size(int K, int N);                                   /* floats */
void ar_pack_rows(const float *W, int N, int K, size_t ldw, float *P); /* B = W^T, W [N, K] row stride ldw */
void ar_pack_cols(const float *V, int K, int N, size_t ldv, float *P); /* B = V, V [K, N] row stride ldv */
/* the kernels (ar_gemm_fn): gemm.c (AVX2, x86-64-v3 builds), gemm_avx512.c (x86), gemm_scalar.c */
void ar_gemm_avx2(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                  size_t ldc, float alpha, const float *bias, int gelu);
void ar_gemm_avx512(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                    size_t ldc, float alpha, const float *bias, int gelu);
void ar_gemm_scalar(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                    size_t ldc, float alpha, const float *bias, int gelu);
/* kernel.c: which kernels this build and CPU run */
ar_gemm_fn ar_kernel_gemm(ar_kernel k);        /* NULL: not here (AUTO: the best) */
ar_kernel ar_kernel_best(void);
const char *ar_kernel_name(ar_kernel k);       /* "auto", "scalar", "avx2", "avx512" */
int ar_kernel_parse(const char *s, ar_kernel *k); /* 0 ok, -1 unknown name */
/* q8.c */
ar_q8_kernel ar_q8_best_kernel(void);
const char *ar_q8_kernel_name(ar_q8_kernel k);
/* Quantizes W [N, K] (row-major fp32). ln_g/ln_b: the LayerNorm whose output is this layer's input
 * (picks the outlier channels), or NULL. */
ar_status ar_q8_make(const float *W, int N, int K, const float *ln_g, const float *ln_b, ar_q8 *q, ar_error *err);
void ar_q8_free(ar_q8 *q);
ar_status ar_q8_state_reserve(ar_q8_state *s, int rows, int max_k, ar_error *err);
void ar_q8_state_free(ar_q8_state *s);
/* Y [T, N] = gelu?(X [T, K] W^T + bias), spread over the pool (NULL: this thread alone). */
void ar_q8_linear(ar_pool *pool, int n_threads, ar_q8_kernel k, const ar_q8 *q, ar_q8_state *s, const float *X, int T,
                  const float *bias, float *Y, int gelu);
/* The steps, for tests: quantize rows of X; then rows [0, M) x panel pairs [pp0, pp1) of the product. */
void ar_q8_quantize(const ar_q8 *q, int u8, const float *X, size_t ldx, int M, uint8_t *qa, float *sa, float *xo);
void ar_q8_gemm(ar_q8_kernel k, const ar_q8 *q, const uint8_t *qa, const float *sa, const float *xo, int M, int pp0,
                int pp1, const float *bias, float *Y, size_t ldy, int gelu);
/* gemm_q8.c: acc [mr][32] = A [mr, Kp] . panels (p, p + 1) (np = 1 or 2) over Kp, int32, exact */
typedef void (*ar_q8_tile_fn)(const uint8_t *A, size_t lda, int mr, const int8_t *B, int Kp, int np, int32_t *acc);
ar_q8_tile_fn ar_q8_tile(ar_q8_kernel k);
/* q8.c's epilogue for rows [0, mr) of a tile, 16 lanes (x86 with AVX-512 only) */
void ar_q8_epilogue_avx512(const int32_t *acc, int mr, int nc, const int32_t *cp, const float *bp, const float *ws,
                           const float *sa, const float *xo, int no, const float *wo, size_t ldwo, float *Y, size_t ldy,
                           int gelu);
#define AR_Q8_MR 8       /* rows per tile */
#endif
