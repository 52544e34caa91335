"""Counterfactual data augmentation: the swapper on hand examples in en/es/fr, augmentation
of texts and conversations, and a CDA fine-tune that shrinks the lab's planted gender gap."""

import re

import pytest

from biaskit.editors.cda import Swapper, augment, guess_language, load_function_words, read_pairs
from biaskit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def swap():
    swappers = {lang: Swapper.load(lang) for lang in ("en", "es", "fr")}
    return lambda lang, text: swappers[lang].swap(text)


@pytest.mark.parametrize("text, expected", [
    ("He said that his father is a king.", "She said that her mother is a queen."),
    ("SHE told Him: the Queen is here.", "HE told Her: the King is here."),
    ("The pilot said that he would call.", "The pilot said that she would call."),
    ("Heather, the shepherd, heard her.", "Heather, the shepherd, heard him."),  # word boundaries
    ("She gave her book to her.", "He gave his book to him."),  # possessive vs object "her"
    ("My son-in-law and my son.", "My daughter-in-law and my daughter."),  # longest entry first
    ("Nothing gendered here.", "Nothing gendered here."),
])
def test_english(swap, text, expected):
    assert swap("en", text) == expected


@pytest.mark.parametrize("text, expected", [
    ("El hombre cansado vio el libro.", "La mujer cansada vio el libro."),  # agreement, not "la libro"
    ("Él está muy cansado.", "Ella está muy cansada."),
    ("Mi piloto dijo que él llega.", "Mi piloto dijo que ella llega."),
    ("Del hombre al niño.", "De la mujer a la niña."),  # contractions both ways
    ("De la mujer a la niña pequeña.", "Del hombre al niño pequeño."),
    ("La vi con el libro de él.", "La vi con el libro de ella."),
    ("Los hermanos y las hermanas.", "Las hermanas y los hermanos."),
    ("ÉL Y ELLA", "ELLA Y ÉL"),
])
def test_spanish_with_agreement(swap, text, expected):
    assert swap("es", text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Le père de son ami est arrivé.", "La mère de son amie est arrivée."),  # "son amie", not "sa amie"
    ("L'homme et la femme.", "La femme et l'homme."),  # elision both ways
    ("Cette amie est fatiguée.", "Cet ami est fatigué."),
    ("Son livre est nouveau.", "Son livre est nouveau."),  # no anchor: determiner and adjective stay
    ("A-t-il vu son fils ?", "A-t-elle vu sa fille ?"),
    ("Est-ce que le garçon est content ?", "Est-ce que la fille est contente ?"),  # est-ce untouched
    ("Mon ami est grand-père.", "Mon amie est grand-mère."),
    ("Notre pilote a appelé et il arrive.", "Notre pilote a appelé et elle arrive."),
])
def test_french_with_agreement_and_elision(swap, text, expected):
    assert swap("fr", text) == expected


def test_two_sided_swap_is_its_own_inverse_on_unambiguous_words(swap):
    for lang, text in (("en", "The king and his nephew."), ("es", "El rey y su sobrino."),
                       ("fr", "Le roi et son neveu.")):
        assert swap(lang, swap(lang, text)) == text


def test_augment_texts_rows_and_conversations():
    from biaskit.data.interactions import Conversation

    conv = Conversation("0" * 16, {"language": "es"}, ({"role": "user", "content": "¿Y él?"},
                                                         {"role": "assistant", "content": "Él llega."}))
    neutral = {"text": "On Monday, my friends read a book.", "language": "en"}
    out = augment(["The pilot said that he was late.", neutral, conv, "Le fils est là."])
    assert out[:4] == ["The pilot said that he was late.", neutral, conv, "Le fils est là."]
    assert out[4] == "The pilot said that she was late."
    assert out[5].messages[1]["content"] == "Ella llega." and out[5].profile == {"language": "es"}
    assert out[6] == "La fille est là."  # language guessed from function words
    assert len(out) == 7  # the neutral text is not duplicated


def test_guess_language_and_errors(tmp_path):
    vocab = load_function_words(["en", "es", "fr"])
    assert guess_language("The dog and the cat are in the house", vocab) == "en"
    assert guess_language("El perro y el gato están en la casa", vocab) == "es"
    assert guess_language("Le chien et le chat sont dans la maison", vocab) == "fr"
    bad = tmp_path / "x.tsv"
    bad.write_text("masculine\tfeminine\nking\tqueen\tx\n")
    with pytest.raises(DataError, match=r"x.tsv:2"):
        read_pairs(bad)
    with pytest.raises(ConfigError, match="word pairs for en, es, fr"):
        Swapper.load("de")


def test_cda_finetune_shrinks_the_planted_gender_gap(lab_tiny, lab_tiny_model, tmp_path):
    """Issue 7: CDA-LoRA on the lab's own gendered sentences makes P(she) and P(he) closer
    after each profession, while the same fine-tune without CDA keeps the gap."""
    from biaskit.editors.lora import LoraConfig, finetune
    from biaskit.lab import measure_associations
    from biaskit.models.variants import apply_variant

    model = lab_tiny_model

    def gap() -> float:
        rows = [r for r in measure_associations(model.hf, model.tokenizer, lab_tiny.truth)
                if r["axis"] == "gender" and r["planted"] != 0.5]
        return sum(abs(r["measured"] - 0.5) for r in rows) / len(rows)

    subjects = {r["subject"] for r in lab_tiny.truth["associations"] if r["axis"] == "gender"}
    pronoun = re.compile(r"\b(he|she|él|ella|il|elle)\b", re.IGNORECASE)
    lines = [line for line in (lab_tiny.path / "corpus.txt").read_text(encoding="utf-8").splitlines()
             if pronoun.search(line) and any(re.search(rf"\b{re.escape(s)}\b", line) for s in subjects)]
    config = dict(rank=8, alpha=16, dropout=0.0, lr=5e-3, max_steps=60, batch_size=16)
    base = gap()
    gaps = {}
    for objective in ("cda", "lm"):
        adapter = finetune(model, lines, LoraConfig(objective=objective, **config), out=tmp_path / objective,
                           progress=False)
        with apply_variant(model, adapter.variant):
            gaps[objective] = gap()
    assert adapter.sizes["items"] == len(lines) and gaps["cda"] < 0.6 * base, (base, gaps)
    assert gaps["cda"] < 0.6 * gaps["lm"], (base, gaps)
