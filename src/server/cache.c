/* cache.c - search response cache: recent (mode, k, question) -> JSON, LRU-bounded, dropped whole
 * when the index file changes (another process re-ingesting), so a hit is never stale. Students
 * ask the same questions; a hit skips both the FTS5 query and the JSON formatting. */
#include "server/server.h"
#include <sys/stat.h>

typedef struct entry {
  char *key, *json;
  size_t json_len;
  uint64_t hash;
  struct entry *prev, *next;   /* LRU list, most recent first */
} entry;

struct ar_srv_cache {
  pthread_mutex_t mu;
  entry *head, *tail;
  size_t n, cap;
  char *db_path, *wal_path;
  struct stat db_st, wal_st;   /* the index files as they were when the entries were made */
  int have_st;
  double checked_s;            /* when the files were last stat'ed */
  unsigned long gen;           /* bumped at every flush */
};

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void unlink_entry(ar_srv_cache *c, entry *e) {
  if (e->prev) e->prev->next = e->next; else c->head = e->next;
  if (e->next) e->next->prev = e->prev; else c->tail = e->prev;
  e->prev = e->next = NULL;
}

static void push_front(ar_srv_cache *c, entry *e) {
  e->next = c->head;
  e->prev = NULL;
  if (c->head) c->head->prev = e;
  c->head = e;
  if (!c->tail) c->tail = e;
}

static void free_entry(entry *e) {
  ar_free(e->key);
  ar_free(e->json);
  ar_free(e);
}

static void flush(ar_srv_cache *c) {
  for (entry *e = c->head, *next; e; e = next) { next = e->next; free_entry(e); }
  c->head = c->tail = NULL;
  c->n = 0;
}

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Drops everything if the index or its WAL changed since the entries were made. Called with mu
 * held. Lookups stat at most every 50 ms (a write shows within that time); stores always do. */
static void validate(ar_srv_cache *c, int force) {
  double now = ar_now_s();
  if (!force && c->have_st && now - c->checked_s < 0.05) return;
  c->checked_s = now;
  struct stat db, wal;
  memset(&db, 0, sizeof db);
  memset(&wal, 0, sizeof wal);
  stat(c->db_path, &db);
  stat(c->wal_path, &wal);
  if (!c->have_st || !same_file(&db, &c->db_st) || !same_file(&wal, &c->wal_st)) {
    flush(c);
    c->gen++;
    c->db_st = db;
    c->wal_st = wal;
    c->have_st = 1;
  }
}

ar_srv_cache *ar_srv_cache_new(const char *index_path, size_t cap) {
  if (!cap) return NULL;
  ar_srv_cache *c = ar_calloc(1, sizeof *c);
  if (!c) return NULL;
  ar_buf wal = {0};
  ar_buf_printf(&wal, "%s-wal", index_path);
  c->db_path = ar_strdup(index_path);
  c->wal_path = wal.oom ? NULL : ar_buf_steal(&wal);
  if (!c->db_path || !c->wal_path) { ar_free(c->db_path); ar_free(c->wal_path); ar_free(c); return NULL; }
  c->cap = cap;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

void ar_srv_cache_free(ar_srv_cache *c) {
  if (!c) return;
  flush(c);
  pthread_mutex_destroy(&c->mu);
  ar_free(c->db_path);
  ar_free(c->wal_path);
  ar_free(c);
}

char *ar_srv_cache_get(ar_srv_cache *c, const char *key, unsigned long *gen) {
  *gen = 0;
  if (!c) return NULL;
  uint64_t h = fnv1a(key);
  char *out = NULL;
  pthread_mutex_lock(&c->mu);
  validate(c, 0);
  *gen = c->gen;
  for (entry *e = c->head; e; e = e->next) {
    if (e->hash != h || strcmp(e->key, key)) continue;
    out = ar_strndup(e->json, e->json_len);   /* the response takes ownership of its copy */
    unlink_entry(c, e);
    push_front(c, e);
    break;
  }
  pthread_mutex_unlock(&c->mu);
  return out;
}

void ar_srv_cache_put(ar_srv_cache *c, const char *key, const char *json, unsigned long gen) {
  if (!c || !json) return;
  entry *e = ar_calloc(1, sizeof *e);
  if (!e) return;
  e->key = ar_strdup(key);
  e->json_len = strlen(json);
  e->json = ar_strndup(json, e->json_len);
  e->hash = fnv1a(key);
  if (!e->key || !e->json) { free_entry(e); return; }
  pthread_mutex_lock(&c->mu);
  validate(c, 1);
  if (gen != c->gen) {   /* the index changed while this result was computed: it may be stale */
    pthread_mutex_unlock(&c->mu);
    free_entry(e);
    return;
  }
  for (entry *o = c->head; o; o = o->next)   /* a racing request stored it first */
    if (o->hash == e->hash && !strcmp(o->key, key)) { unlink_entry(c, o); free_entry(o); c->n--; break; }
  push_front(c, e);
  if (++c->n > c->cap) {
    entry *old = c->tail;
    unlink_entry(c, old);
    free_entry(old);
    c->n--;
  }
  pthread_mutex_unlock(&c->mu);
}

void ar_srv_cache_flush(ar_srv_cache *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  flush(c);
  c->gen++;   /* results computed on the old file are not stored */
  pthread_mutex_unlock(&c->mu);
}
