/* aularag.h - the one public header of libaularag: ask the lectures.
 *
 * Basic usage (lexical search over an index; error handling elided):
 *
 *     ar_error err;
 *     ar_index *ix;
 *     ar_index_params ip = ar_index_default_params();
 *     if (ar_index_open("course.db", ip, &ix, &err) != AR_OK) { puts(err.msg); ... }
 *     ar_search_params sp = ar_search_default_params();
 *     ar_results res;
 *     if (ar_search(ix, "Quais são os dispositivos visíveis?", &sp, &res, &err) == AR_OK) {
 *         for (size_t i = 0; i < res.n; i++) printf("%lld %s\n", (long long)res.hits[i].corpus_id, res.hits[i].text);
 *         ar_results_free(&res);
 *     }
 *     ar_index_close(ix);
 *
 * Conventions
 *  - Every function that can fail returns ar_status (AR_OK == 0) and fills the caller's
 *    ar_error (may be NULL) with a message that names the file and line/offset when there is one.
 *    Messages say what is wrong in the library's terms, never a command-line flag (the CLI adds
 *    those). Returning something else: the functions that return a size or a parsed value
 *    (ar_tokenizer_encode/count: llama_tokenize's negative counts, INT_MIN on bad input;
 *    ar_precision_parse: -1), and pointers that are NULL when out of memory, say so where declared.
 *  - Handles are opaque; create/free come in pairs. Params structs are passed by value (or by
 *    const pointer when large) and obtained from *_default_params().
 *  - Thread safety: a handle is used by one thread at a time unless its section says otherwise.
 *  - Times are seconds as double, and field names carry the unit (start_s, timeout_ms).
 *  - Strings are UTF-8. Strings returned inside result structs are owned by the struct and freed
 *    by its *_free function.
 *  - The library never calls exit() and never prints, except through callbacks it is given. It
 *    changes no process-wide state behind the program's back: no signal handlers (see
 *    ar_server_stop), no OpenBLAS threading (see ar_blas_single_thread), no environment writes.
 */
#ifndef AULARAG_H
#define AULARAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define AR_API __attribute__((visibility("default")))
#else
#define AR_API
#endif

#define AR_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------------- */
typedef enum ar_status {
  AR_OK = 0,
  AR_ERR_IO = -1,        /* file missing, unreadable, unwritable */
  AR_ERR_PARSE = -2,     /* malformed input (transcript, manifest, JSON, model file) */
  AR_ERR_NOMEM = -3,
  AR_ERR_INVALID = -4,   /* bad argument or option value (a usage error: CLI exit 2) */
  AR_ERR_DB = -5,        /* SQLite error */
  AR_ERR_MODEL = -6,     /* model files inconsistent or unsupported */
  AR_ERR_HTTP = -7,      /* LLM endpoint unreachable or answered with an error */
  AR_ERR_MISMATCH = -8,  /* e.g. index built with another model */
  AR_ERR_NOTFOUND = -9,
  AR_ERR_ABORTED = -10,  /* a callback asked to stop */
  AR_ERR_TIMEOUT = -11
} ar_status;

typedef struct ar_error {
  ar_status status;
  char msg[1024];        /* human-readable, one line, no trailing newline */
} ar_error;

AR_API const char *ar_strerror(ar_status s);

/* ---------------------------------------------------------------------------------------------
 * Transcripts: .vtt .srt Whisper JSON, YouTube JSON  ->  cues            (src/transcript/)
 * ------------------------------------------------------------------------------------------- */
typedef enum ar_format {
  AR_FORMAT_AUTO = 0,    /* by extension, then by content sniffing */
  AR_FORMAT_VTT,
  AR_FORMAT_SRT,
  AR_FORMAT_WHISPER_JSON,  /* {"segments":[{"start","end","text"}...]} */
  AR_FORMAT_YOUTUBE_JSON   /* [{"text","start","duration"}...] */
} ar_format;

typedef struct ar_cue {
  double start_s, end_s; /* 0 <= start_s <= end_s; starts non-decreasing (see the repairs below) */
  char *text;            /* whitespace-normalised (one space, trimmed), non-empty, valid UTF-8 */
  int line;              /* 1-based line of the cue's timing line in the source (0 for JSON) */
} ar_cue;

typedef struct ar_cues {
  ar_cue *v;
  size_t n, cap;
} ar_cues;

/* Parses a transcript held in memory. `name` is used in error messages (and, for AR_FORMAT_AUTO,
 * its extension). Errors are AR_ERR_PARSE with "NAME:LINE: what was expected" (JSON: NAME:LINE:COL,
 * or NAME: segments[i]: ...). What is cleaned or repaired instead of rejected:
 *  - markup: VTT/SRT tags (<c>, <i>, <v Name>, <00:00:01.000>, {\an8}) stripped, HTML entities
 *    decoded; YouTube auto-captions' rolling repeated lines removed;
 *  - encoding: UTF-8 BOM skipped; UTF-16 with BOM transcoded; a file that is not valid UTF-8 is read
 *    as Windows-1252/Latin-1 and transcoded (if mostly valid UTF-8, only its bad bytes become U+FFFD);
 *    NUL or many control bytes -> "binary data" error naming line and byte offset;
 *  - times: negative -> 0; end before start -> end = start; a start up to 30 s before the previous
 *    cue's start -> clamped to it (file order is spoken order); further back -> error; overlaps kept;
 *  - an empty file, or cues without text, give AR_OK with zero cues (a video with no speech). */
AR_API ar_status ar_transcript_parse(const char *name, const char *data, size_t len, ar_format fmt,
                                     ar_cues *out, ar_error *err);
/* Reads and parses a file (format from extension/content). */
AR_API ar_status ar_transcript_load(const char *path, ar_cues *out, ar_error *err);
AR_API void ar_cues_free(ar_cues *c);
AR_API const char *ar_format_name(ar_format f);

/* ---------------------------------------------------------------------------------------------
 * Manifest: CSV file,video_id,title,url (file relative to the manifest)  (src/transcript/)
 * ------------------------------------------------------------------------------------------- */
/* CSV (RFC 4180 quoting, CRLF, BOM); header required, columns in any order, unknown ones ignored;
 * file and video_id required; title defaults to video_id, url to "". Optional course and
 * course_title: a row's course (empty = none) and that course's title (defaults to the course id).
 * Errors name FILE:LINE (unterminated quote, missing column, wrong field count, empty or duplicate
 * video_id/file, a course_title column without course, a course_title on a row without course,
 * two different titles for one course). */
typedef struct ar_manifest_row {
  char *file;            /* as written in the CSV */
  char *path;            /* resolved: manifest dir + file, normalised */
  char *real;            /* realpath(path) at load time, NULL if the file did not exist */
  char *video_id, *title, *url;
  char *course;          /* NULL when the row has none (no column, or an empty field) */
  char *course_title;    /* NULL when not given (the course keeps its title, or gets its id) */
  int line;              /* 1-based CSV line where the row starts */
} ar_manifest_row;

typedef struct ar_manifest {
  ar_manifest_row *rows;
  size_t n;
} ar_manifest;

AR_API ar_status ar_manifest_load(const char *path, ar_manifest *out, ar_error *err);
/* Row whose resolved path names the same file as `path` (realpath comparison), or NULL. */
AR_API const ar_manifest_row *ar_manifest_find(const ar_manifest *m, const char *path);
AR_API void ar_manifest_free(ar_manifest *m);

/* ---------------------------------------------------------------------------------------------
 * Segmenter: cues -> overlapping windows of whole cues                    (src/segment/)
 * ------------------------------------------------------------------------------------------- */
/* Counts the units the cap is measured in (tokens of the encoder, prefix and specials included).
 * text is NOT NUL-terminated at len (it may point into a longer cue). Negative = failure. */
typedef int (*ar_count_fn)(const char *text, size_t len, void *user_data);

typedef struct ar_segment_params {
  double window_s;       /* target segment length, default 120 */
  double overlap_s;      /* overlap between consecutive segments, default 30 */
  int max_units;         /* hard cap per segment text: words by default (count == NULL), default 350 */
  ar_count_fn count;     /* NULL: count whitespace-separated words */
  void *count_user_data;
} ar_segment_params;

typedef struct ar_segment {
  double start_s, end_s; /* first cue's start, last cue's end */
  char *text;            /* cue texts joined by one space */
  size_t first_cue, n_cues;  /* range in the piece list: the non-blank cues, over-long ones split
                              * (= cue indices for parser output when no cue was split) */
} ar_segment;

typedef struct ar_segments {
  ar_segment *v;
  size_t n, cap;
} ar_segments;

AR_API ar_segment_params ar_segment_default_params(void);
/* A cue longer than the cap on its own is split at word boundaries (times interpolated by
 * character position), so no text is ever dropped or silently truncated downstream.
 * Segments: pieces [b..e] grown while (end of e - start of b) <= window_s and the joined text fits
 * max_units (checked on the joined text when count != NULL); the next segment starts at the first
 * piece after b starting at or after (end of e - overlap_s), so overlap <= overlap_s at cue
 * granularity, and always reaches past e. Cues with blank text are skipped. Invalid params or cue
 * times (end < start, NaN), or a cap that one character exceeds -> AR_ERR_INVALID. */
AR_API ar_status ar_segment_cues(const ar_cues *cues, const ar_segment_params *p, ar_segments *out,
                                 ar_error *err);
AR_API void ar_segments_free(ar_segments *s);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer: XLM-R SentencePiece Unigram (sentencepiece.bpe.model or tokenizer.json)  (src/tokenizer/)
 * Ids are Hugging Face ids (<s>=0 <pad>=1 </s>=2 <unk>=3, spm piece j>=3 -> j+1, <mask>=last).
 * A loaded tokenizer is immutable: safe to share between threads (each call uses its own scratch).
 * tokenizer.json follows Hugging Face tokenizers, the .model file follows sentencepiece (they differ on
 * rare input: README "aularag tokenize"). In both, special-token strings inside the text ("<s>", "</s>",
 * "<unk>", "<pad>", "<mask>") become their ids, as in transformers. Text need not be valid UTF-8 nor
 * NUL-terminated (len is used).
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_tokenizer ar_tokenizer;

enum {
  AR_TOK_ADD_SPECIAL = 1,  /* wrap in <s> ... </s> (the file's post-processor template) */
  AR_TOK_TRUNCATE = 2      /* keep the first n_max ids (with </s> last when ADD_SPECIAL) */
};

/* dir holding tokenizer.json and/or sentencepiece.bpe.model (tokenizer.json preferred: it is what
 * sentence-transformers runs), or a path to either file. Unsupported or corrupt files fail with
 * AR_ERR_MODEL / AR_ERR_PARSE and a message naming the file and the field or byte offset. */
AR_API ar_status ar_tokenizer_load(const char *path, ar_tokenizer **out, ar_error *err);
/* Returns the number of ids written (<= n_max). If they do not fit and AR_TOK_TRUNCATE is not set,
 * returns -(number needed) and writes nothing useful (llama_tokenize's protocol). Returns INT_MIN on
 * out-of-memory or bad arguments (t NULL, text NULL with len > 0, n_max < 0). */
AR_API int ar_tokenizer_encode(const ar_tokenizer *t, const char *text, size_t len, int32_t *ids,
                               int n_max, int flags);
/* Number of ids ar_tokenizer_encode would produce without truncation (INT_MIN as above). Needs no id
 * array, so it is the segmenter's cap (ar_count_fn) through a small wrapper. */
AR_API int ar_tokenizer_count(const ar_tokenizer *t, const char *text, size_t len, int flags);
AR_API int ar_tokenizer_vocab_size(const ar_tokenizer *t);
AR_API void ar_tokenizer_free(ar_tokenizer *t);

/* ---------------------------------------------------------------------------------------------
 * Encoder: multilingual-e5 (bert / xlm-roberta) from a hub directory        (src/model/)
 * Thread-safe once loaded: the weights are immutable and each call to ar_model_embed_ids/_texts takes
 * a scratch state of its own (kept for reuse: one per call that ran at once). The model's thread pool
 * serves one call at a time; a call that finds it busy runs on its calling thread alone, so N threads
 * embedding at once use about max(N, n_threads) threads, not N x n_threads. ar_model_free: no call in
 * flight.
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_model ar_model;

typedef enum ar_gemm_backend {
  AR_GEMM_PACKED = 0,    /* default: our kernel over weights packed once at load (src/model/gemm.c) */
  AR_GEMM_OPENBLAS       /* OpenBLAS sgemm over the weights as stored (the reference; slower here) */
} ar_gemm_backend;

/* The SIMD code of the packed matrix products, chosen once at load: AUTO takes the widest this CPU
 * runs (AVX-512 > AVX2 on x86-64; the portable C kernel elsewhere), or the one named by the
 * environment variable AULARAG_KERNEL (auto|scalar|avx2|avx512). Kernels compute the same model: their
 * vectors may differ in the last bits, never more than the tolerance against the PyTorch reference. */
typedef enum ar_kernel {
  AR_KERNEL_AUTO = 0,
  AR_KERNEL_SCALAR,      /* portable C (the compiler may vectorize it) */
  AR_KERNEL_AVX2,        /* AVX2 + FMA: x86-64-v3, the build's baseline on x86-64 */
  AR_KERNEL_AVX512       /* AVX-512F, where the CPU has it */
} ar_kernel;
typedef enum ar_precision {
  AR_PRECISION_FP32 = 0, /* default: fp32 linear layers */
  AR_PRECISION_INT8      /* linear layers in int8 (weights per output channel, activations per row), int32
                            sums; attention, LayerNorm and GELU stay fp32. Same model, same fingerprint. */
} ar_precision;

typedef struct ar_model_params {
  int n_threads;         /* 0 = all cores. The model runs its own pool of n_threads; OpenBLAS inside
                            it should be single-threaded: see ar_blas_single_thread. */
  int ids_only;          /* load without a tokenizer: only ar_model_embed_ids works (tests, tools) */
  ar_gemm_backend gemm;  /* matrix products of the forward pass (fp32) */
  ar_kernel kernel;      /* SIMD of AR_GEMM_PACKED; one this CPU lacks is an error at load */
  ar_precision precision;
} ar_model_params;

typedef enum ar_embed_kind {
  AR_EMBED_QUERY = 0,    /* prepends "query: " (or the model's query prompt: ar_model_prefix) */
  AR_EMBED_PASSAGE,      /* prepends "passage: " (or the model's passage prompt) */
  AR_EMBED_RAW           /* no prefix */
} ar_embed_kind;

AR_API ar_model_params ar_model_default_params(void);
/* dir: config.json + model.safetensors + tokenizer (see ar_tokenizer_load). */
AR_API ar_status ar_model_load(const char *dir, ar_model_params p, ar_model **out, ar_error *err);
AR_API int ar_model_dim(const ar_model *m);
AR_API int ar_model_max_tokens(const ar_model *m);     /* e5: 512, specials included (the position table's) */
/* The kernel the model runs: "scalar", "avx2" or "avx512" ("openblas" for AR_GEMM_OPENBLAS). */
AR_API const char *ar_model_kernel(const ar_model *m);
/* A stable string identifying the weights: "e5:<model_type>:h<H>:l<L>:a<heads>:f<F>:v<V>:<16 hex>", the hash
 * covering the safetensors header, the file size and 1024 evenly spaced 4 KiB blocks of the data. */
AR_API const char *ar_model_fingerprint(const ar_model *m);
AR_API const ar_tokenizer *ar_model_tokenizer(const ar_model *m);
AR_API ar_precision ar_model_precision(const ar_model *m);
/* "fp32" | "int8"; ar_precision_parse returns -1 for anything else. */
AR_API const char *ar_precision_name(ar_precision p);
AR_API int ar_precision_parse(const char *s);
/* Token count of text as the encoder would see it: prefix and specials included, no truncation.
 * Matches ar_count_fn so it can be the segmenter's cap. */
AR_API int ar_model_count_tokens(const ar_model *m, ar_embed_kind kind, const char *text, size_t len);
/* Embeds n token sequences (ids already include <s> </s>). out: n x dim, pooled and (unless the model's
 * modules.json lists no Normalize) L2-normalised, as its files say (see "models and reranking" below). */
AR_API ar_status ar_model_embed_ids(ar_model *m, const int32_t *const *ids, const int *n_ids, int n,
                                    float *out, ar_error *err);
/* Strips, prefixes, tokenizes (truncating at max tokens) and embeds n texts. out: n x dim. */
AR_API ar_status ar_model_embed_texts(ar_model *m, ar_embed_kind kind, const char *const *texts, int n,
                                      float *out, ar_error *err);
AR_API void ar_model_free(ar_model *m);

/* ---------------------------------------------------------------------------------------------
 * Embedders: texts -> unit vectors, from the C encoder (ar_model_embedder) or another source (an
 * embeddings server). Search and ingest take one of these instead of calling a model themselves.
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_embedder {
  const char *fingerprint; /* what makes the vectors, recorded in the index ("e5:..." or "api:<model>");
                              vectors of another fingerprint or dim are refused, naming both */
  int dim;
  /* n texts of one kind -> out (n x dim, L2-normalised). Thread safety is that of ctx's source
   * (ar_model_embedder's: thread-safe). */
  ar_status (*embed)(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err);
  /* Tokens of a text as the embedder sees it (prefix and specials included), the segmenter's cap;
   * NULL when unknown (the segmenter then caps by words). */
  int (*count_tokens)(void *ctx, ar_embed_kind kind, const char *text, size_t len);
  int max_tokens;        /* the cap count_tokens is measured against; 0 when unknown */
  const char *precision; /* the encoder's arithmetic, "fp32" | "int8", recorded in the index's meta
                            'precision' ("mixed" once both wrote vectors; same model either way); NULL: none */
  void *ctx;
} ar_embedder;

/* The encoder as an embedder (fingerprint = ar_model_fingerprint, ctx = m; m must outlive it).
 * Thread-safe, like the model: one embedder may serve every search thread. */
AR_API ar_embedder ar_model_embedder(ar_model *m);

/* Embeddings from a server: OpenAI-compatible POST {base_url}/v1/embeddings               (src/embed/)
 * (TEI, Infinity, vLLM, Ollama's /v1, OpenAI). The "query: " / "passage: " prefixes are added here, as
 * for the local encoder; replies may be float arrays or base64 (little-endian float32) and are put in
 * input order by data[i].index, checked (count, dimension, finite, non-zero) and L2-normalised.
 * The handle and its embedder are thread-safe (one request per batch, up to `concurrency` in flight). */
typedef struct ar_embed_api ar_embed_api;

typedef struct ar_embed_api_params {
  const char *base_url;  /* e.g. http://127.0.0.1:8080, with or without /v1 (or the full .../embeddings) */
  const char *model;     /* sent as "model"; the index records the vectors as "api:<model>" */
  const char *api_key;   /* sent as a Bearer token; never printed or logged */
  int dim;               /* expected dimension; 0 = the first reply fixes it (open asks for one vector) */
  int batch;             /* texts per request, default 32 */
  int concurrency;       /* requests in flight within one embed call, default 4. For ingest, set
                            ar_ingest_params.embed_batch to batch * concurrency to keep them all busy */
  int base64;            /* ask for encoding_format "base64" (smaller replies) instead of "float" */
  int connect_timeout_ms;  /* default 10000 */
  int timeout_ms;        /* one request, default 120000; a timed-out request is retried */
  int max_retries;       /* on 429, 408, 5xx, timeouts and connection errors; default 4 */
  int retry_base_ms;     /* first backoff wait (doubles each retry, with jitter), default 500 */
  int retry_max_ms;      /* cap on one wait, Retry-After included, default 30000 */
} ar_embed_api_params;

AR_API ar_embed_api_params ar_embed_api_default_params(void);
/* Fills base_url/model/api_key from AULARAG_EMBED_URL, AULARAG_EMBED_MODEL, AULARAG_EMBED_API_KEY where
 * they are still NULL. */
AR_API void ar_embed_api_params_from_env(ar_embed_api_params *p);
/* Checks the params (base_url and model required: AR_ERR_INVALID) and, when p.dim is 0, embeds one
 * short query to learn the dimension (so a dead endpoint fails here). Errors name the endpoint. */
AR_API ar_status ar_embed_api_open(const ar_embed_api_params *p, ar_embed_api **out, ar_error *err);
AR_API void ar_embed_api_free(ar_embed_api *a);
/* The handle as an embedder (fingerprint "api:<model>", no token counter: the segmenter caps by words).
 * embed errors: AR_ERR_HTTP (after the retries), AR_ERR_TIMEOUT, AR_ERR_PARSE (not the expected JSON, or
 * fewer vectors than inputs), AR_ERR_MISMATCH (another dimension), AR_ERR_MODEL (NaN/Inf/zero vector);
 * out is then not to be used. a must outlive the embedder. */
AR_API ar_embedder ar_embed_api_embedder(ar_embed_api *a);

/* ---------------------------------------------------------------------------------------------
 * Index: one SQLite file (WAL): videos, segments, FTS5, vectors, LLM cache  (src/index/)
 * One ar_index per thread (SQLite connection semantics); open it several times for threads. The
 * handles of a process on one index file share its vector matrix (mapped from INDEX.vec, README).
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_index ar_index;

typedef struct ar_index_params {
  int read_only;         /* open without write access */
  int create;            /* create the file when missing (default 1) */
  const char *lang;      /* analysis language of a new index: "pt" or "en"; NULL = "pt" for a new index.
                            Fixed at creation: a different non-NULL lang on an existing index is
                            AR_ERR_MISMATCH. */
  int immutable;         /* with read_only: a snapshot (ar_index_snapshot), never written while open, only
                            replaced by rename: opened without locks, journal or WAL (issue #14) */
} ar_index_params;

typedef struct ar_index_info {
  int64_t n_videos, n_segments, n_vectors;
  int schema_version;
  char lang[8];
  char model[256];       /* fingerprint of the model the vectors were made with, "" if none */
  int dim;
  int64_t file_bytes;
} ar_index_info;

typedef struct ar_video {
  const char *video_id, *title, *url;  /* url may be "" */
  const char *source_path;             /* the transcript file, for messages and `info` */
  const char *course;                  /* NULL or "": in no course. Re-ingesting with another moves it */
  const char *course_title;            /* NULL: keep the course's title (new course: its id) */
} ar_video;

/* A course of the index: the videos that carry its id (manifest column `course`). */
typedef struct ar_course {
  char *id, *title;
  int64_t n_videos, n_segments;
} ar_course;

typedef struct ar_courses {
  ar_course *v;
  size_t n;
} ar_courses;

AR_API ar_index_params ar_index_default_params(void);
AR_API ar_status ar_index_open(const char *path, ar_index_params p, ar_index **out, ar_error *err);
AR_API void ar_index_close(ar_index *ix);
AR_API ar_status ar_index_info_get(ar_index *ix, ar_index_info *out, ar_error *err);
/* Replaces the video (and all its segments, lexical entries and vectors) in one transaction.
 * If the video exists with identical segments, nothing changes and its corpus ids are kept. */
AR_API ar_status ar_index_put_video(ar_index *ix, const ar_video *v, const ar_segments *segs,
                                    ar_error *err);

/* The courses, ordered by id (empty for an index made before courses, or without any). */
AR_API ar_status ar_index_courses(ar_index *ix, ar_courses *out, ar_error *err);
AR_API void ar_courses_free(ar_courses *c);

/* LLM response cache (key: hex digest computed by the caller). *value is malloc'd; NULL if absent. */
AR_API ar_status ar_index_cache_get(ar_index *ix, const char *key, char **value, ar_error *err);
AR_API ar_status ar_index_cache_put(ar_index *ix, const char *key, const char *value, ar_error *err);
/* That table as the LLM client's cache (ar_llm_params.cache); ix NULL: no cache. Used by one thread
 * at a time, as ix is. */
AR_API struct ar_llm_cache ar_index_llm_cache(ar_index *ix);

/* ---------------------------------------------------------------------------------------------
 * Ingest: files/folders + manifest -> index (optionally embedding)               (src/ingest/)
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_progress {
  const char *stage;     /* "parse", "embed" */
  const char *file;
  int64_t done, total;   /* units of the stage (files or segments) */
} ar_progress;
/* Return non-zero to abort. */
typedef int (*ar_progress_fn)(const ar_progress *p, void *user_data);
/* Called once per input that could not be ingested (the rest go on). */
typedef void (*ar_warn_fn)(const ar_error *e, void *user_data);

typedef struct ar_ingest_params {
  const char *manifest;  /* CSV path or NULL */
  ar_segment_params seg;
  ar_model *model;       /* NULL: lexical only (unless embedder is set) */
  const ar_embedder *embedder; /* embeds the segments; wins over model; NULL: model's, if any */
  int embed_batch;       /* segments per forward batch, default 16 */
  ar_progress_fn progress;
  ar_warn_fn warn;
  void *user_data;
} ar_ingest_params;

typedef struct ar_ingest_stats {
  int files_ok, files_failed, files_unchanged;
  int files_empty;       /* transcripts with no cues: skipped with a warning, not an error */
  int64_t cues, segments, embedded;
  double seconds;
} ar_ingest_stats;

AR_API ar_ingest_params ar_ingest_default_params(void);
/* paths: files or folders (recursive; .vtt .srt .json). Each video is committed on its own, so a
 * bad file is reported through `warn` and skipped; returns AR_ERR_PARSE if any file failed. */
AR_API ar_status ar_ingest(ar_index *ix, const char *const *paths, int n_paths, const ar_ingest_params *p,
                           ar_ingest_stats *stats, ar_error *err);

/* ---------------------------------------------------------------------------------------------
 * Retrieval: lexical (BM25), dense (E5 cosine), hybrid (RRF)               (src/index/)
 * ------------------------------------------------------------------------------------------- */
typedef enum ar_search_mode {
  AR_MODE_AUTO = 0,      /* hybrid when the index has vectors and a model is given, else lexical */
  AR_MODE_LEXICAL,
  AR_MODE_DENSE,
  AR_MODE_HYBRID
} ar_search_mode;

typedef struct ar_search_params {
  int k;                 /* default 10 */
  ar_search_mode mode;
  int rrf_k;             /* reciprocal rank fusion constant, default 60 */
  int candidates;        /* per-retriever depth for fusion, default max(50, k) */
  ar_model *model;       /* dense/hybrid: embeds the query (unless embedder is set) */
  const ar_embedder *embedder; /* dense/hybrid: embeds the query; wins over model */
  const char *course;    /* NULL or "": all videos; else only that course's segments (a filtered
                            top-k: min(k, matches in the course) hits). Unknown id: AR_ERR_NOTFOUND */
  ar_model *reranker;    /* a cross-encoder (ar_model_num_labels > 0): re-orders the first stage's top
                            rerank_top hits by its score, then keeps k (issue #15); NULL: none */
  int rerank_top;        /* first-stage hits the reranker scores, default 30 */
} ar_search_params;

typedef struct ar_hit {
  int rank;              /* 1-based */
  int64_t corpus_id;
  double score;          /* the mode's score, higher is better: BM25 (lexical: k1=1.2 b=0.75, Lucene
                            idf, computed by FTS5), cosine (dense), RRF (hybrid) */
  double lexical_score;  /* BM25; NAN when not in the lexical candidates */
  double dense_score;    /* cosine; NAN in lexical mode. In hybrid mode every hit has it (also those only
                            BM25 found: then dense_rank is 0) */
  int lexical_rank, dense_rank;  /* 0 when absent */
  char *video_id, *title, *url, *text;
  double start_s, end_s;
  int first_stage_rank;  /* rank before reranking; 0 when no reranker ran */
  double rerank_score;   /* the reranker's score when first_stage_rank > 0 (NAN past rerank_top) */
} ar_hit;

typedef struct ar_results {
  ar_hit *hits;
  size_t n;
  ar_search_mode mode;   /* the mode actually used */
  char *query;
} ar_results;

AR_API ar_search_params ar_search_default_params(void);
AR_API ar_status ar_search(ar_index *ix, const char *query, const ar_search_params *p, ar_results *out,
                           ar_error *err);
AR_API void ar_results_free(ar_results *r);
AR_API const char *ar_search_mode_name(ar_search_mode m);

/* Formatting shared by the CLI, reports and the server (src/core/format.c). */
AR_API void ar_format_hms(double seconds, char out[16]);           /* "HH:MM:SS", floor */
/* YouTube: adds t=<int seconds>; other URLs: #t=<int seconds>; "" stays "". Returns malloc'd. */
AR_API char *ar_deep_link(const char *url, double start_s);
/* The search JSON object of product.md: {"query","mode","segments":[...]}; each segment has rank
 * corpus_id score video_id title url start end start_hms end_hms text link, plus lexical_score/
 * lexical_rank and dense_score/dense_rank when retrieved that way. hide_urls: url and link are
 * null. malloc'd (free with free()); NULL when out of memory. */
AR_API char *ar_results_to_json(const ar_results *r, int hide_urls);
/* The evaluation report format's segment block per hit (docs/report-format.md; src/present/):
 * "- *Corpus ID:* ...", "- *Score:* " full-precision real (the hit's score; in hybrid mode its
 * dense cosine, the format's meaning of Score), "- *URL:* " deep link, "(sem URL)" or "oculto",
 * Início/Fim HH:MM:SS, Transcrição on one line), hits separated by a blank line. malloc'd; NULL
 * when out of memory. */
AR_API char *ar_results_to_text(const ar_results *r, int hide_urls);
/* The heading above that block: "**Segmentos recuperados pelo E5**:" for dense results;
 * lexical and hybrid results say what scored them, so a BM25 score is never labelled E5. */
AR_API const char *ar_results_heading(ar_search_mode m);

/* ---------------------------------------------------------------------------------------------
 * LLM client: OpenAI-compatible /v1/chat/completions over libcurl          (src/llm/)
 * ------------------------------------------------------------------------------------------- */
/* Where LLM replies are cached, as two callbacks, so the client needs nothing of what stores them:
 * get sets *value (malloc'd) on a hit and leaves it NULL on a miss; put stores, best effort. A
 * failing cache is a miss. get NULL: no cache. ar_index_llm_cache gives an index's cache table. */
typedef struct ar_llm_cache {
  ar_status (*get)(void *ctx, const char *key, char **value);
  void (*put)(void *ctx, const char *key, const char *value);
  void *ctx;
} ar_llm_cache;

typedef struct ar_llm_params {
  const char *base_url;  /* e.g. http://127.0.0.1:11434 ; NULL/"" = no LLM */
  const char *model;
  const char *api_key;   /* never printed or logged */
  double temperature;    /* default 0 */
  int seed;              /* default 42 */
  int max_tokens;        /* 0 = server default */
  int connect_timeout_ms;  /* default 10000 (a connect timeout is retried) */
  int timeout_ms;        /* whole request, default 120000 (not retried: it bounds the wait) */
  int max_retries;       /* on 429, 408, 5xx, connection errors; default 4 (none once streamed text was shown) */
  int retry_base_ms;     /* first backoff wait (doubles each retry, with jitter), default 500 */
  int retry_max_ms;      /* cap on one wait, Retry-After included, default 30000 */
  int stream;            /* use SSE */
  int use_cache;         /* default 1 (needs cache); cache errors count as a miss */
  ar_llm_cache cache;    /* where replies are cached (keyed by endpoint, model, messages, params) */
  /* Called with each piece of text as it arrives (whole UTF-8 sequences only) when stream is set,
   * and once with the whole text for a cached reply. */
  void (*on_token)(const char *text, size_t len, void *user_data);
  void *user_data;
} ar_llm_params;

typedef struct ar_chat_msg {
  const char *role;      /* "system" | "user" | "assistant" */
  const char *content;
} ar_chat_msg;

typedef struct ar_llm_reply {
  char *content;
  int cached;            /* served from the index cache */
  int attempts;          /* HTTP requests made (0 when cached) */
  int prompt_tokens, completion_tokens;  /* -1 when the server did not say */
  double latency_ms;
} ar_llm_reply;

AR_API ar_llm_params ar_llm_default_params(void);
/* Fills base_url/model/api_key from AULARAG_LLM_URL, AULARAG_LLM_MODEL, AULARAG_LLM_API_KEY
 * (falling back to OPENAI_API_KEY) where they are still NULL. */
AR_API void ar_llm_params_from_env(ar_llm_params *p);
/* One chat completion. Errors: AR_ERR_HTTP (endpoint unreachable or an error status, after the
 * retries), AR_ERR_TIMEOUT, AR_ERR_PARSE (a reply that is not the expected JSON), AR_ERR_INVALID
 * (no base_url). Messages name the endpoint, never the API key. Thread-safe for distinct params
 * (cache: one per thread when it wraps an ar_index). */
AR_API ar_status ar_llm_chat(const ar_llm_params *p, const ar_chat_msg *msgs, int n_msgs, ar_llm_reply *out,
                             ar_error *err);
AR_API void ar_llm_reply_free(ar_llm_reply *r);

/* ---------------------------------------------------------------------------------------------
 * Answers: prompt, LLM or extractive answer, references                   (src/answer/)
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_reference {
  char *video_id, *title, *url, *link;
  double start_s, end_s;
} ar_reference;

typedef struct ar_answer {
  ar_results results;    /* the retrieved segments the answer was built from */
  char *text;
  int extractive;        /* 1: no LLM configured, sentences picked from the segments */
  ar_reference *refs;    /* the video moments of the cited segments (merged; times from the index) */
  size_t n_refs;
  ar_llm_reply llm;      /* zeroed for extractive answers */
} ar_answer;

typedef struct ar_ask_params {
  ar_search_params search;
  ar_llm_params llm;     /* base_url NULL/"" -> extractive answer */
  int context_tokens;    /* budget for segment text in the prompt (approx. tokens = code points / 4),
                          * default 6000; the last segment that fits is cut at a word boundary */
} ar_ask_params;

AR_API ar_ask_params ar_ask_default_params(void);
AR_API ar_status ar_ask(ar_index *ix, const char *question, const ar_ask_params *p, ar_answer *out,
                        ar_error *err);
/* The answer step alone, for results already retrieved into out->results (e.g. shown to the user
 * before a streamed answer). ar_ask = ar_search + this. ix: the LLM cache and the extractive
 * path's language (may be NULL: no cache, "pt"). On failure out->results is kept. */
AR_API ar_status ar_answer_from_results(ar_index *ix, const char *question, const ar_ask_params *p,
                                        ar_answer *out, ar_error *err);
AR_API void ar_answer_free(ar_answer *a);
/* The ask JSON object: search object + answer, answer_kind, references. malloc'd. */
AR_API char *ar_answer_to_json(const ar_answer *a, int hide_urls);

/* ---------------------------------------------------------------------------------------------
 * Evaluation: question set -> report.md / report.json / report.html       (src/eval/)
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_eval_params {
  ar_ask_params ask;
  ar_llm_params judge;   /* judge endpoint/model; base_url NULL = the answering LLM's (model and key
                            too, unless set); base_url "" = no judge (judges reported as skipped) */
  const char *labels;    /* label set, default "C,P,I" (best first) */
  int hide_urls;
  int concurrency;       /* questions in flight, default 4 (one index connection each) */
  int rpm;               /* LLM requests per minute, shared by all workers; 0 = no limit.
                            Cache hits of judge calls do not count. */
  int bootstrap;         /* bootstrap draws for the 95% intervals, default 1000 (0 = none) */
  int context_judge;     /* judge each retrieved segment's relevance, default 1 */
  int groundedness_judge;  /* judge each answer sentence against the segments, default 1 */
  double tolerance_s;    /* gold-span matching tolerance, default 5 s */
  int resume;            /* reuse out_dir/progress.jsonl of an interrupted run with the same
                            settings, default 1 */
  ar_progress_fn progress;  /* stage "eval", done/total questions; called from worker threads
                               (serialised) */
  void *user_data;
} ar_eval_params;

AR_API ar_eval_params ar_eval_default_params(void);
/* index_path (not a handle): workers open their own connections. Writes report.{md,json,html}
 * into out_dir and a summary into *summary (malloc'd, may be NULL). Finished questions are
 * journalled in out_dir/progress.jsonl as they complete (removed once the reports are written),
 * so an interrupted run resumes where it stopped. A question whose retrieval or answer fails is
 * reported as failed; the run goes on. */
AR_API ar_status ar_eval_run(const char *index_path, const char *questions_path, const char *out_dir,
                             const ar_eval_params *p, char **summary, ar_error *err);

/* ---------------------------------------------------------------------------------------------
 * Server: HTTP JSON API and the student page                               (src/server/)
 * ------------------------------------------------------------------------------------------- */
typedef struct ar_server_params {
  const char *host;      /* default "127.0.0.1" (loopback only); "0.0.0.0" or "::" listen everywhere */
  int port;              /* default 8080; 0 = any free port (the bound port is logged) */
  int threads;           /* workers, default 4: each owns an ar_index connection, so at most this many
                            searches/answers run at once (more connections wait for a worker) */
  ar_ask_params ask;     /* defaults for k, mode and the LLM (base_url NULL/"" -> extractive) */
  const char *model_dir; /* for dense/hybrid; NULL = lexical (unless ask.search.embedder is set) */
  /* ask.search.embedder, when set, embeds the queries instead of a model_dir encoder; it is called
   * from several workers at once, so it must be thread-safe (ar_embed_api_embedder is) */
  ar_precision precision; /* the model_dir encoder's (default fp32) */
  int max_connections;   /* open connections in all, default 4096 (an idle one costs a socket, no thread) */
  int max_per_ip;        /* open connections per client address, default 128 */
  int timeout_s;         /* a connection idle this long is closed (slow clients), default 15 */
  size_t max_body;       /* request body bytes (413 beyond), default 65536 */
  size_t max_question;   /* question bytes (400 beyond), default 2000 */
  int max_k;             /* largest k a request may ask for, default 50 */
  int drain_s;           /* on shutdown, wait this long for in-flight requests, default 30 */
  int search_cache;      /* recent /api/search responses kept (dropped when the index file
                            changes), default 256; 0 = off */
  int verbose;           /* 1: one log line per request */
  /* Startup, error and (verbose) access lines, without trailing newline; NULL = silent. */
  void (*log)(const char *line, void *user_data);
  void *user_data;
} ar_server_params;

AR_API ar_server_params ar_server_default_params(void);
/* Serves until *stop becomes non-zero (stop may be NULL: then until the process ends), then stops
 * accepting, lets in-flight requests finish (up to drain_s) and returns AR_OK. Fails (AR_ERR_IO)
 * when the address cannot be bound, or with the index/model's error when they cannot be opened.
 * The library installs no signal handlers (see ar_server_start for stopping on a signal); a
 * program should ignore SIGPIPE, as for any socket server. */
AR_API ar_status ar_server_run(const char *index_path, const ar_server_params *p, volatile int *stop,
                               ar_error *err);

/* ---- snapshots and replicas (issue #14) ---- */
/* A snapshot is a read-only copy of an index for `serve` replicas: a compacted SQLite file in rollback-journal
 * mode (no -wal/-shm beside it) with meta 'snapshot_of'/'snapshot_at', and its vector section (OUT.vec)
 * written for it, so the first dense query maps it. */
typedef struct ar_snapshot_stats {
  int64_t n_videos, n_segments, n_vectors;
  int64_t bytes;         /* the snapshot file's size */
  double seconds;
} ar_snapshot_stats;

/* Copies the index at index_path to out_path while other processes may be writing it: SQLite's VACUUM INTO
 * inside one read transaction (a consistent, compacted state), then the copy's vector section, then the
 * check of `info --check` (ar_index_check) on the copy opened as a replica opens it, and only then
 * rename(2) into place (OUT.vec first, then OUT; a reader never uses a section stamped for another state).
 * On any failure (full disk, read-only folder, a copy that does not check) the temporary files are
 * removed and out_path is untouched: AR_ERR_IO/AR_ERR_DB naming the file and the reason. stats may be NULL. */
AR_API ar_status ar_index_snapshot(const char *index_path, const char *out_path, ar_snapshot_stats *stats,
                                   ar_error *err);
/* 1 when path is a snapshot (rollback-journal mode and meta 'snapshot_at'), 0 when not (or unreadable). */
AR_API int ar_index_is_snapshot(const char *path);
/* ---- annotation (issue #17) -------------------------------------------------------------------
 * Manual labels for a finished `eval` run (its --out folder): a local page to label the answers,
 * stored append-only in RUN/annotations/NAME.jsonl, and the reports re-rendered with them. */
typedef struct ar_annotate_params {
  const char *annotator;  /* whose labels: [A-Za-z0-9._-], 1..64 bytes, not "question-set" */
  int show_judge;         /* 1: show the automated label, AR and the other annotators at once
                             (default 0: hidden until this annotator has labelled every answer) */
  ar_server_params server; /* host, port, limits, log (index and LLM settings unused) */
} ar_annotate_params;

AR_API ar_annotate_params ar_annotate_default_params(void);
/* Serves the annotation page and its JSON API over run_dir until *stop is set (the program sets it
 * from its signal handlers: the library installs none). */
AR_API ar_status ar_annotate_run(const char *run_dir, const ar_annotate_params *p, volatile int *stop,
                                 ar_error *err);
/* Rewrites run_dir's report.md, report.json and report.html from report.json plus the annotations
 * (no LLM call). *summary (may be NULL): the text summary, malloc'd. */
AR_API ar_status ar_report_rerender(const char *run_dir, char **summary, ar_error *err);
/* ---- models from the Hugging Face Hub (issue #13) ------------------------------------- (src/hub/)
 * `model pull` downloads the encoder's files into the Hub's cache layout (the one huggingface_hub,
 * huggingface-cli and sentence-transformers use), and every place that opens a model (ar_model_load,
 * ar_tokenizer_load) also takes "ORG/NAME" or "ORG/NAME@REVISION", found in that cache without network. */

/* The cache: $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub. malloc'd; NULL when there is no HOME either (or out of memory). */
AR_API char *ar_hub_cache_dir(void);
/* A model argument -> the folder to open: arg itself when it exists or is not of the form ORG/NAME[@REV];
 * else the cached snapshot refs/REV (default main) names, or snapshots/REV when REV is a commit.
 * *dir malloc'd. Not cached: AR_ERR_NOTFOUND, the message naming the cache and "aularag model pull". */
AR_API ar_status ar_model_resolve(const char *arg, char **dir, ar_error *err);

typedef struct ar_hub_params {
  const char *endpoint;  /* NULL: https://huggingface.co (ar_hub_params_from_env: $HF_ENDPOINT) */
  const char *token;     /* Bearer token for gated/private repos, sent to the endpoint's host only; never
                            printed (ar_hub_params_from_env: $HF_TOKEN) */
  const char *revision;  /* branch, tag or commit; NULL = "main" */
  const char *cache_dir; /* NULL = ar_hub_cache_dir() */
  int connect_timeout_ms;  /* default 10000 */
  int low_speed_s;       /* a transfer below 1 KB/s this long is cut (then resumed), default 60 */
  int max_retries;       /* per file, on 429/408/5xx and cut connections (each resumes), default 5 */
  int retry_base_ms;     /* first backoff wait (doubles each retry, with jitter), default 500 */
  /* stage "download": file = the repository file, done/total = bytes (total -1 when unknown; a file
   * already in the cache reports done == total once). Non-zero aborts (AR_ERR_ABORTED; the partial
   * download is kept for the next pull to resume). */
  ar_progress_fn progress;
  void *user_data;
} ar_hub_params;

AR_API ar_hub_params ar_hub_default_params(void);
AR_API void ar_hub_params_from_env(ar_hub_params *p);
/* Downloads what the encoder needs from repo_id ("ORG/NAME") at p->revision: config.json,
 * model.safetensors, tokenizer.json and/or sentencepiece.bpe.model, and whichever of tokenizer_config.json,
 * special_tokens_map.json, modules.json, 1_Pooling/config.json, config_sentence_transformers.json the
 * repository has. Files go to blobs/<etag> through blobs/<etag>.incomplete (resumed with an HTTP Range
 * request after a cut connection or an interrupted run); LFS files are checked against the SHA-256 the Hub
 * reports (X-Linked-Etag), a mismatch removes the partial file (AR_ERR_MISMATCH). refs/<revision> is
 * written last. *snapshot (may be NULL): the snapshot folder, malloc'd. 401/403 errors name HF_TOKEN. */
AR_API ar_status ar_hub_pull(const char *repo_id, const ar_hub_params *p, char **snapshot, ar_error *err);

typedef struct ar_hub_cached {
  char *repo_id;         /* "ORG/NAME" */
  char *path;            /* CACHE/models--ORG--NAME */
  char *main_commit;     /* the commit refs/main names when its snapshot exists, else NULL */
  int n_snapshots;
  int64_t bytes;         /* of its blobs (finished downloads) */
} ar_hub_cached;
/* The models in the cache (cache_dir NULL: ar_hub_cache_dir()), by repo id; none when it does not exist. */
AR_API ar_status ar_hub_list(const char *cache_dir, ar_hub_cached **out, size_t *n, ar_error *err);
AR_API void ar_hub_cached_free(ar_hub_cached *v, size_t n);
/* ---- transcribe (issue #13) ---- */
/* Media files -> NAME.whisper.json beside each (Whisper JSON, which ingest reads), through an
 * OpenAI-compatible speech server (POST /v1/audio/transcriptions: whisper.cpp's server, speaches,
 * vLLM, OpenAI). ffmpeg/ffprobe run as child processes (no shell): 16 kHz mono audio, cut into chunks
 * at silences (silencedetect) under max_chunk_s and max_upload_mb, each sent with
 * response_format=verbose_json; segment times are shifted by the chunk's offset. Finished chunks are
 * journalled in NAME.whisper.journal, so a rerun after a crash sends only the rest. */
typedef struct ar_transcribe_params {
  const char *asr_url;     /* server base URL (required) */
  const char *asr_model;   /* the "model" field; NULL: "whisper-1" (whisper.cpp ignores it) */
  const char *api_key;     /* Bearer token or NULL */
  const char *language;    /* ISO 639-1 code ("pt") or NULL: the server detects it */
  int jobs;                /* chunks in flight at once, across files; default 1 */
  double max_chunk_s;      /* default 600 */
  double max_upload_mb;    /* a chunk's WAV stays under this many MB (10^6 bytes); default 24 */
  int force;               /* 1: transcribe again when NAME.whisper.json exists (default: skip) */
  int connect_timeout_ms;  /* default 10000 */
  int timeout_ms;          /* one request, default 900000 (a CPU server can take minutes a chunk) */
  int max_retries, retry_base_ms, retry_max_ms;  /* as the LLM client: 4, 1000, 60000 */
  const char *ffmpeg, *ffprobe;  /* programs, default "ffmpeg", "ffprobe" (PATH) */
  /* progress: stage "transcribe", file = the file of the chunk just finished, done/total in
   * milliseconds of audio (chunks resumed from a journal count as done at once); called from worker
   * threads, serialised. */
  ar_progress_fn progress;
  ar_warn_fn warn;         /* a file that failed (status != AR_OK; the others go on) or a warning */
  void *user_data;
} ar_transcribe_params;

typedef struct ar_transcribe_stats {
  int files_ok, files_skipped, files_failed;  /* skipped: NAME.whisper.json already there */
  int chunks_sent, chunks_resumed, segments;
  double audio_s, seconds;
} ar_transcribe_stats;

AR_API ar_transcribe_params ar_transcribe_default_params(void);
/* Fills unset asr_url/asr_model/api_key from AULARAG_ASR_URL, AULARAG_ASR_MODEL, AULARAG_ASR_API_KEY. */
AR_API void ar_transcribe_params_from_env(ar_transcribe_params *p);
/* paths: media files (always tried) and folders (searched recursively for media names, see
 * ar_is_media_name). A file that fails (not media, no audio track, unreadable, the server refused)
 * is reported through p->warn and the others go on; the result is then that file's error (the
 * first one). Errors that stop everything (no server given, ffmpeg missing) return at once. */
AR_API ar_status ar_transcribe(const char *const *paths, int n_paths, const ar_transcribe_params *p,
                               ar_transcribe_stats *stats, ar_error *err);
/* 1 when the name ends in a media extension (.mp4 .mkv .webm .mov .avi .mp3 .m4a .wav .ogg .opus .flac ...). */
AR_API int ar_is_media_name(const char *path);
/* Where the transcript of `media` goes: NAME.whisper.json beside it (media's extension replaced).
 * Returns the length it needs (snprintf-style); out may be NULL when cap is 0. */
AR_API size_t ar_transcript_path_for(const char *media, char *out, size_t cap);

/* ---- models and reranking (issue #15) ---- */
/* Pooling and prompts come from the model directory's sentence-transformers files: modules.json,
 * 1_Pooling/config.json (mean, CLS or last token), a Normalize module, config_sentence_transformers.json
 * "prompts" ("query"/"passage", or default_prompt_name for queries). Without those files, or when they
 * say mean + normalize without prompts, the model is run as multilingual-e5 ("query: "/"passage: ").
 * The fingerprint (recorded in the index) gains ":pool=...", ":raw" (no normalize) and prompt hashes when
 * they differ from e5's, so an index is never searched with vectors made another way. */
typedef enum ar_pooling { AR_POOL_MEAN = 0, AR_POOL_CLS, AR_POOL_LAST } ar_pooling;
AR_API ar_pooling ar_model_pooling(const ar_model *m);
AR_API const char *ar_pooling_name(ar_pooling p);    /* "mean" | "cls" | "lasttoken" */
AR_API int ar_model_normalizes(const ar_model *m);    /* 1: vectors are L2-normalised */
/* The prompt prepended for kind (AR_EMBED_RAW: ""). */
AR_API const char *ar_model_prefix(const ar_model *m, ar_embed_kind kind);
/* Replaces the query or passage prompt (before the model is shared between threads); updates the
 * fingerprint. kind AR_EMBED_RAW or NULL prefix: AR_ERR_INVALID. */
AR_API ar_status ar_model_set_prefix(ar_model *m, ar_embed_kind kind, const char *prefix, ar_error *err);

/* Cross-encoders: a BertForSequenceClassification or XLMRobertaForSequenceClassification checkpoint
 * (config.json "architectures") loads with its classifier head through ar_model_load; precision applies
 * to its encoder. Thread-safe like the encoder. */
AR_API int ar_model_num_labels(const ar_model *m);   /* 0: no classifier head (an embedding model) */
/* Logits of n (query, passage) pairs: out [n, num_labels]. Pairs follow the tokenizer's template
 * (XLM-R: <s> A </s></s> B </s>; BERT: [CLS] A [SEP] B [SEP], B with token type 1; chosen by
 * tokenizer_config.json's tokenizer_class, else model_type) and are cut to the model's max tokens with Hugging
 * Face tokenizers' default "longest_first" (a question shorter than half the budget keeps every token: the
 * passage is cut). */
AR_API ar_status ar_model_score_pairs(ar_model *m, const char *query, const char *const *passages, int n,
                                      float *out, ar_error *err);
/* The score reranking orders by: the logit (1 label) or the logit of label 1 (2+ labels, "relevant" in
 * binary classifiers). */
AR_API float ar_rerank_score(const ar_model *m, const float *logits);
/* Scores r's first `top` hits with m and orders them by that score (ties keep the first-stage order),
 * the unscored hits after them; keeps the first k; sets rerank_score, first_stage_rank and rank. */
AR_API ar_status ar_rerank_results(ar_model *m, const char *query, int top, int k, ar_results *r, ar_error *err);
/* ---- architecture: one parser, one presentation (issue #16) ---- */
/* "auto", "lexical", "dense" or "hybrid" (as ar_search_mode_name writes them) -> *out;
 * AR_ERR_INVALID for any other name (NULL included), *out unchanged. */
AR_API ar_status ar_search_mode_parse(const char *name, ar_search_mode *out, ar_error *err);
/* Parts of an answer as text, in the evaluation report format (docs/report-format.md). */
enum { AR_TEXT_SEGMENTS = 1, AR_TEXT_ANSWER = 2, AR_TEXT_REFERENCES = 4, AR_TEXT_ALL = 7 };
/* SEGMENTS: the heading and ar_results_to_text's block, then a blank line; ANSWER: "**Resposta**:"
 * (extractive) or "**Resposta gerada pelo LLM**:", a space and the text (none yet when NULL, for a
 * streamed answer); REFERENCES: "\n\n**Referências**:\n" and one markdown link a line (title
 * brackets escaped, link spaces/parentheses percent-encoded), "(nenhuma)" when there are none,
 * or the hidden-reference line each with hide_urls. malloc'd; NULL when out of memory. */
AR_API char *ar_answer_to_text(const ar_answer *a, int hide_urls, int parts);

/* ar_server_run in steps, so a program can stop the server from a signal handler:
 * ar_server_start binds and opens everything (the "listening" line is logged) or fails as
 * ar_server_run does; ar_server_wait serves until ar_server_stop, drains, frees the server and
 * returns AR_OK. ar_server_stop only sets a flag the serving loop polls: async-signal-safe. */
typedef struct ar_server ar_server;
AR_API ar_status ar_server_start(const char *index_path, const ar_server_params *p, ar_server **out,
                                 ar_error *err);
AR_API ar_status ar_server_wait(ar_server *s);
AR_API void ar_server_stop(ar_server *s);

/* OpenBLAS to one thread, process-wide. The encoder's own pool runs the parallel work and calls
 * OpenBLAS (attention; AR_GEMM_OPENBLAS) inside its tasks, where more OpenBLAS threads only
 * oversubscribe the cores. ar_model_load does not change this process-wide setting behind the
 * program's back: a program that embeds calls this once at start (the CLI, tests and benches do). */
AR_API void ar_blas_single_thread(void);

#ifdef __cplusplus
}
#endif
#endif /* AULARAG_H */
