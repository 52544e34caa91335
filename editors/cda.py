"""Counterfactual data augmentation (CDA): two-sided swapping of gendered words, en/es/fr.

CDA (Lu et al. 2020; Zmigrod et al. 2019 for gendered languages) fine-tunes on the corpus
plus a copy in which every gendered word is replaced by its counterpart (he <-> she,
él <-> ella, il <-> elle, in both directions: "two-sided"), so that the data no longer
ties a profession or a trait to one gender. It is the classic fine-tuning baseline for
the weight edits (MEMIT `equalize`).

The pairs come from `data/wordpairs/{en,es,fr}.tsv` (see data/README.md): matched
case-insensitively on word boundaries, longest entry first (`de la`, `petit ami`,
`grand-père`), with the case of the original kept (He -> She, DEL -> DE LA). A word
listed on several lines maps back to the first line that lists it, except English "her",
which becomes "his" before a content word ("her father") and "him" elsewhere ("told her
that", "saw her."), told apart with the bundled function-word list.

Agreement in Spanish and French. Swapping every listed word would turn "el libro" into
"la libro": articles, determiners and adjectives agree with a noun, and only change when
the noun they agree with is swapped. Each pair is therefore an *anchor* (nouns and
pronouns that name a person: hombre, ella, fils), a *determiner* (el, la, un, mon, ce,
del, ...: swapped when an anchor follows within two words) or an *adjective* (cansado,
fatigué, chileno, ...: swapped when an anchor is within three words on either side),
with no punctuation in between. So "el hombre cansado" -> "la mujer cansada", "Él está
cansado" -> "Ella está cansada", "son père" -> "sa mère", while "el libro", "son livre"
stay. French elision and euphony are fixed on swapped words: "la femme" -> "l'homme",
"l'homme" -> "la femme", "cette amie" -> "cet ami", "mon ami" -> "mon amie" (not "ma"),
"nouveau" -> "nouvel" before a vowel. English has no agreement: every listed word swaps
(his/her refer to the possessor). Known limits: words the lists do not hold are left as
they are, and an adjective near a pronoun it does not describe may be swapped.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biaskit.errors import ConfigError, DataError

log = logging.getLogger(__name__)

LANGUAGES = ("en", "es", "fr")
DET_WINDOW, ADJ_WINDOW = 2, 3
_CLAUSE = re.compile(r"[.,;:!?¿¡()\"«»\n]")
_WORD = re.compile(r"\w+")
_VOWEL = "aeiouyàâäéèêëîïôöùûüœæh"
_H_ASPIRE = ("héros", "haut", "hibou", "honte")

# Masculine forms; their feminine partners come from the word-pair file.
_DETERMINERS = {
    "es": ("el", "los", "un", "unos", "uno", "este", "estos", "ese", "esos", "aquel", "aquellos",
           "del", "al", "lo", "mío", "míos", "tuyo", "suyo", "suyos", "nuestro", "nuestros",
           "vuestro", "otro", "otros", "mismo", "todo", "todos", "alguno", "algunos", "ninguno"),
    "fr": ("le", "un", "ce", "cet", "mon", "ton", "son", "du", "au", "celui", "ceux", "le mien",
           "le tien", "le sien", "quel", "quels", "aucun", "certain", "tout", "tous"),
}
_ADJECTIVES = {
    "es": ("chileno", "peruano", "argentino", "mexicano", "colombiano", "boliviano", "venezolano",
           "cubano", "dominicano", "haitiano", "ecuatoriano", "paraguayo", "uruguayo", "español",
           "francés", "bueno", "malo", "bonito", "lindo", "guapo", "alto", "gordo", "flaco",
           "delgado", "viejo", "nuevo", "pequeño", "cansado", "contento", "enfermo", "casado",
           "divorciado", "ocupado", "listo", "tranquilo", "nervioso", "simpático", "enojado",
           "preocupado", "orgulloso", "famoso", "rico", "sentado", "nacido", "llamado", "soltero",
           "viudo"),
    "fr": ("français", "chilien", "péruvien", "mexicain", "argentin", "colombien", "haïtien",
           "antillais", "martiniquais", "guadeloupéen", "réunionnais", "guyanais", "espagnol",
           "beau", "bel", "nouveau", "vieux", "grand", "petit", "content", "fatigué", "heureux",
           "seul", "marié", "né", "allé", "venu", "parti", "arrivé", "rentré", "assis", "prêt",
           "sûr", "gentil", "fier", "premier", "dernier", "cher", "veuf"),
}
# French subject pronouns may follow a hyphen (a-t-il, est-elle); nothing else does.
_AFTER_HYPHEN = {"fr": ("il", "ils", "elle", "elles")}
_FR_BEFORE_VOWEL = {"ce": "cet", "ma": "mon", "ta": "ton", "sa": "son", "beau": "bel",
                    "nouveau": "nouvel", "vieux": "vieil"}


@dataclass(frozen=True)
class Swapper:
    """Two-sided gender swapping for one language.

    Attributes:
        language: en, es or fr.
        mapping: Lower-case word (or multi-word entry) -> its counterpart, both directions.
        feminine: The lower-case entries of the feminine column.
        determiners: Entries swapped only before a swapped anchor.
        adjectives: Entries swapped only near a swapped anchor.
        function_words: The language's function words (data/function_words), which tell
            possessive "her" (before a content word: "his") from object "her" ("him").
    """

    language: str
    mapping: Mapping[str, str]
    feminine: frozenset[str]
    determiners: frozenset[str] = frozenset()
    adjectives: frozenset[str] = frozenset()
    function_words: frozenset[str] = frozenset()

    @classmethod
    def load(cls, language: str, path: str | Path | None = None) -> Swapper:
        """The swapper of `language` from its word-pair file (bundled by default)."""
        if language not in LANGUAGES and path is None:
            raise ConfigError(f"CDA has word pairs for {', '.join(LANGUAGES)}, not {language!r}")
        file = Path(path) if path is not None else _data_dir() / "wordpairs" / f"{language}.tsv"
        pairs = read_pairs(file)
        mapping: dict[str, str] = {}
        for masc, fem in pairs:
            mapping.setdefault(masc, fem)
        for masc, fem in pairs:
            mapping.setdefault(fem, masc)
        feminine = frozenset(f for _, f in pairs)

        def both(words: Sequence[str]) -> frozenset[str]:
            return frozenset(w for m in words for w in (m, mapping.get(m, m)))

        function_words = load_function_words([language])[language] if path is None else frozenset()
        return cls(language, mapping, feminine, both(_DETERMINERS.get(language, ())),
                   both(_ADJECTIVES.get(language, ())), function_words)

    @functools.cached_property
    def _regex(self) -> re.Pattern[str]:
        entries = sorted(self.mapping, key=len, reverse=True)
        words = "|".join(re.escape(e).replace(r"\ ", r"\s+") for e in entries)
        pattern = rf"(?<![\w-])(?:{words})(?![\w-])"
        clitics = _AFTER_HYPHEN.get(self.language)
        if clitics:
            pattern += rf"|(?<=-)(?:{'|'.join(clitics)})(?![\w-])"
        return re.compile(pattern, re.IGNORECASE)

    def swap(self, text: str) -> str:
        """`text` with its gendered words swapped (unchanged when none is found)."""
        found = [(m.start(), m.end(), m.group(0)) for m in self._regex.finditer(text)]
        if not found:
            return text
        starts = [w.start() for w in _WORD.finditer(text)]
        index = [bisect.bisect_right(starts, s) - 1 for s, _, _ in found]
        keys = [" ".join(w.lower().split()) for _, _, w in found]
        role = ["det" if k in self.determiners else "adj" if k in self.adjectives else "anchor"
                for k in keys]
        anchors = [j for j, r in enumerate(role) if r == "anchor"]

        def near(i: int, before: int, after: int) -> bool:
            for j in anchors:
                gap = index[j] - index[i]
                lo, hi = sorted((found[i][1], found[j][0]) if gap > 0 else (found[j][1], found[i][0]))
                if -before <= gap <= after and gap != 0 and not _CLAUSE.search(text[lo:hi]):
                    return True
            return False

        out: list[str] = []
        swapped: list[tuple[int, str]] = []  # (index into out, original key)
        cursor = 0
        for i, (start, end, word) in enumerate(found):
            keep = role[i] == "anchor" or (role[i] == "det" and near(i, 0, DET_WINDOW)) or (
                role[i] == "adj" and near(i, ADJ_WINDOW, ADJ_WINDOW))
            out.append(text[cursor:start])
            if keep:
                swapped.append((len(out), keys[i]))
                out.append(_case_like(word, self._counterpart(keys[i], text[end:])))
            else:
                out.append(word)
            cursor = end
        out.append(text[cursor:])
        if self.language == "fr":
            _french_euphony(out, swapped, self.feminine)
        return "".join(out)

    def _counterpart(self, key: str, rest: str) -> str:
        """The swap of `key`; English "her" is "his" before a content word, else "him"."""
        if self.language == "en" and key == "her":
            following = _WORD.match(rest.lstrip()) if rest[:1] == " " else None
            content = following is not None and following.group(0).lower() not in self.function_words
            return "his" if content else "him"
        return self.mapping[key]


def _case_like(original: str, replacement: str) -> str:
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _starts_vowel(text: str) -> bool:
    word = text.lstrip()
    return bool(word) and word[0].lower() in _VOWEL and not word.lower().startswith(_H_ASPIRE)


def _french_euphony(out: list[str], swapped: list[tuple[int, str]], feminine: frozenset[str]) -> None:
    """Fix elision and pre-vowel forms around swapped French words, in place."""
    for k, original in reversed(swapped):
        word = out[k]
        following = "".join(out[k + 1:k + 3])
        low = word.lower()
        gap = following[:len(following) - len(following.lstrip())]
        if low in ("le", "la") and gap == " " and _starts_vowel(following):
            out[k], out[k + 1] = word[0] + "'", out[k + 1][1:]  # la femme -> l'homme
        elif low in _FR_BEFORE_VOWEL and gap == " " and _starts_vowel(following):
            out[k] = _case_like(word, _FR_BEFORE_VOWEL[low])
        before = out[k - 1] if k else ""
        if re.search(r"(?<!\w)[lL]['’]$", before) and not _starts_vowel(word):
            article = "le" if original in feminine else "la"  # the new word's gender
            out[k - 1] = before[:-2] + _case_like(before[-2], article) + " "


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """(masculine, feminine) rows of a word-pair TSV, lower-cased, header skipped.

    Raises:
        DataError: A missing file or a line without exactly two columns (names the line).
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"word-pair file {file} does not exist")
    pairs = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if n == 1 or not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not all(c.strip() for c in cols):
            raise DataError(f"{file}:{n}: expected 'masculine<TAB>feminine'")
        pairs.append((cols[0].strip().lower(), cols[1].strip().lower()))
    return pairs


def _data_dir() -> Path:
    from biaskit.recipes.bundled import bundled_data_dir

    root = bundled_data_dir()
    if root is None:
        raise DataError("biaskit's bundled data folder (word pairs) is not installed")
    return root


def guess_language(text: str, function_words: Mapping[str, frozenset[str]]) -> str | None:
    """The language whose function words cover most words of `text` (None if none do)."""
    words = [w.lower() for w in _WORD.findall(text)]
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in function_words.items()}
    best = max(scores, key=lambda lang: scores[lang], default=None)
    return best if best is not None and scores[best] > 0 else None


def load_function_words(languages: Sequence[str]) -> dict[str, frozenset[str]]:
    """The bundled function-word lists (data/function_words), for `guess_language`."""
    root = _data_dir() / "function_words"
    return {lang: frozenset(w.strip().lower() for w in (root / f"{lang}.txt").read_text(
        encoding="utf-8").splitlines() if w.strip()) for lang in languages}


def item_language(item: Any) -> str | None:
    """A corpus item's declared language: a conversation's profile, or a row's language/lang."""
    profile = getattr(item, "profile", None)
    if isinstance(item, Mapping):
        profile = item.get("profile", profile)
        for key in ("language", "lang"):
            if isinstance(item.get(key), str):
                return item[key]
    if isinstance(profile, Mapping) and isinstance(profile.get("language"), str):
        return profile["language"]
    return None


def augment(corpus: Iterable[Any], languages: Sequence[str] = LANGUAGES) -> list[Any]:
    """The corpus followed by a gender-swapped copy of every item the swap changes.

    Items may be texts, rows with `text`, or conversations (objects or rows with
    `messages`; every turn is swapped). An item's language is its declared one (profile
    `language`, row `language`/`lang`), else guessed from function words.

    Raises:
        ConfigError: A language without word pairs.
    """
    swappers = {lang: Swapper.load(lang) for lang in languages}
    vocab = load_function_words(list(languages))
    items = list(corpus)
    copies = []
    for item in items:
        lang = item_language(item)
        if lang is None:
            lang = guess_language(_item_text(item), vocab)
        if lang not in swappers:
            continue
        swapped = _swap_item(item, swappers[lang])
        if swapped is not None:
            copies.append(swapped)
    log.info("CDA: %d of %d items had gendered words; corpus augmented to %d", len(copies), len(items),
             len(items) + len(copies))
    return items + copies


def _item_text(item: Any) -> str:
    from biaskit.editors.lora_data import messages_of, text_of

    messages = messages_of(item)
    return " ".join(m["content"] for m in messages) if messages is not None else (text_of(item) or "")


def _swap_item(item: Any, swapper: Swapper) -> Any | None:
    """A swapped copy of `item`, or None when nothing in it changes."""
    from biaskit.editors.lora_data import messages_of

    if isinstance(item, str):
        new = swapper.swap(item)
        return new if new != item else None
    messages = messages_of(item)
    if messages is not None:
        new_messages = tuple({**m, "content": swapper.swap(m["content"])} for m in messages)
        if all(a["content"] == b["content"] for a, b in zip(messages, new_messages, strict=True)):
            return None
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return dataclasses.replace(item, messages=new_messages)
        if isinstance(item, Mapping):
            return {**item, "messages": list(new_messages)}
        return list(new_messages)
    if isinstance(item, Mapping) and isinstance(item.get("text"), str):
        new = swapper.swap(item["text"])
        return {**item, "text": new} if new != item["text"] else None
    return None
