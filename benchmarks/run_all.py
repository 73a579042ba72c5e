"""Run every benchmark and print one table of their results.

Each benchmark measures its comparisons side by side in its own process (so that compile caches of
one do not flatter another) and prints ``RESULT <what>: <value> (target ...)`` lines; this script runs
them one after another, shows their full output, and ends with the table of RESULT lines and the
machine it ran on.

Usage: python benchmarks/run_all.py [--quick]   (--quick: smoke settings where a benchmark has them)
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [  # (script, arguments, extra arguments with --quick)
    ("bench_response.py", [], []),
    ("bench_survival.py", [], ["--quick"]),
    ("bench_sensitivity.py", [], []),
    ("bench_explore.py", [], []),
    ("bench_reproduce.py", [], []),
    ("bench_report.py", ["--make-quick"], []),  # a full run's rebuild: bench_report.py RUN_DIR by hand
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    results: list[tuple[str, str]] = []
    failed = []
    for script, always, quick_args in BENCHMARKS:
        argv = [sys.executable, str(HERE / script), *always, *(quick_args if args.quick else [])]
        print(f"\n=== {script} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=HERE.parent)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            failed.append(script)
            print(proc.stderr[-2000:], file=sys.stderr)
        print(f"({script}: {time.perf_counter() - t0:.0f} s)")
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                what, _, value = line[len("RESULT "):].rpartition(": ")
                results.append((f"{script[6:-3]}: {what}", value))
    print(f"\nmachine: {machine()}")
    width = max(len(w) for w, _ in results) if results else 10
    for what, value in results:
        print(f"  {what:<{width}}  {value}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
