/* abstain.c - abstention: did the answer say the lectures do not cover the question? Asked of the
 * judge with a short prompt of its own (an answer can abstain in any wording or language, and can
 * quote a segment while abstaining, so no string match on the answer decides it); then the rates
 * for unanswerable questions (abstaining is right) and answerable ones (abstaining is wrong). */
#include "core/util.h"
#include "eval/eval.h"
#include "eval/judge.h"
#include <math.h>

#define BOOT_SEED 20240611u

char *const ar_abstain_labels[2] = {"ABSTAINS", "ANSWERS"};

static const char *const ABSTAIN_SYSTEM =
  "You read the ANSWER a study assistant gave to a student's QUESTION about recorded lectures, and say "
  "whether the ANSWER abstains: whether its message is that the lectures (or the excerpts it was given) do "
  "not cover the QUESTION, so it cannot answer it.\n"
  "ABSTAINS = it says the lectures do not cover it, or that it does not know (even if it adds a related hint);\n"
  "ANSWERS = it gives an answer to the QUESTION, right or wrong, complete or not.\n"
  "Judge only whether it abstains, not whether it is correct. The texts may be in Portuguese.\n"
  "Write one short sentence of reasoning in English, then one final line of exactly this form:\n"
  "Label: <ABSTAINS or ANSWERS>";

void ar_judge_abstention(const ar_judge_ctx *c, const char *question, const char *answer, ar_judgement *j,
                         ar_usage *u) {
  ar_buf b = {0};
  ar_buf_printf(&b, "QUESTION: %s\n\nANSWER: %s\n\nReasoning, then the final Label line:", question, answer);
  ar_judge_ctx lc = *c;
  lc.labels = ar_abstain_labels;
  lc.n_labels = 2;
  ar_judge_run(&lc, ABSTAIN_SYSTEM, b.p ? b.p : "", 0, j, u);
  ar_buf_free(&b);
}

int ar_questions_have_unanswerable(const ar_question_set *qs) {
  for (size_t i = 0; i < qs->n; i++)
    if (qs->v[i].unanswerable) return 1;
  return 0;
}

static double boot_mean(const size_t *idx, size_t n, void *ctx) {
  const double *x = ctx;
  double s = 0;
  for (size_t i = 0; i < n; i++) s += x[idx[i]];
  return n ? s / (double)n : NAN;
}

static void rate(const double *x, size_t n, int draws, uint64_t seed, ar_ci *out) {
  out->value = ar_mean(x, n);
  out->lo = out->hi = NAN;
  if (n) ar_bootstrap_ci(boot_mean, (void *)x, n, draws, seed, &out->lo, &out->hi);
}

void ar_abstention_compute(const ar_eval_item *items, size_t n, int draws, ar_abstention *a) {
  memset(a, 0, sizeof *a);
  double *un = ar_calloc(n ? n : 1, sizeof *un), *an = ar_calloc(n ? n : 1, sizeof *an);
  if (!un || !an) {
    a->correct.value = a->correct.lo = a->correct.hi = a->wrong.value = a->wrong.lo = a->wrong.hi = NAN;
    ar_free(un); ar_free(an);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const ar_eval_item *it = &items[i];
    if (it->q.unanswerable) a->n_unanswerable++;
    else a->n_answerable++;
    if (it->abstain.status == AR_JUDGE_FAILED) { a->failed++; continue; }
    if (it->abstain.status != AR_JUDGE_OK) { a->skipped++; continue; }
    double abstained = it->abstain.score == AR_ABSTAINS;
    if (it->q.unanswerable) un[a->judged_unanswerable++] = abstained;
    else an[a->judged_answerable++] = abstained;
  }
  rate(un, a->judged_unanswerable, draws, BOOT_SEED, &a->correct);
  rate(an, a->judged_answerable, draws, BOOT_SEED + 1, &a->wrong);
  ar_free(un);
  ar_free(an);
}

static void ci_line(ar_buf *b, const char *name, const ar_ci *c, size_t n, size_t total, int pt) {
  if (isnan(c->value)) { ar_buf_printf(b, pt ? "%s - (%zu de %zu avaliadas)" : "%s n/a (%zu of %zu judged)", name, n, total); return; }
  ar_buf_printf(b, "%s %.3f", name, c->value);
  if (!isnan(c->lo)) ar_buf_printf(b, pt ? " [IC 95%% %.3f, %.3f]" : "  [95%% CI %.3f, %.3f]", c->lo, c->hi);
  ar_buf_printf(b, pt ? " (n=%zu de %zu)" : " (n=%zu of %zu)", n, total);
}

void ar_abstention_summary(ar_buf *b, const ar_abstention *a) {
  ar_buf_printf(b, "  abstention (judged: the answer says the lectures do not cover it); failed=%ld skipped=%ld\n",
                a->failed, a->skipped);
  ci_line(b, "    correct abstention (unanswerable)", &a->correct, a->judged_unanswerable, a->n_unanswerable, 0);
  ar_buf_puts(b, "\n");
  ci_line(b, "    wrong abstention (answerable)    ", &a->wrong, a->judged_answerable, a->n_answerable, 0);
  ar_buf_puts(b, "\n");
}

void ar_abstention_md(ar_buf *b, const ar_abstention *a) {
  ar_buf_puts(b, "\n## Abstenção\n\n");
  ci_line(b, "- Abstenção correta (perguntas sem resposta nas aulas):", &a->correct, a->judged_unanswerable,
          a->n_unanswerable, 1);
  ar_buf_puts(b, "\n");
  ci_line(b, "- Abstenção indevida (perguntas com resposta nas aulas):", &a->wrong, a->judged_answerable,
          a->n_answerable, 1);
  ar_buf_printf(b, "\n- Juiz sem rótulo: %ld; não avaliadas: %ld\n", a->failed, a->skipped);
}
