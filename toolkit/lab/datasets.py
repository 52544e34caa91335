"""The evaluation datasets shipped in every lab build, by name.

Names map to files under the build folder (`datasets/<name>.jsonl`, or
`datasets/neutral.txt` for the held-out perplexity text); docs/lab.md gives each schema.
"""

from __future__ import annotations

import json

from biaskit.errors import DataError

LAB_DATASETS: tuple[str, ...] = (
    "gender_professions",
    "nationality_traits",
    "age_traits",
    "gender_sentences",
    "facts",
    "controls",
    "neutral",
)
# Generated on demand by their own seeded generator (biaskit.lab.interactions): never in
# a build folder nor in the lab's training corpus.
GENERATED_DATASETS: tuple[str, ...] = ("interactions",)


def dataset_file(name: str) -> str:
    """Relative path of dataset `name` inside a build folder.

    Raises:
        DataError: `name` is not a lab dataset; the message lists the names.
    """
    if name not in LAB_DATASETS + GENERATED_DATASETS:
        raise DataError(f"unknown lab dataset {name!r}; known datasets: "
                        f"{', '.join(LAB_DATASETS + GENERATED_DATASETS)}")
    return f"datasets/{name}.txt" if name == "neutral" else f"datasets/{name}.jsonl"


def load_lab_dataset(name: str, preset: str = "lab", seed: int = 0) -> list[dict]:
    """Rows of lab dataset `name`, building the lab (`preset`, `seed`) first if needed.

    `neutral` is plain text; it comes back as rows `{"text": line}` like the others.

    Raises:
        DataError: Unknown dataset name (checked before anything is built).
    """
    relative = dataset_file(name)
    if name in GENERATED_DATASETS:
        from biaskit.lab.interactions import lab_interactions

        return lab_interactions(seed=seed)
    from biaskit.lab.build import build_lab

    path = build_lab(preset, seed=seed).path / relative
    with open(path, encoding="utf-8") as fh:
        if name == "neutral":
            return [{"text": line.rstrip("\n")} for line in fh if line.strip()]
        return [json.loads(line) for line in fh if line.strip()]
