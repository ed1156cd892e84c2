"""What every benchmark measures the same way: a step in a fresh process, and its peak RSS."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, unlike ru_maxrss, is not inherited across fork + exec."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_in_fresh_process(
    script: str, args: list[str], *, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Run `script args` in its own process; its last line of output is a JSON result."""
    out = subprocess.run(
        [sys.executable, script, *args],
        check=False,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {out.returncode}); its error is above")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))
