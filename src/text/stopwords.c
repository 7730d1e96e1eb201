/* stopwords.c - Portuguese and English stop word lists (function words that carry no topic). */
#include "text/analyze.h"
#include <string.h>

/* Articles, prepositions and their contractions, pronouns, common auxiliary forms and fillers
 * of spoken Portuguese ("né", "tá", "eh") that lecture transcripts are full of. Content words
 * that students put in questions (e.g. "como", "quando" as topic cues) are kept out on purpose
 * only when they are pure function words. */
static const char *const pt_words[] = {
  "a", "à", "às", "ao", "aos", "as", "o", "os", "um", "uma", "uns", "umas",
  "de", "da", "das", "do", "dos", "dum", "duma", "em", "na", "nas", "no", "nos", "num", "numa",
  "por", "pela", "pelas", "pelo", "pelos", "para", "pra", "pras", "pro", "pros", "com", "sem",
  "sob", "sobre", "entre", "até", "após", "desde", "contra", "perante",
  "e", "ou", "mas", "nem", "que", "se", "porque", "pois", "então", "entao", "porém", "contudo",
  "como", "quando", "onde", "qual", "quais", "quem", "cujo", "cuja", "quanto", "quanta",
  "eu", "tu", "ele", "ela", "nós", "vós", "eles", "elas", "você", "vocês", "me", "te", "lhe",
  "lhes", "mim", "ti", "si", "conosco", "comigo", "contigo",
  "meu", "minha", "meus", "minhas", "teu", "tua", "teus", "tuas", "seu", "sua", "seus", "suas",
  "nosso", "nossa", "nossos", "nossas", "dele", "dela", "deles", "delas",
  "este", "esta", "estes", "estas", "esse", "essa", "esses", "essas", "aquele", "aquela",
  "aqueles", "aquelas", "isto", "isso", "aquilo", "deste", "desta", "desse", "dessa", "disso",
  "disto", "daquele", "daquela", "daquilo", "neste", "nesta", "nesse", "nessa", "nisso", "nisto",
  "naquele", "naquela", "naquilo",
  "é", "são", "era", "eram", "foi", "foram", "ser", "sido", "sendo", "seja", "sejam", "será",
  "está", "estão", "estar", "estava", "estavam", "esteve", "estou", "estamos",
  "tem", "têm", "ter", "tinha", "tinham", "teve", "tenho", "temos", "há", "havia",
  "vai", "vou", "vão", "vamos", "ir", "sou", "somos",
  "também", "já", "ainda", "só", "muito", "muita", "muitos", "muitas", "mais", "menos", "bem",
  "aqui", "aí", "ali", "lá", "cá", "assim", "não", "sim", "tão", "tanto", "todo", "toda", "todos",
  "todas", "outro", "outra", "outros", "outras", "mesmo", "mesma", "algum", "alguma", "nenhum",
  "nenhuma", "cada", "qualquer", "tudo", "nada", "algo",
  "né", "tá", "eh", "ah", "ok", "hum", "aham", "gente",
  NULL
};

static const char *const en_words[] = {
  "a", "an", "the", "and", "or", "but", "nor", "if", "then", "else", "so", "than", "that", "this",
  "these", "those", "there", "here", "of", "in", "on", "at", "by", "for", "with", "without",
  "to", "from", "into", "onto", "about", "as", "up", "down", "out", "off", "over", "under",
  "again", "once", "through", "during", "before", "after", "above", "below", "between",
  "i", "me", "my", "myself", "we", "us", "our", "ours", "you", "your", "yours", "he", "him",
  "his", "she", "her", "hers", "it", "its", "they", "them", "their", "theirs",
  "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
  "is", "am", "are", "was", "were", "be", "been", "being", "have", "has", "had", "having",
  "do", "does", "did", "doing", "will", "would", "shall", "should", "can", "could", "may",
  "might", "must", "not", "no", "yes", "very", "too", "just", "also", "only", "own", "same",
  "such", "some", "any", "each", "every", "all", "both", "few", "more", "most", "other",
  "s", "t", "d", "ll", "m", "re", "ve", "don", "doesn", "didn", "isn", "aren", "wasn", "weren",
  "um", "uh", "okay", "ok", "oh", "yeah", "like", "gonna", "kind", "sort",
  NULL
};

const char *const *ar_stopwords(const char *lang) {
  if (lang && !strcmp(lang, "en")) return en_words;
  if (lang && !strcmp(lang, "pt")) return pt_words;
  return NULL;
}
