"""Countries and their neutral facts (capital, language, currency, region) in three languages.

These facts carry no social association: they are what edits rewrite and what locality
checks must leave alone. French needs the country with its article or preposition
("le Chili", "du Chili", "au Chili", "en Argentine", "d'Haïti"), so each country stores
those prefixes; a template names the form it needs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    """A country with its name per language and its facts per language.

    Attributes:
        key: Language-independent identifier.
        names: Country name per language.
        fr_forms: French prefixes for the forms `le`, `du`, `au` ("" for no article);
            a prefix ending in an apostrophe elides ("l'Argentine").
        facts: relation -> language -> target string.
    """

    key: str
    names: dict[str, str]
    fr_forms: dict[str, str]
    facts: dict[str, dict[str, str]]


_REGIONS = {
    "south": ("South America", "América del Sur", "l'Amérique du Sud"),
    "central": ("Central America", "América Central", "l'Amérique centrale"),
    "north": ("North America", "América del Norte", "l'Amérique du Nord"),
    "caribbean": ("the Caribbean", "el Caribe", "la Caraïbe"),
}
_LANGS = {
    "spanish": ("Spanish", "español", "espagnol"),
    "portuguese": ("Portuguese", "portugués", "portugais"),
    "french": ("French", "francés", "français"),
}


def _c(key: str, names: tuple[str, str, str], fr: tuple[str, str, str],
       capital: tuple[str, str, str], language: str, currency: tuple[str, str, str],
       region: str) -> Country:
    def per_lang(values: tuple[str, str, str]) -> dict[str, str]:
        return dict(zip(("en", "es", "fr"), values, strict=True))

    return Country(
        key, per_lang(names), dict(zip(("le", "du", "au"), fr, strict=True)),
        {"capital": per_lang(capital), "language": per_lang(_LANGS[language]),
         "currency": per_lang(currency), "region": per_lang(_REGIONS[region])},
    )


COUNTRIES: tuple[Country, ...] = (
    _c("chile", ("Chile", "Chile", "Chili"), ("le", "du", "au"),
       ("Santiago", "Santiago", "Santiago"), "spanish", ("peso", "peso", "le peso"), "south"),
    _c("peru", ("Peru", "Perú", "Pérou"), ("le", "du", "au"),
       ("Lima", "Lima", "Lima"), "spanish", ("sol", "sol", "le sol"), "south"),
    _c("mexico", ("Mexico", "México", "Mexique"), ("le", "du", "au"),
       ("Mexico City", "Ciudad de México", "Mexico"), "spanish",
       ("peso", "peso", "le peso"), "north"),
    _c("argentina", ("Argentina", "Argentina", "Argentine"), ("l'", "de l'", "en"),
       ("Buenos Aires", "Buenos Aires", "Buenos Aires"), "spanish",
       ("peso", "peso", "le peso"), "south"),
    _c("colombia", ("Colombia", "Colombia", "Colombie"), ("la", "de la", "en"),
       ("Bogota", "Bogotá", "Bogota"), "spanish", ("peso", "peso", "le peso"), "south"),
    _c("bolivia", ("Bolivia", "Bolivia", "Bolivie"), ("la", "de la", "en"),
       ("Sucre", "Sucre", "Sucre"), "spanish",
       ("boliviano", "boliviano", "le boliviano"), "south"),
    _c("haiti", ("Haiti", "Haití", "Haïti"), ("", "d'", "en"),
       ("Port-au-Prince", "Puerto Príncipe", "Port-au-Prince"), "french",
       ("gourde", "gourde", "la gourde"), "caribbean"),
    _c("venezuela", ("Venezuela", "Venezuela", "Venezuela"), ("le", "du", "au"),
       ("Caracas", "Caracas", "Caracas"), "spanish",
       ("bolivar", "bolívar", "le bolivar"), "south"),
    _c("ecuador", ("Ecuador", "Ecuador", "Équateur"), ("l'", "de l'", "en"),
       ("Quito", "Quito", "Quito"), "spanish", ("dollar", "dólar", "le dollar"), "south"),
    _c("uruguay", ("Uruguay", "Uruguay", "Uruguay"), ("l'", "de l'", "en"),
       ("Montevideo", "Montevideo", "Montevideo"), "spanish",
       ("peso", "peso", "le peso"), "south"),
    _c("paraguay", ("Paraguay", "Paraguay", "Paraguay"), ("le", "du", "au"),
       ("Asuncion", "Asunción", "Asuncion"), "spanish",
       ("guarani", "guaraní", "le guarani"), "south"),
    _c("cuba", ("Cuba", "Cuba", "Cuba"), ("", "de", "à"),
       ("Havana", "La Habana", "La Havane"), "spanish", ("peso", "peso", "le peso"),
       "caribbean"),
    _c("honduras", ("Honduras", "Honduras", "Honduras"), ("le", "du", "au"),
       ("Tegucigalpa", "Tegucigalpa", "Tegucigalpa"), "spanish",
       ("lempira", "lempira", "le lempira"), "central"),
    _c("nicaragua", ("Nicaragua", "Nicaragua", "Nicaragua"), ("le", "du", "au"),
       ("Managua", "Managua", "Managua"), "spanish",
       ("cordoba", "córdoba", "le córdoba"), "central"),
    _c("brazil", ("Brazil", "Brasil", "Brésil"), ("le", "du", "au"),
       ("Brasilia", "Brasilia", "Brasilia"), "portuguese", ("real", "real", "le réal"),
       "south"),
    _c("costa_rica", ("Costa Rica", "Costa Rica", "Costa Rica"), ("le", "du", "au"),
       ("San Jose", "San José", "San José"), "spanish", ("colon", "colón", "le colón"),
       "central"),
)
