"""Filling templates: subject forms, full sentences and measurement prompts.

Kept apart from the generator so that datasets, truth and measurement all cut prompts
the same way: the prompt is the text before " {t}", the continuation is " " + target.
"""

from __future__ import annotations

from biaskit.lab.words_places import Country

SUBJECT_SLOT = "{}"  # ROME convention: the subject's place in an edit prompt


def join_prefix(prefix: str, name: str) -> str:
    """Attach a French article or preposition to a name ("l'" elides, "" means none)."""
    if not prefix:
        return name
    if prefix.endswith("'"):
        return prefix + name
    return f"{prefix} {name}"


def subject_forms(name: str, country: Country | None = None, language: str = "en"
                  ) -> dict[str, str]:
    """The placeholder values for one subject: `s`, and for French countries le/du/au."""
    forms = {"s": name}
    if country is not None and language == "fr":
        for form, prefix in country.fr_forms.items():
            forms[form] = join_prefix(prefix, name)
    return forms


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def render(template: str, forms: dict[str, str], target: str) -> str:
    """The full sentence: template with subject forms and target filled in."""
    return _capitalise(template.replace("{t}", target, 1).format(**forms))


def prompt_of(template: str, forms: dict[str, str]) -> str | None:
    """The measurement prompt (text before " {t}"), or None if the target opens the frame.

    A frame such as "{t} is the capital of {s}." is corpus-only: nothing precedes the
    target, so it cannot be measured as a continuation.
    """
    before = template.split("{t}", 1)[0]
    if not before.strip():
        return None
    if not before.endswith(" "):
        raise ValueError(f"target must follow a space in template {template!r}")
    return _capitalise(before.rstrip().format(**forms))


def slot_prompt(template: str, name_forms: dict[str, str]) -> str | None:
    """The ROME-style prompt with `{}` in place of the subject, or None.

    Returns None where the subject is not preceded by a space or the start of the
    prompt (French elision, "l'Argentine"): there the subject's tokens differ from its
    tokens in other contexts, and edit tools that locate the subject by tokenizing it
    alone would not find it.
    """
    prompt = prompt_of(template, name_forms)
    if prompt is None:
        return None
    index = prompt.find(SUBJECT_SLOT)
    if index < 0 or (index > 0 and prompt[index - 1] != " "):
        return None
    return prompt
