/* assets.c - GET of the embedded page files; nothing on disk is ever served (no path traversal). */
#include "server/server.h"
#include "server/assets.h"

static const char *content_type(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return "application/octet-stream";
  if (!strcmp(dot, ".html")) return "text/html; charset=utf-8";
  if (!strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
  if (!strcmp(dot, ".css")) return "text/css; charset=utf-8";
  if (!strcmp(dot, ".svg")) return "image/svg+xml";
  if (!strcmp(dot, ".json") || !strcmp(dot, ".webmanifest")) return "application/json";
  return "application/octet-stream";
}

enum MHD_Result ar_srv_static(ar_srv *s, struct MHD_Connection *c, const char *url) {
  /* The URL is only ever compared with the table's names: "/../x" or "/%2e%2e/x" match nothing. */
  const char *name = !strcmp(url, "/") ? "index.html" : url + 1;
  const ar_web_asset *tab = s->assets ? s->assets : ar_web_assets;
  size_t n = s->assets ? s->n_assets : ar_web_n_assets;
  for (size_t i = 0; i < n; i++) {
    const ar_web_asset *a = &tab[i];
    if (url[0] != '/' || strcmp(a->name, name)) continue;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", content_type(a->name));
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    ar_srv_add_common_headers(r);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
  }
  return ar_srv_send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}
