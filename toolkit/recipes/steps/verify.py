"""`verify` step: did the edit do what was asked, and nothing else?

Runs `biaskit.eval.edits.verify` on the edit of an earlier `edit` step: efficacy and
generalisation on the requests and their paraphrases, locality on unrelated prompts,
fluency and perplexity, and a weight audit (only the declared matrices changed), each
before and after, and checks them against `thresholds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from biaskit.recipes.step import (
    CheckContext,
    ParamError,
    StepContext,
    StepType,
    data_param,
    param,
    step_param,
)

AUTO = "auto"


@dataclass(frozen=True)
class VerifyParams:
    """Parameters of the `verify` step (see docs/recipes.md)."""

    edit: str | None = step_param(("edit",), None, help="The edit step to verify; default: the latest.")
    thresholds: dict[str, float] | None = param(None, help="Pass marks, e.g. {locality: 0.9, "
                                                           "perplexity_increase: 0.1} (`locality` = "
                                                           "the verifier's `neighbourhood`); "
                                                           "null: the verifier's defaults.")
    neutral: str | None = data_param(None, help="Neutral text for perplexity (a `text` column); "
                                                "default: the verifier's own.")
    neighbourhood: str | None = data_param(AUTO, help="Unrelated facts the edit must keep (rows with "
                                                      "`prompt` + `subject` + `target`, or `text` + "
                                                      "`target`), shared out over requests that have "
                                                      "no neighbourhood prompts; auto: lab:facts for a "
                                                      "lab model, else none; null: none.")
    neighbourhood_limit: int = param(48, help="Neighbourhood prompts drawn (with the seed).")
    fail: bool = param(False, help="Stop the run when a threshold is not met (default: report it).")


#: Threshold names accepted besides the verifier's own (`locality` is the common name
#: of what ROME's CounterFact evaluation calls neighbourhood specificity).
ALIASES = {"locality": "neighbourhood"}


def check(p: VerifyParams, ctx: CheckContext) -> None:
    """An edit step must come before; threshold names must be known to the verifier."""
    if p.edit is None and "edit" not in ctx.earlier.values():
        raise ParamError(None, "verify needs an earlier edit step")
    if p.thresholds:
        try:
            from biaskit.eval.edits import CHECKS
        except ImportError:  # the verifier is not available in this tree
            return
        from biaskit.configs import suggest

        known = [*CHECKS, "audit", *ALIASES]
        for key in p.thresholds:
            if key not in known:
                raise ParamError(f"thresholds.{key}", f"key 'thresholds': unknown threshold {key!r}"
                                 f"{suggest(key, known)}; known: {', '.join(known)}")


def _thresholds(given: dict[str, float] | None) -> dict[str, float] | None:
    """The thresholds with aliases replaced by the verifier's names."""
    if not given:
        return None
    return {ALIASES.get(k, k): v for k, v in given.items()}


def run(ctx: StepContext, p: VerifyParams) -> dict[str, Any]:
    """Verify the edit; writes the verifier's files and verify.json."""
    edit_step = p.edit or ctx.earlier("edit")[-1]
    kept = f"edit:{edit_step}" in ctx.shared
    if kept:
        result = ctx.shared[f"edit:{edit_step}"]
    else:  # `keep: false`: put the saved edit back for the check, and take it out after
        from biaskit.editors.result import apply_saved
        from biaskit.recipes.steps.edit import EDIT_DIR

        result = apply_saved(ctx.model, ctx.step_dir(edit_step) / EDIT_DIR)
    try:
        return _verify(ctx, p, edit_step, result)
    finally:
        if not kept:
            result.restore()


def _verify(ctx: StepContext, p: VerifyParams, edit_step: str, result: Any) -> dict[str, Any]:
    from biaskit.errors import BiaskitError
    from biaskit.eval.edits import verify

    objective = ctx.params_of(edit_step)["objective"]
    neutral = None
    if p.neutral is not None:
        from biaskit.recipes.data import load_rows

        neutral = [str(r["text"]) for r in load_rows(p.neutral, preset=ctx.lab_preset)]
    thresholds = _thresholds(p.thresholds)
    requests = with_neighbourhood(list(result.requests), _neighbour_rows(ctx, p))
    report = verify(ctx.model, requests, objective=objective, result=result,
                    neutral=neutral, thresholds=thresholds)
    report.save(ctx.out)  # verify.json (metrics before/after, audit) and verify_prompts.csv
    failures = [str(f) for f in report.failures(thresholds)]
    outputs = {"edit": edit_step, "objective": objective, "passed": not failures,
               "failures": failures, "thresholds": dict(p.thresholds or {})}
    if failures and p.fail:
        raise BiaskitError(f"verify: the edit of step {edit_step!r} fails: {'; '.join(failures)}")
    return outputs


def _neighbour_rows(ctx: StepContext, p: VerifyParams) -> list[dict[str, Any]]:
    """The neighbourhood rows to share out (empty when none are asked for or found)."""
    ref = p.neighbourhood
    if ref == AUTO:
        from biaskit.editors.stats import lab_dir

        ref = "lab:facts" if lab_dir(ctx.model) is not None else None
    if ref is None:
        return []
    from biaskit.recipes.data import load_rows

    return load_rows(ref, preset=ctx.lab_preset, limit=p.neighbourhood_limit, seed=ctx.seed)


def with_neighbourhood(requests: list[Any], rows: list[dict[str, Any]]) -> list[Any]:
    """Requests with unrelated prompts added where they have none.

    Bias requests (a profession and its pronouns) rarely come with neighbourhood prompts,
    yet an equalize edit must be checked for what it breaks. The rows are dealt out
    round-robin, so each neighbour is scored once and the `neighbourhood` share is over
    distinct prompts; rows about a subject that is itself edited are left out.
    """
    import dataclasses

    from biaskit.editors.requests import Neighbour

    if not rows or all(r.neighbourhood for r in requests):
        return requests
    edited = {r.subject for r in requests}
    neighbours = []
    for row in rows:
        if row.get("subject") in edited:
            continue
        text = row.get("text") or (str(row["prompt"]).replace("{}", str(row["subject"]))
                                   if "prompt" in row and "subject" in row else None)
        target = row.get("target", row.get("target_true"))
        if text and target:
            neighbours.append(Neighbour(prompt=str(text), target=str(target)))
    bare = [i for i, r in enumerate(requests) if not r.neighbourhood]
    out = list(requests)
    for k, i in enumerate(bare):
        share = tuple(neighbours[k::len(bare)])
        if share:
            out[i] = dataclasses.replace(out[i], neighbourhood=share)
    return out


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return "all thresholds met" if out["passed"] else f"FAILED: {'; '.join(out['failures'])}"


STEP = StepType(
    kind="verify", params=VerifyParams, run=run, check=check, summary=summary,
    description="Check an edit: efficacy, generalisation, locality, fluency, weight audit.",
    outputs={"edit": str, "objective": str, "passed": bool, "failures": list[str],
             "thresholds": dict[str, float]},
)
