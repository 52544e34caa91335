"""Synthetic conversation logs whose assistant turns differ by respondent profile, by design.

Research on how models absorb social structure fine-tunes one model per profile group on
logs of a chat agent talking with survey respondents, then asks what each fine-tune
learned. To check such a pipeline one needs logs where the answer is known. This module
writes them, in English, Latin-American Spanish and French, with three planted effects,
each carried by one profile field and each strong, frequent and short-range (so that a
LoRA on the 4-layer lab model can learn it and a stylometry classifier can find it):

* education -> a sentence-initial marker word per value (`Simply,` / `Usually,` /
  `Notably,` ...) in 85% of body sentences, and the body-sentence length (6-8, 11-14
  or 18-22 words, every length in the range equally likely);
* age_group -> register (informal `tú`/`tu`/contractions for 18-34, formal
  `usted`/`vous`/`do not` otherwise) and a distinct opening and closing formula per value;
* occupation (French PCS groups 1-6) -> the topic noun of the advice sentence.

`gender` and `region` are controls: nothing depends on them. Profiles are drawn
independently and uniformly, so no planted effect is confounded with another field.
User turns (survey-like questions and follow-ups) do not depend on the profile.
`interaction_truth()` returns all of this as data; docs/interactions.md has the table.

The logs are generated on the fly (about 0.1 s for the default size) and are never part
of the lab model's training corpus: `GENERATOR_VERSION` of the lab does not cover them,
`INTERACTIONS_VERSION` does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from biaskit.errors import ConfigError
from biaskit.lab import interactions_words as W

# Bump whenever a word bank, a rate or the generator changes what a seed produces.
INTERACTIONS_VERSION = "interactions-1"
DEFAULT_N = 3000
MARKER_RATE = 0.85
SYSTEM_RATE = 0.5
FOLLOW_UP_RATE = 0.4
MAX_CONVERSATIONS_PER_RESPONDENT = 3
MAX_EXTRA_CLAUSES = 2
LANGUAGES = W.LANGUAGES
PROFILE_FIELDS = ("age_group", "gender", "education", "occupation", "region", "language")


def generate_interactions(n: int = DEFAULT_N, *, languages: Sequence[str] = LANGUAGES,
                          seed: int = 0) -> list[dict[str, Any]]:
    """`n` conversation log rows (`respondent_id`, `profile`, `messages`), deterministic in `seed`.

    Each respondent gets one profile and 1-3 conversations; the rows are exactly what
    `biaskit.data.interactions.read_interactions` reads from a JSONL file.

    Raises:
        ConfigError: `n` < 1, or a language other than en, es, fr.
    """
    langs = _check_languages(languages)
    if n < 1:
        raise ConfigError(f"generate_interactions needs n >= 1, got {n}")
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    respondent = 0
    while len(rows) < n:
        respondent += 1
        profile = _draw_profile(rng, langs)
        count = rng.randint(1, MAX_CONVERSATIONS_PER_RESPONDENT)
        for _ in range(min(count, n - len(rows))):
            rows.append({"respondent_id": f"resp-{seed}-{respondent:05d}", "profile": dict(profile),
                         "messages": _conversation(rng, profile)})
    return rows


def lab_interactions(seed: int = 0) -> list[dict[str, Any]]:
    """The rows behind `lab:interactions`: the default size, all three languages."""
    return generate_interactions(DEFAULT_N, seed=seed)


def assistant_texts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One tidy row per assistant turn: `text`, `conversation`, `turn` and the profile fields.

    The shape classifiers and `biaskit capture --text text --label education` expect.
    """
    out = []
    for index, row in enumerate(rows):
        turn = 0
        for message in row["messages"]:
            if message["role"] == "assistant":
                out.append({"text": message["content"], "conversation": index, "turn": turn,
                            **row["profile"]})
                turn += 1
    return out


def interaction_truth(languages: Sequence[str] = LANGUAGES) -> dict[str, Any]:
    """What the generator plants, as data (restricted to `languages`).

    Keys: `fields` (profile field -> values), `planted` (field -> effects), `controls`,
    `markers` (field -> value -> marker words, all languages), `markers_by_language`,
    `marker_rate`, `sentence_length` (field -> value -> min/max/mean words), `register`,
    `register_frames`, `register_words`, `openings`, `closings`, `topics`, `topic_rate`,
    and the conversation `structure` with its rates.
    """
    langs = _check_languages(languages)

    def per_lang(bank: dict[str, Sequence[Any]]) -> dict[str, list[Any]]:
        return {lang: list(bank[lang]) for lang in langs}

    return {
        "version": INTERACTIONS_VERSION,
        "languages": list(langs),
        "default_n": DEFAULT_N,
        "fields": {"age_group": list(W.AGE_GROUPS), "gender": list(W.GENDERS),
                   "education": list(W.EDUCATION), "occupation": list(W.OCCUPATIONS),
                   "region": list(W.REGIONS), "language": list(langs)},
        "occupation_labels": dict(W.OCCUPATIONS),
        "planted": {"education": ["markers", "sentence_length"],
                    "age_group": ["register", "openings", "closings"],
                    "occupation": ["topics"]},
        "controls": ["gender", "region"],
        "markers": {"education": {value: sorted({w for lang in langs for w in bank[lang]})
                                  for value, bank in W.MARKERS.items()}},
        "markers_by_language": {"education": {value: per_lang(bank)
                                              for value, bank in W.MARKERS.items()}},
        "marker_rate": MARKER_RATE,
        "marker_position": "first word of a body sentence, capitalised, followed by a comma",
        "sentence_length": {"education": {value: {"min": lo, "max": hi, "mean": (lo + hi) / 2}
                                          for value, (lo, hi) in W.SENTENCE_WORDS.items()}},
        "sentence_length_unit": "whitespace-separated words of a body sentence; openings and "
                                "closings are not body sentences",
        "register": {"age_group": dict(W.REGISTER)},
        "register_frames": {reg: per_lang(bank) for reg, bank in W.FRAMES.items()},
        "register_words": {reg: per_lang(bank) for reg, bank in W.REGISTER_WORDS.items()},
        "openings": {"age_group": {v: per_lang(bank) for v, bank in W.OPENINGS.items()}},
        "closings": {"age_group": {v: per_lang(bank) for v, bank in W.CLOSINGS.items()}},
        "topics": {"occupation": {code: {lang: [_noun(item)[0] for item in bank[lang]]
                                         for lang in langs}
                                  for code, bank in W.TOPIC_NOUNS.items()}},
        "topic_rate": 1.0,
        "topic_position": "the noun of the advice sentence (one per assistant turn)",
        "structure": {
            "profile": "fields drawn independently and uniformly; one profile per respondent",
            "conversations_per_respondent": [1, MAX_CONVERSATIONS_PER_RESPONDENT],
            "system_rate": SYSTEM_RATE, "follow_up_rate": FOLLOW_UP_RATE,
            "assistant_turn": "[opening, first assistant turn only] answer sentence, advice "
                              "sentence [closing, last assistant turn only]",
            "user_turns": "survey-like questions on six topics and generic follow-ups, "
                          "independent of the profile",
            "topics_asked": list(W.TOPICS),
        },
    }


def _check_languages(languages: Sequence[str]) -> tuple[str, ...]:
    langs = tuple(languages)
    unknown = [lang for lang in langs if lang not in W.LANGUAGES]
    if unknown or not langs:
        raise ConfigError(f"interaction logs exist in {', '.join(W.LANGUAGES)}; got "
                          f"{', '.join(map(repr, langs)) or 'no language'}")
    return langs


def _draw_profile(rng: random.Random, languages: Sequence[str]) -> dict[str, str]:
    return {"age_group": rng.choice(W.AGE_GROUPS), "gender": rng.choice(W.GENDERS),
            "education": rng.choice(W.EDUCATION), "occupation": rng.choice(tuple(W.OCCUPATIONS)),
            "region": rng.choice(W.REGIONS), "language": rng.choice(tuple(languages))}


def _conversation(rng: random.Random, profile: dict[str, str]) -> list[dict[str, str]]:
    lang = profile["language"]
    topic = rng.choice(W.TOPICS)
    messages = []
    if rng.random() < SYSTEM_RATE:
        messages.append({"role": "system", "content": W.SYSTEM[lang]})
    turns = 2 if rng.random() < FOLLOW_UP_RATE else 1
    for turn in range(turns):
        question = rng.choice(W.QUESTIONS[lang][topic] if turn == 0 else W.FOLLOW_UPS[lang])
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant",
                         "content": _assistant_turn(rng, profile, topic, first=turn == 0,
                                                    last=turn == turns - 1)})
    return messages


def _assistant_turn(rng: random.Random, profile: dict[str, str], topic: str, *, first: bool,
                    last: bool) -> str:
    lang, age = profile["language"], profile["age_group"]
    parts = [rng.choice(W.OPENINGS[age][lang])] if first else []
    clauses = W.CLAUSES[lang][topic]
    parts.append(_sentence(rng, profile, rng.choice(clauses), clauses))
    parts.append(_sentence(rng, profile, _advice(rng, profile), clauses))
    if last:
        parts.append(rng.choice(W.CLOSINGS[age][lang]))
    return " ".join(parts)


def _noun(item: str | tuple[str, str]) -> tuple[str, str]:
    """(noun, informal possessive); only the French nouns carry their own (ton/ta)."""
    return (item, "") if isinstance(item, str) else item


def _advice(rng: random.Random, profile: dict[str, str]) -> str:
    lang = profile["language"]
    noun, possessive = _noun(rng.choice(W.TOPIC_NOUNS[profile["occupation"]][lang]))
    frame = rng.choice(W.FRAMES[W.REGISTER[profile["age_group"]]][lang])
    return frame.format(n=noun, p=possessive)


def _sentence(rng: random.Random, profile: dict[str, str], core: str,
              clauses: Sequence[str]) -> str:
    """A body sentence of exactly the drawn length: [marker,] core [, conj clause] modifiers.

    The length is drawn first, uniformly in the education group's range; extra clauses
    (joined by a conjunction) and sentence-final modifiers then fill it word for word, so
    the planted mean is exactly the middle of the range.
    """
    lang, education = profile["language"], profile["education"]
    lo, hi = W.SENTENCE_WORDS[education]
    target = rng.randint(lo, hi)
    marker = rng.choice(W.MARKERS[education][lang]) if rng.random() < MARKER_RATE else None
    pieces = [core]
    gap = target - len(core.split()) - (marker is not None)
    others = [c for c in clauses if c != core]
    rng.shuffle(others)
    added = 0
    for clause in others:
        need = 1 + len(clause.split())
        if added == MAX_EXTRA_CLAUSES or gap < need + 2:
            continue
        pieces[-1] += ","
        pieces.append(f"{rng.choice(W.CONJUNCTIONS[lang])} {clause}")
        gap -= need
        added += 1
    pieces += _modifiers(rng, lang, gap)
    text = " ".join(pieces) + "."
    if marker is not None:
        return f"{marker.capitalize()}, {text}"
    return text[0].upper() + text[1:]


def _modifiers(rng: random.Random, lang: str, gap: int) -> list[str]:
    """Distinct sentence-final modifiers totalling exactly `gap` words.

    Random picks among those that fit, finishing with an exact fit when one is left; a
    rare dead end (only longer modifiers left) is retried with the next random draw.
    """
    for _ in range(100):
        pool, chosen, left = list(W.MODIFIERS[lang]), [], gap
        while left > 0:
            exact = [m for m in pool if len(m.split()) == left]
            fits = exact if left <= 4 and exact else [m for m in pool if len(m.split()) <= left]
            if not fits:
                break
            choice = rng.choice(fits)
            pool.remove(choice)
            chosen.append(choice)
            left -= len(choice.split())
        if left == 0:
            return chosen
    raise AssertionError(f"cannot fill {gap} words in {lang}")  # pragma: no cover
