/* format.c - time and link formatting shared by the CLI, reports and the server. */
#include "core/util.h"
#include <math.h>

void ar_format_hms(double seconds, char out[16]) {
  if (!(seconds >= 0)) seconds = 0;
  long long t = (long long)floor(seconds);
  snprintf(out, 16, "%02lld:%02lld:%02lld", t / 3600 % 1000, t / 60 % 60, t % 60);
}

static int is_youtube(const char *url) {
  return strstr(url, "youtube.com/") || strstr(url, "youtu.be/") || strstr(url, "youtube-nocookie.com/");
}

char *ar_deep_link(const char *url, double start_s) {
  if (!url || !*url) return ar_strdup("");
  long long t = start_s > 0 ? (long long)floor(start_s) : 0;
  ar_buf b = {0};
  size_t n = strlen(url);
  const char *hash = strchr(url, '#');
  size_t base = hash ? (size_t)(hash - url) : n;
  if (is_youtube(url)) {
    /* drop an existing t= parameter so links do not carry two */
    ar_buf u = {0};
    const char *q = memchr(url, '?', base);
    if (q) {
      ar_buf_append(&u, url, (size_t)(q - url));
      const char *p = q + 1, *end = url + base;
      int first = 1;
      while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (!(e - p >= 2 && p[0] == 't' && p[1] == '=')) {
          ar_buf_append(&u, first ? "?" : "&", 1);
          ar_buf_append(&u, p, (size_t)(e - p));
          first = 0;
        }
        p = amp ? amp + 1 : end;
      }
      ar_buf_printf(&u, "%st=%lld", first ? "?" : "&", t);
    } else {
      ar_buf_append(&u, url, base);
      ar_buf_printf(&u, "?t=%lld", t);
    }
    char *r = ar_buf_steal(&u);
    ar_buf_free(&b);
    return r;
  }
  ar_buf_append(&b, url, base);
  ar_buf_printf(&b, "#t=%lld", t);
  return ar_buf_steal(&b);
}
