/* references.c - which segments an answer cites, and the video moments they become. */
#include "answer/answer.h"
#include <ctype.h>
#include <strings.h>

static int add_cite(int *out, int n, int n_max, int v) {
  if (v < 1 || v > n_max) return n;
  for (int i = 0; i < n; i++) if (out[i] == v) return n;
  out[n] = v;
  return n + 1;
}

int ar_citations(const char *text, int n_max, int *out) {
  int n = 0;
  if (!text || n_max <= 0) return 0;
  for (const char *p = text; (p = strchr(p, '[')) != NULL; p++) {
    const char *q = p + 1;
    /* models sometimes name what they cite: "[Trecho 2]", "[segmentos 1 e 3]" */
    static const char *const words[] = {"trechos ", "trecho ", "segmentos ", "segmento ", "segments ", "segment "};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
      if (!strncasecmp(q, words[w], strlen(words[w]))) { q += strlen(words[w]); break; }
    /* only brackets holding numbers, separators and ranges: "[1]", "[1, 2]", "[2-4]", "[1 e 3]" */
    const char *e = q;
    int ok = 1, digits = 0;
    while (*e && *e != ']' && e - q < 40) {
      if (isdigit((unsigned char)*e)) digits = 1;
      else if (!strchr(",; -e", *e)) { ok = 0; break; }
      e++;
    }
    if (!ok || *e != ']' || !digits) continue;
    for (const char *s = q; s < e;) {
      if (!isdigit((unsigned char)*s)) { s++; continue; }
      long a = strtol(s, (char **)&s, 10), b = a;
      const char *t = s;
      while (t < e && *t == ' ') t++;
      if (t < e && *t == '-') {
        t++;
        while (t < e && *t == ' ') t++;
        if (t < e && isdigit((unsigned char)*t)) { b = strtol(t, (char **)&t, 10); s = t; }
      }
      if (b < a || b - a > 100) b = a;
      for (long v = a; v <= b; v++) n = add_cite(out, n, n_max, (int)v);
    }
  }
  return n;
}

void ar_references_free(ar_reference *refs, size_t n) {
  if (!refs) return;
  for (size_t i = 0; i < n; i++) {
    ar_free(refs[i].video_id); ar_free(refs[i].title); ar_free(refs[i].url); ar_free(refs[i].link);
  }
  ar_free(refs);
}

static const double ADJACENT_S = 1.0;  /* a gap this small is the same moment of the lecture */

static int same_moment(const ar_reference *a, const char *video_id, double s, double e) {
  return !strcmp(a->video_id, video_id) && s <= a->end_s + ADJACENT_S && e >= a->start_s - ADJACENT_S;
}

ar_status ar_references_build(const ar_results *r, const int *idx, int n, ar_reference **out, size_t *n_out,
                              ar_error *err) {
  *out = NULL;
  *n_out = 0;
  if (n <= 0) return AR_OK;
  ar_reference *refs = ar_calloc((size_t)n, sizeof *refs);
  if (!refs) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    if (idx[i] < 0 || (size_t)idx[i] >= r->n) continue;
    const ar_hit *h = &r->hits[idx[i]];
    const char *vid = h->video_id ? h->video_id : "";
    size_t j = 0;
    while (j < k && !same_moment(&refs[j], vid, h->start_s, h->end_s)) j++;
    if (j < k) {
      refs[j].start_s = AR_MIN(refs[j].start_s, h->start_s);
      refs[j].end_s = AR_MAX(refs[j].end_s, h->end_s);
      continue;
    }
    refs[k].video_id = ar_strdup(vid);
    refs[k].title = ar_strdup(h->title ? h->title : "");
    refs[k].url = ar_strdup(h->url ? h->url : "");
    refs[k].start_s = h->start_s;
    refs[k].end_s = h->end_s;
    k++;
    if (!refs[k - 1].video_id || !refs[k - 1].title || !refs[k - 1].url) {
      ar_references_free(refs, k);
      return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    }
  }
  /* A widened moment can now touch another one of its video: merge until nothing changes. */
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t a = 0; a < k && !changed; a++)
      for (size_t b = a + 1; b < k && !changed; b++)
        if (same_moment(&refs[a], refs[b].video_id, refs[b].start_s, refs[b].end_s)) {
          refs[a].start_s = AR_MIN(refs[a].start_s, refs[b].start_s);
          refs[a].end_s = AR_MAX(refs[a].end_s, refs[b].end_s);
          ar_free(refs[b].video_id); ar_free(refs[b].title); ar_free(refs[b].url);
          memmove(&refs[b], &refs[b + 1], (k - b - 1) * sizeof *refs);
          k--;
          changed = 1;
        }
  }
  for (size_t i = 0; i < k; i++) {
    refs[i].link = ar_deep_link(refs[i].url, refs[i].start_s);
    if (!refs[i].link) { ar_references_free(refs, k); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  }
  *out = refs;
  *n_out = k;
  return AR_OK;
}
