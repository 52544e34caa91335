"""Conversation logs between a chat agent and survey respondents: read, check, pseudonymise, write.

A log is JSONL, one conversation per line: `respondent_id`, a `profile` object (any
fields: `age_group`, `gender`, `education`, `occupation` with French PCS codes, `region`,
`language`, ...) and `messages`, a list of `{"role", "content"}` in the chat format of
transformers (roles system, user, assistant). See docs/interactions.md.

Respondent ids are personal data. They are replaced at read time by an HMAC-SHA256 of
the id under a secret salt (`hex[:16]`), so no object in memory and no file biaskit
writes holds a raw id; written logs carry the pseudonym under the key `respondent`, which
is read back as is. The salt comes from the `salt` argument, else `$BIASKIT_SALT`, else
a fixed public default, with a warning: pseudonyms under the default salt can be
recomputed by anyone who can guess the ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biaskit.data.interactions_split import InteractionSplit, Subcorpus, profile_counts, split_by
from biaskit.errors import ConfigError, DataError
from biaskit.io import write_jsonl

logger = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("system", "user", "assistant")
SALT_ENV = "BIASKIT_SALT"
DEFAULT_SALT = "biaskit-public-default-salt"
RAW_ID, PSEUDONYM = "respondent_id", "respondent"
_PSEUDONYM_RE = re.compile(r"[0-9a-f]{16}")
_LAB = "lab:"

__all__ = ["Conversation", "InteractionSplit", "Subcorpus", "parse_interactions",
           "profile_counts", "pseudonymise", "read_interactions", "resolve_salt", "split_by",
           "write_interactions"]


@dataclass(frozen=True)
class Conversation:
    """One checked conversation, with its respondent already pseudonymised.

    Attributes:
        respondent: HMAC-SHA256 pseudonym of the respondent id (16 hex digits).
        profile: Profile field -> value, all values as strings (PCS code 37 -> "37").
        messages: The turns, each `{"role", "content"}`, in order.
        line: Line of the source file (row number for rows given in memory).
        source: The file or `lab:` reference it was read from.
    """

    respondent: str
    profile: Mapping[str, str]
    messages: tuple[dict[str, str], ...]
    line: int = 0
    source: str = ""

    @property
    def where(self) -> str:
        """`source:line`, as error messages name it."""
        return f"{self.source}:{self.line}"

    def contents(self, role: str) -> list[str]:
        """The contents of the messages with `role`, in order."""
        return [m["content"] for m in self.messages if m["role"] == role]

    def to_row(self) -> dict[str, Any]:
        """The JSONL row biaskit writes: the pseudonym, never a raw id."""
        return {PSEUDONYM: self.respondent, "profile": dict(self.profile),
                "messages": [dict(m) for m in self.messages]}


def resolve_salt(salt: str | None = None, *, warn: bool = True) -> str:
    """The salt to use: `salt`, else `$BIASKIT_SALT`, else `DEFAULT_SALT` (with a warning).

    Raises:
        ConfigError: An empty salt (it would hide nothing).
    """
    if salt is None:
        salt = os.environ.get(SALT_ENV)
        if salt is None:
            if warn:
                logger.warning("pseudonymising respondent ids with biaskit's public default "
                               "salt: anyone who can guess an id can recompute its pseudonym; "
                               "set %s to a secret value", SALT_ENV)
            return DEFAULT_SALT
    if not salt:
        raise ConfigError(f"the pseudonymisation salt is empty; set {SALT_ENV} or pass salt=")
    return salt


def pseudonymise(raw_id: str | int, salt: str) -> str:
    """HMAC-SHA256 of `raw_id` under `salt`, first 16 hex digits.

    64 bits: no collision in any realistic survey, and short enough to read in a table.
    A keyed hash rather than a plain one, because survey ids are guessable.
    """
    digest = hmac.new(salt.encode("utf-8"), str(raw_id).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:16]


def read_interactions(path: str | Path, *, salt: str | None = None,
                      required_profile: Sequence[str] = ()) -> list[Conversation]:
    """Read and check a JSONL conversation log (or `lab:interactions`).

    Args:
        path: A JSONL file, or `lab:interactions` for the lab's synthetic logs (their ids
            are synthetic, so the default salt raises no warning for them).
        salt: Secret of the pseudonyms; None reads `$BIASKIT_SALT`.
        required_profile: Profile fields every conversation must have.

    Raises:
        DataError: `file:LINE: ...` for bad JSON, a missing field, an unknown role, an
            empty conversation or a missing required profile field; or an empty log.
    """
    source = str(path)
    if source.startswith(_LAB):
        from biaskit.data.tables import read_rows

        key = resolve_salt(salt, warn=False)
        return _checked(enumerate(read_rows(source), 1), source, key, required_profile)
    file = Path(source).expanduser()
    if not file.is_file():
        raise DataError(f"interaction log {source!r} does not exist or is not a file")
    key = resolve_salt(salt)
    with open(file, encoding="utf-8") as fh:
        return _checked(_json_lines(fh, source), source, key, required_profile)


def parse_interactions(rows: Iterable[Mapping[str, Any]], *, source: str = "<rows>",
                       salt: str | None = None,
                       required_profile: Sequence[str] = ()) -> list[Conversation]:
    """Check rows already in memory (e.g. from `biaskit.lab.interactions`); row n is line n."""
    return _checked(enumerate(rows, 1), source, resolve_salt(salt), required_profile)


def write_interactions(path: str | Path, convs: Iterable[Conversation]) -> Path:
    """Write conversations as JSONL, atomically, with pseudonyms only (key `respondent`)."""
    return write_jsonl(path, (c.to_row() for c in convs))


def _json_lines(lines: Iterable[str], source: str) -> Iterable[tuple[int, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}:{number}: invalid JSON ({exc.msg})") from None


def _checked(rows: Iterable[tuple[int, Any]], source: str, salt: str,
             required_profile: Sequence[str]) -> list[Conversation]:
    convs = [_conversation(row, f"{source}:{line}", line, source, salt, required_profile)
             for line, row in rows]
    if not convs:
        raise DataError(f"{source}: no conversations")
    return convs


def _conversation(row: Any, where: str, line: int, source: str, salt: str,
                  required_profile: Sequence[str]) -> Conversation:
    if not isinstance(row, Mapping):
        raise DataError(f"{where}: each line must be a JSON object")
    for name in ("profile", "messages"):
        if name not in row:
            raise DataError(f"{where}: missing field {name!r}")
    return Conversation(respondent=_respondent(row, where, salt),
                        profile=_profile(row["profile"], where, required_profile),
                        messages=_messages(row["messages"], where), line=line, source=source)


def _respondent(row: Mapping[str, Any], where: str, salt: str) -> str:
    """The pseudonym; the raw id is never echoed in an error message."""
    if RAW_ID in row:
        raw = row[RAW_ID]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or str(raw).strip() == "":
            raise DataError(f"{where}: {RAW_ID!r} must be a non-empty string or integer")
        return pseudonymise(raw, salt)
    if PSEUDONYM in row:
        value = row[PSEUDONYM]
        if isinstance(value, str) and _PSEUDONYM_RE.fullmatch(value):
            return value
        raise DataError(f"{where}: {PSEUDONYM!r} holds pseudonyms written by biaskit (16 hex "
                        f"digits); put raw ids in {RAW_ID!r}")
    raise DataError(f"{where}: missing field {RAW_ID!r}")


def _profile(profile: Any, where: str, required: Sequence[str]) -> dict[str, str]:
    if not isinstance(profile, Mapping):
        raise DataError(f"{where}: 'profile' must be an object of field: value")
    out: dict[str, str] = {}
    for key, value in profile.items():
        if value is None:
            continue  # a missing answer: the field is absent for this respondent
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, (str, int, float)):
            raise DataError(f"{where}: profile field {key!r} must be a string or a number")
        out[str(key)] = str(value)
    for name in required:
        if name not in out:
            raise DataError(f"{where}: profile has no field {name!r} (it has: "
                            f"{', '.join(out) or 'none'})")
    return out


def _messages(messages: Any, where: str) -> tuple[dict[str, str], ...]:
    if not isinstance(messages, list):
        raise DataError(f"{where}: 'messages' must be a list of {{role, content}} objects")
    if not messages:
        raise DataError(f"{where}: empty conversation (no messages)")
    out = []
    for i, message in enumerate(messages, 1):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise DataError(f"{where}: message {i} must be an object with 'role' and 'content'")
        role, content = message["role"], message["content"]
        if role not in ROLES:
            raise DataError(f"{where}: message {i} has unknown role {role!r} "
                            f"(allowed: {', '.join(ROLES)})")
        if not isinstance(content, str):
            raise DataError(f"{where}: message {i} content must be a string")
        out.append({"role": role, "content": content})
    if all(m["role"] == "system" for m in out):
        raise DataError(f"{where}: empty conversation (only system messages)")
    return tuple(out)
