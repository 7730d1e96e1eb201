/* results_json.c - search results as product.md's JSON object (the server, the page, --json). */
#include "present/present.h"
#include <math.h>

/* ---- a small JSON writer: search results are built on every request, and a tree library spent
 * as much CPU per query as the search itself ---- */

/* A JSON string even from bytes that are not valid UTF-8 (each bad byte becomes U+FFFD): a
 * transcript with stray Latin-1 must not make the whole result unprintable. */
static void json_str(ar_buf *b, const char *s) {
  if (!s) s = "";
  size_t n = strlen(s), i = 0, run = 0;
  ar_buf_append(b, "\"", 1);
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
    ar_buf_append(b, s + run, i - run);
    if (c >= 0x80) {
      int l = ar_utf8_len((const unsigned char *)s + i, n - i);
      if (l > 0) ar_buf_append(b, s + i, (size_t)l), i += (size_t)l;
      else ar_buf_puts(b, "\xEF\xBF\xBD"), i++;
    } else {
      switch (c) {
      case '"': ar_buf_puts(b, "\\\""); break;
      case '\\': ar_buf_puts(b, "\\\\"); break;
      case '\n': ar_buf_puts(b, "\\n"); break;
      case '\r': ar_buf_puts(b, "\\r"); break;
      case '\t': ar_buf_puts(b, "\\t"); break;
      default: ar_buf_printf(b, "\\u%04x", c);
      }
      i++;
    }
    run = i;
  }
  ar_buf_append(b, s + run, n - run);
  ar_buf_append(b, "\"", 1);
}

/* A JSON number in its shortest round-trip form, always with a fraction or exponent (a real stays
 * a real for typed clients); NaN/Inf, which JSON lacks, become null. */
static void json_real(ar_buf *b, double v) {
  if (!isfinite(v)) { ar_buf_puts(b, "null"); return; }
  char t[32];
  ar_format_real(v, t);
  ar_buf_puts(b, t);
}

static void json_key(ar_buf *b, const char *k) { ar_buf_printf(b, ",\"%s\":", k); }

char *ar_results_to_json(const ar_results *r, int hide_urls) {
  ar_buf b = {0};
  ar_buf_puts(&b, "{\"query\":");
  json_str(&b, r->query);
  ar_buf_printf(&b, ",\"mode\":\"%s\",\"segments\":[", ar_search_mode_name(r->mode));
  for (size_t i = 0; i < r->n; i++) {
    const ar_hit *h = &r->hits[i];
    char s_hms[16], e_hms[16];
    ar_format_hms(h->start_s, s_hms);
    ar_format_hms(h->end_s, e_hms);
    char *link = hide_urls ? NULL : ar_deep_link(h->url ? h->url : "", h->start_s);
    if (!hide_urls && !link) { ar_buf_free(&b); return NULL; }
    ar_buf_printf(&b, "%s{\"rank\":%d,\"corpus_id\":%lld", i ? "," : "", h->rank, (long long)h->corpus_id);
    json_key(&b, "score"); json_real(&b, h->score);
    if (!isnan(h->lexical_score)) {
      json_key(&b, "lexical_score"); json_real(&b, h->lexical_score);
      ar_buf_printf(&b, ",\"lexical_rank\":%d", h->lexical_rank);
    }
    if (!isnan(h->dense_score)) {
      json_key(&b, "dense_score"); json_real(&b, h->dense_score);
      ar_buf_printf(&b, ",\"dense_rank\":%d", h->dense_rank);
    }
    if (h->first_stage_rank > 0) {   /* reranked (issue #15): the cross-encoder's score, the rank before it */
      if (!isnan(h->rerank_score)) { json_key(&b, "rerank_score"); json_real(&b, h->rerank_score); }
      ar_buf_printf(&b, ",\"first_stage_rank\":%d", h->first_stage_rank);
    }
    json_key(&b, "video_id"); json_str(&b, h->video_id);
    json_key(&b, "title"); json_str(&b, h->title);
    /* hidden URLs are null (the text prints "oculto"), so no client can leak them by accident */
    json_key(&b, "url");
    if (hide_urls) ar_buf_puts(&b, "null"); else json_str(&b, h->url);
    json_key(&b, "start"); json_real(&b, h->start_s);
    json_key(&b, "end"); json_real(&b, h->end_s);
    ar_buf_printf(&b, ",\"start_hms\":\"%s\",\"end_hms\":\"%s\"", s_hms, e_hms);
    json_key(&b, "text"); json_str(&b, h->text);
    json_key(&b, "link");
    if (hide_urls) ar_buf_puts(&b, "null"); else json_str(&b, link);
    ar_buf_puts(&b, "}");
    ar_free(link);
  }
  ar_buf_puts(&b, "]}");
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}
