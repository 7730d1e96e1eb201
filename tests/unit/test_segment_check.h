/* test_segment_check.h - the segmenter's invariants, checked by several unit tests. */
#ifndef AR_TEST_SEGMENT_CHECK_H
#define AR_TEST_SEGMENT_CHECK_H
#include "aularag.h"
#include <stdio.h>
#include <string.h>

/* Checks segments made from cues that were not split (every cue fits the cap):
 * coverage (contiguous cue ranges from 0 to the last cue, each cue's text inside its segments),
 * start/end = first cue's start / last cue's end, text = cues joined by one space, starts strictly
 * increasing and every segment reaching past the previous one, span <= window unless one cue, time
 * overlap <= overlap_s, and the overlap as large as cue starts allowed (the cue before the next
 * segment's first cue starts too early) unless the no-zero-progress rule moved it.
 * Returns NULL when all hold, else a description of the first violation (static buffer).
 * *near counts overlaps that are as close to overlap_s as cue starts allow. */
static const char *check_unsplit_segments(const ar_cues *c, const ar_segments *s, const ar_segment_params *p,
                                          size_t *near) {
  static char msg[512];
  size_t covered = 0;   /* cues [0, covered) are in some segment */
  *near = 0;
  if (c->n == 0) return s->n == 0 ? NULL : "segments from no cues";
  if (s->n == 0) return "no segments";
  for (size_t i = 0; i < s->n; i++) {
    const ar_segment *g = &s->v[i];
    size_t b = g->first_cue, e = b + g->n_cues - 1;
    if (g->n_cues == 0 || e >= c->n) { snprintf(msg, sizeof msg, "segment %zu: bad cue range", i); return msg; }
    if (b > covered) { snprintf(msg, sizeof msg, "segment %zu: cue %zu is in no segment", i, covered); return msg; }
    if (e + 1 <= covered) { snprintf(msg, sizeof msg, "segment %zu: adds no new cue", i); return msg; }
    covered = e + 1;
    if (g->start_s != c->v[b].start_s || g->end_s != c->v[e].end_s) {
      snprintf(msg, sizeof msg, "segment %zu: times %.3f-%.3f are not its cues' %.3f-%.3f", i, g->start_s, g->end_s,
               c->v[b].start_s, c->v[e].end_s);
      return msg;
    }
    if (g->end_s < g->start_s) { snprintf(msg, sizeof msg, "segment %zu: end before start", i); return msg; }
    if (g->n_cues > 1 && g->end_s - g->start_s > p->window_s + 1e-9) {
      snprintf(msg, sizeof msg, "segment %zu: spans %.3f s > window %.1f", i, g->end_s - g->start_s, p->window_s);
      return msg;
    }
    /* text: the cues joined by one space, so each cue's text is found in it */
    const char *t = g->text;
    for (size_t k = b; k <= e; k++) {
      size_t l = strlen(c->v[k].text);
      if (strncmp(t, c->v[k].text, l) != 0) {
        snprintf(msg, sizeof msg, "segment %zu: cue %zu's text not found in place", i, k);
        return msg;
      }
      t += l;
      if (k < e) {
        if (*t != ' ') { snprintf(msg, sizeof msg, "segment %zu: cues not joined by one space", i); return msg; }
        t++;
      }
    }
    if (*t) { snprintf(msg, sizeof msg, "segment %zu: text has extra bytes", i); return msg; }
    if (i > 0) {
      const ar_segment *a = &s->v[i - 1];
      if (!(g->start_s > a->start_s) && g->first_cue <= a->first_cue) {
        snprintf(msg, sizeof msg, "segment %zu: does not start after segment %zu", i, i - 1);
        return msg;
      }
      double target = a->end_s - p->overlap_s;
      if (g->start_s < target - 1e-9 && g->first_cue <= a->first_cue + a->n_cues - 1) {
        snprintf(msg, sizeof msg, "segments %zu/%zu: overlap %.3f s > %.1f", i - 1, i, a->end_s - g->start_s, p->overlap_s);
        return msg;
      }
      /* as close as cues allow: the cue just before this segment starts before the target */
      if (g->first_cue == a->first_cue + 1 || c->v[g->first_cue - 1].start_s < target) (*near)++;
    }
  }
  if (covered != c->n) { snprintf(msg, sizeof msg, "cues from %zu on are in no segment", covered); return msg; }
  return NULL;
}
#endif
