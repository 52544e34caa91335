"""Conversation logs: validation errors naming the line, pseudonyms, splits and summaries."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import random

import pytest

from biaskit.cli import main
from biaskit.data.interactions import (
    DEFAULT_SALT,
    Conversation,
    parse_interactions,
    profile_counts,
    pseudonymise,
    read_interactions,
    split_by,
    write_interactions,
)
from biaskit.errors import ConfigError, DataError

RAW = "RAWID-"  # every raw id in these tests starts with this; no output may contain it


def conv(rid, profile, answers=("one two three",), system=False):
    messages = [{"role": "system", "content": "be brief"}] if system else []
    for answer in answers:
        messages += [{"role": "user", "content": "a question?"},
                     {"role": "assistant", "content": answer}]
    return {"respondent_id": f"{RAW}{rid}", "profile": profile, "messages": messages}


def write_log(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def small_log(tmp_path):
    """high: 5 respondents x 2 conversations (one 2-turn); low: 6 x 1; mid: 3 x 1 (skipped)."""
    rows = []
    for i in range(5):
        p = {"education": "high", "gender": "woman" if i < 3 else "man"}
        rows.append(conv(f"h{i}", p, answers=("one two three", "four five"), system=True))
        rows.append(conv(f"h{i}", p))
    rows += [conv(f"l{i}", {"education": "low", "gender": "man"}, answers=("a b",))
             for i in range(6)]
    rows += [conv(f"m{i}", {"education": "mid", "gender": "woman"}) for i in range(3)]
    return write_log(tmp_path / "log.jsonl", rows)


@pytest.fixture
def biaskit_warnings():
    """Warnings of biaskit.data.interactions, whatever the CLI did to the biaskit logger."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("biaskit.data.interactions")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


GOOD = json.dumps(conv("ok", {"education": "high"}))


@pytest.mark.parametrize("bad, message", [
    ('{"respondent_id": "RAWID-x", "profile": {', "invalid JSON"),
    ("[1, 2]", "each line must be a JSON object"),
    (json.dumps({"respondent_id": "RAWID-x", "messages": []}), "missing field 'profile'"),
    (json.dumps({"respondent_id": "RAWID-x", "profile": {}}), "missing field 'messages'"),
    (json.dumps({"profile": {}, "messages": [{"role": "user", "content": "q"}]}),
     "missing field 'respondent_id'"),
    (json.dumps(conv("x", {}) | {"messages": []}), "empty conversation (no messages)"),
    (json.dumps(conv("x", {}) | {"messages": [{"role": "system", "content": "s"}]}),
     "empty conversation (only system messages)"),
    (json.dumps(conv("x", {}) | {"messages": [{"role": "bot", "content": "hi"}]}),
     "message 1 has unknown role 'bot' (allowed: system, user, assistant)"),
    (json.dumps(conv("x", {}) | {"messages": [{"role": "user"}]}),
     "message 1 must be an object with 'role' and 'content'"),
    (json.dumps(conv("x", {}) | {"messages": [{"role": "user", "content": 3}]}),
     "message 1 content must be a string"),
    (json.dumps(conv("x", {}) | {"messages": "hello"}), "'messages' must be a list"),
    (json.dumps(conv("x", {}) | {"profile": ["high"]}), "'profile' must be an object"),
    (json.dumps(conv("x", {"education": {"a": 1}})), "profile field 'education' must be"),
    (json.dumps(conv("x", {"education": "high"}) | {"respondent_id": ["x"]}),
     "'respondent_id' must be a non-empty string or integer"),
    (json.dumps({"respondent": "RAWID-alice"} | {k: v for k, v in conv("x", {}).items()
                                                 if k != "respondent_id"}),
     "put raw ids in 'respondent_id'"),
])
def test_each_bad_line_is_named_with_file_and_line(tmp_path, bad, message):
    path = tmp_path / "log.jsonl"
    path.write_text(f"{GOOD}\n\n{bad}\n", encoding="utf-8")  # the bad row is on line 3
    with pytest.raises(DataError) as err:
        read_interactions(path, salt="s")
    text = str(err.value)
    assert text.startswith(f"{path}:3: ") and message in text
    assert "\n" not in text and RAW not in text


def test_required_profile_field_and_empty_log(tmp_path):
    path = write_log(tmp_path / "log.jsonl", [conv("a", {"education": "x"}), conv("b", {})])
    with pytest.raises(DataError, match=r"log.jsonl:2: profile has no field 'education'"):
        read_interactions(path, salt="s", required_profile=["education"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match="no conversations"):
        read_interactions(tmp_path / "empty.jsonl", salt="s")
    with pytest.raises(DataError, match="does not exist"):
        read_interactions(tmp_path / "missing.jsonl", salt="s")


def test_profile_values_become_strings_and_nulls_are_absent():
    [c] = parse_interactions([conv("a", {"occupation": 37, "region": None, "weight": 1.5,
                                         "panel": True})], salt="s")
    assert dict(c.profile) == {"occupation": "37", "weight": "1.5", "panel": "true"}


def test_pseudonym_is_hmac_sha256_of_the_id_under_the_salt():
    [c] = parse_interactions([conv("alice", {})], salt="pepper")
    expected = hmac.new(b"pepper", b"RAWID-alice", hashlib.sha256).hexdigest()[:16]
    assert c.respondent == expected == pseudonymise("RAWID-alice", "pepper")
    [other] = parse_interactions([conv("alice", {})], salt="salt")
    assert other.respondent != c.respondent
    assert RAW not in repr(c) and RAW not in json.dumps(c.to_row())
    with pytest.raises(ConfigError, match="empty"):
        parse_interactions([conv("alice", {})], salt="")


def test_salt_from_environment_else_default_with_a_warning(monkeypatch, biaskit_warnings):
    monkeypatch.setenv("BIASKIT_SALT", "from-env")
    [c] = parse_interactions([conv("a", {})])
    assert c.respondent == pseudonymise("RAWID-a", "from-env") and not biaskit_warnings
    monkeypatch.delenv("BIASKIT_SALT")
    [c] = parse_interactions([conv("a", {})])
    assert c.respondent == pseudonymise("RAWID-a", DEFAULT_SALT)
    assert len(biaskit_warnings) == 1 and "BIASKIT_SALT" in biaskit_warnings[0].getMessage()


def test_written_logs_keep_pseudonyms_across_a_round_trip(tmp_path, small_log):
    convs = read_interactions(small_log, salt="s")
    write_interactions(tmp_path / "out.jsonl", convs)
    again = read_interactions(tmp_path / "out.jsonl", salt="another salt")
    assert [c.respondent for c in again] == [c.respondent for c in convs]
    assert [c.messages for c in again] == [c.messages for c in convs]
    assert RAW not in (tmp_path / "out.jsonl").read_text()


def test_split_groups_skip_small_ones_and_summarise_by_hand(small_log, caplog):
    convs = read_interactions(small_log, salt="s")
    split = split_by(convs, ["education"], min_size=5, heldout=0.2, seed=0)
    assert list(split.groups) == ["education=high", "education=low"]
    assert split.skipped == {"education=mid": 3}
    high = split.groups["education=high"]
    assert high.profile == {"education": "high"} and len(high.conversations) == 10
    rows = {r["group"]: r for r in split.summary()}
    # high: 10 conversations; 5 have system+2 turns (5 messages), 5 have 1 turn (2 messages);
    # assistant words: 5 x (3 + 2) + 5 x 3 = 40. 5 respondents x 0.2 -> 1 held out (2 conv).
    expected_high = {"education": "high", "status": "kept", "respondents": 5,
                     "conversations": 10, "messages": 35, "assistant_messages": 15,
                     "assistant_tokens": 40, "token_unit": "whitespace", "train": 8,
                     "heldout": 2, "train_respondents": 4, "heldout_respondents": 1}
    assert {k: rows["education=high"][k] for k in expected_high} == expected_high
    assert rows["education=low"]["assistant_tokens"] == 12
    assert rows["education=low"]["messages"] == 12
    assert rows["education=mid"]["status"] == "skipped"
    assert rows["education=mid"]["conversations"] == 3 and rows["education=mid"]["train"] == 0
    chars = split.summary(count_tokens=len)
    assert chars[0]["token_unit"] == "tokenizer" and chars[0]["assistant_tokens"] == 5 * 22 + 5 * 13


def test_no_respondent_on_both_sides_even_when_their_profile_changes():
    rows = [conv(f"r{i}", {"education": "high" if i % 2 else "low", "region": str(i % 3)})
            for i in range(60)]
    rows += [conv(f"r{i}", {"education": "low" if i % 2 else "high", "region": "0"})
             for i in range(0, 60, 3)]  # 20 respondents appear in both groups
    convs = parse_interactions(rows, salt="s")
    split = split_by(convs, ["education"], min_size=1, heldout=0.3, seed=1)
    train = {c.respondent for g in split.groups.values() for c in g.train}
    held = {c.respondent for g in split.groups.values() for c in g.heldout}
    assert train and held and not train & held


def test_split_is_stratified_by_the_other_profile_fields():
    for seed in range(20):
        rows = [conv(f"w{i}", {"education": "high", "gender": "woman", "region": str(i % 4)})
                for i in range(20)]
        rows += [conv(f"m{i}", {"education": "high", "gender": "man", "region": str(i % 4)})
                 for i in range(80)]
        random.Random(seed).shuffle(rows)
        split = split_by(parse_interactions(rows, salt="s"), ["education"], heldout=0.25, seed=seed)
        held = split.groups["education=high"].heldout
        assert len(held) == 25
        assert abs(sum(c.profile["gender"] == "woman" for c in held) - 5) <= 1
        for region in "0123":
            assert abs(sum(c.profile["region"] == region for c in held) - 25 / 4) <= 2


def test_split_depends_on_seed_not_on_line_order():
    rows = [conv(f"r{i}", {"education": "x", "age": str(i % 3)}) for i in range(50)]
    convs = parse_interactions(rows, salt="s")
    shuffled = list(convs)
    random.Random(0).shuffle(shuffled)

    def held(cs, seed):
        return {c.respondent for c in split_by(cs, ["education"], seed=seed).groups[
            "education=x"].heldout}

    assert held(convs, 0) == held(shuffled, 0) and held(convs, 0) != held(convs, 1)


def test_small_groups_get_both_sides_and_options_are_checked():
    convs = parse_interactions([conv("a", {"e": "x"}), conv("b", {"e": "x"})], salt="s")
    group = split_by(convs, ["e"], min_size=2, heldout=0.1).groups["e=x"]
    assert len(group.train) == 1 and len(group.heldout) == 1
    assert not split_by(convs, ["e"], min_size=1, heldout=0).groups["e=x"].heldout
    assert list(split_by(convs, [], min_size=1).groups) == ["all"]
    two = split_by(parse_interactions([conv("a", {"e": "x", "f": "y"})] * 3, salt="s"),
                   ["e", "f"], min_size=1)
    assert list(two.groups) == ["e=x|f=y"] and two.groups["e=x|f=y"].profile == {"e": "x", "f": "y"}
    for kwargs in ({"min_size": 0}, {"heldout": 1.0}, {"heldout": -0.1}):
        with pytest.raises(ConfigError):
            split_by(convs, ["e"], **kwargs)
    with pytest.raises(ConfigError, match="twice"):
        split_by(convs, ["e", "e"])
    with pytest.raises(DataError, match=r"<rows>:1: profile has no field 'g'"):
        split_by(convs, ["g"])


def test_profile_counts():
    convs = parse_interactions([conv("a", {"e": "x"}), conv("a", {"e": "x"}), conv("b", {"e": "y"})],
                               salt="s")
    assert profile_counts(convs) == [
        {"field": "e", "value": "x", "respondents": 1, "conversations": 2},
        {"field": "e", "value": "y", "respondents": 1, "conversations": 1}]


def test_save_writes_sub_corpora_summary_and_manifest(tmp_path, small_log):
    convs = read_interactions(small_log, salt="s")
    split = split_by(convs, ["education"], min_size=5)
    out = split.save(tmp_path / "out")
    manifest = json.loads((out / "split.json").read_text())
    assert manifest["skipped"] == {"education=mid": 3}
    for name, group in split.groups.items():
        folder = out / manifest["groups"][name]["folder"]
        back = read_interactions(folder / "train.jsonl", salt="s")
        assert [c.respondent for c in back] == [c.respondent for c in group.train]
        assert isinstance(back[0], Conversation)
    with open(out / "summary.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["group"] for r in table] == [r["group"] for r in split.summary()]
    assert table[0]["assistant_tokens"] == "40"


def test_cli_split_and_summary_never_write_a_raw_id(tmp_path, small_log, capsys):
    out = tmp_path / "out"
    assert main(["interactions", "split", str(small_log), "--by", "education", "--min-size", "5",
                 "--out", str(out)]) == 0
    assert main(["interactions", "summary", str(small_log), "--by", "education,gender",
                 "--min-size", "2", "--out", str(tmp_path / "sum")]) == 0
    printed = capsys.readouterr()
    assert "education=high" in printed.out and RAW not in printed.out + printed.err
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != small_log]
    assert {p.name for p in files} >= {"train.jsonl", "heldout.jsonl", "summary.csv",
                                        "split.json", "profile.csv"}
    for path in files:
        assert RAW.encode() not in path.read_bytes(), path
    assert (out / "education=high" / "train.jsonl").is_file()


def test_cli_reports_a_bad_line_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BIASKIT_SALT", "secret")
    path = tmp_path / "log.jsonl"
    path.write_text(GOOD + "\n" + json.dumps(conv("x", {}) | {"messages": []}) + "\n")
    assert main(["interactions", "summary", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}:2: empty conversation (no messages)"
    salt = tmp_path / "salt.txt"
    salt.write_text("\n")
    assert main(["interactions", "summary", str(path), "--salt-file", str(salt)]) == 2
    assert "salt is empty" in capsys.readouterr().err
