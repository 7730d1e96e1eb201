/* format.c - number, time and link formatting shared by the CLI, reports and the server. */
#include "core/util.h"
#include <math.h>

void ar_format_hms(double seconds, char out[16]) {
  if (!(seconds >= 0)) seconds = 0;
  long long t = (long long)floor(seconds);
  snprintf(out, 16, "%02lld:%02lld:%02lld", t / 3600 % 1000, t / 60 % 60, t % 60);
}

void ar_format_double(double v, char out[32]) {
  if (!isfinite(v)) { snprintf(out, 32, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
  /* Shortest round-trip form. If any representation of <= 15 digits round-trips, %.15g finds it
   * (%g drops trailing zeros, and a double is within 2^-53 relative of that decimal); otherwise
   * 16, then 17 digits, which always round-trip. */
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, 32, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return;
  }
}

void ar_format_real(double v, char out[32]) {
  ar_format_double(v, out);
  if (isfinite(v) && !strpbrk(out, ".eE")) strcat(out, ".0");
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

char *ar_one_line(const char *s) {
  if (!s) return ar_strdup("");
  size_t n = strlen(s), k = 0, i = 0;
  char *r = ar_malloc(n + 1);   /* one pass, no growth: every segment's text goes through here */
  if (!r) return NULL;
  for (size_t j = 0; j < n; j++)
    if (s[j] != '\r') r[k++] = s[j] == '\n' ? ' ' : s[j];
  while (i < k && (r[i] == ' ' || r[i] == '\t')) i++;
  while (k > i && (r[k - 1] == ' ' || r[k - 1] == '\t')) k--;
  memmove(r, r + i, k - i);
  r[k - i] = 0;
  return r;
}
