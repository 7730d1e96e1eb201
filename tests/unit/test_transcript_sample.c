/* test_transcript_sample.c - the sample course loads through the manifest, parses and segments. */
#include "test.h"
#include "core/util.h"

TEST(sample_course_manifest_parse_segment) {
  const char *root = getenv("AULARAG_ROOT");
  char path[1024];
  snprintf(path, sizeof path, "%s/samples/course/manifest.csv", root && *root ? root : ".");
  ar_manifest m;
  ar_error e;
  ASSERT_MSG(ar_manifest_load(path, &m, &e) == AR_OK, "%s", e.msg);
  ASSERT_EQ_INT(m.n, 4);
  /* cue counts as written by the course's generator (each cue one sentence or two) */
  const size_t want_cues[4] = {35, 27, 27, 19};
  int visible_found = 0;
  for (size_t i = 0; i < m.n; i++) {
    ASSERT_MSG(m.rows[i].real != NULL, "%s missing", m.rows[i].path);
    ar_cues c;
    ASSERT_MSG(ar_transcript_load(m.rows[i].path, &c, &e) == AR_OK, "%s", e.msg);
    ASSERT_EQ_INT(c.n, want_cues[i]);
    ASSERT(ar_manifest_find(&m, m.rows[i].real) == &m.rows[i]);
    ar_segments s;
    ASSERT_EQ_INT(ar_segment_cues(&c, NULL, &s, &e), AR_OK);
    ASSERT_MSG(s.n >= 2 && s.n <= 5, "%zu segments", s.n);
    for (size_t k = 0; k < s.n; k++)
      if (strstr(s.v[k].text, "Para saber quais são os dispositivos visíveis para o TensorFlow, a gente usa "
                              "tf.config.get_visible_devices."))
        visible_found += strcmp(m.rows[i].video_id, "aula01-dispositivos") == 0;
    ar_segments_free(&s);
    ar_cues_free(&c);
  }
  ASSERT_MSG(visible_found >= 1, "the visible-devices sentence is not in an aula01 segment");
  ASSERT_STREQ(m.rows[0].title, "Aula 1 — Dispositivos no TensorFlow: CPUs, GPUs e posicionamento");
  ar_manifest_free(&m);
}
