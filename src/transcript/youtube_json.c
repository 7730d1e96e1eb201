/* youtube_json.c - YouTube transcript JSON (youtube-transcript-api): [{"text","start","duration"}...].
 * Older versions of that tool left HTML entities (&#39;) in the text, so entities are decoded. */
#include "transcript/tr_internal.h"
#include <math.h>

ar_status tr_parse_youtube_json(tr_draft *d, json_t *root, ar_error *err) {
  if (!json_is_array(root))
    return ar_fail(err, AR_ERR_PARSE, "%s: expected YouTube transcript JSON: an array of {\"text\",\"start\",\"duration\"}",
                   d->name);
  size_t i;
  json_t *e;
  json_array_foreach(root, i, e) {
    if (!json_is_object(e)) return ar_fail(err, AR_ERR_PARSE, "%s: [%zu]: expected an object", d->name, i);
    json_t *t = json_object_get(e, "text"), *s = json_object_get(e, "start"), *du = json_object_get(e, "duration");
    if (!json_is_string(t)) return ar_fail(err, AR_ERR_PARSE, "%s: [%zu]: expected \"text\" as a string", d->name, i);
    double a = json_is_number(s) ? json_number_value(s) : NAN, b = json_is_number(du) ? json_number_value(du) : NAN;
    if (!isfinite(a) || a < 0)
      return ar_fail(err, AR_ERR_PARSE, "%s: [%zu]: expected \"start\" as a number of seconds >= 0", d->name, i);
    if (!isfinite(b) || b < 0 || !isfinite(a + b))
      return ar_fail(err, AR_ERR_PARSE, "%s: [%zu]: expected \"duration\" as a number of seconds >= 0", d->name, i);
    ar_status st = tr_draft_add(d, a, a + b, 0, json_string_value(t), json_string_length(t), TR_ENTITIES, err);
    if (st) return st;
  }
  return AR_OK;
}
