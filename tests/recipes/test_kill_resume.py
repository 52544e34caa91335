"""Issue 5: a run killed with SIGKILL in the middle of a step resumes to the same results.

A real `biaskit run` in a subprocess (`python -m biaskit`) is killed while its third step
is running (the manifest, written atomically at every change, is polled to see that the
first two steps are done and the third has started). `biaskit run --resume` must skip the
completed steps without touching their files, clean up the killed step's temporary
folder, and end with result JSON files byte-identical to an uninterrupted run's. The
simulated failure (a step that raises) is tested in test_run.py.

The killed step is made long enough to be caught mid-way by scoring the lab's facts two
at a time (`batch_size: 2`); that changes its duration, not its results.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

RECIPE = """\
name: killme
model: {id: lab-tiny, device: cpu}
seed: 0
steps:
  - probe: {data: lab:gender_professions, label: gender, limit: 48, cv: 3}
  - evaluate: {name: bias, suites: [lab:gender_bias]}
  - evaluate:
      name: slow
      suites: [lab:knowledge, perplexity]
      options: {lab:knowledge: {batch_size: 2}, perplexity: {batch_size: 2}}
  - evaluate: {name: last, suites: [perplexity]}
"""
DONE_FIRST = ("probe", "bias")


def _env() -> dict[str, str]:
    """The same environment (threads included) for every run, so float results can match."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
            "COLUMNS": "100"}


def _biaskit(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "biaskit", *args], cwd=cwd, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _manifest(run: Path) -> dict:
    try:
        return json.loads((run / "manifest.json").read_text())
    except (OSError, ValueError):  # not written yet
        return {}


def _statuses(run: Path) -> dict[str, str]:
    return {s["name"]: s["status"] for s in _manifest(run).get("steps", [])}


def _results(run: Path) -> dict[str, bytes]:
    """Every result JSON file of a run, as bytes (not the manifest, which holds times)."""
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*.json"))
            if p.name != "manifest.json"}


def test_sigkill_mid_step_then_resume_matches_an_uninterrupted_run(tmp_path, lab_tiny):
    (tmp_path / "killme.yaml").write_text(RECIPE)
    run = tmp_path / "killed"

    proc = _biaskit("run", "killme.yaml", "--out", str(run), cwd=tmp_path)
    deadline = time.monotonic() + 120
    try:
        while True:
            status = _statuses(run)
            if all(status.get(s) == "done" for s in DONE_FIRST) and status.get("slow") == "running":
                break
            assert proc.poll() is None, f"the run ended before it could be killed: {status}"
            assert time.monotonic() < deadline, f"no step running after 120 s: {status}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    killed = _statuses(run)
    assert [killed[s] for s in DONE_FIRST] == ["done", "done"] and killed["slow"] == "running"
    assert _manifest(run)["status"] == "running"  # nobody closed it: the process died
    assert not (run / "slow").exists() and not (run / "last").exists()  # no half-written step
    done_files = {p: p.stat().st_mtime_ns for s in DONE_FIRST for p in (run / s).rglob("*") if p.is_file()}
    assert {"probe.json", "scores.json"} <= {p.name for p in done_files}

    resumed = _biaskit("run", "killme.yaml", "--out", str(run), "--resume", cwd=tmp_path)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert _statuses(run) == {"probe": "skipped", "bias": "skipped", "slow": "done", "last": "done"}
    assert _manifest(run)["status"] == "done"
    assert {p: p.stat().st_mtime_ns for p in done_files} == done_files  # not recomputed, not rewritten
    assert not list(run.glob(".*.tmp-*"))  # the killed step's temporary folder was removed

    clean = _biaskit("run", "killme.yaml", "--out", str(tmp_path / "clean"), cwd=tmp_path)
    _, err = clean.communicate(timeout=300)
    assert clean.returncode == 0, err
    got, want = _results(run), _results(tmp_path / "clean")
    assert sorted(got) == sorted(want)
    assert {"slow/lab_knowledge/scores.json", "slow/perplexity/scores.json", "last/metrics.json",
            "probe/probe.json"} <= set(got)
    assert [k for k in got if got[k] != want[k]] == []  # byte-identical
