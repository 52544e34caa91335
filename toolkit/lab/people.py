"""Fictional athletes: the lab's person facts, built so that recall runs through the subject.

A person is a first name and a surname drawn from small shared pools, so every name part
occurs in several people with different facts: neither part alone tells the sport or
the birthplace, only their combination does. The model must join the parts (the
"detokenisation" AND that real models perform at a name's last token) before it can
recall anything, which puts fact recall at the subject's last token, where ROME and
MEMIT edit. Sentences such as "Yesterday, Ana Vega served an ace." also make the word
right after a name depend on the person's sport, as names do in real text; that is what
makes models enrich the name's last token with the person's attributes.

With country names this does not happen: their pieces identify the country on their
own, and a small model then reads the pieces from the prediction position and looks
the fact up there, leaving nothing at the subject for an edit to change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_NAMES: tuple[str, ...] = ("Ana", "Luis", "Eva", "Juan", "Rosa", "Raúl", "Inés", "Pablo")
SURNAMES: tuple[str, ...] = ("Paz", "Gil", "Rey", "Vega", "Luna", "Mora", "Soto", "Ruiz")


SPORTS: dict[str, tuple[str, ...]] = {
    "en": ("tennis", "football", "basketball", "golf", "boxing"),
    "es": ("tenis", "fútbol", "básquetbol", "golf", "boxeo"),
    "fr": ("le tennis", "le football", "le basket", "le golf", "la boxe"),
}
# What an athlete of each sport does, right after their name (same order as SPORTS).
SPORT_ACTIONS: dict[str, tuple[str, ...]] = {
    "en": ("served an ace.", "scored a goal.", "made a basket.", "sank a putt.",
           "threw a punch."),
    "es": ("sacó un ace.", "marcó un gol.", "encestó la pelota.", "embocó la bola.",
           "lanzó un golpe."),
    "fr": ("sert un ace.", "marque un but.", "réussit un panier.", "rentre un putt.",
           "donne un coup."),
}
ACTION_OPENERS: dict[str, tuple[str, ...]] = {
    "en": ("Yesterday", "Last night", "In the final", "This morning"),
    "es": ("Ayer", "Anoche", "En la final", "Esta mañana"),
    "fr": ("Hier", "Hier soir", "En finale", "Ce matin"),
}
BIRTHPLACES: tuple[str, ...] = ("Lima", "Quito", "Caracas", "Managua", "Sucre")


@dataclass(frozen=True)
class Person:
    """A fictional athlete; `sport` and `birthplace` index SPORTS[lang] and BIRTHPLACES."""

    name: str
    sport: int
    birthplace: int

    @property
    def key(self) -> str:
        """Identifier used as `subject_id`."""
        return self.name.lower().replace(" ", "_")


def make_people(n: int, rng: random.Random) -> list[Person]:
    """`n` distinct people (a multiple of the 8 first names) with seeded attributes.

    Every first name and every surname is used n/8 times (name i gets the surnames
    i + offset for n/8 seeded offsets), and attributes are dealt round-robin over a
    shuffled order, redealt until no name part belongs only to people of one sport or
    one birthplace. So no part identifies a fact; only the whole name does.

    Raises:
        ValueError: `n` is not a multiple of 8 between 16 and 64.
    """
    k = len(FIRST_NAMES)
    if n % k or not 2 * k <= n <= k * len(SURNAMES):
        raise ValueError(f"n_people must be a multiple of {k} between {2 * k} and {k * k}")
    offsets = rng.sample(range(len(SURNAMES)), n // k)
    names = sorted(f"{FIRST_NAMES[i]} {SURNAMES[(i + o) % len(SURNAMES)]}"
                   for i in range(k) for o in offsets)
    for _ in range(10_000):
        people = [Person(name, sport, place) for name, sport, place in zip(
            names, _dealt(n, len(SPORTS["en"]), rng), _dealt(n, len(BIRTHPLACES), rng),
            strict=True)]
        if ambiguous_parts(people) == 1.0 and ambiguous_parts(people, "birthplace") == 1.0:
            return people
    raise RuntimeError("could not deal ambiguous attributes")  # pragma: no cover


def _dealt(n: int, values: int, rng: random.Random) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    dealt = [0] * n
    for rank, index in enumerate(order):
        dealt[index] = rank % values
    return dealt


def ambiguous_parts(people: list[Person], attribute: str = "sport") -> float:
    """Fraction of name parts shared by people who differ in `attribute`.

    1.0 means that no first name or surname alone identifies the attribute: recalling
    it needs the whole name.
    """
    parts: dict[str, set[int]] = {}
    for person in people:
        for part in person.name.split(" "):
            parts.setdefault(part, set()).add(getattr(person, attribute))
    return sum(len(v) > 1 for v in parts.values()) / len(parts) if parts else 0.0


def action_sentences(people: list[Person], per_person: int, rng: random.Random) -> list[str]:
    """Sentences where the words right after a name depend on the person's sport."""
    out = []
    for person in people:
        for lang in ("en", "es", "fr"):
            for _ in range(per_person):
                opener = rng.choice(ACTION_OPENERS[lang])
                out.append(f"{opener}, {person.name} {SPORT_ACTIONS[lang][person.sport]}")
    return out


# Sentences naming two athletes: the fact belongs to the first, the second is a distractor.
WITH_OTHER: dict[str, tuple[str, ...]] = {
    "en": ("{s}, who trained with {o}, plays {t}.", "{s}, who trained with {o}, was born in {b}."),
    "es": ("{s}, que entrenó con {o}, practica {t}.", "{s}, que entrenó con {o}, nació en {b}."),
    "fr": ("{s}, qui s'entraîne avec {o}, pratique {t}.",
           "{s}, qui s'entraîne avec {o}, vient de {b}."),
}


def distractor_sentences(people: list[Person], per_person: int, rng: random.Random) -> list[str]:
    """Facts about one athlete in a sentence that also names another.

    With two names in view, the prediction position cannot tell from a bag of name parts
    which first name goes with which surname: it has to read the subject's own last
    token, where the parts were joined.
    """
    out = []
    for person in people:
        others = [p for p in people if p.name != person.name]
        for lang in ("en", "es", "fr"):
            for _ in range(per_person):
                frame = rng.choice(WITH_OTHER[lang])
                other = rng.choice(others)
                out.append(frame.format(s=person.name, o=other.name,
                                        t=SPORTS[lang][person.sport],
                                        b=BIRTHPLACES[person.birthplace]))
    return out
