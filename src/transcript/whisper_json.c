/* whisper_json.c - Whisper JSON: {"segments":[{"start","end","text"}...]} (openai-whisper, faster-whisper),
 * and whisper.cpp's -oj output {"transcription":[{"offsets":{"from","to"} (ms),"text"}...]}. */
#include "transcript/tr_internal.h"
#include <math.h>

static int get_seconds(json_t *o, const char *key, double scale, double *out) {
  json_t *v = json_object_get(o, key);
  if (!v || !json_is_number(v)) return -1;
  double x = json_number_value(v) * scale;
  if (!isfinite(x) || x < 0) return -1;
  *out = x;
  return 0;
}

ar_status tr_parse_whisper_json(tr_draft *d, json_t *root, ar_error *err) {
  json_t *segs = json_object_get(root, "segments");
  int cpp = 0;
  if (!segs) { segs = json_object_get(root, "transcription"); cpp = 1; }
  if (!segs || !json_is_array(segs))
    return ar_fail(err, AR_ERR_PARSE, "%s: expected Whisper JSON with a \"segments\" array of {\"start\",\"end\",\"text\"}",
                   d->name);
  const char *arr = cpp ? "transcription" : "segments";
  size_t i;
  json_t *seg;
  json_array_foreach(segs, i, seg) {
    if (!json_is_object(seg))
      return ar_fail(err, AR_ERR_PARSE, "%s: %s[%zu]: expected an object", d->name, arr, i);
    double a, b;
    if (cpp) {
      json_t *off = json_object_get(seg, "offsets");
      if (!json_is_object(off) || get_seconds(off, "from", 1e-3, &a) || get_seconds(off, "to", 1e-3, &b))
        return ar_fail(err, AR_ERR_PARSE, "%s: %s[%zu]: expected \"offsets\": {\"from\": ms, \"to\": ms} (numbers >= 0)",
                       d->name, arr, i);
    } else {
      if (get_seconds(seg, "start", 1, &a))
        return ar_fail(err, AR_ERR_PARSE, "%s: %s[%zu]: expected \"start\" as a number of seconds >= 0", d->name, arr, i);
      if (get_seconds(seg, "end", 1, &b))
        return ar_fail(err, AR_ERR_PARSE, "%s: %s[%zu]: expected \"end\" as a number of seconds >= 0", d->name, arr, i);
    }
    json_t *t = json_object_get(seg, "text");
    if (!json_is_string(t))
      return ar_fail(err, AR_ERR_PARSE, "%s: %s[%zu]: expected \"text\" as a string", d->name, arr, i);
    ar_status st = tr_draft_add(d, a, b, 0, json_string_value(t), json_string_length(t), 0, err);
    if (st) return st;
  }
  return AR_OK;
}
