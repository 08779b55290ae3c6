"""What the case-by-case benchmarks share: each case in its own process, and a results file that keeps
the rows of the cases a run did not measure."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table


def peak_gb() -> float:
    """This process's peak resident memory, GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # kB on Linux


def run_in_child(script: str, path: Path, method: str) -> dict:
    """``script --one path method`` in a fresh process, its last line read as the row: its peak memory
    is its own, and a crash is one failed row."""
    done = subprocess.run([sys.executable, script, "--one", str(path), method], capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"status": f"failed: {lines[-1] if lines else done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_rows(rows: pd.DataFrame, out: Path, key: list[str]) -> None:
    """Write ``rows`` to ``out``, keeping the rows of the cases (by ``key``) this run did not measure."""
    if out.exists():
        kept = pd.read_csv(out)
        kept = kept[~kept.set_index(key).index.isin(rows.set_index(key).index)]
        rows = pd.concat([kept, rows], ignore_index=True).sort_values(key, kind="stable")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out, index=False)


def run_and_record(
    script: str, case: dict, path: Path, rows: list[dict], out: Path, console: Console, given: dict | None = None
) -> dict:
    """Run one case in a child process (``case``: its key columns, ``method`` among them), say how it
    went, and write every row so far (a run cut short keeps what it measured). ``given``: columns the
    run sets (a time limit), recorded also where the case failed."""
    label = ", ".join(f"{value} {name}" for name, value in case.items() if name != "method")
    with console.status(f"{label}: {case['method']}"):
        row = {**case, **(given or {}), **run_in_child(script, path, case["method"])}
    rows.append(row)
    console.print(
        f"{label}, {case['method']}: {row.get('status')}, "
        f"{row.get('total_s', math.nan):.0f} s, gap {row.get('gap', math.nan):.2%}"
    )
    write_rows(pd.DataFrame(rows), out, list(case))
    return row


def results_table(name: str, frame: pd.DataFrame, columns: dict[str, str], formats: dict[str, str]) -> Table:
    """The rows as a table: ``columns`` (column -> heading), ``formats`` for some; other floats to one
    decimal, integers with thousands separators, a blank cell as a dash."""
    table = Table(title=f"{name} — {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for label in columns.values():
        table.add_column(label, justify="right")
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None or (isinstance(value, float) and pd.isna(value)):
                cells.append("—")
            elif column in formats:
                cells.append(formats[column].format(value))
            elif isinstance(value, float):
                cells.append(f"{value:,.1f}")
            else:
                cells.append(f"{value:,}" if isinstance(value, int) else str(value))
        table.add_row(*cells)
    return table
