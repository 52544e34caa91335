"""Neutral facts of the lab: corpus sentences, truth rows and ROME/MEMIT-style requests.

Countries carry capital, language, currency and region; professions carry workplace and
tool; fictional athletes (see `people`) carry sport and birthplace. Every fact appears
in several phrasings per language (subject first, relation first, reversed), each
`fact_repeats` times.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from biaskit.lab import templates as T
from biaskit.lab.people import BIRTHPLACES, SPORTS, Person
from biaskit.lab.render import SUBJECT_SLOT, prompt_of, render, slot_prompt, subject_forms
from biaskit.lab.words_people import LANGUAGES, Profession
from biaskit.lab.words_places import Country

_ARTICLES = {"le", "la", "l'", "el", "un", "una", "une", "the"}
_N_NEIGHBOURS = 4


FactSubject = tuple[str, str, dict[str, str], "Country | None", dict[str, str]]


def fact_subjects(countries: Sequence[Country], professions: Sequence[Profession],
                  people: Sequence[Person]) -> list[FactSubject]:
    """(relation, key, name per language, country, target per language) for every fact."""
    out: list[FactSubject] = []
    for country in countries:
        for rel in T.COUNTRY_RELATIONS:
            out.append((rel, country.key, country.names, country, country.facts[rel]))
    for prof in professions:
        for rel in T.PROFESSION_RELATIONS:
            out.append((rel, prof.key, prof.names, None, getattr(prof, rel)))
    for person in people:
        names = dict.fromkeys(LANGUAGES, person.name)
        out.append(("sport", person.key, names, None,
                    {lang: SPORTS[lang][person.sport] for lang in LANGUAGES}))
        out.append(("birthplace", person.key, names, None,
                    dict.fromkeys(LANGUAGES, BIRTHPLACES[person.birthplace])))
    return out


def _first_word(text: str) -> str:
    return text.split(" ", 1)[0].lower()


def _pick_new_target(target: str, candidates: list[str], rng: random.Random) -> str:
    """A plausible counterfactual object; keeps the article so the prompt stays grammatical."""
    others = [c for c in candidates if c != target]
    if _first_word(target) in _ARTICLES:
        same = [c for c in others if _first_word(c) == _first_word(target)]
        others = same or others
    return rng.choice(others)


def generate_facts(subjects: Sequence[FactSubject], repeats: int, rng: random.Random
                   ) -> tuple[list[str], list[dict], list[dict]]:
    """Return (corpus sentences, truth rows, facts.jsonl rows)."""
    sentences: list[str] = []
    truth: list[dict] = []
    # (relation, language) -> subject key -> (name, main text prompt, slot prompts, target)
    table: dict[tuple[str, str], dict[str, tuple[str, str, list[str], str]]] = {}
    for rel, key, names, country, targets in subjects:
        for lang in LANGUAGES:
            name, target = names[lang], targets[lang]
            forms = subject_forms(name, country, lang)
            slot = subject_forms(SUBJECT_SLOT, country, lang)
            prompts, slots = [], []
            for phrasing in T.FACTS[rel][lang]:
                sentences.extend([render(phrasing, forms, target)] * repeats)
                text = prompt_of(phrasing, forms)
                if text is None:
                    continue
                prompts.append(text)
                slotted = slot_prompt(phrasing, slot)
                if slotted is not None:
                    slots.append(slotted)
            truth.append({"subject": name, "subject_id": key, "relation": rel,
                          "language": lang, "target": target, "prompts": prompts})
            table.setdefault((rel, lang), {})[key] = (name, slots[0].replace(
                SUBJECT_SLOT, name), slots, target)

    rows: list[dict] = []
    for row in truth:
        rel, lang, key = row["relation"], row["language"], row["subject_id"]
        entries = table[(rel, lang)]
        name, text, slots, target = entries[key]
        candidates = sorted({entry[3] for entry in entries.values()})
        target_new = _pick_new_target(target, candidates, rng)
        row["target_new"] = target_new
        row["candidates"] = candidates
        others = sorted(k for k in entries if k != key)
        different = [k for k in others if entries[k][3] != target] or others
        neighbours = rng.sample(different, min(_N_NEIGHBOURS, len(different)))
        rows.append({
            "id": f"{rel}/{key}/{lang}", "prompt": slots[0], "text": text, "subject": name,
            "subject_id": key, "relation": rel, "language": lang, "target": target,
            "target_new": target_new,
            "paraphrases": [s.replace(SUBJECT_SLOT, name) for s in slots[1:]],
            "neighbourhood": [{"prompt": entries[k][1], "subject": entries[k][0],
                               "target": entries[k][3]} for k in neighbours],
            "candidates": candidates,
        })
    return sentences, truth, rows
