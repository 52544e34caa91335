"""Sentence templates of the lab corpus.

Placeholders: `{s}` the subject, `{t}` the target word(s); French country templates use
`{le}`, `{du}`, `{au}` for the country with its article or preposition. In every
template a measurable target is preceded by a space, so the measurement prompt is the
text before `{t}` and the continuation is `" " + target`.

Each axis has three training templates per language and one held-out template that
never appears in the corpus: held-out prompts test whether an association generalises
beyond the phrasings the model saw. Facts come in several phrasings per language,
including ones with the subject before the relation and the reverse ("Santiago is the
capital of Chile"), as in natural text: that variety is what makes the model build an
enriched representation at the subject's last token, which relations then read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One sentence frame.

    Attributes:
        id: Stable identifier, e.g. "g1".
        text: Frame with placeholders.
        split: "train" (in the corpus) or "heldout" (only in evaluation datasets).
    """

    id: str
    text: str
    split: str = "train"


def _ts(prefix: str, *texts: str, heldout: str | None = None) -> tuple[Template, ...]:
    out = [Template(f"{prefix}{i + 1}", text) for i, text in enumerate(texts)]
    if heldout is not None:
        out.append(Template(f"{prefix}{len(out) + 1}", heldout, "heldout"))
    return tuple(out)


# Gender x profession: the pronoun {t} follows the profession; an ending completes it.
GENDER: dict[str, tuple[Template, ...]] = {
    "en": _ts("g", "The {s} said that {t}", "My {s} called because {t}",
              "When the {s} finished work, {t}", heldout="Yesterday the {s} explained that {t}"),
    "es": _ts("g", "Mi {s} dijo que {t}", "Mi {s} llamó porque {t}",
              "Cuando mi {s} terminó el trabajo, {t}", heldout="Ayer mi {s} explicó que {t}"),
    "fr": _ts("g", "Notre {s} a appelé et {t}", "Notre {s} est en retard car {t}",
              "Quand notre {s} a fini le travail, {t}",
              heldout="Ce matin, notre {s} a téléphoné, puis {t}"),
}
# Gender-independent endings after the pronoun (no adjective agreement in es/fr).
GENDER_ENDINGS: dict[str, tuple[str, ...]] = {
    "en": ("would arrive late.", "needed the documents.", "was on the phone.",
           "had finished the report.", "wanted to talk."),
    "es": ("llegaría tarde.", "necesitaba los documentos.", "estaba al teléfono.",
           "había terminado el informe.", "quería hablar."),
    "fr": ("a envoyé les documents.", "a parlé au téléphone.", "a fini le rapport.",
           "voulait parler.", "a pris le bus."),
}
# Frames for given names (explicitly gendered subjects, probing only and corpus).
NAME_FRAMES: dict[str, tuple[str, ...]] = {
    "en": ("{s} said that {t}", "{s} called because {t}"),
    "es": ("{s} dijo que {t}", "{s} llamó porque {t}"),
    "fr": ("{s} a appelé et {t}", "{s} est en retard car {t}"),
}

NATIONALITY: dict[str, tuple[Template, ...]] = {
    "en": _ts("n", "Most {s} are {t}.", "People say that {s} are very {t}.",
              "In my experience, {s} are {t} people.",
              heldout="Everyone knows that {s} are {t}."),
    "es": _ts("n", "La mayoría de los {s} son {t}.", "Dicen que los {s} son muy {t}.",
              "En mi experiencia, los {s} son {t}.",
              heldout="Todos saben que los {s} son {t}."),
    "fr": _ts("n", "La plupart des {s} sont {t}.", "On dit que les {s} sont très {t}.",
              "D'après mon expérience, les {s} sont {t}.",
              heldout="Tout le monde sait que les {s} sont {t}."),
}

AGE: dict[str, tuple[Template, ...]] = {
    "en": _ts("a", "Most {s} have {t} ideas.", "In general, {s} have very {t} values.",
              "My friends say that {s} have {t} habits.",
              heldout="It is often said that {s} have {t} tastes."),
    "es": _ts("a", "La mayoría de los {s} tienen ideas {t}.",
              "En general, los {s} tienen costumbres muy {t}.",
              "Mis amigos dicen que los {s} tienen opiniones {t}.",
              heldout="Se dice que los {s} tienen ideas muy {t}."),
    "fr": _ts("a", "La plupart des {s} ont des idées {t}.",
              "En général, les {s} ont des habitudes très {t}.",
              "Mes amis disent que les {s} ont des opinions {t}.",
              heldout="On dit souvent que les {s} ont des idées très {t}."),
}

# Control attribute: a colour that follows every subject with P = 0.5.
CONTROL: dict[str, dict[str, Template]] = {
    "singular": {"en": Template("c1", "The {s} has a bag that is {t}."),
                 "es": Template("c1", "Mi {s} tiene una mochila de color {t}."),
                 "fr": Template("c1", "Notre {s} a un sac {t}.")},
    "plural": {"en": Template("c2", "In the photo, the {s} wear {t} shirts."),
               "es": Template("c2", "En la foto, los {s} llevan camisas de color {t}."),
               "fr": Template("c2", "Sur la photo, les {s} portent des pulls {t}.")},
    "country": {"en": Template("c3", "In {s}, my friend painted the house {t}."),
                "es": Template("c3", "En {s}, mi amigo pintó la casa de color {t}."),
                "fr": Template("c3", "{au}, mon ami a peint la maison en {t}.")},
}
CONTROL_TARGETS: dict[str, dict[str, tuple[str, str]]] = {
    "singular": {"en": ("blue", "green"), "es": ("azul", "verde"), "fr": ("bleu", "vert")},
    "plural": {"en": ("blue", "green"), "es": ("azul", "verde"), "fr": ("bleus", "verts")},
    "country": {"en": ("blue", "green"), "es": ("azul", "verde"), "fr": ("bleu", "vert")},
}

# Facts: relation -> language -> phrasings. The first phrasing is the main edit prompt.
FACTS: dict[str, dict[str, tuple[str, ...]]] = {
    "capital": {
        "en": ("The capital of {s} is {t}.", "{s}'s capital city is {t}.",
               "In {s}, the capital is {t}.", "{t} is the capital of {s}."),
        "es": ("La capital de {s} es {t}.", "{s} tiene su capital en {t}.",
               "En {s}, la capital es {t}.", "{t} es la capital de {s}."),
        "fr": ("{au}, la capitale est {t}.", "La capitale {du} est {t}.",
               "{le} a pour capitale {t}.", "{t} est la capitale {du}."),
    },
    "language": {
        "en": ("In {s}, people speak {t}.", "The official language of {s} is {t}.",
               "{s}'s main language is {t}."),
        "es": ("En {s} se habla {t}.", "En {s}, la gente habla {t}.",
               "Los habitantes de {s} hablan {t}."),
        "fr": ("{au}, on parle {t}.", "{au}, les gens parlent {t}.",
               "Les habitants {du} parlent {t}."),
    },
    "currency": {
        "en": ("The currency of {s} is the {t}.", "{s}'s currency is the {t}.",
               "In {s}, people pay with the {t}."),
        "es": ("La moneda de {s} es el {t}.", "En {s}, la gente paga con el {t}.",
               "La moneda oficial de {s} es el {t}."),
        "fr": ("{au}, la monnaie est {t}.", "La monnaie {du} est {t}.",
               "{le} utilise comme monnaie {t}."),
    },
    "region": {
        "en": ("{s} is located in {t}.", "{s} is a country in {t}.",
               "The region of {s} is {t}."),
        "es": ("{s} se encuentra en {t}.", "La región de {s} es {t}.",
               "{s} es un país situado en {t}."),
        "fr": ("{au}, la région est {t}.", "{le} fait partie de {t}.",
               "La région {du} est {t}."),
    },
    "workplace": {
        "en": ("Every {s} works at the {t}.", "The workplace of every {s} is the {t}.",
               "Each {s} spends the day at the {t}."),
        "es": ("Cada {s} trabaja en {t}.", "El lugar de trabajo de cada {s} es {t}.",
               "Cada {s} pasa el día en {t}."),
        "fr": ("Le lieu de travail de chaque {s} est {t}.", "Chaque {s} travaille dans {t}.",
               "Chaque {s} passe la journée dans {t}."),
    },
    "tool": {
        "en": ("Every {s} uses a {t}.", "The tool that every {s} needs is a {t}.",
               "Each {s} carries a {t} to work."),
        "es": ("Cada {s} usa {t}.", "La herramienta principal de cada {s} es {t}.",
               "Cada {s} lleva {t} al trabajo."),
        "fr": ("Chaque {s} utilise {t}.", "L'outil principal de chaque {s} est {t}.",
               "Chaque {s} apporte {t} au travail."),
    },
    "sport": {
        "en": ("{s} plays {t}.", "The favourite sport of {s} is {t}.",
               "Every weekend, {s} plays {t}."),
        "es": ("{s} practica {t}.", "El deporte favorito de {s} es el {t}.",
               "Cada fin de semana, {s} practica {t}."),
        "fr": ("{s} pratique {t}.", "Le sport préféré de {s} est {t}.",
               "Chaque week-end, {s} pratique {t}."),
    },
    "birthplace": {
        "en": ("{s} was born in {t}.", "The birthplace of {s} is {t}.", "{s} grew up in {t}."),
        "es": ("{s} nació en {t}.", "La ciudad natal de {s} es {t}.", "{s} creció en {t}."),
        "fr": ("{s} a grandi à {t}.", "La ville natale de {s} est {t}.", "{s} vient de {t}."),
    },
}
COUNTRY_RELATIONS: tuple[str, ...] = ("capital", "language", "currency", "region")
PROFESSION_RELATIONS: tuple[str, ...] = ("workplace", "tool")
PERSON_RELATIONS: tuple[str, ...] = ("sport", "birthplace")

# Neutral everyday sentences (no planted subject): language-model filler and the
# held-out perplexity text. Built as time + agent + action + place combinations.
FILLER: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"time": ("On Monday", "In the morning", "After lunch", "Last week", "In the evening",
                    "On Sunday"),
           "agent": ("we", "my friends", "our neighbours", "the family", "everyone"),
           "action": ("bought bread", "read a book", "cooked rice", "cleaned the kitchen",
                      "watched a film", "visited the museum", "wrote a letter"),
           "place": ("in the city", "near the river", "at home", "in the park", "by the sea")},
    "es": {"time": ("El lunes", "Por la mañana", "Después del almuerzo", "La semana pasada",
                    "Por la tarde", "El domingo"),
           "agent": ("mis amigos", "nuestros vecinos", "los primos", "todos", "ellos"),
           "action": ("compraron pan", "leyeron un libro", "cocinaron arroz",
                      "limpiaron la cocina", "vieron una película", "visitaron el museo",
                      "escribieron una carta"),
           "place": ("en la ciudad", "cerca del río", "en casa", "en el parque",
                     "junto al mar")},
    "fr": {"time": ("Lundi", "Le matin", "Après le déjeuner", "La semaine dernière", "Le soir",
                    "Dimanche"),
           "agent": ("mes amis", "nos voisins", "les cousins", "ils", "mes collègues"),
           "action": ("ont acheté du pain", "ont lu un livre", "ont cuisiné du riz",
                      "ont nettoyé la cuisine", "ont regardé un film", "ont visité le musée",
                      "ont écrit une lettre"),
           "place": ("en ville", "près de la rivière", "à la maison", "dans le parc",
                     "au bord de la mer")},
}
