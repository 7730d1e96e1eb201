/* reply.c - a /v1/audio/transcriptions verbose_json reply -> checked, chunk-relative segments. */
#include "asr/asr.h"
#include <jansson.h>
#include <math.h>

int ar_asr_segs_add(ar_asr_segs *s, double start, double end, const char *text, size_t n) {
  if (s->n == s->cap) {
    int nc = s->cap ? s->cap * 2 : 16;
    ar_asr_seg *nv = ar_realloc(s->v, (size_t)nc * sizeof *nv);
    if (!nv) return -1;
    s->v = nv;
    s->cap = nc;
  }
  char *t = ar_strndup(text, n);
  if (!t) return -1;
  s->v[s->n++] = (ar_asr_seg){start, end, t};
  return 0;
}

void ar_asr_segs_free(ar_asr_segs *s) {
  for (int i = 0; i < s->n; i++) ar_free(s->v[i].text);
  ar_free(s->v);
  memset(s, 0, sizeof *s);
}

static void snippet(const char *body, size_t len, char out[120]) {
  size_t k = ar_utf8_clip(body, AR_MIN(len, (size_t)100));
  snprintf(out, 120, "%.*s%s", (int)k, body, k < len ? "..." : "");
  for (char *q = out; *q; q++) if (*q == '\n' || *q == '\r') *q = ' ';
}

/* Whisper's texts start with a space and may end with one: trimmed, since cues are joined later */
static const char *trim(const char *s, size_t *n) {
  while (*n && (unsigned char)*s <= ' ') { s++; (*n)--; }
  while (*n && (unsigned char)s[*n - 1] <= ' ') (*n)--;
  return s;
}

static int get_time(json_t *seg, const char *key, double *out) {
  json_t *v = json_object_get(seg, key);
  if (!json_is_number(v)) return -1;
  double x = json_number_value(v);
  if (!isfinite(x) || x < 0) return -1;
  *out = x;
  return 0;
}

static ar_status add(ar_asr_segs *out, double a, double b, const char *text, size_t n, ar_error *err) {
  const char *t = trim(text, &n);
  if (!n) return AR_OK;
  return ar_asr_segs_add(out, a, b, t, n) ? ar_fail(err, AR_ERR_NOMEM, "out of memory") : AR_OK;
}

ar_status ar_asr_parse_reply(const char *body, size_t len, double chunk_s, ar_asr_segs *out, int *no_segments,
                             const char *where, ar_error *err) {
  memset(out, 0, sizeof *out);
  *no_segments = 0;
  char snip[120];
  json_error_t je;
  json_t *o = json_loadb(body, len, 0, &je);
  if (!o) {
    snippet(body, len, snip);
    return ar_fail(err, AR_ERR_PARSE, "%s: reply is not valid JSON (byte %d: %s): %s", where, je.position, je.text,
                   snip);
  }
  ar_status st = AR_OK;
  json_t *segs = json_object_get(o, "segments"), *text = json_object_get(o, "text");
  if (!json_is_object(o)) {
    snippet(body, len, snip);
    st = ar_fail(err, AR_ERR_PARSE, "%s: reply is not a JSON object: %s", where, snip);
  } else if (!segs || json_is_null(segs)) {
    /* Decision: a plain {"text"} reply keeps its words, timed as the whole chunk (the caller warns) */
    if (!json_is_string(text)) {
      snippet(body, len, snip);
      st = ar_fail(err, AR_ERR_PARSE, "%s: reply has neither \"segments\" nor \"text\": %s", where, snip);
    } else {
      *no_segments = 1;
      st = add(out, 0, chunk_s, json_string_value(text), json_string_length(text), err);
    }
  } else if (!json_is_array(segs)) {
    st = ar_fail(err, AR_ERR_PARSE, "%s: reply's \"segments\" is not an array", where);
  } else {
    size_t i;
    json_t *seg;
    json_array_foreach(segs, i, seg) {
      double a = 0, b = 0;
      json_t *t = json_object_get(seg, "text");
      if (!json_is_object(seg)) st = ar_fail(err, AR_ERR_PARSE, "%s: segments[%zu] is not an object", where, i);
      else if (get_time(seg, "start", &a) || get_time(seg, "end", &b))
        st = ar_fail(err, AR_ERR_PARSE, "%s: segments[%zu]: expected \"start\" and \"end\" as numbers of seconds >= 0",
                     where, i);
      else if (b < a)
        st = ar_fail(err, AR_ERR_PARSE, "%s: segments[%zu] ends (%.3f s) before it starts (%.3f s)", where, i, b, a);
      else if (!json_is_string(t))
        st = ar_fail(err, AR_ERR_PARSE, "%s: segments[%zu]: expected \"text\" as a string", where, i);
      if (st) break;
      /* a model may time its last words a little past the audio it was given: those stay in this chunk */
      a = AR_MIN(a, chunk_s);
      b = AR_MIN(b, chunk_s);
      if ((st = add(out, a, b, json_string_value(t), json_string_length(t), err))) break;
    }
  }
  json_decref(o);
  if (st) ar_asr_segs_free(out);
  return st;
}
