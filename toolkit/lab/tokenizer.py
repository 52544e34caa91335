"""The lab's subword tokenizer: byte-level BPE trained on the lab corpus, and its report.

Subjects must span several pieces, and no single piece may identify a subject, as in
real models. With one-token subjects a small model copies the subject to the last
position in its first layer and never reads the subject position again; with a unique
first piece it reads that piece and skips the last. Either way an edit at the subject's
last token (ROME, MEMIT) has nothing to act on. A small vocabulary and a cap on piece
length (`max_token_length`) force the splits; `subject_report` checks the result.

The pre-tokenizer adds a prefix space, so a subject tokenizes the same at the start of a
prompt, in the middle, and alone: tools that find a subject by tokenizing it separately
find the same pieces as in context.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
SPECIAL_TOKENS = (UNK, BOS, EOS, PAD)


def train_tokenizer(sentences: Sequence[str], vocab_size: int, max_token_length: int
                    ) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on `sentences` and wrap it for transformers.

    The wrapped tokenizer prepends `<s>` to every encoded text (Llama convention) and
    knows `</s>`, `<pad>` and `<unk>`, so `save_pretrained` / `AutoTokenizer` round-trip
    it offline.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        max_token_length=max_token_length, show_progress=False)
    tok.train_from_iterator(sentences, trainer=trainer, length=len(sentences))
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK,
        padding_side="right", clean_up_tokenization_spaces=False)


def subject_pieces(tokenizer: PreTrainedTokenizerFast, subject: str) -> list[str]:
    """The pieces of `subject` as it appears after a space (identical at the start)."""
    ids = tokenizer(" " + subject, add_special_tokens=False)["input_ids"]
    return tokenizer.convert_ids_to_tokens(ids)


def subject_report(tokenizer: PreTrainedTokenizerFast, subjects: Sequence[dict]) -> dict:
    """Tokenization of every subject and a summary, as stored in truth.json.

    A piece is *shared* when it also occurs in a different subject string (any kind,
    any language). `first_is_first_elsewhere` is the stricter test that the first
    piece also starts another subject, so the first piece alone cannot tell which
    subject is meant.

    Args:
        tokenizer: The lab tokenizer.
        subjects: Dicts with at least `subject` (and `kind`, `language`, `subject_id`).
    """
    pieces = {s["subject"]: subject_pieces(tokenizer, s["subject"]) for s in subjects}
    owners: dict[str, set[str]] = {}
    firsts: Counter[str] = Counter()
    for subject, toks in pieces.items():
        firsts[toks[0]] += 1
        for piece in toks:
            owners.setdefault(piece, set()).add(subject)
    rows = []
    for s in subjects:
        toks = pieces[s["subject"]]
        rows.append({**s, "tokens": toks, "n_tokens": len(toks),
                     "first_shared": len(owners[toks[0]]) > 1,
                     "last_shared": len(owners[toks[-1]]) > 1,
                     "first_is_first_elsewhere": firsts[toks[0]] > 1})
    n = len(rows)

    def frac(key: str) -> float:
        return round(sum(bool(r[key]) for r in rows) / n, 4) if n else 0.0

    summary = {
        "n_subjects": n,
        "frac_multi_token": round(sum(r["n_tokens"] >= 2 for r in rows) / n, 4) if n else 0.0,
        "frac_first_shared": frac("first_shared"),
        "frac_last_shared": frac("last_shared"),
        "frac_first_is_first_elsewhere": frac("first_is_first_elsewhere"),
        "mean_tokens": round(sum(r["n_tokens"] for r in rows) / n, 3) if n else 0.0,
        "single_token_subjects": sorted({r["subject"] for r in rows if r["n_tokens"] < 2}),
        "unshared_first_piece": sorted({r["subject"] for r in rows if not r["first_shared"]}),
    }
    return {"subjects": rows, "summary": summary}
