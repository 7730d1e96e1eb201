/* results_json.c - search results as product.md's JSON object and as the seed's text block. */
#include "index/index.h"
#include "core/util.h"
#include <jansson.h>
#include <math.h>

void ar_format_double(double v, char out[32]) {
  if (!isfinite(v)) { snprintf(out, 32, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); return; }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, 32, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return;
  }
}

static int set_new(json_t *o, const char *k, json_t *v) { return v ? json_object_set_new(o, k, v) : -1; }

/* A JSON string even from bytes that are not valid UTF-8 (each bad byte becomes U+FFFD): a
 * transcript with stray Latin-1 must not make the whole result unprintable. */
static json_t *jstr(const char *s) {
  if (!s) s = "";
  json_t *j = json_string(s);
  if (j) return j;
  ar_buf b = {0};
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    if (l > 0) { ar_buf_append(&b, s + i, (size_t)l); i += (size_t)l; }
    else { ar_buf_puts(&b, "\xEF\xBF\xBD"); i++; }
  }
  j = b.oom ? NULL : json_string(b.p ? b.p : "");
  ar_buf_free(&b);
  return j;
}

char *ar_results_to_json(const ar_results *r, int hide_urls) {
  json_t *root = json_object(), *segs = json_array();
  int bad = !root || !segs;
  if (!bad) {
    bad |= set_new(root, "query", jstr(r->query));
    bad |= set_new(root, "mode", json_string(ar_search_mode_name(r->mode)));
  }
  for (size_t i = 0; i < r->n && !bad; i++) {
    const ar_hit *h = &r->hits[i];
    json_t *o = json_object();
    char s_hms[16], e_hms[16];
    ar_format_hms(h->start_s, s_hms);
    ar_format_hms(h->end_s, e_hms);
    char *link = hide_urls ? NULL : ar_deep_link(h->url ? h->url : "", h->start_s);
    if (!o || (!hide_urls && !link)) { json_decref(o); ar_free(link); bad = 1; break; }
    bad |= set_new(o, "rank", json_integer(h->rank));
    bad |= set_new(o, "corpus_id", json_integer(h->corpus_id));
    bad |= set_new(o, "score", json_real(h->score));
    if (!isnan(h->lexical_score)) {
      bad |= set_new(o, "lexical_score", json_real(h->lexical_score));
      bad |= set_new(o, "lexical_rank", json_integer(h->lexical_rank));
    }
    if (!isnan(h->dense_score)) {
      bad |= set_new(o, "dense_score", json_real(h->dense_score));
      bad |= set_new(o, "dense_rank", json_integer(h->dense_rank));
    }
    bad |= set_new(o, "video_id", jstr(h->video_id));
    bad |= set_new(o, "title", jstr(h->title));
    /* hidden URLs are null (the seed prints "oculto"), so no client can leak them by accident */
    bad |= set_new(o, "url", hide_urls ? json_null() : jstr(h->url));
    bad |= set_new(o, "start", json_real(h->start_s));
    bad |= set_new(o, "end", json_real(h->end_s));
    bad |= set_new(o, "start_hms", json_string(s_hms));
    bad |= set_new(o, "end_hms", json_string(e_hms));
    bad |= set_new(o, "text", jstr(h->text));
    bad |= set_new(o, "link", hide_urls ? json_null() : jstr(link));
    ar_free(link);
    bad |= json_array_append_new(segs, o);
  }
  if (!bad) {
    bad |= json_object_set(root, "segments", segs);
  }
  json_decref(segs);
  char *s = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
  json_decref(root);
  if (!s) return NULL;
  /* jansson allocates with malloc; hand back an ar_malloc'd copy so callers use ar_free/free alike */
  char *r2 = ar_strdup(s);
  free(s);
  return r2;
}

char *ar_results_to_text(const ar_results *r, int hide_urls) {
  ar_buf b = {0};
  for (size_t i = 0; i < r->n; i++) {
    const ar_hit *h = &r->hits[i];
    char score[32], s_hms[16], e_hms[16];
    /* hybrid: the seed's Score is the E5 cosine, so show it (the RRF score is in the JSON) */
    ar_format_double(r->mode == AR_MODE_HYBRID && !isnan(h->dense_score) ? h->dense_score : h->score, score);
    ar_format_hms(h->start_s, s_hms);
    ar_format_hms(h->end_s, e_hms);
    char *link = hide_urls ? NULL : ar_deep_link(h->url ? h->url : "", h->start_s);
    if (!hide_urls && !link) { ar_buf_free(&b); return NULL; }
    ar_buf_printf(&b, "%s- *Corpus ID:* %lld\n- *Score:* %s\n- *URL:* %s\n- *Início:* %s\n- *Fim:* %s\n"
                  "- *Transcrição:* %s\n",
                  i ? "\n" : "", (long long)h->corpus_id, score, hide_urls ? "oculto" : link, s_hms, e_hms,
                  h->text ? h->text : "");
    ar_free(link);
  }
  if (b.oom || ar_buf_reserve(&b, 1)) { ar_buf_free(&b); return NULL; }
  b.p[b.n] = 0;  /* ar_buf_reserve does not terminate a fresh buffer (no hits) */
  return ar_buf_steal(&b);
}
