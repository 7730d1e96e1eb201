/* test_server.c - the server library in-process: the response cache (LRU, invalidation, stale
 * stores, OOM), request validation, and ar_server_run's life cycle (stop flag, errors). */
#include "test.h"
#include "server/server.h"
#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void write_file(const char *path, const char *s) {
  FILE *f = fopen(path, "w");
  if (f) { fputs(s, f); fclose(f); }
}

static void nap_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

TEST(server_cache_get_put_lru) {
  char db[512];
  snprintf(db, sizeof db, "%s/c.db", test_tmpdir());
  write_file(db, "x");
  ar_srv_cache *c = ar_srv_cache_new(db, 2);
  ASSERT(c);
  unsigned long g;
  ASSERT(ar_srv_cache_get(c, "a", &g) == NULL);
  ar_srv_cache_put(c, "a", "{\"a\":1}", g);
  ar_srv_cache_put(c, "b", "{\"b\":2}", g);
  char *v = ar_srv_cache_get(c, "a", &g);          /* a is now the most recent */
  ASSERT_STREQ(v, "{\"a\":1}");
  free(v);
  ar_srv_cache_put(c, "c", "{\"c\":3}", g);         /* evicts b, the least recent */
  v = ar_srv_cache_get(c, "b", &g);
  ASSERT(v == NULL);
  v = ar_srv_cache_get(c, "a", &g);
  ASSERT_STREQ(v, "{\"a\":1}");
  free(v);
  v = ar_srv_cache_get(c, "c", &g);
  ASSERT_STREQ(v, "{\"c\":3}");
  free(v);
  ar_srv_cache_put(c, "c", "{\"c\":4}", g);         /* replacing keeps one entry per key */
  v = ar_srv_cache_get(c, "c", &g);
  ASSERT_STREQ(v, "{\"c\":4}");
  free(v);
  ar_srv_cache_free(c);
  ASSERT(ar_srv_cache_new(db, 0) == NULL);         /* 0 = off */
  ASSERT(ar_srv_cache_get(NULL, "a", &g) == NULL);  /* and off is harmless */
  ar_srv_cache_put(NULL, "a", "x", g);
}

TEST(server_cache_drops_on_index_change) {
  char db[512], wal[520];
  snprintf(db, sizeof db, "%s/d.db", test_tmpdir());
  snprintf(wal, sizeof wal, "%s-wal", db);
  write_file(db, "x");
  ar_srv_cache *c = ar_srv_cache_new(db, 8);
  ASSERT(c);
  unsigned long g;
  ar_srv_cache_get(c, "q", &g);
  ar_srv_cache_put(c, "q", "old", g);
  char *v = ar_srv_cache_get(c, "q", &g);
  ASSERT_STREQ(v, "old");
  free(v);
  write_file(wal, "a commit");                      /* another process wrote to the index */
  nap_ms(60);                                       /* lookups re-check every 50 ms */
  v = ar_srv_cache_get(c, "q", &g);
  ASSERT_MSG(v == NULL, "stale entry served: %s", v);
  /* a result computed before a change must not be stored after it */
  unsigned long before = g;
  write_file(db, "changed again");
  ar_srv_cache_put(c, "q", "computed-before-the-change", before);
  nap_ms(60);
  v = ar_srv_cache_get(c, "q", &g);
  ASSERT_MSG(v == NULL, "stale store kept: %s", v);
  ar_srv_cache_free(c);
}

TEST(server_cache_oom) {
  char db[512];
  snprintf(db, sizeof db, "%s/o.db", test_tmpdir());
  write_file(db, "x");
  for (long n = 0; n < 8; n++) {   /* every allocation failing in turn: no crash, no leak */
    ar_alloc_fail_after(n);
    ar_srv_cache *c = ar_srv_cache_new(db, 4);
    unsigned long g = 0;
    if (c) {
      char *v = ar_srv_cache_get(c, "k", &g);
      free(v);
      ar_srv_cache_put(c, "k", "value", g);
      v = ar_srv_cache_get(c, "k", &g);
      ASSERT(v == NULL || !strcmp(v, "value"));
      free(v);
    }
    ar_alloc_fail_after(-1);
    ar_srv_cache_free(c);
  }
}

TEST(server_query_validation) {
  ar_srv s;
  memset(&s, 0, sizeof s);
  s.p = ar_server_default_params();
  ar_srv_query q;
  char msg[256];
  ASSERT_EQ_INT(ar_srv_query_make(&s, "  o que é backpropagation?  ", "3", "lexical", NULL, &q, msg, sizeof msg), 0);
  ASSERT_STREQ(q.question, "o que é backpropagation?");   /* trimmed */
  ASSERT_EQ_INT(q.k, 3);
  ASSERT_EQ_INT(q.mode, AR_MODE_LEXICAL);
  ASSERT_EQ_INT(q.use_model, 0);
  ar_srv_query_free(&q);
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, NULL, &q, msg, sizeof msg), 0);
  ASSERT_EQ_INT(q.k, 10);                                   /* the server's default */
  ASSERT_EQ_INT(q.use_model, 0);                            /* auto without a model */
  ar_srv_query_free(&q);
  static const struct { const char *q, *k, *mode, *needle; } bad[] = {
      {NULL, NULL, NULL, "missing"},      {" \t\n", NULL, NULL, "missing"},
      {"x", "0", NULL, "k must"},         {"x", "51", NULL, "k must"},
      {"x", "3x", NULL, "k must"},        {"x", "99999999999999999999", NULL, "k must"},
      {"x", NULL, "fuzzy", "mode must"},  {"x", NULL, "dense", "--model"},
      {"x", NULL, "hybrid", "--model"},   {"\xff\xfe", NULL, NULL, "UTF-8"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    unsigned code = ar_srv_query_make(&s, bad[i].q, bad[i].k, bad[i].mode, NULL, &q, msg, sizeof msg);
    ASSERT_MSG(code == 400 && strstr(msg, bad[i].needle), "case %zu: %u %s", i, code, msg);
  }
  char *longq = malloc(2002);
  memset(longq, 'a', 2001);
  longq[2001] = 0;
  unsigned code = ar_srv_query_make(&s, longq, NULL, NULL, NULL, &q, msg, sizeof msg);
  free(longq);
  ASSERT_MSG(code == 400 && strstr(msg, "2001 bytes"), "%u %s", code, msg);
}

/* ---- ar_server_run in a thread, stopped through *stop ---- */
typedef struct run_ctx {
  char index[512];
  ar_server_params p;
  volatile int stop;
  ar_status st;
  ar_error err;
  int port;
  pthread_mutex_t mu;
} run_ctx;

static void on_log(const char *line, void *ud) {
  run_ctx *r = ud;
  const char *at = strstr(line, "listening on http://127.0.0.1:");
  if (at) {
    pthread_mutex_lock(&r->mu);
    r->port = atoi(at + strlen("listening on http://127.0.0.1:"));
    pthread_mutex_unlock(&r->mu);
  }
}

static void *run_thread(void *arg) {
  run_ctx *r = arg;
  r->st = ar_server_run(r->index, &r->p, &r->stop, &r->err);
  return NULL;
}

static int http_get(int port, const char *path, char *out, size_t n) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
  char req[256];
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  if (write(fd, req, strlen(req)) < 0) { close(fd); return -1; }
  size_t got = 0;
  ssize_t k;
  while (got + 1 < n && (k = read(fd, out + got, n - 1 - got)) > 0) got += (size_t)k;
  out[got] = 0;
  close(fd);
  return (int)got;
}

TEST(server_run_stop_flag) {
  static run_ctx r;   /* static: big, and the thread outlives nothing here */
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mu, NULL);
  snprintf(r.index, sizeof r.index, "%s/empty.db", test_tmpdir());
  ar_index *ix;
  ar_error err;
  ASSERT(ar_index_open(r.index, ar_index_default_params(), &ix, &err) == AR_OK);   /* an empty index */
  ar_index_close(ix);
  r.p = ar_server_default_params();
  r.p.port = 0;
  r.p.threads = 2;
  r.p.log = on_log;
  r.p.user_data = &r;
  pthread_t t;
  ASSERT(pthread_create(&t, NULL, run_thread, &r) == 0);
  int port = 0;
  for (int i = 0; i < 500 && !port; i++) {
    nap_ms(10);
    pthread_mutex_lock(&r.mu);
    port = r.port;
    pthread_mutex_unlock(&r.mu);
  }
  char buf[4096] = "";
  int n = port ? http_get(port, "/healthz", buf, sizeof buf) : -1;
  int n2 = port ? http_get(port, "/api/search?q=nada", buf + 2048, 2048) : -1;
  r.stop = 1;
  pthread_join(t, NULL);
  pthread_mutex_destroy(&r.mu);
  ASSERT_MSG(port > 0, "no listening line logged");
  ASSERT_MSG(n > 0 && strstr(buf, "200 OK") && strstr(buf, "\"videos\":0"), "%s", buf);
  ASSERT_MSG(n2 > 0 && strstr(buf + 2048, "200 OK") && strstr(buf + 2048, "\"segments\":[]"), "%s", buf + 2048);
  ASSERT_MSG(r.st == AR_OK, "%s", r.err.msg);
}

TEST(server_run_errors) {
  ar_server_params p = ar_server_default_params();
  ar_error err = {0};
  char missing[512];
  snprintf(missing, sizeof missing, "%s/none.db", test_tmpdir());
  volatile int stop = 1;
  p.port = 0;
  ar_status st = ar_server_run(missing, &p, &stop, &err);
  ASSERT_MSG(st != AR_OK && strstr(err.msg, "none.db"), "%d %s", st, err.msg);
  struct stat sb;
  ASSERT_MSG(stat(missing, &sb) != 0, "serving a missing index created it");
  p.threads = 0;
  ASSERT_EQ_INT(ar_server_run(missing, &p, &stop, &err), AR_ERR_INVALID);
  p = ar_server_default_params();
  p.host = "no.such.host.invalid";
  ASSERT_EQ_INT(ar_server_run(missing, &p, &stop, &err), AR_ERR_INVALID);
}

TEST(server_query_course) {
  ar_srv s;
  memset(&s, 0, sizeof s);
  s.p = ar_server_default_params();
  ar_srv_query q;
  char msg[256];
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, NULL, &q, msg, sizeof msg), 0);
  ASSERT(q.course == NULL);                                  /* no default: every course */
  ar_srv_query_free(&q);
  s.p.ask.search.course = "ml";                              /* serve --course ml */
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, NULL, &q, msg, sizeof msg), 0);
  ASSERT_STREQ(q.course, "ml");
  ASSERT_STREQ(ar_srv_search_params(&s, &q).course, "ml");
  ar_srv_query_free(&q);
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, "db", &q, msg, sizeof msg), 0);
  ASSERT_STREQ(q.course, "db");                              /* the request's wins */
  ar_srv_query_free(&q);
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, "", &q, msg, sizeof msg), 0);
  ASSERT(q.course == NULL && ar_srv_search_params(&s, &q).course == NULL);   /* "": every course */
  ar_srv_query_free(&q);
  char big[300];
  memset(big, 'c', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, big, &q, msg, sizeof msg), 400);
  ASSERT_EQ_INT(ar_srv_query_make(&s, "x", NULL, NULL, "\xff", &q, msg, sizeof msg), 400);
  ASSERT_MSG(strstr(msg, "/api/courses"), "%s", msg);
}

/* Serves a two-course index: GET /api/courses, scoped searches (the cache keeps courses apart), an
 * unknown course (404), and a default course that does not exist (refused at start). */
TEST(server_courses_api) {
  static run_ctx r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mu, NULL);
  snprintf(r.index, sizeof r.index, "%s/courses.db", test_tmpdir());
  ar_index *ix;
  ar_error err;
  ASSERT(ar_index_open(r.index, ar_index_default_params(), &ix, &err) == AR_OK);
  const char *vids[][3] = {{"v1", "ml", "redes neurais e gradientes"}, {"v2", "ml", "gradientes descendentes"},
                           {"v3", "db", "gradientes em bancos de dados"}};
  for (int i = 0; i < 3; i++) {
    ar_segment seg = {0, 10, (char *)vids[i][2], 0, 1};
    ar_segments segs = {&seg, 1, 1};
    ar_video v = {vids[i][0], vids[i][0], "", "mem", vids[i][1], i == 2 ? "Bancos \"de\" dados" : NULL};
    ASSERT_MSG(ar_index_put_video(ix, &v, &segs, &err) == AR_OK, "%s", err.msg);
  }
  ar_index_close(ix);
  r.p = ar_server_default_params();
  r.p.port = 0;
  r.p.threads = 2;
  r.p.log = on_log;
  r.p.user_data = &r;
  pthread_t t;
  ASSERT(pthread_create(&t, NULL, run_thread, &r) == 0);
  int port = 0;
  for (int i = 0; i < 500 && !port; i++) {
    nap_ms(10);
    pthread_mutex_lock(&r.mu);
    port = r.port;
    pthread_mutex_unlock(&r.mu);
  }
  static char b[6][4096];
  const char *paths[] = {"/api/courses", "/api/search?q=gradientes&course=db", "/api/search?q=gradientes&course=ml",
                         "/api/search?q=gradientes&course=db", "/api/search?q=gradientes", "/api/search?q=gradientes&course=zz"};
  int ok = port > 0;
  for (int i = 0; i < 6 && ok; i++) ok = http_get(port, paths[i], b[i], sizeof b[i]) > 0;
  r.stop = 1;
  pthread_join(t, NULL);
  ASSERT_MSG(ok, "no answer from the server");
  ASSERT_MSG(strstr(b[0], "200 OK") && strstr(b[0], "[{\"id\":\"db\",\"title\":\"Bancos \\\"de\\\" dados\",\"videos\":1,"
                                                 "\"segments\":1},{\"id\":\"ml\",\"title\":\"ml\",\"videos\":2,\"segments\":2}]"),
             "%s", b[0]);
  ASSERT_MSG(strstr(b[1], "\"v3\"") && !strstr(b[1], "\"v1\"") && !strstr(b[1], "\"v2\""), "%s", b[1]);
  ASSERT_MSG(strstr(b[2], "\"v1\"") && strstr(b[2], "\"v2\"") && !strstr(b[2], "\"v3\""), "%s", b[2]);
  ASSERT_MSG(strstr(b[3], "\"v3\"") && !strstr(b[3], "\"v1\""), "the cache mixed courses: %s", b[3]);
  ASSERT_MSG(strstr(b[4], "\"v1\"") && strstr(b[4], "\"v3\""), "%s", b[4]);
  ASSERT_MSG(strstr(b[5], "404 Not Found") && strstr(b[5], "'zz'"), "%s", b[5]);
  /* a default scope that the index does not hold fails at start, naming it */
  r.p.ask.search.course = "zz";
  r.stop = 1;
  ar_status st = ar_server_run(r.index, &r.p, &r.stop, &r.err);
  ASSERT_MSG(st == AR_ERR_NOTFOUND && strstr(r.err.msg, "'zz'"), "%d %s", st, r.err.msg);
  pthread_mutex_destroy(&r.mu);
}
