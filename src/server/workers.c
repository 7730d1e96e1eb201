/* workers.c - the worker pool: one index connection per worker, and the shared encoder. */
#include "server/server.h"

ar_status ar_srv_workers_open(ar_srv *s, ar_error *err) {
  ar_status st;
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;      /* serving a missing index is a mistake, not a reason to create one */
  /* Not read_only: answers write the LLM cache. Readers never block each other in WAL mode. */
  s->workers = ar_calloc((size_t)s->p.threads, sizeof *s->workers);
  if (!s->workers) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (int i = 0; i < s->p.threads; i++) {
    if ((st = ar_index_open(s->index_path, ip, &s->workers[i].ix, err))) return st;
    s->n_workers = i + 1;
    s->workers[i].next_free = s->free_list;
    s->free_list = &s->workers[i];
  }
  ar_index_info info;
  if ((st = ar_index_info_get(s->workers[0].ix, &info, err))) return st;
  s->has_vectors = info.n_vectors > 0;
  if (s->p.model_dir && *s->p.model_dir) {
    ar_model_params mp = ar_model_default_params();
    if ((st = ar_model_load(s->p.model_dir, mp, &s->model, err))) return st;
    if (s->has_vectors && info.model[0] && strcmp(info.model, ar_model_fingerprint(s->model)))
      return ar_fail(err, AR_ERR_MISMATCH, "%s: index vectors were made with model %s, not %s (%s)",
                     s->index_path, info.model, ar_model_fingerprint(s->model), s->p.model_dir);
  }
  return AR_OK;
}

void ar_srv_workers_close(ar_srv *s) {
  for (int i = 0; i < s->n_workers; i++) ar_index_close(s->workers[i].ix);
  ar_free(s->workers);
  s->workers = NULL;
  s->free_list = NULL;
  s->n_workers = 0;
  if (s->model) ar_model_free(s->model);
  s->model = NULL;
}

ar_worker *ar_srv_worker_get(ar_srv *s) {
  pthread_mutex_lock(&s->mu);
  while (!s->free_list) pthread_cond_wait(&s->cv, &s->mu);
  ar_worker *w = s->free_list;
  s->free_list = w->next_free;
  pthread_mutex_unlock(&s->mu);
  return w;
}

void ar_srv_worker_put(ar_srv *s, ar_worker *w) {
  pthread_mutex_lock(&s->mu);
  w->next_free = s->free_list;
  s->free_list = w;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}
