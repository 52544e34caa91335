"""Which subjects a build uses: the full word lists, or a small subset for fast test builds.

The small world keeps the whole range of planted strengths on every axis (0.1 to 0.9,
with unbiased subjects at 0.5) and all three languages, so tests exercise the same
checks as the full lab on fewer subjects, in a fraction of the training time.
"""

from __future__ import annotations

from dataclasses import dataclass

from biaskit.errors import ConfigError
from biaskit.lab.words_groups import AGE_GROUPS, NATIONALITY_GROUPS, Group
from biaskit.lab.words_people import PROFESSIONS, Profession
from biaskit.lab.words_places import COUNTRIES, Country


@dataclass(frozen=True)
class World:
    """The subjects of one build."""

    professions: tuple[Profession, ...]
    nationalities: tuple[Group, ...]
    ages: tuple[Group, ...]
    countries: tuple[Country, ...]


_SMALL = {
    "professions": ("receptionist", "florist", "pediatrician", "journalist", "dentist",
                    "economist", "soldier", "pilot"),
    "nationalities": ("mapuche", "haitian", "peruvian", "mexican", "aymara", "chilean",
                      "argentinian", "colombian"),
    "ages": ("teenagers", "students", "children", "adults", "retirees", "grandparents"),
    "countries": ("chile", "peru", "mexico", "argentina", "colombia", "bolivia", "haiti",
                  "cuba", "brazil", "costa_rica"),
}

WORLDS: tuple[str, ...] = ("full", "small")


def select_world(name: str) -> World:
    """The subjects of world `name` ("full" or "small").

    Raises:
        ConfigError: Unknown world name.
    """
    if name == "full":
        return World(PROFESSIONS, NATIONALITY_GROUPS, AGE_GROUPS, COUNTRIES)
    if name != "small":
        raise ConfigError(f"unknown lab world {name!r}; known worlds: {', '.join(WORLDS)}")

    def pick(items: tuple, keys: tuple[str, ...]) -> tuple:
        return tuple(item for item in items if item.key in keys)

    return World(pick(PROFESSIONS, _SMALL["professions"]),
                 pick(NATIONALITY_GROUPS, _SMALL["nationalities"]),
                 pick(AGE_GROUPS, _SMALL["ages"]), pick(COUNTRIES, _SMALL["countries"]))
