"""Helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import platform
import random

import torch

WORDS = ("the nurse doctor engineer said that she he people from Chile Peru Mexico are "
         "hardworking la enfermera dijo que ella él le médecin a dit qu'il elle était "
         "capital city of Bolivia is La Paz Quechua Aymara Mapuche students retirees").split()


def machine() -> str:
    """One line naming the machine, for RESULTS.md."""
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}, python {platform.python_version()}")


def random_texts(n: int, *, seed: int = 0, min_words: int = 6, max_words: int = 30) -> list[str]:
    """`n` texts of random lengths from a small multilingual word list."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(min_words, max_words)))
            for _ in range(n)]
