/* run.c - ar_eval_run: questions in parallel (one index connection per worker, shared rpm pacer),
 * a per-question journal in the output folder so an interrupted run resumes, then the reports. */
#include "core/util.h"
#include "eval/eval.h"
#include "eval/judge.h"
#include "llm/llm.h"
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL "progress.jsonl"

ar_eval_params ar_eval_default_params(void) {
  ar_eval_params p;
  memset(&p, 0, sizeof p);
  p.ask = ar_ask_default_params();
  p.judge = ar_llm_default_params();
  p.labels = "C,P,I";
  p.concurrency = 4;
  p.rpm = 0;
  p.bootstrap = 1000;
  p.context_judge = 1;
  p.groundedness_judge = 1;
  p.tolerance_s = 5;
  p.resume = 1;
  return p;
}

typedef struct run {
  const char *index_path;
  const ar_eval_params *p;
  const ar_question_set *qs;
  const ar_llm_params *judge;   /* NULL: no judge */
  char **labels;
  int n_labels;
  ar_eval_item *items;
  unsigned char *done;
  _Atomic size_t next;
  size_t n_done, n_resumed;
  ar_pacer pacer;
  int abstention;               /* the set has unanswerable questions: judge abstention */
  pthread_mutex_t mu;           /* journal, progress, first error */
  FILE *journal;
  ar_status status;
  ar_error err;
} run;

static void copy_question(const ar_question *q, size_t index, ar_eval_item *it) {
  it->index = index;
  it->q.id = ar_strdup(q->id);
  it->q.question = ar_strdup(q->question);
  it->q.manual = ar_strdup(q->manual);
  it->q.reference_answer = ar_strdup(q->reference_answer);
  it->q.course = ar_strdup(q->course);
  it->q.line = q->line;
  it->q.unanswerable = q->unanswerable;
  if (q->n_gold) {
    it->q.gold = ar_calloc(q->n_gold, sizeof *it->q.gold);
    for (size_t g = 0; it->q.gold && g < q->n_gold; g++) {
      it->q.gold[g] = q->gold[g];
      it->q.gold[g].video_id = ar_strdup(q->gold[g].video_id);
      it->q.n_gold++;
    }
  }
}

/* Retrieve + answer (ar_ask), then judge; never fails as a whole: a failure is recorded in the item. */
static void process(run *r, ar_index *ix, size_t i, ar_eval_item *it) {
  const ar_eval_params *p = r->p;
  copy_question(&r->qs->v[i], i, it);
  ar_ask_params ap = p->ask;
  if (it->q.course) ap.search.course = it->q.course;   /* the question's own scope wins */
  ap.llm.cache = ar_index_llm_cache(ap.llm.use_cache ? ix : NULL);
  int has_llm = ap.llm.base_url && *ap.llm.base_url;
  if (has_llm) ar_pacer_wait(&r->pacer);  /* the answer call (cached or not: ar_ask decides inside) */
  ar_answer a;
  memset(&a, 0, sizeof a);
  ar_error e = {0};
  /* ar_ask in two steps, so retrieval is timed on its own (the encoder is shared: it is thread-safe) */
  double t0 = ar_now_s();
  ar_status st = ar_search(ix, it->q.question, &ap.search, &a.results, &e);
  double t1 = ar_now_s();
  int searched = st == AR_OK;
  if (st == AR_OK) st = ar_answer_from_results(ix, it->q.question, &ap, &a, &e);
  it->answer_ms = (ar_now_s() - t0) * 1000;
  if (st != AR_OK) {
    /* the retrieved segments stay in the report (ar_ask keeps them when only the answer failed) */
    it->error = ar_strdup(e.msg[0] ? e.msg : ar_strerror(st));
    it->hits = a.results.hits;
    it->n_hits = a.results.n;
    a.results.hits = NULL;
    a.results.n = 0;
    if (searched) it->mode = ar_strdup(ar_search_mode_name(a.results.mode));
    it->retrieve_ms = (t1 - t0) * 1000;
    if (has_llm && searched) { it->answer_usage.calls = 1; it->answer_usage.failed_calls = 1; }
    ar_answer_free(&a);
  } else {
    /* take the answer's allocations over instead of copying them */
    it->hits = a.results.hits;
    it->n_hits = a.results.n;
    a.results.hits = NULL;
    a.results.n = 0;
    it->mode = ar_strdup(ar_search_mode_name(a.results.mode));
    it->answer = a.text;
    a.text = NULL;
    it->extractive = a.extractive;
    it->refs = a.refs;
    it->n_refs = a.n_refs;
    a.refs = NULL;
    a.n_refs = 0;
    if (!a.extractive) {
      it->answer_usage.calls = 1;
      it->answer_usage.cached = a.llm.cached;
      it->answer_usage.prompt_tokens = a.llm.prompt_tokens > 0 ? a.llm.prompt_tokens : 0;
      it->answer_usage.completion_tokens = a.llm.completion_tokens > 0 ? a.llm.completion_tokens : 0;
      it->answer_usage.latency_ms = a.llm.latency_ms;
    }
    it->retrieve_ms = (t1 - t0) * 1000;
    ar_answer_free(&a);
  }
  ar_llm_params jp;
  if (r->judge) {
    jp = *r->judge;
    jp.cache = ar_index_llm_cache(jp.use_cache ? ix : NULL);
  }
  ar_judge_ctx jc = {r->judge ? &jp : NULL, &r->pacer, r->labels, r->n_labels, p->context_judge, p->groundedness_judge,
                     r->abstention};
  t0 = ar_now_s();
  ar_judge_item(&jc, it);
  it->judge_ms = (ar_now_s() - t0) * 1000;
}

static void record(run *r, ar_eval_item *it) {
  char *line = ar_eval_item_to_json(it, 0);
  pthread_mutex_lock(&r->mu);
  if (r->journal && line) {
    fputs(line, r->journal);
    fputc('\n', r->journal);
    /* flushed to the OS per question: survives the process being killed (Ctrl-C, OOM killer). No
     * fsync: it cost more than the rest of a question's work, and after an OS crash a cut or
     * missing last line only means that question runs again. */
    fflush(r->journal);
  }
  r->n_done++;
  if (r->p->progress) {
    ar_progress pr = {"eval", it->q.id, (int64_t)r->n_done, (int64_t)r->qs->n};
    r->p->progress(&pr, r->p->user_data);
  }
  pthread_mutex_unlock(&r->mu);
  ar_free(line);
}

static void *worker(void *arg) {
  run *r = arg;
  ar_index *ix = NULL;
  ar_error e = {0};
  ar_index_params ip = ar_index_default_params();
  ip.create = 0;
  ar_status st = ar_index_open(r->index_path, ip, &ix, &e);
  if (st != AR_OK) {
    pthread_mutex_lock(&r->mu);
    if (r->status == AR_OK) { r->status = st; r->err = e; }
    pthread_mutex_unlock(&r->mu);
    return NULL;
  }
  for (;;) {
    size_t i = atomic_fetch_add(&r->next, 1);
    if (i >= r->qs->n) break;
    if (r->done[i]) continue;
    process(r, ix, i, &r->items[i]);
    record(r, &r->items[i]);
  }
  ar_index_close(ix);
  return NULL;
}

/* What must match for journal entries to be reused: the inputs and every setting that changes an item. */
static void settings_key(const char *index_path, const char *questions_path, const ar_eval_params *p,
                         const ar_llm_params *judge, char out[65]) {
  ar_buf b = {0};
  struct stat st;
  long long qsize = 0, qmtime = 0;
  if (stat(questions_path, &st) == 0) { qsize = (long long)st.st_size; qmtime = (long long)st.st_mtime; }
  ar_buf_printf(&b, "%s|%s|%s|%lld|%lld|%d|%d|%s|%s|%s|%s|%s|%d|%d|%d|%d|%s", index_path, p->ask.search.course ? p->ask.search.course : "",
                questions_path, qsize, qmtime,
                p->ask.search.k, (int)p->ask.search.mode, p->ask.llm.base_url ? p->ask.llm.base_url : "",
                p->ask.llm.model ? p->ask.llm.model : "", judge && judge->base_url ? judge->base_url : "",
                judge && judge->model ? judge->model : "", p->labels ? p->labels : "", p->context_judge,
                p->groundedness_judge, p->ask.context_tokens, p->ask.llm.seed, AR_JUDGE_PROMPTS);
  if (p->ask.search.reranker)  /* a reranker changes the segments (issue #15) */
    ar_buf_printf(&b, "|rerank %s %d", ar_model_fingerprint(p->ask.search.reranker), p->ask.search.rerank_top);
  ar_sha256_hex(b.p ? b.p : "", b.n, out);
  ar_buf_free(&b);
}

/* Loads finished items from a journal written with the same settings; (re)starts the journal. */
static ar_status journal_open(run *r, const char *path, const char *key) {
  char *data = NULL;
  size_t len = 0;
  size_t loaded = 0;
  if (r->p->resume && access(path, F_OK) == 0 && ar_read_file(path, &data, &len, NULL) == AR_OK) {
    char *save = NULL, *line = strtok_r(data, "\n", &save);
    json_t *h = line ? json_loads(line, 0, NULL) : NULL;
    const char *k = json_string_value(json_object_get(h, "settings"));
    if (k && !strcmp(k, key)) {
      while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        ar_eval_item it;
        if (ar_eval_item_from_json(line, &it, NULL) != AR_OK) continue;  /* a line cut by the interruption */
        size_t i = it.index;
        if (i < r->qs->n && !r->done[i] && !strcmp(it.q.id, r->qs->v[i].id) &&
            !strcmp(it.q.question, r->qs->v[i].question)) {
          ar_eval_item_free(&r->items[i]);
          r->items[i] = it;
          r->done[i] = 1;
          loaded++;
        } else {
          ar_eval_item_free(&it);
        }
      }
    }
    json_decref(h);
  }
  ar_free(data);
  r->n_resumed = loaded;
  r->n_done = loaded;
  /* rewrite: header + the items kept, so the file never mixes settings */
  r->journal = fopen(path, "w");
  if (!r->journal) return ar_fail(&r->err, AR_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  fprintf(r->journal, "{\"settings\":\"%s\"}\n", key);
  for (size_t i = 0; i < r->qs->n; i++)
    if (r->done[i]) {
      char *l = ar_eval_item_to_json(&r->items[i], 0);
      if (l) { fputs(l, r->journal); fputc('\n', r->journal); }
      ar_free(l);
    }
  fflush(r->journal);
  return AR_OK;
}

static ar_status write_out(const char *dir, const char *name, const char *text, ar_error *err) {
  if (!text) return ar_fail(err, AR_ERR_NOMEM, "out of memory writing %s", name);
  ar_buf path = {0};
  ar_buf_printf(&path, "%s/%s", dir, name);
  ar_status st = ar_write_file_atomic(path.p, text, strlen(text), err);
  ar_buf_free(&path);
  return st;
}

ar_status ar_eval_run(const char *index_path, const char *questions_path, const char *out_dir, const ar_eval_params *p,
                      char **summary, ar_error *err) {
  if (summary) *summary = NULL;
  if (!index_path || !questions_path || !out_dir || !p)
    return ar_fail(err, AR_ERR_INVALID, "eval needs an index, a question set and an output folder");
  if (p->concurrency < 1 || p->concurrency > 256) return ar_fail(err, AR_ERR_INVALID, "concurrency must be 1..256");
  if (p->bootstrap < 0) return ar_fail(err, AR_ERR_INVALID, "bootstrap must be >= 0");
  double t0 = ar_now_s();
  run r;
  memset(&r, 0, sizeof r);
  r.index_path = index_path;
  r.p = p;
  ar_status st = ar_labels_parse(p->labels, &r.labels, &r.n_labels, err);
  if (st != AR_OK) return st;
  ar_question_set qs;
  st = ar_questions_load(questions_path, &qs, err);
  if (st != AR_OK) { ar_labels_free(r.labels, r.n_labels); return st; }
  r.qs = &qs;
  r.abstention = ar_questions_have_unanswerable(&qs);
  for (size_t i = 0; i < qs.n; i++)
    if (qs.v[i].manual && ar_label_index(qs.v[i].manual, r.labels, r.n_labels) < 0) {
      st = ar_fail(err, AR_ERR_PARSE, "%s:%d: manual label \"%s\" is not in the label set %s", questions_path,
                   qs.v[i].line, qs.v[i].manual, p->labels ? p->labels : "C,P,I");
      ar_questions_free(&qs);
      ar_labels_free(r.labels, r.n_labels);
      return st;
    }
  /* the judge: its own endpoint, else the answering LLM's; "" = explicitly none */
  ar_llm_params judge = p->judge;
  if (!judge.base_url) {
    judge.base_url = p->ask.llm.base_url;
    if (!judge.model) judge.model = p->ask.llm.model;
    if (!judge.api_key) judge.api_key = p->ask.llm.api_key;
  }
  if (!judge.model) judge.model = p->ask.llm.model;
  r.judge = judge.base_url && *judge.base_url ? &judge : NULL;
  judge.stream = 0;
  judge.on_token = NULL;

  if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
    st = ar_fail(err, AR_ERR_IO, "%s: cannot create the output folder: %s", out_dir, strerror(errno));
    goto out_q;
  }
  /* the index must open before we spawn workers (a clear error instead of N identical ones) */
  {
    ar_index *ix;
    ar_index_params ip = ar_index_default_params();
    ip.create = 0;
    st = ar_index_open(index_path, ip, &ix, err);
    if (st != AR_OK) goto out_q;
    /* and every course asked for must exist: a typo fails here, not as N failed questions */
    ar_courses cs;
    st = ar_index_courses(ix, &cs, err);
    ar_index_close(ix);
    if (st != AR_OK) goto out_q;
    for (size_t i = 0; i <= qs.n && !st; i++) {
      const char *want = i < qs.n ? qs.v[i].course : p->ask.search.course;
      int found = !want || !*want;
      for (size_t c = 0; c < cs.n && !found; c++) found = !strcmp(cs.v[c].id, want);
      if (found) continue;
      if (i < qs.n)
        st = ar_fail(err, AR_ERR_NOTFOUND, "%s:%d: course '%s' is not in %s", questions_path, qs.v[i].line, want,
                     index_path);
      else
        st = ar_fail(err, AR_ERR_NOTFOUND, "course '%s' is not in %s", want, index_path);
    }
    ar_courses_free(&cs);
    if (st != AR_OK) goto out_q;
  }
  r.items = ar_calloc(qs.n, sizeof *r.items);
  r.done = ar_calloc(qs.n, 1);
  if (!r.items || !r.done) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto out_items; }
  pthread_mutex_init(&r.mu, NULL);
  ar_pacer_init(&r.pacer, p->rpm);
  char key[65];
  settings_key(index_path, questions_path, p, r.judge, key);
  ar_buf jpath = {0};
  ar_buf_printf(&jpath, "%s/" JOURNAL, out_dir);
  st = journal_open(&r, jpath.p, key);
  if (st != AR_OK) { if (err) *err = r.err; goto out_run; }

  int nt = p->concurrency < (int)qs.n ? p->concurrency : (int)qs.n;
  if (nt < 1) nt = 1;
  pthread_t th[256];
  int started = 0;
  for (int t = 0; t < nt; t++) {
    if (pthread_create(&th[t], NULL, worker, &r) != 0) break;
    started++;
  }
  if (!started) worker(&r);  /* no threads available: do it here */
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  fclose(r.journal);
  r.journal = NULL;
  for (size_t i = 0; i < qs.n && r.status == AR_OK; i++)
    if (!r.items[i].q.id) { r.status = AR_ERR_ABORTED; snprintf(r.err.msg, sizeof r.err.msg, "question %zu was not run", i); }
  if (r.status != AR_OK) { st = r.status; if (err) *err = r.err; goto out_run; }

  {
    ar_eval_run_info info = {0};
    info.index_path = index_path;
    info.questions_path = questions_path;
    info.answer_url = p->ask.llm.base_url ? p->ask.llm.base_url : "";
    info.answer_model = p->ask.llm.base_url && *p->ask.llm.base_url ? (p->ask.llm.model ? p->ask.llm.model : "(default)") : "";
    info.judge_url = r.judge ? judge.base_url : "";
    info.judge_model = r.judge ? (judge.model ? judge.model : "(default)") : "";
    info.labels = r.labels;
    info.n_labels = r.n_labels;
    info.hide_urls = p->hide_urls;
    info.k = p->ask.search.k;
    info.course = p->ask.search.course;
    info.bootstrap = p->bootstrap;
    info.mode = qs.n && r.items[0].mode ? r.items[0].mode : ar_search_mode_name(p->ask.search.mode);
    info.tolerance_s = p->tolerance_s;
    info.concurrency = p->concurrency;
    info.rpm = p->rpm;
    info.resumed = (int)r.n_resumed;
    info.abstention = r.abstention;
    info.wall_s = ar_now_s() - t0;
    ar_eval_summary s;
    ar_eval_summarize(r.items, qs.n, &info, &s);
    char *md = ar_report_md(r.items, qs.n, &info);
    char *js = ar_report_json(r.items, qs.n, &info, &s);
    char *html = ar_report_html(r.items, qs.n, &info, &s);
    st = write_out(out_dir, "report.md", md, err);
    if (st == AR_OK) st = write_out(out_dir, "report.json", js, err);
    if (st == AR_OK) st = write_out(out_dir, "report.html", html, err);
    if (st == AR_OK && summary) *summary = ar_report_summary(r.items, qs.n, &info, &s);
    if (st == AR_OK) unlink(jpath.p);  /* complete: a re-run starts over (and is free through the LLM cache) */
    ar_free(md); ar_free(js); ar_free(html);
  }
out_run:
  if (r.journal) fclose(r.journal);
  ar_buf_free(&jpath);
  ar_pacer_destroy(&r.pacer);
  pthread_mutex_destroy(&r.mu);
out_items:
  for (size_t i = 0; r.items && i < qs.n; i++) ar_eval_item_free(&r.items[i]);
  ar_free(r.items);
  ar_free(r.done);
out_q:
  ar_questions_free(&qs);
  ar_labels_free(r.labels, r.n_labels);
  return st;
}
