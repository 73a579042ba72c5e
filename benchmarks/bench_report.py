"""Report rebuild benchmark: ``hccbayes report RUN_DIR`` on a finished run, as a user runs it (a fresh
process: imports, reading the table and the fits' attrs, every section, figure, table and writer).

Issue 8's target: the rebuild takes no refit and under 15 s. Measured on a **full** default reproduce
(540+ fits, every prior set) — the largest report the bundled plan makes — when one is given, else on a
quick reproduce made first (``--make-quick``, about 3 minutes; its report is smaller, so say which in a note).

The rebuild is timed ``--repeat`` times (default 3) in fresh processes; printed: each wall time, the median,
its ratio to the 15 s target, the number of fits read and that no fit file changed (mtime + size).

Run:  python benchmarks/bench_report.py RUN_DIR          (e.g. the folder of `hccbayes reproduce`)
      python benchmarks/bench_report.py --make-quick      (makes runs/bench-report-quick first)
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 15.0


def _fits_state(run_dir: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in (run_dir / "fits").glob("*.nc")}


def _rebuild(run_dir: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "report", str(run_dir)], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"hccbayes report failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", help="a finished run directory (comparisons.csv, run.json, fits/)")
    ap.add_argument("--make-quick", action="store_true", help="first run `hccbayes reproduce --quick` into "
                    "runs/bench-report-quick and time its report")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.make_quick:
        run_dir = Path("runs/bench-report-quick")
        subprocess.run([sys.executable, "-m", "hccbayes", "reproduce", "--quick", "--out", str(run_dir),
                        "--force"], check=True)
    elif args.run_dir:
        run_dir = Path(args.run_dir)
    else:
        ap.error("give a RUN_DIR or --make-quick")
    if not (run_dir / "comparisons.csv").is_file():
        raise SystemExit(f"{run_dir} holds no finished run (no comparisons.csv)")
    before = _fits_state(run_dir)
    times = [_rebuild(run_dir) for _ in range(args.repeat)]
    unchanged = _fits_state(run_dir) == before
    rows = sum(1 for _ in (run_dir / "comparisons.csv").open(encoding="utf-8")) - 1
    med = statistics.median(times)
    print(f"run: {run_dir} ({len(before)} fits, {rows} table rows)")
    print("rebuild wall times (fresh process each): " + ", ".join(f"{t:.1f} s" for t in times))
    print(f"fit files unchanged by the rebuilds: {unchanged}")
    print(f"RESULT report rebuild, {len(before)} fits (median of {len(times)}): {med:.1f} s = "
          f"{med / TARGET_S:.2f}x the 15 s target")
    if not unchanged:
        raise SystemExit("a rebuild changed fit files")


if __name__ == "__main__":
    main()
