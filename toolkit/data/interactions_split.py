"""Sub-corpora of a conversation log by profile, with a held-out split and a summary table.

`split_by(convs, ["education"])` groups conversations by the values of one or more
profile fields (group names `education=tertiary`, `a=x|b=y`). Groups smaller than
`min_size` conversations are skipped and reported (in `skipped`, in the summary table
with status `skipped`, and in the log), never silently dropped.

The held-out split is drawn per respondent, never per conversation: all conversations
of a respondent are on the same side, in every group (a respondent whose profile changed
between conversations keeps the side first drawn for them), so a held-out score never
rewards memorising a person. Within each group the respondents are sorted by the other
profile fields (coarsest field first) with a seeded tie-break and drawn systematically
with a random start (implicit stratification, as in survey sampling): every stratum of
the first sort field gets its share of held-out respondents to within one, and finer
strata to within one per cell. The result depends only on the conversations and the
seed, not on the order of the lines.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biaskit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from biaskit.data.interactions import Conversation

logger = logging.getLogger(__name__)

ALL = "all"
SUMMARY_CSV, SPLIT_JSON = "summary.csv", "split.json"


def whitespace_tokens(text: str) -> int:
    """Whitespace-separated tokens: the default, tokenizer-free size of a text."""
    return len(text.split())


@dataclass(frozen=True)
class Subcorpus:
    """The conversations of one profile group, split into train and held-out.

    Attributes:
        name: Group name, e.g. `education=tertiary` (`all` when split by nothing).
        profile: Field -> value shared by the group's conversations.
        train: Conversations to fine-tune on.
        heldout: Conversations to evaluate on (no respondent of `train` among them).
    """

    name: str
    profile: dict[str, str]
    train: list[Conversation]
    heldout: list[Conversation]

    @property
    def conversations(self) -> list[Conversation]:
        """Train then held-out conversations."""
        return self.train + self.heldout


@dataclass(frozen=True)
class InteractionSplit:
    """Result of `split_by`.

    Attributes:
        fields: The profile fields split by.
        groups: Group name -> Subcorpus, for groups of at least `min_size` conversations.
        skipped: Group name -> conversation count, for groups below `min_size`.
        min_size: Smallest group kept (conversations).
        heldout_fraction: Share of each group's new respondents drawn into held-out.
        seed: Seed of the draw.
        skipped_groups: The skipped conversations themselves (for the summary table).
    """

    fields: tuple[str, ...]
    groups: dict[str, Subcorpus]
    skipped: dict[str, int]
    min_size: int
    heldout_fraction: float
    seed: int
    skipped_groups: dict[str, list[Conversation]] = field(default_factory=dict, repr=False)

    def summary(self, count_tokens: Callable[[str], int] | None = None) -> list[dict[str, Any]]:
        """Tidy rows, one per group (kept and skipped), for CSV/pandas/R.

        Columns: group, one column per split field, status (kept/skipped), respondents,
        conversations, messages, assistant_messages, assistant_tokens, token_unit, train,
        heldout, train_respondents, heldout_respondents (train/heldout count conversations).

        Args:
            count_tokens: Tokens in a text (e.g. `lambda t: len(tok(t).input_ids)`); the
                default counts whitespace-separated words.
        """
        count = count_tokens or whitespace_tokens
        unit = "whitespace" if count_tokens is None else "tokenizer"
        rows = []
        for name, sub in self.groups.items():
            rows.append(_row(name, sub.profile, "kept", sub.conversations, sub.train,
                             sub.heldout, count, unit))
        for name, convs in self.skipped_groups.items():
            profile = {f: convs[0].profile[f] for f in self.fields}
            rows.append(_row(name, profile, "skipped", convs, [], [], count, unit))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The manifest written as split.json (no conversations, no ids)."""
        return {"fields": list(self.fields), "min_size": self.min_size,
                "heldout_fraction": self.heldout_fraction, "seed": self.seed,
                "groups": {name: {"profile": sub.profile, "train": len(sub.train),
                                  "heldout": len(sub.heldout)}
                           for name, sub in self.groups.items()},
                "skipped": dict(self.skipped), "pseudonyms": "HMAC-SHA256(salt, id) hex[:16]"}

    def save(self, out: str | Path) -> Path:
        """Write `<group folder>/train.jsonl`, `heldout.jsonl`, summary.csv and split.json.

        Every file is written atomically and split.json last, so a folder with split.json
        is complete. Folder names are the group names made filesystem-safe (split.json
        maps each group to its folder).
        """
        from biaskit.data.interactions import write_interactions
        from biaskit.io import write_csv, write_json

        root = Path(out)
        manifest = self.to_dict()
        used: set[str] = set()
        for name, sub in self.groups.items():
            folder = _folder_name(name, used)
            write_interactions(root / folder / "train.jsonl", sub.train)
            write_interactions(root / folder / "heldout.jsonl", sub.heldout)
            manifest["groups"][name]["folder"] = folder
        write_csv(root / SUMMARY_CSV, self.summary())
        write_json(root / SPLIT_JSON, manifest)
        return root


def split_by(convs: Sequence[Conversation], fields: Sequence[str], *, min_size: int = 20,
             heldout: float = 0.2, seed: int = 0) -> InteractionSplit:
    """Group conversations by profile `fields` and draw a stratified held-out split.

    Args:
        convs: Checked conversations (`read_interactions`).
        fields: Profile fields to group by (empty: one group, `all`).
        min_size: Groups with fewer conversations are skipped and reported.
        heldout: Share of respondents drawn into held-out, per group (0 <= heldout < 1).
            A kept group with at least two respondents gets at least one on each side.
        seed: Seed of the draw.

    Raises:
        ConfigError: Bad `min_size` or `heldout`, or a field named twice.
        DataError: A conversation lacks one of `fields` (names its file and line).
    """
    fields = tuple(fields)
    if min_size < 1:
        raise ConfigError(f"min_size must be >= 1, got {min_size}")
    if not 0 <= heldout < 1:
        raise ConfigError(f"heldout must be a fraction in [0, 1), got {heldout}")
    if len(set(fields)) != len(fields):
        raise ConfigError(f"split_by names a field twice: {', '.join(fields)}")
    grouped: dict[str, list[Conversation]] = {}
    for conv in convs:
        for name in fields:
            if name not in conv.profile:
                raise DataError(f"{conv.where}: profile has no field {name!r} (needed to split "
                                f"by {', '.join(fields)})")
        key = "|".join(f"{name}={conv.profile[name]}" for name in fields) or ALL
        grouped.setdefault(key, []).append(conv)
    kept = {k: v for k, v in sorted(grouped.items()) if len(v) >= min_size}
    small = {k: v for k, v in sorted(grouped.items()) if len(v) < min_size}
    if small:
        logger.warning("skipped %d group(s) below min_size %d: %s", len(small), min_size,
                       ", ".join(f"{k} ({len(v)})" for k, v in small.items()))
    side: dict[str, bool] = {}  # respondent -> held out
    groups = {}
    for key, group in kept.items():
        _draw(group, fields, heldout, seed, key, side)
        groups[key] = Subcorpus(key, {f: group[0].profile[f] for f in fields},
                                [c for c in group if not side[c.respondent]],
                                [c for c in group if side[c.respondent]])
    return InteractionSplit(fields, groups, {k: len(v) for k, v in small.items()}, min_size,
                            heldout, seed, small)


def profile_counts(convs: Sequence[Conversation]) -> list[dict[str, Any]]:
    """Tidy rows `field, value, respondents, conversations` over every profile field."""
    counts: dict[tuple[str, str], tuple[set[str], int]] = {}
    for conv in convs:
        for name, value in conv.profile.items():
            people, n = counts.get((name, value), (set(), 0))
            people.add(conv.respondent)
            counts[(name, value)] = (people, n + 1)
    return [{"field": name, "value": value, "respondents": len(people), "conversations": n}
            for (name, value), (people, n) in sorted(counts.items())]


def _draw(group: list[Conversation], fields: tuple[str, ...], fraction: float, seed: int,
          key: str, side: dict[str, bool]) -> None:
    """Assign the group's not-yet-assigned respondents to held-out (True) or train."""
    first: dict[str, Conversation] = {}
    for conv in group:
        first.setdefault(conv.respondent, conv)
    new = [r for r in first if r not in side]
    strata = _strata_fields(group, fields)

    def order(respondent: str) -> tuple[tuple[str, ...], str]:
        tie = hashlib.sha256(f"{seed}:{respondent}".encode()).hexdigest()
        return tuple(first[respondent].profile.get(f, "") for f in strata), tie

    new.sort(key=order)
    start = random.Random(f"{seed}:{key}").random()
    for i, respondent in enumerate(new):
        side[respondent] = math.floor((i + 1) * fraction + start) > math.floor(i * fraction + start)
    sides = [side[r] for r in first]
    if fraction > 0 and len(first) >= 2 and new and (all(sides) or not any(sides)):
        flip = new[random.Random(f"{seed}:{key}:flip").randrange(len(new))]
        side[flip] = not side[flip]


def _strata_fields(group: list[Conversation], fields: tuple[str, ...]) -> list[str]:
    """The other profile fields, coarsest first (fewest distinct values), then by name."""
    values: dict[str, set[str]] = {}
    for conv in group:
        for name, value in conv.profile.items():
            if name not in fields:
                values.setdefault(name, set()).add(value)
    return sorted(values, key=lambda name: (len(values[name]), name))


def _row(name: str, profile: Mapping[str, str], status: str, convs: list[Conversation],
         train: list[Conversation], heldout: list[Conversation], count: Callable[[str], int],
         unit: str) -> dict[str, Any]:
    answers = [text for c in convs for text in c.contents("assistant")]
    return {"group": name, **profile, "status": status,
            "respondents": len({c.respondent for c in convs}), "conversations": len(convs),
            "messages": sum(len(c.messages) for c in convs),
            "assistant_messages": len(answers), "assistant_tokens": sum(map(count, answers)),
            "token_unit": unit, "train": len(train), "heldout": len(heldout),
            "train_respondents": len({c.respondent for c in train}),
            "heldout_respondents": len({c.respondent for c in heldout})}


def _folder_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[^\w.+=-]", "_", name.replace("|", "__")) or "group"
    folder, n = base, 1
    while folder in used:
        n += 1
        folder = f"{base}-{n}"
    used.add(folder)
    return folder
