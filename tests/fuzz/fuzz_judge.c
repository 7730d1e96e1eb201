/* fuzz_judge.c - a judge LLM's reply: score after the last "Score:", labels, the reasoning text,
 * sentence splitting (the claims the judges score), a label set and a stored eval item. */
#include "fuzz.h"
#include "core/util.h"
#include "eval/eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = 0;   /* replies reach the parsers as C strings */
  const char *why;
  ar_parse_score(s, size ? data[0] % 11 : 3, &why);
  char *labels[] = {"C", "P", "I"};
  ar_parse_label(s, labels, 3, &why);
  free(ar_cot_text(s));
  free(ar_one_line(s));
  char **sent = NULL;
  size_t n = ar_split_sentences(s, &sent);
  ar_strings_free(sent, n);
  char **ls = NULL;
  int nl = 0;
  if (strlen(s) < 200 && ar_labels_parse(s, &ls, &nl, NULL) == AR_OK) ar_labels_free(ls, nl);
  ar_eval_item it;
  if (ar_eval_item_from_json(s, &it, NULL) == AR_OK) ar_eval_item_free(&it);
  free(s);
  return 0;
}
