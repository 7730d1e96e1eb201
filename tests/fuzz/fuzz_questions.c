/* fuzz_questions.c - an evaluation question set (JSON Lines). */
#include "fuzz.h"
#include "eval/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ar_question_set qs;
  if (ar_questions_parse("questions.jsonl", (const char *)data, size, &qs, NULL) == AR_OK) ar_questions_free(&qs);
  return 0;
}
