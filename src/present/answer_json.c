/* answer_json.c - the ask JSON object: the search object plus answer, answer_kind, references. */
#include "present/present.h"
#include <jansson.h>

static json_t *ref_json(const ar_reference *r, int hide_urls) {
  char s_hms[16], e_hms[16];
  ar_format_hms(r->start_s, s_hms);
  ar_format_hms(r->end_s, e_hms);
  /* hidden URLs are null, as in the search object */
  return json_pack("{s:s, s:s, s:o, s:f, s:f, s:s, s:s, s:o}", "video_id", r->video_id, "title", r->title, "url",
                   hide_urls ? json_null() : json_string(r->url), "start", r->start_s, "end", r->end_s, "start_hms",
                   s_hms, "end_hms", e_hms, "link", hide_urls ? json_null() : json_string(r->link));
}

char *ar_answer_to_json(const ar_answer *a, int hide_urls) {
  char *search = ar_results_to_json(&a->results, hide_urls);
  if (!search) return NULL;
  json_t *o = json_loads(search, 0, NULL), *refs = json_array();
  ar_free(search);
  int bad = !o || !refs;
  for (size_t i = 0; i < a->n_refs && !bad; i++) {
    json_t *r = ref_json(&a->refs[i], hide_urls);
    bad = !r || json_array_append_new(refs, r);
  }
  if (!bad) {
    bad |= json_object_set_new(o, "answer", json_string(a->text ? a->text : ""));
    bad |= json_object_set_new(o, "answer_kind", json_string(a->extractive ? "extractive" : "llm"));
    bad |= json_object_set(o, "references", refs);
    if (!a->extractive) {
      json_t *l = json_pack("{s:b, s:i, s:f}", "cached", a->llm.cached, "attempts", a->llm.attempts, "latency_ms",
                            a->llm.latency_ms);
      if (l && a->llm.prompt_tokens >= 0) json_object_set_new(l, "prompt_tokens", json_integer(a->llm.prompt_tokens));
      if (l && a->llm.completion_tokens >= 0)
        json_object_set_new(l, "completion_tokens", json_integer(a->llm.completion_tokens));
      bad |= !l || json_object_set_new(o, "llm", l);
    }
  }
  json_decref(refs);
  char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
  json_decref(o);
  if (!s) return NULL;
  char *r = ar_strdup(s);
  free(s);
  return r;
}
