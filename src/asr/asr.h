/* asr.h - internals of the speech-to-text path (issue #13) shared by src/asr/, src/ingest/media.c,
 * src/ingest/transcribe.c and the tests: the OpenAI-compatible transcription client, its reply
 * parser, ffmpeg as a child process, and the chunk planner. */
#ifndef AR_ASR_H
#define AR_ASR_H
#include "core/util.h"

enum { AR_ASR_RATE = 16000 };  /* the audio every chunk is cut from: 16 kHz mono s16le */
#define AR_ASR_WAV_HEADER 44

/* A time span in seconds (a silence, a chunk). */
typedef struct ar_span { double start, end; } ar_span;

/* One transcribed segment; times in seconds. */
typedef struct ar_asr_seg { double start, end; char *text; } ar_asr_seg;
typedef struct ar_asr_segs { ar_asr_seg *v; int n, cap; } ar_asr_segs;
int ar_asr_segs_add(ar_asr_segs *s, double start, double end, const char *text, size_t n);  /* 0 ok, -1 oom */
void ar_asr_segs_free(ar_asr_segs *s);

/* ---- reply.c ---- */
/* Parses a verbose_json reply for a chunk of chunk_s seconds: "segments": [{"start","end","text"}...],
 * times relative to the chunk, clamped into [0, chunk_s]; blank texts are dropped. A reply that has
 * "text" but no "segments" (a server that ignored verbose_json) gives one segment [0, chunk_s] with
 * that text and *no_segments = 1. Malformed replies are AR_ERR_PARSE naming `where` and the item. */
ar_status ar_asr_parse_reply(const char *body, size_t len, double chunk_s, ar_asr_segs *out, int *no_segments,
                             const char *where, ar_error *err);

/* ---- client.c ---- */
/* "{base}/v1/audio/transcriptions" whether or not base ends in "/v1" (a base already naming
 * .../transcriptions, or whisper.cpp's .../inference, is kept). malloc'd, NULL on OOM. */
char *ar_asr_endpoint(const char *base_url);
typedef struct ar_asr_client ar_asr_client;
ar_status ar_asr_open(const ar_transcribe_params *p, ar_asr_client **out, ar_error *err);
void ar_asr_close(ar_asr_client *c);
/* POSTs one WAV chunk (multipart, verbose_json) and parses the reply into *out (chunk-relative times).
 * Rate limits and server trouble are retried (core/http.c's policy, Retry-After honoured). HTTP 413 is
 * not retried: it fails with *too_large = 1 so the caller can cut the chunk smaller. Thread-safe. */
ar_status ar_asr_transcribe(ar_asr_client *c, const void *wav, size_t len, const char *filename, double chunk_s,
                            ar_asr_segs *out, int *too_large, int *no_segments, ar_error *err);

/* ---- wav (client.c) ---- */
/* The 44-byte header of a 16 kHz mono s16le WAV holding n_bytes of samples. */
void ar_wav_header(unsigned char out[AR_ASR_WAV_HEADER], uint32_t n_bytes);

/* ---- media.c ---- */
/* Runs argv[0] (found on PATH) with argv, no shell; stdout/stderr collected into out/errout (either
 * may be NULL: discarded). *exit_status: the exit code, or 128 + signal. AR_ERR_NOTFOUND when the
 * program is missing, AR_ERR_IO when it cannot be started. */
ar_status ar_child_run(const char *const *argv, ar_buf *out, ar_buf *errout, int *exit_status, ar_error *err);
/* ffprobe: the media's duration (0 when unknown) and whether it has an audio stream. Errors name
 * the file: not media (ffprobe's own words), no audio track. */
ar_status ar_media_probe(const char *ffprobe, const char *path, double *duration_s, ar_error *err);
/* ffmpeg: the first audio stream as raw 16 kHz mono s16le into pcm_path, and the silences
 * (silencedetect at noise_db, at least min_silence_s long) in *sil (malloc'd). */
ar_status ar_media_extract(const char *ffmpeg, const char *path, const char *pcm_path, double noise_db,
                           double min_silence_s, ar_span **sil, int *n_sil, ar_error *err);
/* Parses silencedetect's log lines ("silence_start: X", "silence_end: Y") into spans; a silence still
 * open at the end runs to `duration`. Returns the count, -1 on OOM. */
int ar_media_parse_silences(const char *log, double duration, ar_span **out);
/* Cuts [0, duration) into chunks no longer than max_s, each cut inside a silence where one lies in
 * the second half of the allowed span (the latest such cut), else a hard cut at max_s. *hard: how many
 * cuts fell outside silences. Returns the count (>= 1 when duration > 0), -1 on OOM. */
int ar_asr_plan_chunks(double duration, const ar_span *sil, int n_sil, double max_s, ar_span **out, int *hard);
#endif
