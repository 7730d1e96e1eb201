/* parallel_search.c - ThreadSanitizer check of concurrent dense/hybrid search: one shared encoder and N
 * threads, each with its own ar_index on one file, embedding and searching at once. Every result must
 * equal, bit for bit, the one the same call gave when run alone first. Built with -fsanitize=thread
 * (build/tsan/parallel_search); run by tests/integration/test_tsan_parallel.sh.
 *   parallel_search MODEL_DIR INDEX THREADS ROUNDS */
#include "aularag.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *QUESTIONS[] = {
    "Quais são os dispositivos visíveis para o TensorFlow?", "como carregar dados com tf.data",
    "treinamento distribuído em várias GPUs", "precisão mista float16", "o que é um tensor",
    "batch e shuffle do dataset", "estratégia de espelhamento", "perda de precisão numérica"};
enum { NQ = sizeof QUESTIONS / sizeof *QUESTIONS, K = 5, MAX_DIM = 1024 };

typedef struct expect {
  float vec[MAX_DIM];
  size_t n[2];
  int64_t id[2][K];
  double score[2][K];
} expect;

static ar_model *model;
static const char *index_path;
static int dim, rounds;
static expect want[NQ];
static int failures;
static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, int q) {
  pthread_mutex_lock(&fail_mu);
  failures++;
  fprintf(stderr, "FAIL: %s (question %d)\n", what, q);
  pthread_mutex_unlock(&fail_mu);
}

/* Embeds question q and runs it dense and hybrid; fills e, or compares with it when check. */
static int run_one(ar_index *ix, const ar_embedder *emb, int q, expect *e, int check) {
  float v[MAX_DIM];
  ar_error err;
  if (ar_model_embed_texts(model, AR_EMBED_QUERY, &QUESTIONS[q], 1, v, &err) != AR_OK) {
    fprintf(stderr, "embed: %s\n", err.msg);
    return -1;
  }
  if (!check) memcpy(e->vec, v, sizeof(float) * (size_t)dim);
  else if (memcmp(e->vec, v, sizeof(float) * (size_t)dim)) fail("embedding differs from the sequential one", q);
  for (int mode = 0; mode < 2; mode++) {
    ar_search_params sp = ar_search_default_params();
    sp.k = K;
    sp.embedder = emb;
    sp.mode = mode ? AR_MODE_HYBRID : AR_MODE_DENSE;
    ar_results r;
    if (ar_search(ix, QUESTIONS[q], &sp, &r, &err) != AR_OK) {
      fprintf(stderr, "search: %s\n", err.msg);
      return -1;
    }
    if (!check) {
      e->n[mode] = r.n;
      for (size_t i = 0; i < r.n; i++) e->id[mode][i] = r.hits[i].corpus_id, e->score[mode][i] = r.hits[i].score;
    } else {
      int same = r.n == e->n[mode];
      for (size_t i = 0; same && i < r.n; i++)
        same = r.hits[i].corpus_id == e->id[mode][i] && memcmp(&r.hits[i].score, &e->score[mode][i], sizeof(double)) == 0;
      if (!same) fail(mode ? "hybrid hits differ from the sequential ones" : "dense hits differ", q);
    }
    ar_results_free(&r);
  }
  return 0;
}

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  ar_index *ix = NULL;
  ar_error err;
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;
  if (ar_index_open(index_path, ip, &ix, &err) != AR_OK) {
    fprintf(stderr, "open: %s\n", err.msg);
    fail("open", -1);
    return NULL;
  }
  ar_embedder emb = ar_model_embedder(model);   /* one per thread, all on the one model */
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < NQ; i++) {
      int q = (i + t * 3) % NQ;   /* threads walk the questions out of step */
      if (run_one(ix, &emb, q, &want[q], 1)) fail("a call failed", q);
    }
  ar_index_close(ix);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: parallel_search MODEL_DIR INDEX THREADS ROUNDS\n");
    return 2;
  }
  index_path = argv[2];
  ar_blas_single_thread();
  int nt = atoi(argv[3]);
  rounds = atoi(argv[4]);
  ar_error err;
  ar_model_params mp = ar_model_default_params();
  mp.n_threads = 2;
  if (ar_model_load(argv[1], mp, &model, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  dim = ar_model_dim(model);
  if (dim > MAX_DIM) { fprintf(stderr, "dim %d too large\n", dim); return 1; }
  /* sequential reference, on its own handle */
  ar_index *ix = NULL;
  if (ar_index_open(index_path, ar_index_default_params(), &ix, &err) != AR_OK) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_embedder emb = ar_model_embedder(model);
  for (int q = 0; q < NQ; q++)
    if (run_one(ix, &emb, q, &want[q], 0)) return 1;
  ar_index_close(ix);   /* the last handle: the shared matrix goes, so the threads race to load it */
  char sec[4200];
  snprintf(sec, sizeof sec, "%s.vec", index_path);
  unlink(sec);          /* ... and to rebuild the section */
  pthread_t th[64];
  if (nt < 1 || nt > 64) nt = 4;
  for (int t = 0; t < nt; t++) pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
  for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
  ar_model_free(model);
  int checks = nt * rounds * NQ;
  printf("parallel_search: %d passed, %d failed\n", checks - (failures < checks ? failures : checks), failures);
  return failures != 0;
}
