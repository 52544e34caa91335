"""Peak memory of a streamed capture of 5,000 vs 50,000 lab texts (each in its own process).

Goal (issue 2): the 50,000-text peak stays under 1.5 x the 5,000-text peak, because
streaming writes shards to disk instead of growing a tensor. Each size runs in a fresh
subprocess and reports its own peak resident memory (ru_maxrss). The last line is the ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine


def child(n: int, max_memory_mb: float) -> None:
    import torch

    from biaskit.activations import capture
    from biaskit.lab import lab_path
    from biaskit.models import load_model

    model = load_model("lab", device="cpu")
    lines = [ln.strip() for ln in (lab_path("lab") / "corpus.txt").read_text().splitlines()
             if ln.strip()]
    texts = [lines[i % len(lines)] for i in range(n)]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        acts = capture(model, texts, layers="all", sites=("resid", "mlp_out"), positions="last",
                       batch_size=64, dtype=torch.float16, max_memory_mb=max_memory_mb,
                       stream_dir=Path(tmp) / "s", progress=False)
        seconds = time.perf_counter() - t0
        streamed = acts.on_disk
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"n": n, "peak_mb": peak / 1024, "before_capture_mb": base / 1024,
                      "seconds": seconds, "streamed": streamed}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=50000)
    parser.add_argument("--max-memory-mb", type=float, default=1.0)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.max_memory_mb)
        return
    print(f"machine: {machine()}")
    results = {}
    for n in (args.small, args.large):
        out = subprocess.run([sys.executable, __file__, "--child", str(n), "--max-memory-mb",
                              str(args.max_memory_mb)], capture_output=True, text=True, check=True)
        results[n] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[n]
        print(f"{n} texts: peak {r['peak_mb']:.0f} MB (model loaded: {r['before_capture_mb']:.0f} MB), "
              f"{r['seconds']:.1f}s, {n / r['seconds']:.0f} texts/s, streamed={r['streamed']}")
    ratio = results[args.large]["peak_mb"] / results[args.small]["peak_mb"]
    print(f"peak memory ratio {args.large}/{args.small}: {ratio:.3f}")


if __name__ == "__main__":
    main()
