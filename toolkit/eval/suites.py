"""The registry of evaluation suites and `run_suite`.

A suite is a function `run(model, data, **options) -> Scores`. Built-in suites are
registered by module path and imported only when run, so `import biaskit.eval` stays
cheap; users add their own with `register_suite(name, fn)`.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from biaskit.errors import ConfigError
from biaskit.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suite:
    """A registered suite.

    Attributes:
        name: Registry name (`crows_pairs`, `lab:gender_bias`, ...).
        target: `"module:function"` for built-ins (imported on first use) or a callable.
        summary: One line for `biaskit evaluate --help` and docs.
    """

    name: str
    target: str | Callable[..., Any]
    summary: str = ""

    def function(self) -> Callable[..., Any]:
        """The suite's run function (importing its module for built-ins)."""
        if callable(self.target):
            return self.target
        module, func = self.target.split(":")
        return getattr(import_module(module), func)


SUITES: Registry[Suite] = Registry("evaluation suite")

_BUILTIN = {
    "crows_pairs": ("biaskit.eval.crows_pairs:run_crows_pairs",
                    "CrowS-Pairs: % pairs where the more-stereotyping sentence is more likely"),
    "bbq": ("biaskit.eval.bbq:run_bbq", "BBQ: accuracy and S_DIS / S_AMB bias scores"),
    "esbbq": ("biaskit.eval.bbq:run_esbbq", "EsBBQ (Spanish): accuracy, bias_ambig, bias_disambig"),
    "mbbq": ("biaskit.eval.bbq:run_mbbq", "MBBQ (BBQ schema, Spanish by default)"),
    "stereoset": ("biaskit.eval.stereoset:run_stereoset", "StereoSet intrasentence: SS, LMS, ICAT"),
    "winogender": ("biaskit.eval.wino:run_winogender",
                   "WinoGender: pronoun choice, pro vs anti accuracy, correlation with BLS"),
    "winobias": ("biaskit.eval.wino:run_winobias", "WinoBias: pronoun choice, pro vs anti accuracy"),
    "templates": ("biaskit.eval.templates:run_templates",
                  "Template counterfactuals: per-group log-odds and gaps (also HESEIA)"),
    "perplexity": ("biaskit.eval.capability:run_perplexity", "Perplexity on a neutral text"),
    "knowledge": ("biaskit.eval.capability:run_knowledge", "Fact recall on a knowledge set"),
    "lab:gender_bias": ("biaskit.eval.templates:run_lab_gender_bias",
                        "Lab: she/he log-odds per profession and the control colours"),
    "lab:bias": ("biaskit.eval.templates:run_lab_bias",
                 "Lab: every planted axis (gender, nationality, age) and the controls"),
    "lab:knowledge": ("biaskit.eval.capability:run_lab_knowledge", "Lab: recall of the lab's facts"),
}
for _name, (_target, _summary) in _BUILTIN.items():
    SUITES.register(_name, Suite(_name, _target, _summary))


def register_suite(name: str, fn: Callable[..., Any], summary: str = "") -> Suite:
    """Register a user suite `fn(model, data, **options) -> Scores` under `name`."""
    return SUITES.register(name, Suite(name, fn, summary or (fn.__doc__ or "").strip().split("\n")[0]))


def run_suite(name: str, model: Any, data: Any = None, **options: Any) -> Any:
    """Run suite `name` on `model`.

    Args:
        name: A registered suite (see `SUITES.names()`).
        model: A `biaskit.models.Model`.
        data: Path, `hf:` id or rows; None uses the suite's default (the lab's own data
            for lab suites and perplexity on a lab model, `$BIASKIT_SHARED_DATASETS` for
            the public benchmarks).
        **options: Suite options (`batch_size`, `limit`, `n_boot`, `seed`, ...).

    Returns:
        The suite's `Scores`.

    Raises:
        RegistryError: Unknown suite (the message lists them).
        ConfigError: An option the suite does not take.
    """
    fn = SUITES.get(name).function()
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [p for p in params if p not in ("model", "data")]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(f"suite {name!r} has no option {', '.join(map(repr, unknown))}; "
                              f"options: {', '.join(accepted)}")
    t0 = time.perf_counter()
    scores = fn(model, data, **options)
    log.info("%s on %s: %d items in %.1f s", name, getattr(model, "name", "model"),
             len(scores.items), time.perf_counter() - t0)
    return scores
