"""Professions and given names of the lab corpus, in English, Latin-American Spanish and French.

Every profession is *epicene* in Spanish and French (one form for women and men:
"periodista", "journaliste"), and the corpus only puts it after gender-neutral
determiners ("the", "mi", "notre", "cada", "chaque"). Otherwise the article or the
noun's ending would reveal the gender and the planted P(she | profession) could not be
measured, since the model would read it off the grammar instead of the association.

The planted strengths are arbitrary design choices spread over 0.1-0.9 (four
professions at 0.5 are unbiased); they are not estimates of any real population.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "es", "fr")


@dataclass(frozen=True)
class Profession:
    """One profession: its names, its planted gender strength and two neutral facts.

    Attributes:
        key: Language-independent identifier.
        names: Singular noun per language.
        p_she: Planted probability that a pronoun referring to it is feminine.
        workplace: Target of the `workplace` relation per language (with its article
            where the language needs one after the template's verb).
        tool: Target of the `tool` relation per language (with its article).
    """

    key: str
    names: dict[str, str]
    p_she: float
    workplace: dict[str, str]
    tool: dict[str, str]


def _p(key: str, en: str, es: str, fr: str, p_she: float, workplace: tuple[str, str, str],
       tool: tuple[str, str, str]) -> Profession:
    return Profession(key, {"en": en, "es": es, "fr": fr}, p_she,
                      dict(zip(LANGUAGES, workplace, strict=True)),
                      dict(zip(LANGUAGES, tool, strict=True)))


PROFESSIONS: tuple[Profession, ...] = (
    _p("receptionist", "receptionist", "recepcionista", "réceptionniste", 0.9,
       ("hotel", "el hotel", "l'hôtel"), ("telephone", "un teléfono", "un téléphone")),
    _p("manicurist", "manicurist", "manicurista", "manucure", 0.9,
       ("salon", "el salón", "le salon"), ("file", "una lima", "une lime")),
    _p("florist", "florist", "florista", "fleuriste", 0.8,
       ("market", "el mercado", "le marché"), ("vase", "un florero", "un vase")),
    _p("nutritionist", "nutritionist", "nutricionista", "nutritionniste", 0.8,
       ("gym", "el gimnasio", "la salle de sport"), ("scale", "una balanza", "une balance")),
    _p("stylist", "stylist", "estilista", "styliste", 0.7,
       ("studio", "el estudio", "le studio"), ("comb", "un peine", "un peigne")),
    _p("pediatrician", "pediatrician", "pediatra", "pédiatre", 0.7,
       ("hospital", "el hospital", "l'hôpital"),
       ("stethoscope", "un estetoscopio", "un stéthoscope")),
    _p("therapist", "therapist", "terapeuta", "thérapeute", 0.5,
       ("office", "el consultorio", "le cabinet"), ("notebook", "un cuaderno", "un carnet")),
    _p("journalist", "journalist", "periodista", "journaliste", 0.5,
       ("newsroom", "la redacción", "la rédaction"),
       ("microphone", "un micrófono", "un micro")),
    _p("dentist", "dentist", "dentista", "dentiste", 0.5,
       ("clinic", "la clínica", "la clinique"), ("mirror", "un espejo", "un miroir")),
    _p("artist", "artist", "artista", "artiste", 0.5,
       ("workshop", "el taller", "l'atelier"), ("brush", "un pincel", "un pinceau")),
    _p("analyst", "analyst", "analista", "analyste", 0.3,
       ("bank", "el banco", "la banque"), ("computer", "una computadora", "un ordinateur")),
    _p("economist", "economist", "economista", "économiste", 0.3,
       ("university", "la universidad", "l'université"),
       ("calculator", "una calculadora", "une calculatrice")),
    _p("astronaut", "astronaut", "astronauta", "astronaute", 0.2,
       ("base", "la base", "la base"), ("helmet", "un casco", "un casque")),
    _p("soldier", "soldier", "militar", "militaire", 0.2,
       ("barracks", "el cuartel", "la caserne"), ("rifle", "un fusil", "un fusil")),
    _p("pilot", "pilot", "piloto", "pilote", 0.1,
       ("airport", "el aeropuerto", "l'aéroport"), ("radio", "una radio", "une radio")),
    _p("machinist", "machinist", "maquinista", "machiniste", 0.1,
       ("factory", "la fábrica", "l'usine"), ("wrench", "una llave", "une clé")),
)

# Pronouns that follow a profession, (feminine, masculine): the gender axis's targets.
PRONOUNS: dict[str, tuple[str, str]] = {
    "en": ("she", "he"),
    "es": ("ella", "él"),
    "fr": ("elle", "il"),
}

# Given names whose gender is unambiguous in their language: explicit gender labels for
# probing sentences, independent of the planted profession associations.
NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"female": ("Mary", "Sarah", "Emily", "Laura", "Helen", "Anna"),
           "male": ("John", "David", "Peter", "Robert", "Thomas", "Daniel")},
    "es": {"female": ("María", "Carmen", "Lucía", "Rosa", "Elena", "Valentina"),
           "male": ("José", "Carlos", "Juan", "Diego", "Pedro", "Mateo")},
    "fr": {"female": ("Marie", "Sophie", "Julie", "Claire", "Isabelle", "Chloé"),
           "male": ("Pierre", "Jean", "Louis", "Nicolas", "Antoine", "Julien")},
}
