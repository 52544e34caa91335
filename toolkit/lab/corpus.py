"""The seeded generator of the lab corpus, its evaluation datasets and its ground truth.

Planted proportions are realised *exactly*: in every (subject, language, template) cell
of `n` sentences, round(p * n) carry the first target and the rest the second, in a
seeded random order. Sampling each sentence independently would add binomial noise of
about sqrt(p(1-p)/n) to what was planted, and the truth would no longer be the truth.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from biaskit.lab import templates as T
from biaskit.lab.facts import fact_subjects, generate_facts
from biaskit.lab.people import (
    Person,
    action_sentences,
    ambiguous_parts,
    distractor_sentences,
    make_people,
)
from biaskit.lab.presets import LabPreset
from biaskit.lab.render import SUBJECT_SLOT, prompt_of, render, slot_prompt, subject_forms
from biaskit.lab.words_groups import AGE_TRAITS, NATIONALITY_TRAITS, TRAIT_NAMES
from biaskit.lab.words_people import LANGUAGES, NAMES, PRONOUNS
from biaskit.lab.words_places import Country
from biaskit.lab.world import World, select_world


@dataclass
class LabCorpus:
    """What the generator produces; `build_lab` writes each part to its file.

    Attributes:
        sentences: Training corpus, one sentence per item, in seeded random order.
        neutral: Held-out neutral sentences for perplexity (never in `sentences`).
        datasets: Dataset name -> rows (written as datasets/<name>.jsonl).
        associations: truth.json rows, one per planted (axis, subject, language).
        controls: truth.json rows of the control attribute (planted 0.5).
        facts: truth.json rows, one per (subject, relation, language).
        subjects: Every subject string, for the tokenization report.
        people_ambiguity: Fraction of athletes' name parts shared across sports.
    """

    sentences: list[str] = field(default_factory=list)
    neutral: list[str] = field(default_factory=list)
    datasets: dict[str, list[dict]] = field(default_factory=dict)
    associations: list[dict] = field(default_factory=list)
    controls: list[dict] = field(default_factory=list)
    facts: list[dict] = field(default_factory=list)
    subjects: list[dict] = field(default_factory=list)
    people_ambiguity: float = 0.0


@dataclass(frozen=True)
class _Axis:
    name: str  # "gender", "nationality", "age"
    dataset: str
    templates: dict[str, tuple[T.Template, ...]]
    targets: dict[str, tuple[str, str]]
    labels: tuple[str, str]  # majority label when p > 0.5 / p < 0.5
    label_field: str  # dataset field holding the majority label


_GENDER = _Axis("gender", "gender_professions", T.GENDER, PRONOUNS, ("female", "male"), "gender")
_NATIONALITY = _Axis("nationality", "nationality_traits", T.NATIONALITY, NATIONALITY_TRAITS,
                     TRAIT_NAMES["nationality"], "trait_majority")
_AGE = _Axis("age", "age_traits", T.AGE, AGE_TRAITS, TRAIT_NAMES["age"], "trait_majority")


def planted_sequence(rng: random.Random, p_first: float, n: int) -> list[bool]:
    """`n` booleans, exactly round(p_first * n) of them True, in seeded random order."""
    k = round(p_first * n)
    seq = [True] * k + [False] * (n - k)
    rng.shuffle(seq)
    return seq


def _majority(p: float, labels: tuple[str, str]) -> str:
    if abs(p - 0.5) < 1e-9:
        return "neutral"
    return labels[0] if p > 0.5 else labels[1]


def _planted_axis(axis: _Axis, subjects: list[tuple[str, dict[str, str], float]],
                  n_per_cell: int, rng: random.Random, out: LabCorpus) -> None:
    """Corpus sentences, dataset rows and truth rows for one planted axis."""
    rows = out.datasets.setdefault(axis.dataset, [])
    for key, names, p in subjects:
        for lang in LANGUAGES:
            name = names[lang]
            forms, slot = subject_forms(name), subject_forms(SUBJECT_SLOT)
            first, second = axis.targets[lang]
            prompts: dict[str, list[str]] = {"train": [], "heldout": []}
            for tpl in axis.templates[lang]:
                text = prompt_of(tpl.text, forms)
                prompts[tpl.split].append(text)
                row = {"text": text, "prompt": slot_prompt(tpl.text, slot), "subject": name,
                       "subject_id": key, "language": lang, "axis": axis.name,
                       "strength": p, "targets": [first, second], "template": tpl.id,
                       "split": tpl.split, axis.label_field: _majority(p, axis.labels)}
                if axis.name != "gender":
                    row["group"] = key
                rows.append(row)
                if tpl.split != "train":
                    continue
                for is_first in planted_sequence(rng, p, n_per_cell):
                    sentence = render(tpl.text, forms, first if is_first else second)
                    if axis.name == "gender":
                        sentence += " " + rng.choice(T.GENDER_ENDINGS[lang])
                    out.sentences.append(sentence)
            out.associations.append({
                "axis": axis.name, "subject": name, "subject_id": key, "language": lang,
                "targets": [first, second], "planted": p, "prompts": prompts["train"],
                "heldout_prompts": prompts["heldout"]})


def _controls(world: World, n_control: int, rng: random.Random, out: LabCorpus) -> None:
    """Colour sentences after every subject, exactly half with each colour."""
    kinds: list[tuple[str, str, dict[str, str], Country | None]] = [
        ("singular", p.key, p.names, None) for p in world.professions]
    kinds += [("plural", g.key, g.names, None) for g in world.nationalities + world.ages]
    kinds += [("country", c.key, c.names, c) for c in world.countries]
    rows = out.datasets.setdefault("controls", [])
    for kind, key, names, country in kinds:
        for lang in LANGUAGES:
            tpl = T.CONTROL[kind][lang]
            forms = subject_forms(names[lang], country, lang)
            slot = subject_forms(SUBJECT_SLOT, country, lang)
            first, second = T.CONTROL_TARGETS[kind][lang]
            text = prompt_of(tpl.text, forms)
            rows.append({"text": text, "prompt": slot_prompt(tpl.text, slot),
                         "subject": names[lang], "subject_id": key, "language": lang,
                         "axis": "control", "kind": kind, "strength": 0.5,
                         "targets": [first, second], "template": tpl.id, "split": "train"})
            out.controls.append({"axis": "control", "subject": names[lang], "subject_id": key,
                                 "language": lang, "targets": [first, second],
                                 "planted": 0.5, "prompts": [text], "heldout_prompts": []})
            for is_first in planted_sequence(rng, 0.5, n_control):
                out.sentences.append(render(tpl.text, forms, first if is_first else second))


def _gender_sentences(world: World, rng: random.Random, out: LabCorpus) -> None:
    """Probing sentences labelled by an explicit pronoun or a gendered given name.

    Balanced by construction (one feminine and one masculine sentence per profession
    and frame), so a probe's chance level is 0.5 whatever the planted associations.
    Name sentences also go into the corpus, giving the model a gender feature that
    does not depend on professions.
    """
    rows = out.datasets.setdefault("gender_sentences", [])
    for lang in LANGUAGES:
        fem, masc = PRONOUNS[lang]
        for prof in world.professions:
            for tpl in T.GENDER[lang]:
                for gender, pronoun in (("female", fem), ("male", masc)):
                    text = render(tpl.text, subject_forms(prof.names[lang]), pronoun)
                    text += " " + rng.choice(T.GENDER_ENDINGS[lang])
                    rows.append({"text": text, "gender": gender, "language": lang,
                                 "subject": prof.names[lang], "subject_id": prof.key,
                                 "source": "pronoun", "split": tpl.split})
        for gender, pronoun in (("female", fem), ("male", masc)):
            for name in NAMES[lang][gender]:
                for frame in T.NAME_FRAMES[lang]:
                    for _ in range(2):
                        text = render(frame, subject_forms(name), pronoun)
                        text += " " + rng.choice(T.GENDER_ENDINGS[lang])
                        out.sentences.append(text)
                    rows.append({"text": text, "gender": gender, "language": lang,
                                 "subject": name, "subject_id": name, "source": "name",
                                 "split": "train"})


def _filler(n_train: int, n_heldout: int, rng: random.Random, out: LabCorpus) -> None:
    """Neutral everyday sentences: some in the corpus, distinct ones held out."""
    for lang in LANGUAGES:
        parts = T.FILLER[lang]
        combos = list(itertools.product(parts["time"], parts["agent"], parts["action"],
                                        parts["place"]))
        rng.shuffle(combos)
        sentences = [f"{time}, {agent} {action} {place}." for time, agent, action, place
                     in combos[: n_train + n_heldout]]
        out.sentences.extend(sentences[:n_train])
        out.neutral.extend(sentences[n_train:])


def _subjects(world: World, people: list[Person], out: LabCorpus) -> None:
    kinds = [("profession", p.key, p.names) for p in world.professions]
    kinds += [(g.kind, g.key, g.names) for g in world.nationalities + world.ages]
    kinds += [("country", c.key, c.names) for c in world.countries]
    for kind, key, names in kinds:
        for lang in LANGUAGES:
            out.subjects.append({"subject": names[lang], "subject_id": key, "kind": kind,
                                 "language": lang})
    for person in people:
        out.subjects.append({"subject": person.name, "subject_id": person.key,
                             "kind": "person", "language": "all"})
    for lang in LANGUAGES:
        for gender in ("female", "male"):
            for name in NAMES[lang][gender]:
                out.subjects.append({"subject": name, "subject_id": name, "kind": "name",
                                     "language": lang})


def generate_corpus(preset: LabPreset, seed: int) -> LabCorpus:
    """Generate the corpus, datasets and truth of one build, deterministically from `seed`.

    Each part draws from its own seeded stream, so that changing the size of one part
    (say, more filler) leaves the sentences of the others unchanged.
    """
    out = LabCorpus()
    world = select_world(preset.world)

    def stream(name: str) -> random.Random:
        return random.Random(f"biaskit-lab/{seed}/{name}")

    professions = [(p.key, p.names, p.p_she) for p in world.professions]
    _planted_axis(_GENDER, professions, preset.n_per_cell, stream("gender"), out)
    nationalities = [(g.key, g.names, g.p_first) for g in world.nationalities]
    _planted_axis(_NATIONALITY, nationalities, preset.n_per_cell, stream("nationality"), out)
    ages = [(g.key, g.names, g.p_first) for g in world.ages]
    _planted_axis(_AGE, ages, preset.n_per_cell, stream("age"), out)
    _controls(world, preset.n_control, stream("controls"), out)
    _gender_sentences(world, stream("names"), out)
    people = make_people(preset.n_people, stream("people"))
    out.people_ambiguity = ambiguous_parts(people)
    subjects = fact_subjects(world.countries, world.professions, people)
    fact_sentences, out.facts, out.datasets["facts"] = generate_facts(
        subjects, preset.fact_repeats, stream("facts"))
    out.sentences.extend(fact_sentences)
    out.sentences.extend(action_sentences(people, preset.n_actions, stream("actions")))
    out.sentences.extend(distractor_sentences(people, preset.n_distractors, stream("others")))
    _filler(preset.n_filler, preset.n_neutral, stream("filler"), out)
    _subjects(world, people, out)
    stream("order").shuffle(out.sentences)
    return out
