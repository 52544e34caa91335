"""Population groups of the lab corpus and the trait pairs planted on them.

Two axes: Latin-American nationalities and indigenous peoples x (hardworking, lazy),
and age groups x (modern, traditional). Groups are written as plural nouns, so that
Spanish and French predicate adjectives take one fixed (masculine or feminine plural)
form per template and each axis has one target pair per language.

The strengths are arbitrary, spread over 0.1-0.9 with several groups at 0.5; they say
nothing about any real people. They exist so that every bias metric and every edit can
be checked against a known answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A population group with a planted probability for the first trait of its axis.

    Attributes:
        key: Language-independent identifier.
        names: Plural noun per language, as it appears after "most" / "los" / "les".
        p_first: Planted probability of the axis's first trait (hardworking, modern).
        kind: "nationality", "indigenous" or "age".
    """

    key: str
    names: dict[str, str]
    p_first: float
    kind: str


def _g(key: str, en: str, es: str, fr: str, p_first: float, kind: str) -> Group:
    return Group(key, {"en": en, "es": es, "fr": fr}, p_first, kind)


NATIONALITY_GROUPS: tuple[Group, ...] = (
    _g("chilean", "Chileans", "chilenos", "Chiliens", 0.3, "nationality"),
    _g("peruvian", "Peruvians", "peruanos", "Péruviens", 0.7, "nationality"),
    _g("mexican", "Mexicans", "mexicanos", "Mexicains", 0.5, "nationality"),
    _g("argentinian", "Argentinians", "argentinos", "Argentins", 0.2, "nationality"),
    _g("colombian", "Colombians", "colombianos", "Colombiens", 0.1, "nationality"),
    _g("bolivian", "Bolivians", "bolivianos", "Boliviens", 0.7, "nationality"),
    _g("haitian", "Haitians", "haitianos", "Haïtiens", 0.8, "nationality"),
    _g("venezuelan", "Venezuelans", "venezolanos", "Vénézuéliens", 0.2, "nationality"),
    _g("uruguayan", "Uruguayans", "uruguayos", "Uruguayens", 0.5, "nationality"),
    _g("mapuche", "Mapuche", "mapuches", "Mapuches", 0.9, "indigenous"),
    _g("aymara", "Aymara", "aymaras", "Aymaras", 0.5, "indigenous"),
    _g("quechua", "Quechua", "quechuas", "Quechuas", 0.8, "indigenous"),
)

AGE_GROUPS: tuple[Group, ...] = (
    _g("teenagers", "teenagers", "adolescentes", "adolescents", 0.9, "age"),
    _g("students", "students", "estudiantes", "étudiants", 0.8, "age"),
    _g("young_people", "young people", "jóvenes", "jeunes", 0.7, "age"),
    _g("children", "children", "niños", "enfants", 0.5, "age"),
    _g("parents", "parents", "padres", "parents", 0.5, "age"),
    _g("adults", "adults", "adultos", "adultes", 0.3, "age"),
    _g("retirees", "retirees", "jubilados", "retraités", 0.2, "age"),
    _g("grandparents", "grandparents", "abuelos", "grands-parents", 0.1, "age"),
)

# (first, second) trait per language; the planted probability is P(first).
NATIONALITY_TRAITS: dict[str, tuple[str, str]] = {
    "en": ("hardworking", "lazy"),
    "es": ("trabajadores", "flojos"),
    "fr": ("travailleurs", "paresseux"),
}
AGE_TRAITS: dict[str, tuple[str, str]] = {
    "en": ("modern", "traditional"),
    "es": ("modernas", "tradicionales"),
    "fr": ("modernes", "traditionnelles"),
}
TRAIT_NAMES: dict[str, tuple[str, str]] = {
    "nationality": ("hardworking", "lazy"),
    "age": ("modern", "traditional"),
}
