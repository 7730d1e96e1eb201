/* stem_pt.c - a light Portuguese stemmer for accent-folded words: plural and gender endings only.
 *
 * Why not Snowball's Portuguese stemmer: on student questions (3b1b-pt-dev) it merged words a
 * question needs kept apart ("camada" and "cama" -> "cam", "nome" and "nomear" -> "nom",
 * "ponderadas"/"ponderar"/"ponderação" -> "ponder") and lost to stock FTS5 without any stemming.
 * Removing only inflection (number, gender, the final vowel) keeps "redes" = "rede",
 * "derivadas" = "derivada" = "derivado", "vetores" = "vetor", "ações" = "ação", and leaves
 * derivation ("derivar", "derivação") apart; the numbers are in README (bench/bench_lexical.sh). */
#include "text/analyze.h"
#include <string.h>

static int ends(const char *w, size_t n, const char *suf) {
  size_t l = strlen(suf);
  return n >= l && !memcmp(w + n - l, suf, l);
}

static int vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* Rewrites w[0..n) in place (it only shrinks); returns the new length. Words of <= 3 letters are
 * kept: they are mostly acronyms and short function-like words. */
size_t ar_stem_pt_light(char *w, size_t n) {
  if (n <= 3) return n;
  /* plurals, most specific first: the singular's spelling where the plural changes it */
  if (ends(w, n, "oes") || ends(w, n, "aes")) { w[n - 3] = 'a'; w[n - 2] = 'o'; n -= 1; }      /* acoes -> acao */
  else if (n > 4 && ends(w, n, "ais")) { w[n - 2] = 'l'; n -= 1; }                             /* neurais -> neural */
  else if (n > 4 && ends(w, n, "eis")) { w[n - 2] = 'l'; n -= 1; }                             /* niveis -> nivel */
  else if (n > 4 && ends(w, n, "ois")) { w[n - 2] = 'l'; n -= 1; }                             /* lencois -> lencol */
  else if (n > 4 && (ends(w, n, "res") || ends(w, n, "zes") || ends(w, n, "ses") || ends(w, n, "les")))
    n -= 2;                                                                                    /* vetores -> vetor */
  else if (n > 4 && ends(w, n, "ns")) { w[n - 2] = 'm'; n -= 1; }                              /* nuvens -> nuvem */
  else if (w[n - 1] == 's' && n > 4 && vowel(w[n - 2])) n -= 1;                                /* redes -> rede */
  /* gender and the theme vowel: "derivada", "derivado", "derivade" -> "derivad" */
  if (n > 4 && (w[n - 1] == 'a' || w[n - 1] == 'o' || w[n - 1] == 'e')) n -= 1;
  w[n] = 0;
  return n;
}
