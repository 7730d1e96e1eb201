/* server.c - the daemon's life: bind, serve until ar_server_stop or *stop, drain in-flight requests,
 * close. The library installs no signal handlers: the program decides (cli/cmd_serve.c calls
 * ar_server_stop from its SIGINT/SIGTERM handler). */
#include "server/server.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

ar_server_params ar_server_default_params(void) {
  ar_server_params p;
  memset(&p, 0, sizeof p);
  p.host = "127.0.0.1";
  p.port = 8080;
  p.threads = 4;
  p.ask = ar_ask_default_params();
  p.max_connections = 4096;
  p.max_per_ip = 128;
  p.timeout_s = 15;
  p.max_body = 65536;
  p.max_question = 2000;
  p.max_k = 50;
  p.drain_s = 30;
  p.search_cache = 256;
  return p;
}

struct ar_server {
  ar_srv *s;
  struct MHD_Daemon *d;
  volatile sig_atomic_t stop;  /* set by ar_server_stop, maybe from a signal handler; polled */
  int borrowed;                /* s belongs to the caller (ar_srv_serve: the annotation page) */
};

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  const ar_srv *s = cls;
  if (!s->p.log) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  ar_srv_log(s, "http: %s", line);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* Resolves host:port (numeric or a name) to the first usable address. */
static ar_status resolve(const char *host, int port, struct sockaddr_storage *out, ar_error *err) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  int rc = getaddrinfo(host, ps, &hints, &res);
  if (rc || !res) return ar_fail(err, AR_ERR_INVALID, "cannot resolve host '%s': %s", host, gai_strerror(rc));
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return AR_OK;
}

static ar_status check_params(const ar_server_params *p, ar_error *err) {
  if (p->port < 0 || p->port > 65535) return ar_fail(err, AR_ERR_INVALID, "port %d is out of range", p->port);
  if (p->threads < 1 || p->threads > 256)
    return ar_fail(err, AR_ERR_INVALID, "threads must be in [1, 256], got %d", p->threads);
  if (p->max_connections < 1 || p->max_per_ip < 1 || p->timeout_s < 1 || p->max_body < 1 ||
      p->max_question < 1 || p->max_k < 1 || p->drain_s < 0 || p->search_cache < 0)
    return ar_fail(err, AR_ERR_INVALID, "server limits must be positive");
  return AR_OK;
}

/* After a failed start or a finished run: what is left of the server. A job still running holds a
 * suspended connection, and stopping MHD under one is undefined: then the daemon is left to the
 * process's exit (it stopped listening at the drain), and so is s (leaking beats a use-after-free). */
static void server_free(ar_server *h) {
  ar_srv *s = h->s;
  int idle = !s || atomic_load(&s->producers) == 0;
  if (h->d && idle) MHD_stop_daemon(h->d);
  if (s && idle) {
    ar_srv_workers_close(s);
    ar_srv_cache_free(s->cache);
    s->cache = NULL;
    pthread_mutex_destroy(&s->streams_mu);
    if (!h->borrowed) ar_free(s);
  }
  ar_free(h);
}

/* Binds and opens everything for a prepared s (index_path, p, and for the annotation page its route
 * table); logs the "listening" line. On failure nothing is left but s itself. */
static ar_status start(ar_srv *s, int borrowed, ar_server **out, ar_error *err) {
  *out = NULL;
  ar_status st = check_params(&s->p, err);
  if (st) return st;
  ar_server *h = ar_calloc(1, sizeof *h);
  if (!h) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  h->s = s;
  h->borrowed = borrowed;
  pthread_mutex_init(&s->streams_mu, NULL);
  if (!s->p.host || !*s->p.host) s->p.host = "127.0.0.1";

  struct sockaddr_storage addr;
  if ((st = resolve(s->p.host, s->p.port, &addr, err))) goto fail;
  if (!s->route) {
    if ((st = ar_srv_workers_open(s, err))) goto fail;
    s->cache = ar_srv_cache_new(s->index_path, (size_t)s->p.search_cache);
    ar_srv_reload_start(s);
  }

  /* A few polling threads (epoll on Linux) move the bytes of every connection; a request that may block
   * (a worker, the encoder, an LLM) runs on a thread of its own with its connection suspended
   * (request.c), and a stream waits suspended (stream.c). So an idle connection costs a socket and its
   * buffer, not a thread, and thousands of them do not starve the clients that talk. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  h->d = MHD_start_daemon(flags, (uint16_t)s->p.port, NULL, NULL, ar_srv_on_request, s,
                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,   /* first, so every message goes through it */
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)AR_SRV_POLL_THREADS,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->p.max_per_ip,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.timeout_s,
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                          MHD_OPTION_LISTEN_BACKLOG_SIZE, 511u,
                          MHD_OPTION_NOTIFY_COMPLETED, ar_srv_on_completed, s,
                          MHD_OPTION_END);
  if (!h->d) {
    st = ar_fail(err, AR_ERR_IO, "cannot listen on %s:%d: %s", s->p.host, s->p.port,
                 errno ? strerror(errno) : "address in use or not available");
    goto fail;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  int port = di ? di->port : s->p.port;
  int ipv6 = addr.ss_family == AF_INET6;
  if (s->banner)
    ar_srv_log(s, "listening on http://%s%s%s:%d/ (%s)", ipv6 ? "[" : "", s->p.host, ipv6 ? "]" : "", port, s->banner);
  else
    ar_srv_log(s, "listening on http://%s%s%s:%d/ (index %s, %d workers, %s, %s answers)", ipv6 ? "[" : "",
               s->p.host, ipv6 ? "]" : "", port, s->index_path, s->p.threads,
               s->has_emb ? "lexical+dense" : "lexical only",
               s->p.ask.llm.base_url && *s->p.ask.llm.base_url ? "LLM" : "extractive");
  *out = h;
  return AR_OK;
fail:
  h->borrowed = 1;   /* the caller frees s (ar_server_start: below) */
  server_free(h);
  return st;
}

ar_status ar_server_start(const char *index_path, const ar_server_params *params, ar_server **out, ar_error *err) {
  *out = NULL;
  ar_server_params defaults = ar_server_default_params();
  ar_srv *s = ar_calloc(1, sizeof *s);
  if (!s) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  s->index_path = index_path;
  s->p = params ? *params : defaults;
  ar_status st = start(s, 0, out, err);
  if (st) ar_free(s);
  return st;
}

void ar_server_stop(ar_server *h) {
  if (h) h->stop = 1;
}

/* Serves until stopped (ar_server_stop, or *stop non-zero), then drains and frees the server. */
static ar_status serve(ar_server *h, volatile int *stop) {
  ar_srv *s = h->s;
  while (!h->stop && !(stop && *stop)) {
    sleep_ms(50);
    ar_srv_streams_tick(s);
  }
  /* Drain: stop accepting, let requests in flight (streams included) finish, then close. */
  ar_srv_log(s, "shutting down: %d request(s) in flight", atomic_load(&s->active));
  MHD_socket lfd = MHD_quiesce_daemon(h->d);
  if (lfd != MHD_INVALID_SOCKET) close(lfd);
  double t0 = ar_now_s();
  while ((atomic_load(&s->active) > 0 || atomic_load(&s->producers) > 0) && ar_now_s() - t0 < s->p.drain_s) {
    sleep_ms(20);
    ar_srv_streams_tick(s);
  }
  if (atomic_load(&s->producers) == 0) {
    MHD_stop_daemon(h->d);
    h->d = NULL;
  } else {
    ar_srv_log(s, "%d request(s) still running after %d s: not waiting for them", atomic_load(&s->producers),
               s->p.drain_s);
  }
  /* A streaming thread outlives its response by a few instructions; wait for it to let go. */
  while (atomic_load(&s->producers) > 0 && ar_now_s() - t0 < s->p.drain_s + 5.0) sleep_ms(10);
  ar_srv_log(s, "stopped after %ld request(s)", atomic_load(&s->served));
  server_free(h);
  return AR_OK;
}

ar_status ar_server_wait(ar_server *h) { return serve(h, NULL); }

ar_status ar_server_run(const char *index_path, const ar_server_params *params, volatile int *stop,
                        ar_error *err) {
  ar_server *h;
  ar_status st = ar_server_start(index_path, params, &h, err);
  return st ? st : serve(h, stop);
}

/* The annotation page (src/annotate/): its own s with a route table, served like the student page. */
ar_status ar_srv_serve(ar_srv *s, volatile int *stop, ar_error *err) {
  ar_server *h;
  ar_status st = start(s, 1, &h, err);
  return st ? st : serve(h, stop);
}
