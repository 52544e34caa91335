"""Style features of texts in English, Spanish and French.

Stylometry measures *how* something is written rather than what it says: how often a
text uses function words (the, que, de...), its most frequent words, its character
sequences, the variety of its vocabulary, and its sentence and word lengths and
punctuation. Function words are the classic signal of authorship (Mosteller & Wallace
1964; Burrows 2002): writers use them without choosing them, so they carry style
rather than topic. Here the "authors" are model variants or the profiles a model was
tuned on.

Every count is relative (per word, per n-gram, per sentence), so long and short texts
compare. Feature names carry their kind as a prefix: `fw:` function word, `w:` other
frequent word, `c:` character n-gram (spaces shown as `_`), and plain names for the
scalar style measures (`ttr`, `mattr`, `mean_sentence_length`, `mean_word_length`,
`punct:<mark>`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from biaskit.errors import ConfigError, DataError

LANGUAGES: tuple[str, ...] = ("en", "es", "fr")
#: Punctuation marks counted, by feature name. Quotes and dashes of every typographic
#: kind count as one mark each; "..." counts as one ellipsis, not three periods.
PUNCTUATION: dict[str, str] = {
    "period": ".", "comma": ",", "semicolon": ";", "colon": ":", "exclamation": "!¡",
    "question": "?¿", "ellipsis": "…", "quote": "\"«»“”„", "parenthesis": "()[]",
    "dash": "—–",
}
SCALARS: tuple[str, ...] = ("ttr", "mattr", "mean_sentence_length", "mean_word_length",
                            *(f"punct:{p}" for p in PUNCTUATION))

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# French elision: "l'homme" is the function word "l'" followed by "homme".
_WORD_FR = re.compile(r"[^\W\d_]+'(?=[^\W\d_])|[^\W\d_]+")
_SENTENCE_END = re.compile(r"(?:\.\.\.|[.!?…])+(?=\s|$|[\"»”)\]])")
_ELLIPSIS = re.compile(r"\.\.\.|…")


@dataclass(frozen=True)
class FeatureConfig:
    """Which features to extract.

    Attributes:
        function_words: Use the function-word lists of the texts' languages.
        n_words: How many of the corpus's most frequent *other* words (not function
            words) to use; topic and planted markers show up here.
        char_ngrams: Character n-gram lengths (empty: none).
        n_char_ngrams: How many of the corpus's most frequent n-grams to use.
        mattr_window: Window of the moving-average type-token ratio, in words.
        scalars: Use the scalar style measures (`SCALARS`).
    """

    function_words: bool = True
    n_words: int = 100
    char_ngrams: tuple[int, ...] = (2, 3)
    n_char_ngrams: int = 200
    mattr_window: int = 50
    scalars: bool = True


@dataclass(frozen=True)
class FeatureTable:
    """Features of n texts.

    Attributes:
        names: Feature names (with their kind prefix).
        kinds: Kind of each feature: `function_word`, `word`, `char_ngram`, `style`.
        values: Array [n, features].
        languages: Language of each text.
        n_words: Number of word tokens of each text.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    values: np.ndarray
    languages: tuple[str, ...]
    n_words: tuple[int, ...]


def function_words(language: str) -> frozenset[str]:
    """The bundled function-word list of `language` (data/function_words/<lang>.txt)."""
    from biaskit.recipes.bundled import bundled_data_dir

    if language not in LANGUAGES:
        raise ConfigError(f"no function-word list for language {language!r}; "
                          f"languages: {', '.join(LANGUAGES)}")
    root = bundled_data_dir()
    path = None if root is None else root / "function_words" / f"{language}.txt"
    if path is None or not path.is_file():
        raise ConfigError(f"function-word list for {language!r} not found in biaskit's bundled data")
    with open(path, encoding="utf-8") as fh:
        return frozenset(w.strip().lower() for w in fh if w.strip() and not w.startswith("#"))


def normalise(text: str) -> str:
    """NFC, one kind of apostrophe, lower case."""
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES).lower()


def tokenize(text: str, language: str = "en") -> list[str]:
    """Lower-cased word tokens (letters only; numbers and punctuation dropped).

    English and Spanish keep inner apostrophes (`don't`); French splits elisions
    (`l'homme` -> `l'`, `homme`) so that the elided article counts as the function word
    it is.
    """
    pattern = _WORD_FR if language == "fr" else _WORD
    return pattern.findall(normalise(text))


def sentences(text: str) -> list[str]:
    """Sentences: split after . ! ? ... when followed by a space, a closing quote or the end.

    Text after the last mark counts as a sentence too; pieces without a letter are dropped.
    """
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start:match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if re.search(r"[^\W\d_]", p)]


def all_function_words() -> dict[str, frozenset[str]]:
    """Every bundled function-word list, by language (read once per analysis)."""
    return {lang: function_words(lang) for lang in LANGUAGES}


def detect_language(text: str, lists: dict[str, frozenset[str]] | None = None) -> str:
    """en, es or fr: the language whose function words cover most of the text's tokens.

    Args:
        text: The text.
        lists: `all_function_words()`, passed in to avoid reading the files per text.
    """
    lists = all_function_words() if lists is None else lists
    scores = {lang: sum(t in lists[lang] for t in tokenize(text, lang)) for lang in LANGUAGES}
    return max(LANGUAGES, key=lambda lang: (scores[lang], -LANGUAGES.index(lang)))


def mattr(tokens: Sequence[str], window: int = 50) -> float:
    """Moving-average type-token ratio (Covington & McFall 2010).

    The plain type-token ratio falls as a text grows (common words repeat), so it
    mostly measures length. MATTR averages the ratio over every window of `window`
    consecutive words, which does not depend on length. Texts shorter than the window
    get their plain ratio; an empty text gets 0.
    """
    n = len(tokens)
    if n == 0:
        return 0.0
    if n <= window:
        return len(set(tokens)) / n
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, n):
        out, new = tokens[i - window], tokens[i]
        counts[out] -= 1
        if counts[out] == 0:
            del counts[out]
        counts[new] += 1
        total += len(counts)
    return total / ((n - window + 1) * window)


def text_stats(text: str, language: str = "en", *, mattr_window: int = 50) -> dict[str, float]:
    """The scalar style measures of one text (`SCALARS`), plus `n_words`.

    `ttr` = distinct words / words; `mean_sentence_length` = words / sentences;
    `mean_word_length` = letters per word; `punct:<mark>` = occurrences per word.
    """
    tokens = tokenize(text, language)
    n = len(tokens)
    n_sent = max(1, len(sentences(text)))
    stats = {"n_words": float(n),
             "ttr": len(set(tokens)) / n if n else 0.0,
             "mattr": mattr(tokens, mattr_window),
             "mean_sentence_length": n / n_sent,
             "mean_word_length": sum(len(t.replace("'", "")) for t in tokens) / n if n else 0.0}
    clean = normalise(text)
    ellipses = len(_ELLIPSIS.findall(clean))
    without = _ELLIPSIS.sub(" ", clean)
    for name, marks in PUNCTUATION.items():
        count = ellipses if name == "ellipsis" else sum(without.count(m) for m in marks)
        stats[f"punct:{name}"] = count / n if n else 0.0
    return stats


def char_ngrams(text: str, n: int) -> Counter[str]:
    """Counts of character n-grams of the lower-cased text with whitespace runs as one space."""
    clean = " ".join(normalise(text).split())
    return Counter(clean[i:i + n] for i in range(len(clean) - n + 1))


def extract_features(texts: Sequence[str], config: FeatureConfig = FeatureConfig(), *,
                     languages: Sequence[str] | None = None) -> FeatureTable:
    """The feature table of `texts`.

    Vocabularies (the frequent words and n-grams) are chosen on the whole corpus without
    looking at any label, so using them inside a cross-validation leaks nothing about
    the labels.

    Args:
        texts: The texts.
        config: Which features.
        languages: Language of each text (en/es/fr); None: detected per text.

    Raises:
        DataError: No texts, or a language biaskit has no list for.
    """
    texts = [str(t) for t in texts]
    if not texts:
        raise DataError("no texts for stylometry")
    lists = all_function_words()
    if languages is None:
        langs = [detect_language(t, lists) for t in texts]
    else:
        langs = [str(v) for v in languages]
        if len(langs) != len(texts):
            raise DataError(f"{len(langs)} languages for {len(texts)} texts")
        bad = sorted(set(langs) - set(LANGUAGES))
        if bad:
            raise DataError(f"unknown language {bad[0]!r}; stylometry knows {', '.join(LANGUAGES)}")
    tokens = [tokenize(t, lang) for t, lang in zip(texts, langs, strict=True)]
    fw = sorted(set().union(*(lists[lang] for lang in set(langs))))
    fw_set = set(fw)
    columns: list[tuple[str, str, np.ndarray]] = []
    counts = [Counter(tok) for tok in tokens]
    sizes = np.array([max(1, len(t)) for t in tokens], dtype=float)
    if config.function_words:
        columns += [(f"fw:{w}", "function_word", _freq(counts, w, sizes)) for w in fw]
    if config.n_words > 0:
        total = Counter()
        for c in counts:
            total.update({w: v for w, v in c.items() if w not in fw_set})
        top = [w for w, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:config.n_words]]
        columns += [(f"w:{w}", "word", _freq(counts, w, sizes)) for w in top]
    for n in config.char_ngrams:
        grams = [char_ngrams(t, n) for t in texts]
        total = Counter()
        for g in grams:
            total.update(g)
        top = [g for g, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:config.n_char_ngrams]]
        gsizes = np.array([max(1, sum(g.values())) for g in grams], dtype=float)
        columns += [(f"c:{g.replace(' ', '_')}", "char_ngram", _freq(grams, g, gsizes)) for g in top]
    if config.scalars:
        stats = [text_stats(t, lang, mattr_window=config.mattr_window)
                 for t, lang in zip(texts, langs, strict=True)]
        columns += [(name, "style", np.array([s[name] for s in stats])) for name in SCALARS]
    if not columns:
        raise DataError("the feature configuration selects no features")
    values = np.column_stack([c[2] for c in columns]) if columns else np.zeros((len(texts), 0))
    return FeatureTable(names=tuple(c[0] for c in columns), kinds=tuple(c[1] for c in columns),
                        values=values.astype(np.float64), languages=tuple(langs),
                        n_words=tuple(len(t) for t in tokens))


def _freq(counts: Sequence[Counter[str]], key: str, sizes: np.ndarray) -> np.ndarray:
    return np.array([c.get(key, 0) for c in counts], dtype=float) / sizes
