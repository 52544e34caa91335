"""Building, caching and loading the lab: corpus -> tokenizer -> model -> truth and metrics.

A build is written into a temporary folder beside its destination and renamed into place
only when every file is written, so a killed build never leaves a folder that looks
complete. The cache key hashes the preset, the seed and the generator version.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biaskit.errors import ConfigError
from biaskit.io import read_json, write_json, write_jsonl
from biaskit.lab.datasets import dataset_file
from biaskit.lab.presets import GENERATOR_VERSION, LabPreset, get_preset, spec_hash
from biaskit.lab.words_people import LANGUAGES

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

MAX_POSITIONS = 512
# Fact groups whose subject-last MLP knockouts metrics.json reports separately.
KNOCKOUT_GROUPS = {"person": ("sport", "birthplace"),
                   "country": ("capital", "language", "currency", "region"),
                   "profession": ("workplace", "tool")}
TRUTH, METRICS = "truth.json", "metrics.json"


@dataclass(frozen=True)
class LabBuild:
    """A finished lab build on disk.

    Attributes:
        path: Folder holding the Hugging Face model, tokenizer, truth and datasets.
        preset: Preset name.
        seed: Seed of the build.
        truth: Contents of truth.json (what was planted).
        metrics: Contents of metrics.json (what the model learned).
    """

    path: Path
    preset: str
    seed: int
    truth: dict
    metrics: dict

    def dataset_path(self, name: str) -> Path:
        """Path of the dataset `name` (see `LAB_DATASETS`) in this build."""
        return self.path / dataset_file(name)

    def load(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        """The model (eval mode, CPU) and tokenizer, loaded offline with transformers."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.path)
        model = AutoModelForCausalLM.from_pretrained(self.path)
        return model.eval(), tokenizer


def cache_root() -> Path:
    """`$BIASKIT_CACHE`, else the platform's user cache folder for biaskit."""
    env = os.environ.get("BIASKIT_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("biaskit"))


def build_dir(preset: str | LabPreset = "lab", seed: int = 0) -> Path:
    """Where the cached build of (`preset`, `seed`) lives, built or not."""
    spec = get_preset(preset)
    return cache_root() / "lab" / f"{spec.name}-{spec_hash(spec, seed)[:12]}"


def _existing(path: Path, digest: str) -> LabBuild | None:
    """The complete build at `path` with this spec hash, or None."""
    try:
        truth, metrics = read_json(path / TRUTH), read_json(path / METRICS)
    except (OSError, ValueError):
        return None
    if truth.get("spec_hash") != digest:
        return None
    return LabBuild(path, truth["preset"], truth["seed"], truth, metrics)


def build_lab(preset: str | LabPreset = "lab", *, seed: int = 0, out: Path | None = None,
              force: bool = False, progress: bool = True) -> LabBuild:
    """Build the lab model and its ground truth, or return the cached build.

    Args:
        preset: Preset name ("lab", "lab-tiny") or a `LabPreset`.
        seed: Seed of corpus, tokenizer order, initialisation and batch order.
        out: Write the build here instead of the cache.
        force: Rebuild even if a complete build with the same spec exists.
        progress: Show a progress bar with the training loss.

    Raises:
        ConfigError: Unknown preset, or `out` holds something other than a lab build
            (pass `force=True` to replace it).
    """
    spec = get_preset(preset)
    digest = spec_hash(spec, seed)
    target = Path(out) if out is not None else build_dir(spec, seed)
    if not force and (done := _existing(target, digest)) is not None:
        logger.debug("lab build found at %s", target)
        return done
    if target.exists() and not force and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not a lab build of preset {spec.name!r} "
                          f"seed {seed}; pass force=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        _build_into(tmp, spec, seed, digest, progress)
        if target.exists():
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished the same build first
            if (done := _existing(target, digest)) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)
            return done
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("lab build %s (seed %d) written to %s", spec.name, seed, target)
    result = _existing(target, digest)
    assert result is not None
    return result


def lab_path(preset: str | LabPreset = "lab", seed: int = 0) -> Path:
    """Folder of the lab build for (`preset`, `seed`), building it if needed."""
    return build_lab(preset, seed=seed).path


def _build_into(folder: Path, spec: LabPreset, seed: int, digest: str, progress: bool) -> None:
    from biaskit.lab.corpus import generate_corpus
    from biaskit.lab.knockout import mlp_knockout
    from biaskit.lab.measure import measure_associations, measure_facts, summarize
    from biaskit.lab.tokenizer import subject_report, train_tokenizer
    from biaskit.lab.train import encode, make_model, train

    clock: dict[str, float] = {}
    start = time.perf_counter()
    corpus = generate_corpus(spec, seed)
    tokenizer = train_tokenizer(corpus.sentences, spec.vocab_size, spec.max_token_length)
    encoded = encode(tokenizer, corpus.sentences)
    clock["corpus_and_tokenizer"] = time.perf_counter() - start
    logger.info("lab %s: %d sentences, %d tokens, vocabulary %d", spec.name,
                len(corpus.sentences), sum(map(len, encoded)), len(tokenizer))

    model = make_model(spec, tokenizer, seed, MAX_POSITIONS)
    mark = time.perf_counter()
    curve = train(model, encoded, spec, seed, tokenizer.pad_token_id, progress)
    clock["train"] = time.perf_counter() - mark

    mark = time.perf_counter()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "corpus.txt").write_text("\n".join(corpus.sentences) + "\n", encoding="utf-8")
    (folder / dataset_file("neutral")).parent.mkdir(exist_ok=True)
    (folder / dataset_file("neutral")).write_text("\n".join(corpus.neutral) + "\n",
                                                  encoding="utf-8")
    for name, rows in corpus.datasets.items():
        write_jsonl(folder / dataset_file(name), rows)
    truth: dict[str, Any] = {
        "version": GENERATOR_VERSION, "preset": spec.name, "preset_config": spec.to_dict(),
        "seed": seed, "spec_hash": digest, "layers": spec.n_layers,
        "languages": list(LANGUAGES),
        "continuation": "targets are scored as the continuation ' ' + target after a prompt",
        "associations": corpus.associations, "controls": corpus.controls,
        "facts": corpus.facts, "tokenization": subject_report(tokenizer, corpus.subjects),
        "datasets": {name: dataset_file(name) for name in [*corpus.datasets, "neutral"]},
    }
    write_json(folder / TRUTH, truth)

    associations = measure_associations(model, tokenizer, truth)
    facts = measure_facts(model, tokenizer, truth)
    knockout = []
    for group, relations in KNOCKOUT_GROUPS.items():
        rows = [f for f in corpus.datasets["facts"] if f["relation"] in relations]
        knockout += [{"facts": group, **row} for row in mlp_knockout(model, tokenizer, rows)]
    clock["save_and_measure"] = time.perf_counter() - mark
    clock["total"] = time.perf_counter() - start
    metrics = {
        "preset": spec.name, "seed": seed, "spec_hash": digest,
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_sentences": len(corpus.sentences), "n_tokens": sum(map(len, encoded)),
        "final_loss": curve[-1]["loss"], "loss_curve": curve,
        **summarize(associations, facts), "knockout": knockout,
        "associations": associations, "facts": facts,
        "timing": {key: round(value, 3) for key, value in clock.items()},
    }
    write_json(folder / METRICS, metrics)
    logger.info("lab %s trained in %.1fs; association MAE %s", spec.name, clock["train"],
                {k: v["mae"] for k, v in metrics["association_mae"].items()})
