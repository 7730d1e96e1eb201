/* model.h - the encoder's internal state: config, weights, scratch buffers (llama2.c style). */
#ifndef AR_MODEL_H
#define AR_MODEL_H
#include "aularag.h"
#include "model/safetensors.h"
#include "model/pool.h"
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

typedef struct ar_layer {
  /* linear weights, fp32, owned: packed for ar_gemm (AR_GEMM_PACKED) or row-major [out, in]
   * (AR_GEMM_OPENBLAS). Query, key and value are one [3H, H] matrix, so one product. */
  const float *wqkv, *wo, *wi, *wout;
  const float *bqkv, *bo, *bi, *bout;  /* [out] */
  const float *ln1_g, *ln1_b;   /* attention.output.LayerNorm [H] */
  const float *ln2_g, *ln2_b;   /* output.LayerNorm [H] */
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
  size_t att_stride; /* floats per worker in att */
} ar_run_state;

/* What one forward pass writes (whisper.cpp's whisper_state idea): the weights stay immutable, so
 * calls from several threads each take a state of their own from the model's free list. */
typedef struct ar_model_state {
  ar_run_state rs;
  float *row;            /* [H] scratch for one embedding row */
  uint8_t *rowraw;       /* [H * 4] raw bytes of one row, as stored */
  struct ar_model_state *next;  /* free list */
} ar_model_state;
/* C[m, n] = gelu?(alpha * sum_k A[m, k] B[k, n] + bias[n]) for m < M and n in panels [p0, p1) (n < N).
 * A [M, K] row stride lda, C row stride ldc; bias may be NULL. P 32-byte aligned. Each output is one
 * chain of FMAs over k, so no kernel's result depends on the rows or panels that share the call. */
typedef void (*ar_gemm_fn)(const float *A, size_t lda, int M, const float *P, int K, int N, int p0, int p1, float *C,
                           size_t ldc, float alpha, const float *bias, int gelu);

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
  ar_pool *pool;         /* n_threads workers; OpenBLAS itself runs single-threaded inside them */
  pthread_mutex_t pool_mu; /* held by the call using the pool; a concurrent call runs on its own thread */
  pthread_mutex_t states_mu;
  ar_model_state *free_states; /* idle states, one per call that ran at once (under states_mu) */
  int max_tokens;
  char fingerprint[160];
};

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
/* gemm.c: B [K, N] packed in 16-column panels (see there). */
#define AR_PANEL 16
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
#endif
