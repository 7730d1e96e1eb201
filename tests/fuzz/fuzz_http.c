/* fuzz_http.c - raw HTTP requests to the server's API (libmicrohttpd's parser, our routing, query and
 * JSON body handling, errors): ar_server_run serves $AULARAG_FUZZ_INDEX (make fuzz builds one from
 * samples/course) on a loopback port from a thread; each input is sent on a new connection, the write
 * side is closed, and the reply read to its end. Extractive answers: no LLM. */
#include "fuzz.h"
#include "aularag.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

static volatile int port;

static void on_log(const char *line, void *ud) {
  (void)ud;
  const char *p = strstr(line, "listening on http://127.0.0.1:");
  if (p && !port) port = atoi(p + 30);
}

static void *serve(void *arg) {
  ar_server_params p = ar_server_default_params();
  p.port = 0;
  p.threads = 2;
  p.timeout_s = 2;
  p.log = on_log;
  ar_error err;
  if (ar_server_run((const char *)arg, &p, NULL, &err) != AR_OK) {
    fprintf(stderr, "fuzz_http: %s\n", err.msg);
    abort();
  }
  return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static pthread_t th;
  if (!th) {
    const char *ix = getenv("AULARAG_FUZZ_INDEX");
    if (!ix || !*ix) { fprintf(stderr, "fuzz_http: set AULARAG_FUZZ_INDEX to an index (make fuzz does)\n"); abort(); }
    if (pthread_create(&th, NULL, serve, (void *)ix)) abort();
    for (int i = 0; i < 2000 && !port; i++) usleep(5000);
    if (!port) { fprintf(stderr, "fuzz_http: the server did not start\n"); abort(); }
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) abort();
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) abort();
  for (size_t off = 0; off < size;) {
    ssize_t k = send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (k <= 0) break;   /* the server may answer (400, 413) and close before reading everything */
    off += (size_t)k;
  }
  shutdown(fd, SHUT_WR);
  char buf[4096];
  while (recv(fd, buf, sizeof buf, 0) > 0) {}
  close(fd);
  return 0;
}
