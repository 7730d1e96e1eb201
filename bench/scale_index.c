/* scale_index.c - bench driver for an institution-sized catalog (bench/bench_scale.sh):
 *   scale_index build INDEX MODEL_DIR N          N synthetic segments (videos of 1000), random unit vectors
 *                                                 stamped with the model's fingerprint; leaves the section current
 *   scale_index qps INDEX MODEL_DIR THREADS SECS [MODEL_THREADS]  dense ar_search from THREADS threads (own
 *                                                 handles, one shared encoder whose pool has MODEL_THREADS, default
 *                                                 all cores): queries/s and the median latency
 *   scale_index filter INDEX ALLOWED REPS         dense top-10 over ALLOWED consecutive ids (a course) vs all rows:
 *                                                 median ms of each, same random query vectors */
#include "aularag.h"
#include "core/util.h"
#include "index/vectors.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 42;

typedef struct fake { const char *fp; int dim; } fake;

static void unit_vec(float *v, int dim) {
  double s = 0;
  for (int i = 0; i < dim; i++) v[i] = (float)(ar_rng_unit(&rng) - 0.5), s += (double)v[i] * v[i];
  for (int i = 0; i < dim; i++) v[i] = (float)(v[i] / sqrt(s));
}

static ar_status fake_embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err) {
  (void)kind; (void)texts; (void)err;
  fake *f = ctx;
  for (int i = 0; i < n; i++) unit_vec(out + (size_t)i * f->dim, f->dim);
  return AR_OK;
}

static int die(const char *what, const ar_error *e) {
  fprintf(stderr, "%s: %s\n", what, e->msg);
  return 1;
}

static const char *WORDS[] = {"gradiente", "tensor", "camada", "dados", "rede", "treino", "perda", "modelo",
                              "atenção", "vetor", "matriz", "função", "erro", "lote", "época", "peso"};

static int build(const char *path, const char *model_dir, long n) {
  ar_error err;
  ar_model *m;
  ar_model_params mp = ar_model_default_params();
  mp.ids_only = 1;
  mp.n_threads = 1;
  if (ar_model_load(model_dir, mp, &m, &err)) return die("model", &err);
  ar_index *ix;
  if (ar_index_open(path, ar_index_default_params(), &ix, &err)) return die("index", &err);
  ar_segments s = {0};
  s.v = calloc(1000, sizeof *s.v);
  char buf[256], vid[32];
  for (long done = 0, v = 0; done < n; v++) {
    size_t k = (size_t)(n - done < 1000 ? n - done : 1000);
    for (size_t i = 0; i < k; i++) {
      int w = snprintf(buf, sizeof buf, "aula %ld trecho %zu", v, i);
      for (int j = 0; j < 12; j++) w += snprintf(buf + w, sizeof buf - (size_t)w, " %s", WORDS[ar_rng_next(&rng) % 16]);
      s.v[i] = (ar_segment){30.0 * i, 30.0 * i + 120, strdup(buf), i, 1};
    }
    s.n = s.cap = k;
    snprintf(vid, sizeof vid, "v%06ld", v);
    ar_video video = {.video_id = vid, .title = vid, .url = "", .source_path = "bench"};
    ar_status st = ar_index_put_video(ix, &video, &s, &err);
    for (size_t i = 0; i < k; i++) free(s.v[i].text);
    if (st) return die("put_video", &err);
    done += (long)k;
  }
  free(s.v);
  fake f = {ar_model_fingerprint(m), ar_model_dim(m)};
  ar_embedder e = {.fingerprint = f.fp, .dim = f.dim, .embed = fake_embed, .ctx = &f};
  int64_t emb;
  if (ar_vectors_embed_pending_with(ix, &e, 4096, NULL, NULL, &emb, &err)) return die("vectors", &err);
  if (ar_vectors_refresh(ix, &err)) return die("section", &err);
  printf("built %ld segments, %lld vectors\n", n, (long long)emb);
  ar_index_close(ix);
  ar_model_free(m);
  return 0;
}

static const char *QS[] = {"como o gradiente desce", "o que é um tensor", "camada de atenção", "perda de treino",
                           "peso da rede", "lote e época", "função de erro", "matriz de dados"};

typedef struct qjob {
  const char *path;
  ar_model *m;
  double secs;
  long n;
  double *lat;
  long cap;
  int t, fail;
} qjob;

static void *qworker(void *p) {
  qjob *j = p;
  ar_error err;
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;
  if (ar_index_open(j->path, ip, &ix, &err)) { j->fail = 1; return NULL; }
  ar_embedder e = ar_model_embedder(j->m);
  ar_search_params sp = ar_search_default_params();
  sp.mode = AR_MODE_DENSE;
  sp.embedder = &e;
  sp.k = 10;
  ar_results r;
  if (ar_search(ix, QS[0], &sp, &r, &err)) { fprintf(stderr, "%s\n", err.msg); j->fail = 1; return NULL; }
  ar_results_free(&r);   /* warm: the matrix is mapped */
  double t0 = ar_now_s();
  while (ar_now_s() - t0 < j->secs && j->n < j->cap) {
    double a = ar_now_s();
    if (ar_search(ix, QS[(j->n + j->t) % 8], &sp, &r, &err)) { j->fail = 1; break; }
    ar_results_free(&r);
    j->lat[j->n++] = ar_now_s() - a;
  }
  ar_index_close(ix);
  return NULL;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int qps(const char *path, const char *model_dir, int nt, double secs, int model_threads) {
  ar_error err;
  ar_model *m;
  ar_model_params mp = ar_model_default_params();
  mp.n_threads = model_threads;
  if (ar_model_load(model_dir, mp, &m, &err)) return die("model", &err);
  qjob j[16];
  pthread_t th[16];
  if (nt < 1 || nt > 16) nt = 1;
  double t0 = ar_now_s();
  for (int t = 0; t < nt; t++) {
    j[t] = (qjob){path, m, secs, 0, malloc(100000 * sizeof(double)), 100000, t, 0};
    pthread_create(&th[t], NULL, qworker, &j[t]);
  }
  long total = 0;
  double *all = malloc((size_t)nt * 100000 * sizeof *all);
  for (int t = 0; t < nt; t++) {
    pthread_join(th[t], NULL);
    if (j[t].fail) return fprintf(stderr, "thread %d failed\n", t), 1;
    memcpy(all + total, j[t].lat, (size_t)j[t].n * sizeof *all);
    total += j[t].n;
    free(j[t].lat);
  }
  double wall = ar_now_s() - t0;
  qsort(all, (size_t)total, sizeof *all, cmp_d);
  printf("%d %.1f %.2f\n", nt, total / wall, total ? all[total / 2] * 1000 : 0);
  free(all);
  ar_model_free(m);
  return 0;
}

static int filter(const char *path, long allowed, int reps) {
  ar_error err;
  ar_index *ix;
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;
  if (ar_index_open(path, ip, &ix, &err)) return die("index", &err);
  char *model = NULL, *d = NULL;
  ar_index_meta_get(ix, "model", &model, &err);
  ar_index_meta_get(ix, "dim", &d, &err);
  int dim = d ? atoi(d) : 0;
  int64_t nbits = 0;
  sqlite3_stmt *q;
  sqlite3_prepare_v2(ix->db, "SELECT max(id) + 1 FROM segments", -1, &q, NULL);
  if (sqlite3_step(q) == SQLITE_ROW) nbits = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  uint64_t *bits = calloc((size_t)(nbits + 63) / 64, 8);
  int64_t first = nbits / 3;   /* a course: a block of consecutive corpus ids in the middle */
  for (int64_t i = first; i < first + allowed && i < nbits; i++) bits[i >> 6] |= 1ull << (i & 63);
  ar_idfilter f = {bits, nbits};
  float *qv = malloc((size_t)dim * sizeof *qv);
  double *tf = malloc((size_t)reps * sizeof *tf), *ta = malloc((size_t)reps * sizeof *ta);
  ar_cand *c;
  size_t nc;
  unit_vec(qv, dim);
  if (ar_vectors_search(ix, model, qv, dim, 10, NULL, &c, &nc, &err)) return die("search", &err);   /* load */
  ar_free(c);
  for (int r = 0; r < reps; r++) {   /* interleaved: the same query scoped and not */
    unit_vec(qv, dim);
    double a = ar_now_s();
    ar_vectors_search(ix, model, qv, dim, 10, &f, &c, &nc, &err);
    tf[r] = ar_now_s() - a;
    ar_free(c);
    a = ar_now_s();
    ar_vectors_search(ix, model, qv, dim, 10, NULL, &c, &nc, &err);
    ta[r] = ar_now_s() - a;
    ar_free(c);
  }
  qsort(tf, (size_t)reps, sizeof *tf, cmp_d);
  qsort(ta, (size_t)reps, sizeof *ta, cmp_d);
  printf("%.3f %.3f\n", tf[reps / 2] * 1000, ta[reps / 2] * 1000);
  ar_index_close(ix);
  free(bits); free(qv); free(tf); free(ta); ar_free(model); ar_free(d);
  return 0;
}

int main(int argc, char **argv) {
  ar_blas_single_thread();
  if (argc == 5 && !strcmp(argv[1], "build")) return build(argv[2], argv[3], atol(argv[4]));
  if ((argc == 6 || argc == 7) && !strcmp(argv[1], "qps"))
    return qps(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), argc == 7 ? atoi(argv[6]) : 0);
  if (argc == 5 && !strcmp(argv[1], "filter")) return filter(argv[2], atol(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: scale_index build INDEX MODEL_DIR N | qps INDEX MODEL_DIR THREADS SECS [MODEL_THREADS] | "
                  "filter INDEX ALLOWED REPS\n");
  return 2;
}
