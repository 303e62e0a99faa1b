"""Median wall time of `ocma --help` against `python -c pass`, measured in the same run.

Run: .venv/bin/python benchmarks/startup.py [runs]
Goal: ocma --help under 0.5 s. Last line: ocma_help_s= python_s= ratio=
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_wall(cmd: list[str], runs: int) -> float:
    """Median seconds of `runs` executions (after one warm-up)."""
    subprocess.run(cmd, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Measure and print."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    ocma = shutil.which("ocma") or str(Path(sys.executable).parent / "ocma")
    help_s = median_wall([ocma, "--help"], runs)
    python_s = median_wall([sys.executable, "-c", "pass"], runs)
    print(f"runs={runs} ocma --help median {help_s:.3f}s, python -c pass median {python_s:.3f}s")
    print(f"goal: ocma --help < 0.5 s -> {'met' if help_s < 0.5 else 'NOT met'}")
    print(f"ocma_help_s={help_s:.3f} python_s={python_s:.3f} ratio={help_s / python_s:.2f}")


if __name__ == "__main__":
    main()
