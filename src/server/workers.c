/* workers.c - the worker pools (one index connection per worker) and the shared encoder. */
#include "server/server.h"

static ar_status pool_open(ar_srv *s, ar_srv_workers *pool, ar_error *err) {
  /* Not read_only: answers write the LLM cache. Readers never block each other in WAL mode.
   * A snapshot is opened immutable (reload.c). A missing index is a mistake, not one to create. */
  ar_index_params ip = ar_srv_index_params(s);
  pthread_mutex_init(&pool->mu, NULL);
  pthread_cond_init(&pool->cv, NULL);
  pool->workers = ar_calloc((size_t)s->p.threads, sizeof *pool->workers);
  if (!pool->workers) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (int i = 0; i < s->p.threads; i++) {
    ar_status st = ar_index_open(s->index_path, ip, &pool->workers[i].ix, err);
    if (st) return st;
    pool->n = i + 1;
    pool->workers[i].next_free = pool->free_list;
    pool->free_list = &pool->workers[i];
  }
  return AR_OK;
}

static void pool_close(ar_srv_workers *pool) {
  if (!pool->workers) return;
  for (int i = 0; i < pool->n; i++) {
    ar_index_close(pool->workers[i].ix);
    ar_index_close(pool->workers[i].next);
  }
  ar_free(pool->workers);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
  memset(pool, 0, sizeof *pool);
}

ar_status ar_srv_workers_open(ar_srv *s, ar_error *err) {
  ar_status st;
  if ((st = ar_srv_reload_init(s, err))) return st;
  if ((st = pool_open(s, &s->search, err)) || (st = pool_open(s, &s->answer, err))) return st;
  ar_index_info info;
  if ((st = ar_index_info_get(s->search.workers[0].ix, &info, err))) return st;
  s->has_vectors = info.n_vectors > 0;
  const char *course = s->p.ask.search.course;
  if (course && *course) {  /* the default scope must exist: a typo fails at start, not per request */
    ar_courses cs;
    if ((st = ar_index_courses(s->search.workers[0].ix, &cs, err))) return st;
    int found = 0;
    for (size_t i = 0; i < cs.n && !found; i++) found = !strcmp(cs.v[i].id, course);
    ar_courses_free(&cs);
    if (!found)
      return ar_fail(err, AR_ERR_NOTFOUND, "%s has no course '%s'", s->index_path, course);
  }
  if (s->p.ask.search.embedder) {   /* the caller's: thread-safe, no lock */
    s->emb = *s->p.ask.search.embedder;
    s->has_emb = 1;
  } else if (s->p.model_dir && *s->p.model_dir) {
    ar_model_params mp = ar_model_default_params();
    mp.precision = s->p.precision;
    if ((st = ar_model_load(s->p.model_dir, mp, &s->model, err))) return st;
    s->emb = ar_model_embedder(s->model);
    s->has_emb = 1;
  }
  if (s->has_emb && s->has_vectors && info.model[0] && (strcmp(info.model, s->emb.fingerprint) || info.dim != s->emb.dim))
    return ar_fail(err, AR_ERR_MISMATCH, "%s: index vectors were made with model %s (dim %d), not %s (dim %d)%s%s",
                   s->index_path, info.model, info.dim, s->emb.fingerprint, s->emb.dim, s->model ? " from " : "",
                   s->model ? s->p.model_dir : "");
  return AR_OK;
}

void ar_srv_workers_close(ar_srv *s) {
  ar_srv_reload_free(s);
  pool_close(&s->search);
  pool_close(&s->answer);
  if (s->model) ar_model_free(s->model);
  s->model = NULL;
}

ar_worker *ar_srv_worker_get(ar_srv_workers *p) {
  pthread_mutex_lock(&p->mu);
  while (!p->free_list) pthread_cond_wait(&p->cv, &p->mu);
  ar_worker *w = p->free_list;
  p->free_list = w->next_free;
  ar_index *old = NULL;
  if (w->next) {   /* a new snapshot (reload.c): this request is the first on it */
    old = w->ix;
    w->ix = w->next;
    w->next = NULL;
  }
  pthread_mutex_unlock(&p->mu);
  ar_index_close(old);
  return w;
}

void ar_srv_worker_put(ar_srv_workers *p, ar_worker *w) {
  pthread_mutex_lock(&p->mu);
  w->next_free = p->free_list;
  p->free_list = w;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}
