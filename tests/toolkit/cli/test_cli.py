"""CLI behaviour: help, version, and every user error as one line with exit code 2."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from biaskit import __version__
from biaskit.cli import cli, main


def run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("info", "lab", "capture"):
        assert command in result.output


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and __version__ in out


@pytest.mark.parametrize("args, message", [
    (["info", "/no/such/dir"], "model directory '/no/such/dir' does not exist"),
    (["capture", "--model", "lab-tiny", "--data", "missing.jsonl", "--out", "o"],
     "data file 'missing.jsonl' does not exist"),
    (["capture", "--bogus"], "No such option '--bogus'"),
    (["capture", "--data", "lab:nope", "--positions", "subject_last", "--out", "o"],
     "needs --subject"),
    (["capture", "--data", "x.jsonl", "--positions", "middle", "--out", "o"],
     "unknown position 'middle'"),
    (["lab", "build", "--preset", "huge"], "Invalid value for '--preset'"),
])
def test_user_errors_exit_2_one_line(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(args, capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in err


def test_missing_column_and_bad_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.jsonl").write_text('{"sentence": "hi", "g": "f"}\n')
    code, _, err = run(["capture", "--model", "x", "--data", "d.jsonl", "--out", "o"], capsys)
    assert code == 2 and "no column 'text'; columns are: sentence, g" in err
    (tmp_path / "bad.jsonl").write_text('{"text": "hi"}\n{oops\n')
    code, _, err = run(["capture", "--data", "bad.jsonl", "--out", "o"], capsys)
    assert code == 2 and "bad.jsonl:2: invalid JSON" in err


def test_debug_shows_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "biaskit", "--debug", "info", str(tmp_path / "x")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_console_script_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "biaskit", "info", str(tmp_path / "x")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr


def test_capture_command_writes_set_and_summary(tmp_path, capsys, monkeypatch):
    """On a local tiny model directory: activations, summary.json and summary.csv."""
    from biaskit.activation_set import ActivationSet
    from biaskit.models.tiny import tiny_model

    m = tiny_model("llama")
    m.hf.save_pretrained(tmp_path / "model")
    m.tokenizer.save_pretrained(tmp_path / "model")
    rows = [{"text": f"the {w} said that", "g": g, "s": w}
            for w, g in [("nurse", "f"), ("doctor", "m"), ("teacher", "f"), ("pilot", "m")]]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run(["capture", "--model", str(tmp_path / "model"), "--data",
                          str(tmp_path / "d.jsonl"), "--label", "g", "--subject", "s",
                          "--positions", "subject_last", "--layers", "1-2", "--sites",
                          "resid,mlp_out", "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    acts = ActivationSet.load(tmp_path / "out")
    assert acts.layers == (1, 2) and acts.column("g") == ["f", "m", "f", "m"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["rows"]) == 4 and summary["label"] == "g"
    header = (tmp_path / "out" / "summary.csv").read_text().splitlines()[0]
    assert header == "layer,site,n,mean_norm,between_within_ratio"


def test_info_on_local_directory(tmp_path, capsys):
    from biaskit.models.tiny import tiny_model

    m = tiny_model("gpt2")
    m.hf.save_pretrained(tmp_path / "g")
    m.tokenizer.save_pretrained(tmp_path / "g")
    code, out, _ = run(["info", str(tmp_path / "g")], capsys)
    assert code == 0
    for expected in ("gpt2", "transformer.h.{}.mlp.c_proj", "Conv1D", "layers"):
        assert expected in out


@pytest.mark.parametrize("value,parsed", [("1.0", 1.0), ("0.5", 0.5), ("auto", "auto"),
                                          ("0.01,0.1,1", [0.01, 0.1, 1.0])])
def test_probe_c_option_parses(value, parsed):
    from biaskit.cli.probe import parse_c

    assert parse_c(value) == parsed


def test_probe_c_option_rejects_words(capsys):
    code = main(["probe", "--model", "lab-tiny", "--data", "lab:age_traits", "--label",
                 "trait_majority", "--C", "best", "--out", "x"])
    assert code == 2 and "'best' is not a number" in capsys.readouterr().err


def test_trace_group_column_is_checked_before_the_model_loads(tmp_path, capsys):
    data = tmp_path / "p.jsonl"
    data.write_text(json.dumps({"text": "The nurse said that", "subject": "nurse"}) + "\n")
    code = main(["trace", "--model", "no-such/model", "--data", str(data), "--contrast", "she,he",
                 "--group", "person", "--out", str(tmp_path / "o")])
    assert code == 2 and "no column 'person' for --group" in capsys.readouterr().err
