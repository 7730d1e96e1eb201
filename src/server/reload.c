/* reload.c - replicas pick up a new snapshot without a restart.
 *
 * A thread stats the index path every 100 ms. When it names another file (`aularag snapshot` renamed a
 * new one into place), that file is checked as `info --check` checks it, and as serve would use it (its
 * default course, its vectors' model), before anything switches: a file that fails is logged and never
 * served, the old one stays. For a good one the thread opens a handle per worker, then hands them out: an
 * idle worker switches at once, a busy one when it is next taken, so a request in flight finishes on the
 * handle it started with, the next one sees the new file, and no request waits on the check or opens the
 * path itself. The old file stays readable through its open handles after the rename (snapshots are opened
 * immutable: no -wal/-shm beside them that the new file of the same name could inherit). */
#include "server/server.h"
#include "index/index.h"   /* ar_index_check: the check of `info --check` */
#include <sys/stat.h>
#include <time.h>

typedef struct ar_reload {
  pthread_mutex_t mu;          /* guards cur, refused */
  struct stat cur;             /* the file the current generation's handles are open on */
  struct stat refused;         /* the last replacement refused: not checked again until it changes */
  int have_refused;
  int snapshot;                /* cur is a snapshot (handles immutable); else a live index (WAL) */
  unsigned long gen;           /* files switched to so far (for the log) */
  pthread_mutex_t wake_mu;     /* the thread sleeps on wake between rounds; free wakes it to stop */
  pthread_cond_t wake;
  int stop;
  pthread_t thread;
  int running;
} ar_reload;

static int same_inode(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* A snapshot is never written in place, so any change to it is a new file; a live index changes in
 * place at every commit, which its WAL handles see anyway: for it only another inode counts. */
static int same_file(const struct stat *a, const struct stat *b, int snapshot) {
  return same_inode(a, b) && (!snapshot || (a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
                                            a->st_mtim.tv_nsec == b->st_mtim.tv_nsec));
}

ar_status ar_srv_reload_init(ar_srv *s, ar_error *err) {
  ar_reload *r = ar_calloc(1, sizeof *r);
  if (!r) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->wake_mu, NULL);
  pthread_cond_init(&r->wake, NULL);
  s->reload = r;
  /* stat before the pools open: a file replaced while they open is seen as a replacement */
  if (stat(s->index_path, &r->cur) != 0)
    return ar_fail(err, AR_ERR_NOTFOUND, "%s: no such index (create it with `aularag ingest -i %s PATH...`)",
                   s->index_path, s->index_path);
  r->snapshot = ar_index_is_snapshot(s->index_path);
  return AR_OK;
}

ar_index_params ar_srv_index_params(const ar_srv *s) {
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  if (s->reload && s->reload->snapshot) ip.read_only = ip.immutable = 1;
  return ip;
}

/* What serve needs of a file besides its check: the default course, vectors of the queries' model. */
static ar_status servable(ar_srv *s, ar_index *ix, ar_index_info *info, ar_error *err) {
  ar_status st = ar_index_info_get(ix, info, err);
  if (st) return st;
  const char *course = s->p.ask.search.course;
  if (course && *course) {
    ar_courses cs;
    if ((st = ar_index_courses(ix, &cs, err))) return st;
    int found = 0;
    for (size_t i = 0; i < cs.n && !found; i++) found = !strcmp(cs.v[i].id, course);
    ar_courses_free(&cs);
    if (!found) return ar_fail(err, AR_ERR_NOTFOUND, "it has no course '%s' (serve's --course)", course);
  }
  if (s->has_emb && info->n_vectors > 0 && info->model[0] &&
      (strcmp(info->model, s->emb.fingerprint) || info->dim != s->emb.dim))
    return ar_fail(err, AR_ERR_MISMATCH, "its vectors were made with model %s (dim %d), not %s (dim %d)", info->model,
                   info->dim, s->emb.fingerprint, s->emb.dim);
  return AR_OK;
}

/* Checks the file now at the path (stat'ed as *now). AR_OK: serve it; AR_ERR_ABORTED: it was replaced
 * again while being checked (look again next round); else why it is refused. */
static ar_status check_new(ar_srv *s, const struct stat *now, ar_index_info *info, ar_error *err) {
  if (!ar_index_is_snapshot(s->index_path))
    return ar_fail(err, AR_ERR_MISMATCH, "it is not a snapshot (publish indexes with `aularag snapshot -i LIVE %s`)",
                   s->index_path);
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  ip.read_only = ip.immutable = 1;
  ar_index *ix = NULL;
  ar_status st = ar_index_open(s->index_path, ip, &ix, err);
  if (!st) st = ar_index_check(ix, err);
  if (!st) st = servable(s, ix, info, err);
  ar_index_close(ix);
  struct stat after;
  if (stat(s->index_path, &after) != 0 || !same_file(&after, now, 1)) return AR_ERR_ABORTED;
  return st;
}

/* Opens a handle on the checked file for every worker (so no request ever opens the path itself: it
 * may name a newer, unchecked file by then). AR_ERR_ABORTED when the path moved on meanwhile. */
static ar_status open_handles(ar_srv *s, const struct stat *checked, ar_index **h, int n, ar_error *err) {
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  ip.read_only = ip.immutable = 1;
  ar_status st = AR_OK;
  for (int i = 0; i < n && !st; i++) st = ar_index_open(s->index_path, ip, &h[i], err);
  struct stat now;
  if (!st && (stat(s->index_path, &now) != 0 || !same_file(&now, checked, 1))) st = AR_ERR_ABORTED;
  if (st)
    for (int i = 0; i < n; i++) { ar_index_close(h[i]); h[i] = NULL; }
  return st;
}

/* Gives each worker of p its new handle: an idle worker at once, a busy one when it is next taken
 * (ar_srv_worker_get). The handles they replace are closed here, outside the lock. */
static void hand_out(ar_srv_workers *p, ar_index **h) {
  ar_index **old = ar_calloc((size_t)p->n * 2, sizeof *old);
  int n_old = 0;
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < p->n; i++) {
    ar_worker *w = &p->workers[i];
    if (old) old[n_old++] = w->next;   /* a newer file replaced before this worker was taken */
    else ar_index_close(w->next);
    w->next = h[i];
  }
  for (ar_worker *w = p->free_list; w; w = w->next_free) {
    if (old) old[n_old++] = w->ix;
    else ar_index_close(w->ix);
    w->ix = w->next;
    w->next = NULL;
  }
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < n_old; i++) ar_index_close(old[i]);
  ar_free(old);
}

static void poll_once(ar_srv *s) {
  ar_reload *r = s->reload;
  struct stat now;
  if (stat(s->index_path, &now) != 0) return;   /* deleted: keep serving what is open */
  pthread_mutex_lock(&r->mu);
  int changed = !same_file(&now, &r->cur, r->snapshot);
  int known_bad = r->have_refused && same_file(&now, &r->refused, 1);
  pthread_mutex_unlock(&r->mu);
  if (!changed || known_bad) return;
  ar_index_info info;
  ar_error err = {0};
  double t0 = ar_now_s();
  int n = s->search.n + s->answer.n;
  ar_index **h = ar_calloc((size_t)n, sizeof *h);
  if (!h) return;
  ar_status st = check_new(s, &now, &info, &err);
  if (!st) st = open_handles(s, &now, h, n, &err);
  if (st == AR_ERR_ABORTED) { ar_free(h); return; }   /* replaced again while checked: next round */
  pthread_mutex_lock(&r->mu);
  if (st) {
    r->refused = now;
    r->have_refused = 1;
  } else {
    r->cur = now;
    r->snapshot = 1;
    r->have_refused = 0;
    atomic_store(&s->has_vectors, info.n_vectors > 0);
    r->gen++;
  }
  unsigned long gen = r->gen;
  pthread_mutex_unlock(&r->mu);
  if (st) {
    ar_free(h);
    ar_srv_log(s, "%s was replaced by a file that is not served, keeping the one loaded: %s", s->index_path, err.msg);
    return;
  }
  hand_out(&s->search, h);
  hand_out(&s->answer, h + s->search.n);
  ar_free(h);
  /* after the switch: a search that reads the cache's generation from now on runs on the new file */
  ar_srv_cache_flush(s->cache);
  ar_srv_log(s, "reloaded %s (generation %lu, checked in %.0f ms): %lld videos, %lld segments, %lld vectors",
             s->index_path, gen, (ar_now_s() - t0) * 1e3, (long long)info.n_videos, (long long)info.n_segments,
             (long long)info.n_vectors);
}

static void *watch(void *arg) {
  ar_srv *s = arg;
  ar_reload *r = s->reload;
  pthread_mutex_lock(&r->wake_mu);
  while (!r->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_cond_timedwait(&r->wake, &r->wake_mu, &until);
    if (r->stop) break;
    pthread_mutex_unlock(&r->wake_mu);
    poll_once(s);
    pthread_mutex_lock(&r->wake_mu);
  }
  pthread_mutex_unlock(&r->wake_mu);
  return NULL;
}

void ar_srv_reload_start(ar_srv *s) {
  ar_reload *r = s->reload;
  if (!r || r->running) return;
  int e = pthread_create(&r->thread, NULL, watch, s);
  if (e == 0) r->running = 1;
  else ar_srv_log(s, "cannot start the index watcher: %s (a new snapshot needs a restart)", strerror(e));
}

void ar_srv_reload_free(ar_srv *s) {
  ar_reload *r = s->reload;
  if (!r) return;
  if (r->running) {   /* woken at once: a stopping server does not wait out a round */
    pthread_mutex_lock(&r->wake_mu);
    r->stop = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->wake_mu);
    pthread_join(r->thread, NULL);
  }
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->wake_mu);
  pthread_cond_destroy(&r->wake);
  ar_free(r);
  s->reload = NULL;
}
