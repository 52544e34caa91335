"""`finetune` step: LoRA fine-tunes (one per profile group, or one on everything) as variants.

Reads conversation logs (`lab:interactions`, a JSONL of `respondent_id, profile,
messages`) or texts (any table with a text column), optionally splits the logs by
profile fields (`split_by: [education]`), trains one LoRA adapter per group with the same
seed and budget, and, with `evaluate`, scores every adapter and the base model on every
group's held-out conversations (a table adapters x groups, whose diagonal should win).
The model is left unchanged; later steps take the adapters as `variants:
"${finetune.adapters}"` (or `variants: [base, finetune]`). Adapters are trained into a
hidden folder of the run and moved into the step folder at the end, so a run killed
half-way resumes with the groups already done (`biaskit run --resume`).
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from typing import Any, Literal

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

log = logging.getLogger(__name__)

ADAPTERS_DIR = "adapters"


@dataclass(frozen=True)
class FinetuneParams:
    """Parameters of the `finetune` step (see docs/finetune.md)."""

    data: str = data_param(help="Training data: conversation logs (lab:interactions, or a JSONL of "
                                "respondent_id/profile/messages) or texts (a table with a text column, "
                                "e.g. lab:gender_sentences).")
    text: str = param("text", help="Column of the texts, when the data are texts.")
    split_by: tuple[str, ...] | None = param(None, help="Profile fields: one adapter per group, e.g. "
                                                       "[education]; null: one adapter on all the data.")
    min_size: int = param(20, help="Groups with fewer conversations are skipped and reported.")
    heldout: float = param(0.2, help="Share of each group's respondents held out for evaluation.")
    objective: Literal["lm", "cda"] = param("lm", help="lm: the data as they are; cda: plus a "
                                                       "gender-swapped copy (counterfactual augmentation).")
    lora: dict[str, Any] | None = param(None, help="LoRA settings, e.g. {rank: 8, alpha: 16, lr: 2e-4, "
                                                   "max_steps: 200, batch_size: 8, max_length: 512}.")
    evaluate: bool = param(True, help="Held-out perplexity of the base model and every adapter on "
                                      "every group (conversation logs only).")
    suites: tuple[str, ...] | None = param(None, help="Evaluation suites run on the base model and on "
                                                      "each adapter, e.g. [lab:gender_bias, perplexity] "
                                                      "(metrics with a `variant` column).")
    suite_options: dict[str, dict[str, Any]] | None = param(None, help="Options per suite, e.g. "
                                                                       "{perplexity: {limit: 50}}.")
    where: dict[str, Any] | None = param(None, help="Row filter, e.g. {split: train}; on profile fields "
                                                    "for conversation logs, e.g. {language: es}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    salt: str | None = param(None, help="Secret for pseudonymising respondent ids (default: "
                                        "$BIASKIT_SALT).")
    seed: int | None = param(None, help="Seed of the split and the fine-tunes (default: the recipe's).")


def check(p: FinetuneParams, _: CheckContext) -> None:
    """LoRA settings are valid (checked before any model loads); sizes make sense."""
    from biaskit.configs import ConfigFieldError, from_mapping
    from biaskit.editors.lora import LoraConfig

    if p.min_size < 1:
        raise ParamError("min_size", "key 'min_size': must be >= 1")
    if not 0 <= p.heldout < 1:
        raise ParamError("heldout", "key 'heldout': a fraction in [0, 1)")
    if p.split_by is not None and not p.split_by:
        raise ParamError("split_by", "key 'split_by': name at least one profile field, or null")
    if p.suites:
        from biaskit.recipes.steps.evaluate import EvaluateParams
        from biaskit.recipes.steps.evaluate import check as check_suites

        try:
            check_suites(EvaluateParams(suites=p.suites, options=p.suite_options), _)
        except ParamError as exc:
            key = (exc.key or "suites").replace("options", "suite_options")
            raise ParamError(key, exc.reason.replace("'options'", "'suite_options'")) from None
    if p.lora:
        if "objective" in p.lora:
            raise ParamError("lora.objective", "key 'lora.objective': set 'objective' on the step")
        try:
            from_mapping(LoraConfig, dict(p.lora), source="lora")
        except ConfigFieldError as exc:
            raise ParamError(".".join(("lora", *exc.path)),
                             exc.reason.replace("key '", "key 'lora.")
                             .replace("did you mean '", "did you mean 'lora.")) from None
        except Exception as exc:  # __post_init__ range checks
            raise ParamError("lora", f"key 'lora': {exc}") from None


def run(ctx: StepContext, p: FinetuneParams) -> dict[str, Any]:
    """Train the adapters, evaluate them, and move them into the step folder."""
    import dataclasses

    from biaskit.configs import from_mapping
    from biaskit.editors.lora import LoraConfig, finetune, finetune_by, group_folder
    from biaskit.io import write_csv, write_json

    model = ctx.model
    config = from_mapping(LoraConfig, dict(p.lora or {}), source=f"{ctx.name}.lora")
    seed = config.seed if "seed" in (p.lora or {}) else ctx.seed
    config = dataclasses.replace(config, objective=p.objective, seed=seed)
    rows = _rows(p, ctx)
    work = ctx.run_dir / f".{ctx.name}.{ADAPTERS_DIR}"  # survives a failed step: resumable
    perplexity: list[dict[str, Any]] = []
    diagonal: dict[str, bool] = {}
    skipped: dict[str, int] = {}
    if "messages" in rows[0]:
        from biaskit.data.interactions import split_by

        convs = _conversations(rows, p)
        split = split_by(convs, tuple(p.split_by or ()), min_size=p.min_size if p.split_by else 1,
                         heldout=p.heldout, seed=ctx.seed)
        skipped = dict(split.skipped)
        tok = model.tokenizer
        write_csv(ctx.out / "split.csv", split.summary(lambda t: len(tok(t, add_special_tokens=False)
                                                                     ["input_ids"])))
        write_json(ctx.out / "split.json", split.to_dict())
        adapters = finetune_by(model, split, config, out=work, resume=True, progress=ctx.progress)
        if p.evaluate and any(sub.heldout for sub in split.groups.values()):
            from biaskit.editors.lora_data import diagonal as judge
            from biaskit.editors.lora_data import heldout_perplexity

            groups = {g: sub.heldout for g, sub in split.groups.items() if sub.heldout}
            perplexity = heldout_perplexity(model, ["base", *(a.variant for a in adapters.values())],
                                            groups, max_length=config.max_length)
            diagonal = judge(perplexity) if p.split_by else {}
            write_csv(ctx.out / "perplexity.csv", perplexity)
    else:
        if p.split_by:
            raise ParamError("split_by", f"key 'split_by': {p.data} holds texts, not conversation logs "
                                         "with profiles")
        if p.text not in rows[0]:
            from biaskit.errors import DataError

            raise DataError(f"{p.data}: no column {p.text!r} (columns: {', '.join(rows[0])}); set 'text'")
        items = [{"text": str(r[p.text]), **({"language": r["language"]} if "language" in r else {})}
                 for r in rows]
        adapters = {"all": finetune(model, items, config, out=work / "all", progress=ctx.progress,
                                    group="all")}
    metrics = _suites(ctx, p, adapters) if p.suites else []
    # ctx.out is a temporary folder that the runner renames to run_dir/<name> on success.
    shutil.rmtree(ctx.out / ADAPTERS_DIR, ignore_errors=True)
    os.replace(work, ctx.out / ADAPTERS_DIR)
    place = ctx.run_dir / ctx.name / ADAPTERS_DIR
    return {"adapters": {g: str((place / group_folder(g)).resolve()) for g in adapters},
            "groups": list(adapters), "skipped": skipped, "objective": p.objective,
            "sizes": {g: dict(a.sizes) for g, a in adapters.items()},
            "final_loss": {g: (a.curve[-1]["loss"] if a.curve else None) for g, a in adapters.items()},
            "perplexity": perplexity, "diagonal": diagonal, "metrics": metrics}


def _suites(ctx: StepContext, p: FinetuneParams, adapters: dict[str, Any]) -> list[dict[str, Any]]:
    """Run `suites` on the base model and on each adapter (applied, then removed)."""
    from biaskit.editors.lora import group_folder
    from biaskit.eval import run_suite
    from biaskit.io import write_csv
    from biaskit.models.variants import apply_variant, parse_variants
    from biaskit.recipes.steps.evaluate import _accepts, _finite, suite_dir

    rows: list[dict[str, Any]] = []
    for variant in parse_variants(["base", *(a.variant for a in adapters.values())]):
        with apply_variant(ctx.model, variant) as model:
            for suite in p.suites or ():
                opts = dict((p.suite_options or {}).get(suite, {}))
                if _accepts(suite, "seed"):
                    opts.setdefault("seed", ctx.seed)
                scores = run_suite(suite, model, None, **opts)
                scores.save(ctx.out / "suites" / group_folder(variant.name) / suite_dir(suite))
                rows.extend({"variant": variant.name, **_finite(r)} for r in scores.rows())
    write_csv(ctx.out / "metrics.csv", rows)
    return rows


def _rows(p: FinetuneParams, ctx: StepContext) -> list[dict[str, Any]]:
    """The data's rows after `where` (on profile fields for conversation logs) and `limit`."""
    from biaskit.errors import DataError
    from biaskit.recipes.data import filter_rows, load_rows, subsample

    rows = load_rows(p.data, preset=ctx.lab_preset)
    if p.where:
        if "messages" in rows[0]:
            profiles = [{**r.get("profile", {}), "_i": i} for i, r in enumerate(rows)]
            keep = [int(r["_i"]) for r in filter_rows(profiles, p.where, f"{p.data} (profile)")]
            rows = [rows[i] for i in keep]
        else:
            rows = filter_rows(rows, p.where, p.data)
        if not rows:
            raise DataError(f"{p.data}: no rows left after where: {dict(p.where)}")
    return subsample(rows, p.limit, ctx.seed) if p.limit is not None else rows


def _conversations(rows: list[dict[str, Any]], p: FinetuneParams) -> list[Any]:
    """Checked, pseudonymised conversations (lab logs have synthetic ids: no salt warning)."""
    from biaskit.data.interactions import parse_interactions, resolve_salt

    salt = p.salt if p.salt is not None else resolve_salt(None, warn=not p.data.startswith("lab:"))
    return parse_interactions(rows, source=p.data, salt=salt, required_profile=tuple(p.split_by or ()))


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    line = f"{len(out['groups'])} LoRA adapter(s) ({out['objective']})"
    if out["skipped"]:
        line += f", {len(out['skipped'])} group(s) below min_size skipped"
    if out["diagonal"]:
        line += f"; own adapter best on {sum(out['diagonal'].values())}/{len(out['diagonal'])} groups"
    return line


STEP = StepType(
    kind="finetune", params=FinetuneParams, run=run, check=check, summary=summary,
    description="LoRA fine-tunes (one per profile group, or CDA) saved as model variants.",
    outputs={"adapters": dict[str, str], "groups": list[str], "skipped": dict[str, int], "objective": str,
             "sizes": dict[str, Any], "final_loss": dict[str, Any], "perplexity": list[dict[str, Any]],
             "diagonal": dict[str, bool], "metrics": list[dict[str, Any]]},
)
