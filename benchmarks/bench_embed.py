"""Embedding analysis speed: PCA, t-SNE and UMAP on 10,000 points, and the separation metrics.

Issue 8 asks for "UMAP/t-SNE on 10,000 points per layer in a stated time". Data: one
layer's worth of synthetic sentence embeddings, 10,000 points in 4 groups (Gaussian
clusters on top of anisotropic noise with a few large-offset dimensions, as in real
residual streams), at d = 64 (the lab) and d = 768 (GPT-2-small, BERT-base). Each map is
fitted once with the settings `biaskit embed` uses by default (t-SNE and UMAP start from
50 principal components; cosine metric; random_state 0). The separation metrics
(cosine silhouette, kNN purity, 1,000 bootstrap resamples, 20 label shuffles) run on
the default cap of 2,000 texts (`max_texts`), since they need all pairwise distances.

    python benchmarks/bench_embed.py                     # the full run (several minutes)
    python benchmarks/bench_embed.py --n 500 --metric-n 300   # a quick check

Each line reports seconds; the last line is the total for 10,000 points per layer at
d = 768 (all three maps).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine

from biaskit.analysis.embeddings_metrics import SeparationConfig, separation
from biaskit.analysis.embeddings_reduce import ReductionConfig, reduce


def synthetic(n: int, d: int, groups: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points [n, d] float32 in `groups` clusters, and their labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    centres = rng.normal(size=(groups, d)) * 1.5
    scales = rng.lognormal(0.0, 0.5, size=d)
    offsets = np.zeros(d)
    offsets[:3] = 30.0
    x = rng.normal(size=(n, d)) * scales + offsets + centres[labels]
    return x.astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="points per layer for the maps")
    parser.add_argument("--dims", default="64,768", help="comma-separated widths")
    parser.add_argument("--methods", default="pca,tsne,umap")
    parser.add_argument("--metric-n", type=int, default=2000, help="points for the metrics")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    config = ReductionConfig()
    warm, _ = synthetic(60, 16, seed=1)
    for method in args.methods.split(","):  # imports and numba compilation, timed apart
        start = time.perf_counter()
        reduce(warm, method, config)
        print(f"warm-up {method:5s} (imports, JIT) {time.perf_counter() - start:8.1f} s")
    total = 0.0
    for d in (int(v) for v in args.dims.split(",")):
        x, y = synthetic(args.n, d)
        total = 0.0
        for method in args.methods.split(","):
            start = time.perf_counter()
            xy = reduce(x, method, config)
            seconds = time.perf_counter() - start
            total += seconds
            assert xy.shape == (args.n, 2)
            print(f"d={d:4d} n={args.n:6d} {method:5s} {seconds:8.1f} s")
        m = min(args.metric_n, args.n)
        start = time.perf_counter()
        rows = separation(x[:m], y[:m], SeparationConfig(n_boot=1000, null_repeats=20))
        seconds = time.perf_counter() - start
        sil = next(r for r in rows if r["metric"] == "silhouette")
        print(f"d={d:4d} n={m:6d} separation metrics {seconds:8.1f} s "
              f"(silhouette {sil['value']:.3f}, null {sil['null_mean']:.3f})")
    print(f"total maps per layer (last width, n={args.n}): {total:.1f} s")


if __name__ == "__main__":
    main()
