/* segments.c - the retrieved-segments block of the report format, for the CLI and report.md. */
#include "present/present.h"
#include <math.h>

const char *ar_results_heading(ar_search_mode m) {
  switch (m) {
  case AR_MODE_LEXICAL: return "**Segmentos recuperados (BM25)**:";
  case AR_MODE_HYBRID: return "**Segmentos recuperados (híbrido: E5 + BM25)**:";
  default: return "**Segmentos recuperados pelo E5**:";
  }
}

/* Segment text is one line already, almost always: then it is printed as it is (no copy). */
static int is_one_line(const char *t) {
  size_t n = strlen(t);
  return !strpbrk(t, "\r\n") && !(n && (t[0] == ' ' || t[0] == '\t' || t[n - 1] == ' ' || t[n - 1] == '\t'));
}

void ar_present_segments(ar_buf *b, const ar_hit *hits, size_t n, ar_search_mode mode, const ar_present_opts *o) {
  for (size_t i = 0; i < n; i++) {
    const ar_hit *h = &hits[i];
    char score[40], s_hms[16], e_hms[16];
    /* hybrid: the format's Score is the E5 cosine, so show it (the RRF score is in the JSON) */
    ar_format_real(mode == AR_MODE_HYBRID && !isnan(h->dense_score) ? h->dense_score : h->score, score);
    ar_format_hms(h->start_s, s_hms);
    ar_format_hms(h->end_s, e_hms);
    const char *url = h->url ? h->url : "";
    char *link = !o->hide_urls && o->deep_links && *url ? ar_deep_link(url, h->start_s) : NULL;
    const char *t = h->text ? h->text : "";
    char *copy = is_one_line(t) ? NULL : ar_one_line(t);
    const char *text = copy ? copy : t;
    const char *shown = o->hide_urls ? AR_PRESENT_HIDDEN_URL : link ? link : o->deep_links ? "" : *url ? url : "(sem URL)";
    if ((!o->hide_urls && o->deep_links && *url && !link) || (!copy && !is_one_line(t))) b->oom = 1;
    else
      ar_buf_printf(b, "%s- *Corpus ID:* %lld\n- *Score:* %s\n- *URL:* %s\n- *Início:* %s\n- *Fim:* %s\n"
                    "- *Transcrição:* %s\n",
                    i ? "\n" : "", (long long)h->corpus_id, score, shown, s_hms, e_hms, text);
    ar_free(link);
    ar_free(copy);
  }
}

char *ar_results_to_text(const ar_results *r, int hide_urls) {
  ar_buf b = {0};
  ar_present_opts o = {hide_urls, 1};
  ar_present_segments(&b, r->hits, r->n, r->mode, &o);
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);  /* "" when there are no hits; NULL only when out of memory */
}
