/* fuzz_transcript.c - every transcript format (first byte picks VTT, SRT, Whisper JSON, YouTube JSON or
 * sniffing; the encoding detection runs first) and the segmenter over whatever cues come out. */
#include "fuzz.h"
#include "aularag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size) return 0;
  static const char *names[] = {"f.vtt", "f.srt", "f.json", "f.json", "f"};
  static const ar_format fmts[] = {AR_FORMAT_VTT, AR_FORMAT_SRT, AR_FORMAT_WHISPER_JSON, AR_FORMAT_YOUTUBE_JSON,
                                   AR_FORMAT_AUTO};
  unsigned k = data[0] % 5;
  ar_cues cues;
  ar_error err;
  if (ar_transcript_parse(names[k], (const char *)data + 1, size - 1, fmts[k], &cues, &err) != AR_OK) return 0;
  ar_segment_params p = ar_segment_default_params();
  p.window_s = 1 + data[0] % 7 * 20;
  p.overlap_s = p.window_s / 4;
  p.max_units = 1 + data[0] % 50;
  ar_segments segs;
  if (ar_segment_cues(&cues, &p, &segs, &err) == AR_OK) ar_segments_free(&segs);
  ar_cues_free(&cues);
  return 0;
}
