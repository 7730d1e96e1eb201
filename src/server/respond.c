/* respond.c - responses: JSON bodies, JSON errors, status mapping, security headers, the log line. */
#include "server/server.h"
#include <jansson.h>

void ar_srv_log(const ar_srv *s, const char *fmt, ...) {
  if (!s->p.log) return;
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  s->p.log(line, s->p.user_data);
}

void ar_srv_add_common_headers(struct MHD_Response *r) {
  /* The page loads nothing from elsewhere; only the players are framed or played from their hosts. */
  MHD_add_response_header(r, "Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; media-src * blob:; "
                          "frame-src https://www.youtube-nocookie.com https://www.youtube.com; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "strict-origin-when-cross-origin");
}

enum MHD_Result ar_srv_send(struct MHD_Connection *c, unsigned status, const char *type, char *body) {
  static const char oom[] = "{\"error\": \"out of memory\"}";
  struct MHD_Response *r;
  if (body) {
    r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) free(body);
  } else {
    status = MHD_HTTP_SERVICE_UNAVAILABLE;
    type = "application/json";
    r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
  }
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  ar_srv_add_common_headers(r);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

enum MHD_Result ar_srv_send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
  char msg[1100];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* jansson escapes the message, so quotes or control bytes in it cannot break the JSON. */
  json_t *o = json_pack("{s:s}", "error", msg);
  char *body = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
  json_decref(o);
  return ar_srv_send(c, status, "application/json", body);
}

unsigned ar_srv_status_for(ar_status s) {
  switch (s) {
  case AR_ERR_INVALID: case AR_ERR_PARSE: return MHD_HTTP_BAD_REQUEST;
  case AR_ERR_NOTFOUND: return MHD_HTTP_NOT_FOUND;
  case AR_ERR_HTTP: return MHD_HTTP_BAD_GATEWAY;
  case AR_ERR_TIMEOUT: return MHD_HTTP_GATEWAY_TIMEOUT;
  case AR_ERR_NOMEM: return MHD_HTTP_SERVICE_UNAVAILABLE;
  default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
  }
}
