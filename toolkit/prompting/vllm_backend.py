"""Optional vLLM backend: large batteries on GPUs, adapters served with vLLM's multi-LoRA.

Selected with `backend: vllm`; needs `pip install 'biaskit[vllm]'` (a CUDA GPU). vLLM is
imported only here and only when this backend is used, so biaskit never depends on it.
UNTESTED in biaskit's CI (no GPU there): written against vLLM's documented offline API
(`vllm.LLM(model, enable_lora, max_lora_rank, max_loras, seed)`, `LLM.generate(prompts,
sampling_params=[...], lora_request=[...])` with one `SamplingParams` and one
`LoRARequest` per prompt, `SamplingParams(n, temperature, top_p, top_k, max_tokens,
seed)`, `vllm.lora.request.LoRARequest(name, int_id, path)`).

Differences from the transformers backend, by design of vLLM:
- Prompts are the same token ids (the same chat template is applied by biaskit), and each
  request gets the same derived seed, but vLLM's sampler draws differently from biaskit's:
  outputs are reproducible run to run, not identical to the transformers backend's.
- Base and LoRA-adapter variants run in one engine (the adapters are served side by side);
  `edit` variants (saved weight deltas) cannot be served by vLLM and are refused with a
  message pointing to the transformers backend.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biaskit.errors import ConfigError
from biaskit.prompting.sampling import SamplingConfig

log = logging.getLogger(__name__)

INSTALL_HINT = "backend vllm needs vLLM, which is not installed: pip install 'biaskit[vllm]' (CUDA GPU)"
_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # ranks vLLM accepts for max_lora_rank


def import_vllm() -> Any:
    """Import vllm, or raise a one-line ConfigError saying how to install it."""
    try:
        import vllm
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return vllm


class VllmRunner:
    """One vLLM engine for the base model and every adapter variant of a battery run."""

    def __init__(self, model: Any, variants: Sequence[Any], sampling: SamplingConfig, *,
                 vllm_args: Mapping[str, Any], progress: bool = True) -> None:
        self.vllm = import_vllm()
        bad = [v.name for v in variants if v.kind not in ("base", "adapter")]
        if bad:
            raise ConfigError(f"the vLLM backend serves the base model and LoRA adapters only; "
                              f"variant(s) {', '.join(bad)} are saved edits: use backend transformers")
        self.path, self.model_name = _model_path(model)
        from transformers import AutoTokenizer

        from biaskit.models.model import ensure_pad_token

        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        ensure_pad_token(self.tokenizer)
        self.variants = list(variants)
        self.sampling = sampling
        self.vllm_args = dict(vllm_args)
        self.progress = progress

    def generate(self, requests: Sequence[Any]) -> dict[str, list[Any]]:
        """All requests under every variant, in one `LLM.generate` call."""
        from vllm import LLM
        from vllm.lora.request import LoRARequest

        from biaskit.prompting.generate import Generation

        adapters = [v for v in self.variants if v.kind == "adapter"]
        engine_args: dict[str, Any] = {"model": self.path, "tokenizer": self.path,
                                       "seed": self.sampling.seed}
        if adapters:
            engine_args.update(enable_lora=True, max_loras=max(1, len(adapters)),
                               max_lora_rank=_max_rank(adapters))
        engine_args.update(self.vllm_args)
        log.info("generate: starting vLLM on %s (%d adapter(s))", self.path, len(adapters))
        llm = LLM(**engine_args)
        lora = {v.name: LoRARequest(v.name, i + 1, str(v.path)) for i, v in enumerate(adapters)}
        prompts, params, loras, owners = [], [], [], []
        for v in self.variants:
            for req in requests:
                prompts.append({"prompt_token_ids": list(req.ids)})
                params.append(self._params(req.seed))
                loras.append(lora.get(v.name))
                owners.append(v.name)
        outputs = llm.generate(prompts, sampling_params=params, lora_request=loras,
                               use_tqdm=self.progress)
        result: dict[str, list[Any]] = {v.name: [] for v in self.variants}
        for owner, out in zip(owners, outputs, strict=True):
            best = out.outputs[0]
            result[owner].append(Generation(text=best.text, n_tokens=len(best.token_ids),
                                            finish_reason="length" if best.finish_reason == "length"
                                            else "eos"))
        return result

    def _params(self, seed: int) -> Any:
        from vllm import SamplingParams

        s = self.sampling
        if not s.do_sample:
            return SamplingParams(n=1, temperature=0.0, max_tokens=s.max_new_tokens)
        return SamplingParams(n=1, temperature=s.temperature, top_p=s.top_p,
                              top_k=s.top_k if s.top_k > 0 else -1, max_tokens=s.max_new_tokens,
                              seed=seed)


def _model_path(model: Any) -> tuple[str, str]:
    """A directory or hub id vLLM can load: from a spec, a path, or a loaded `Model`."""
    if isinstance(model, (str, Path)):
        spec = str(model)
        if spec in ("lab", "lab-tiny"):
            from biaskit.lab import lab_path

            return str(lab_path(spec)), spec
        return spec, spec
    name = getattr(model, "name", "model")
    path = getattr(getattr(model, "config", None), "_name_or_path", "") or name
    if name in ("lab", "lab-tiny"):
        from biaskit.lab import lab_path

        path = str(lab_path(name))
    return str(path), str(name)


def _max_rank(adapters: Sequence[Any]) -> int:
    ranks = []
    for v in adapters:
        try:
            cfg = json.loads((Path(v.path) / "adapter_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ConfigError(f"cannot read adapter_config.json of variant {v.name!r}") from None
        ranks.append(int(cfg.get("r", 8)))
    need = max(ranks)
    return next((r for r in _LORA_RANKS if r >= need), need)
