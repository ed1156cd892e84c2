"""Time the synthetic operator generator: seconds, rows/s per table, peak memory.

    .venv/bin/python bench/bench_generator.py [SUBSCRIBERS] [MONTHS] [--out DIR] [--seed S]

The target is 1M subscribers × 12 months in under 2 minutes on 2 cores; the last line prints
how this run compares with that target, scaled linearly to 1M × 12.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from quanwang.data.generator import GeneratorConfig, generate

TARGET_SECONDS = 120.0
TARGET_SUBSCRIBER_MONTHS = 1_000_000 * 12


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subscribers", type=int, nargs="?", default=200_000)
    parser.add_argument("months", type=int, nargs="?", default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="quanwang-bench-"))
    config = GeneratorConfig(subscribers=args.subscribers, months=args.months, seed=args.seed)
    began = time.perf_counter()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"  [{time.perf_counter() - began:6.1f}s] {message}", flush=True)

    try:
        manifest = generate(config, out, progress=progress)
        seconds = time.perf_counter() - began
        size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(
        f"generator {manifest['generator_version']}: {args.subscribers:,} subscribers × "
        f"{args.months} months, seed {args.seed}"
    )
    print(
        f"seconds: {seconds:.1f}   peak RSS: {peak_mib:,.0f} MiB   parquet: {size / 2**20:,.0f} MiB"
    )
    counts = {**manifest["tables"], **manifest["ground_truth"]}
    print(f"{'table':<22}{'rows':>14}{'rows/s':>14}")
    for name, rows in counts.items():
        print(f"{name:<22}{rows:>14,}{rows / seconds:>14,.0f}")
    total = sum(counts.values())
    print(f"{'all':<22}{total:>14,}{total / seconds:>14,.0f}")
    scaled = seconds * TARGET_SUBSCRIBER_MONTHS / (args.subscribers * args.months)
    ratio = scaled / TARGET_SECONDS
    print(
        f"scaled to 1M × 12: {scaled:.0f}s = {ratio:.2f} × the 120s target "
        f"({'within' if ratio <= 1 else 'over'} target)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
