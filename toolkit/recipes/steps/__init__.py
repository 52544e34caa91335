"""The registry of recipe steps: one `StepType` per kind, registered by name.

Each step lives in its own module with its parameter dataclass and run function; the
modules import nothing heavy at import time (torch and the models load inside `run`), so
`biaskit validate` checks a recipe in well under a second.
"""

from __future__ import annotations

from importlib import import_module

from biaskit.recipes.step import StepType
from biaskit.registry import Registry

#: Built-in step modules, in the order `biaskit recipes` lists them.
BUILTIN = ("probe", "trace", "locate", "evaluate", "edit", "verify", "embed", "attention", "generate",
           "stylometry", "finetune", "erase", "steer", "report")


def _builtin_registry() -> Registry[StepType]:
    registry: Registry[StepType] = Registry("step")
    for name in BUILTIN:
        step: StepType = import_module(f"biaskit.recipes.steps.{name}").STEP
        registry.register(step.kind, step)
    return registry


#: Recipe steps by kind. Add one with `register_step`.
STEPS: Registry[StepType] = _builtin_registry()


def register_step(step: StepType) -> StepType:
    """Register a step type (a plugin); refuses a kind that is already taken."""
    return STEPS.register(step.kind, step)


__all__ = ["BUILTIN", "STEPS", "StepType", "register_step"]
