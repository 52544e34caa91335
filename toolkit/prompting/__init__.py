"""Prompt-testing batteries: templates x variables x languages, generated over model variants.

`load_battery("data/batteries/survey_personas.yaml")` expands a battery into prompts;
`run_battery(model, battery, ["base", "adapters/x"])` generates every prompt x variant x
sample with fixed, batch-independent seeds and returns tidy rows (`BatteryResult.save`
writes generations.jsonl and generations.csv). Names are imported lazily: `import
biaskit.prompting` does not import torch.
"""

from __future__ import annotations

from biaskit.lazy import lazy_exports

_LAZY = {
    "Battery": "biaskit.prompting.battery",
    "Prompt": "biaskit.prompting.battery",
    "load_battery": "biaskit.prompting.battery",
    "battery_from_mapping": "biaskit.prompting.battery",
    "battery_from_rows": "biaskit.prompting.battery",
    "SamplingConfig": "biaskit.prompting.sampling",
    "derive_seed": "biaskit.prompting.sampling",
    "BatteryResult": "biaskit.prompting.generate",
    "run_battery": "biaskit.prompting.generate",
    "generate_requests": "biaskit.prompting.generate",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY,
                                    modules=("battery", "sampling", "generate", "vllm_backend"))
