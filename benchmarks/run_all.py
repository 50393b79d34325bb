"""Run every ``bench_*.py`` (or those named on the command line) and merge their rows.

Writes ``benchmarks/results.json`` (a list of rows) and the table in ``benchmarks/RESULTS.md``.
Usage: ``python benchmarks/run_all.py [bench_ridge ...]``; ``--merge-only`` only merges rows already written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> None:
    scripts = [] if names == ["--merge-only"] else sorted(HERE.glob("bench_*.py"))
    if names and scripts:
        scripts = [s for s in scripts if s.stem in names]
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        subprocess.run([sys.executable, str(script)], check=True)
    rows = []
    for part in sorted((HERE / "results").glob("*.json")):
        rows.extend(json.loads(part.read_text()))
    (HERE / "results.json").write_text(json.dumps(rows, indent=2))
    lines = ["| benchmark | ours (s) | reference | reference (s) | speed-up | check |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["name"], r["ours_s"], r["reference"] or "-", r["reference_s"] or "-", r["ratio"] or "-", r["check"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    table = "\n".join(lines)
    md = HERE / "RESULTS.md"
    head = md.read_text().split("<!-- table -->")[0] if md.exists() else "# Benchmark results\n\n"
    md.write_text(head + "<!-- table -->\n" + table + "\n")
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
