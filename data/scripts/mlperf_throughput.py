"""Re-derive ``data/chip_throughput.csv`` (output tokens/s per accelerator) from MLPerf Inference results.

Inputs — local copies only, nothing is downloaded. One ``ROUND=PATH`` argument per MLPerf Inference
datacenter round, **newest first** (e.g. ``v6.1=… v6.0=… v5.1=…``). ``PATH`` is either

* the round's ``summary_results.json`` (or a folder holding it), as published at the top of
  ``mlcommons/inference_results_vX.Y``; or
* a results checkout (``closed/<submitter>/systems/<system>.json`` and
  ``closed/<submitter>/results/<system>/<benchmark>/<scenario>/performance/``), read from
  ``run_1/mlperf_log_summary.txt`` (LoadGen: ``Tokens per second`` in Offline, ``Completed tokens
  per second`` in Server/Interactive) or ``result_summary.json`` (the endpoints harness: ``tps``).
  A submitter's ``results/submission_checker_log.txt`` (lines ``Results <path> <value>``) fills in
  LoadGen results whose files are absent, and only for systems whose results in the checkout are
  all LoadGen ones (the checker reports samples/s, not tokens/s, for the endpoints harness).

Only the closed division, datacenter suite, status available or preview, is used. Tokens/s per
accelerator = system tokens/s ÷ (accelerators per node × nodes), so a 9x8xMI355X cluster divides
by 72. ``llama2-70b-99`` and ``-99.9`` are one benchmark (the higher of the two per system).

Selection rule (one rule for every chip × workload):

1. the chip vendor's own submission (NVIDIA for NVIDIA SKUs, AMD for AMD SKUs) in the newest
   round that has one; among several vendor systems of that round, the reference size (8 GPUs
   for HGX/UBB nodes, 72 for NVL72 racks) if present, then the highest per-accelerator result;
2. otherwise the median over the other submitters' systems of the newest round that has any;
3. otherwise a derived (D) value, only for the pairs in ``DERIVED`` (formula printed).

Announced SKUs (a separate last step): SKUs with no MLPerf result yet (``chip_years.ANNOUNCED``:
Rubin Ultra NVL576, MI450X Helios) get A rows derived from the rows above × vendor-announced FP4
ratios (as far as the measured generation step made such ratios come true), appended after the
measured rows by ``chip_years.announced_rows`` (``chip_years.py`` run alone rewrites just these
rows, without the MLPerf inputs).

Output: stdout, the CSV rows of ``data/chip_throughput.csv`` (tokens/s rounded to whole numbers);
stderr, the provenance of every row (round, submitter, system, accelerators, formula). The output
is deterministic.

Usage::

    python data/scripts/mlperf_throughput.py v6.1=PATH v6.0=PATH v5.1=PATH [--candidates]

``--candidates`` also prints to stderr every matching result per accelerator.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chip_years import ANNOUNCED, announced_rows  # beside this script (data/scripts)

WORKLOADS = {  # workload_id: (benchmark, scenario), as in data/workloads.csv
    "chat_70b": ("llama2-70b", "Interactive"),
    "reasoning_r1": ("deepseek-r1", "Interactive"),
    "batch_70b": ("llama2-70b", "Offline"),
    "chat_oss_120b": ("gpt-oss-120b", "Interactive"),
}
CHIPS = [  # chip_id, vendor, reference accelerators per system, accelerator-name pattern (data/chips.csv order)
    ("h100_sxm", "NVIDIA", 8, r"\bh100-sxm"),
    ("h200_sxm", "NVIDIA", 8, r"\bh200-sxm"),
    ("b200", "NVIDIA", 8, r"\bb200-sxm"),
    ("gb200_nvl72", "NVIDIA", 72, r"\bgb200\b"),
    ("gb300_nvl72", "NVIDIA", 72, r"\bgb300\b"),
    ("mi300x", "AMD", 8, r"\bmi300x\b"),
    ("mi325x", "AMD", 8, r"\bmi325x\b"),
    ("b300_hgx", "NVIDIA", 8, r"\bb300-sxm"),
    ("mi355x", "AMD", 8, r"\bmi355x\b"),
    ("vera_rubin_nvl144", "NVIDIA", 72, r"vera rubin|\bvr200\b"),
]
EXCLUDED_NAMES = r"virtualized| and |power cap"  # virtual machines, mixed-SKU systems, power-capped runs
STATUSES = {"available", "preview"}
BENCHMARKS = {"llama2-70b-99": "llama2-70b", "llama2-70b-99.9": "llama2-70b"} | {
    b: b for b in ("deepseek-r1", "gpt-oss-120b")
}
SCENARIOS = {"Offline", "Server", "Interactive"}
NUMBER = r"(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"  # LoadGen prints large values as 2.49431e+06
LOADGEN_TOKENS = re.compile(r"^(?:Completed tokens per second|Tokens per second)\s*:\s*" + NUMBER, re.MULTILINE)
CHECKER_RESULT = re.compile(
    r"Results build/submission/closed/([^/]+)/results/([^/]+)/([^/]+)/([^/]+)/performance/run_1/\S+ " + NUMBER
)


@dataclass(frozen=True)
class Result:
    """One MLPerf result: a system's output tokens/s in one benchmark and scenario."""

    round: str
    submitter: str
    system: str
    chip_id: str
    benchmark: str
    scenario: str
    system_tokens_per_s: float
    accelerators: int

    @property
    def tokens_per_s_per_chip(self) -> float:
        return self.system_tokens_per_s / self.accelerators


@dataclass(frozen=True)
class Pick:
    """The value chosen for one chip, benchmark and scenario, with the results behind it."""

    tokens_per_s_per_chip: float
    basis: str
    note: str
    results: tuple[Result, ...]


def chip_of(accelerator_name: str) -> str | None:
    """Our chip_id for an MLPerf accelerator name, or None (other SKU, VM, mixed or capped system)."""
    name = accelerator_name.lower()
    if re.search(EXCLUDED_NAMES, name):
        return None
    return next((chip for chip, _, _, pattern in CHIPS if re.search(pattern, name)), None)


def results_from_summary_json(round_name: str, path: Path) -> list[Result]:
    """Results of a round's summary_results.json (closed, datacenter, available or preview)."""
    out = []
    for row in json.loads(path.read_text()):
        chip = chip_of(row["Accelerator"])
        bench = BENCHMARKS.get(row["Model"])
        if not (chip and bench and row["Scenario"] in SCENARIOS and row["Category"] == "closed"):
            continue
        if "datacenter" not in row["Suite"] or row["Availability"] not in STATUSES:
            continue
        if row["Performance_Units"] != "Tokens/s":
            continue
        accelerators = int(row.get("Total Accelerators") or int(row["a#"]) * int(row["Nodes"]))
        out.append(
            Result(
                round_name,
                row["Submitter"],
                row["Platform"],
                chip,
                bench,
                row["Scenario"],
                float(row["Performance_Result"]),
                accelerators,
            )
        )
    return out


def system_info(system_json: Path) -> tuple[str | None, int, bool]:
    """(chip_id, accelerators, usable) of a closed/<submitter>/systems/<system>.json."""
    info = json.loads(system_json.read_text())
    try:
        accelerators = int(info["accelerators_per_node"]) * int(info["number_of_nodes"])
    except ValueError:  # "N/A" (some v4.1 systems): not an accelerator system this script can use
        return None, 0, False
    usable = str(info.get("status", "")).lower() in STATUSES and "datacenter" in str(info.get("system_type", ""))
    return chip_of(str(info["accelerator_model_name"])), accelerators, usable


def tokens_of_result_dir(scenario_dir: Path) -> tuple[float | None, bool]:
    """(system tokens/s, endpoints harness?) of a <benchmark>/<scenario> result folder.

    The endpoints harness writes ``performance/result_summary.json`` (``tps``); LoadGen writes
    ``performance/run_1/mlperf_log_summary.txt``.
    """
    for endpoints in (
        scenario_dir / "performance" / "result_summary.json",
        scenario_dir / "performance" / "run_1" / "result_summary.json",
    ):
        if endpoints.is_file():
            return float(json.loads(endpoints.read_text())["tps"]), True
    loadgen = scenario_dir / "performance" / "run_1" / "mlperf_log_summary.txt"
    if loadgen.is_file():
        match = LOADGEN_TOKENS.search(loadgen.read_text())
        return (float(match.group(1)) if match else None), False
    return None, False


def results_from_checkout(round_name: str, root: Path) -> list[Result]:
    """Results of a results checkout, plus checker-log values for LoadGen results missing as files."""
    out: list[Result] = []
    for system_json in sorted(root.glob("closed/*/systems/*.json")):
        submitter, system = system_json.parts[-3], system_json.stem
        chip, accelerators, usable = system_info(system_json)
        if not (chip and usable):
            continue
        found: dict[tuple[str, str], Result] = {}
        endpoints_harness = False
        for scenario_dir in sorted((root / "closed" / submitter / "results" / system).glob("*/*")):
            bench, scenario = BENCHMARKS.get(scenario_dir.parent.name), scenario_dir.name
            tokens, endpoints = tokens_of_result_dir(scenario_dir)
            endpoints_harness |= endpoints
            if bench and scenario in SCENARIOS and tokens is not None:
                result = Result(round_name, submitter, system, chip, bench, scenario, tokens, accelerators)
                key = (bench, scenario)
                if key not in found or tokens > found[key].system_tokens_per_s:
                    found[key] = result
        checker_log = root / "closed" / submitter / "results" / "submission_checker_log.txt"
        if checker_log.is_file() and not endpoints_harness:
            for sub, sys_name, bench_dir, scenario, value in CHECKER_RESULT.findall(checker_log.read_text()):
                bench = BENCHMARKS.get(bench_dir)
                if sys_name != system or sub != submitter or not bench or scenario not in SCENARIOS:
                    continue
                if (bench, scenario) not in found:
                    found[(bench, scenario)] = Result(
                        round_name, submitter, system, chip, bench, scenario, float(value), accelerators
                    )
        out.extend(found[key] for key in sorted(found))
    return out


def load_round(round_name: str, path: Path) -> list[Result]:
    """All usable results of one round, from its summary_results.json or from a checkout."""
    if path.is_dir() and (path / "summary_results.json").is_file():
        path = path / "summary_results.json"
    if path.is_file():
        return results_from_summary_json(round_name, path)
    return results_from_checkout(round_name, path)


def best_per_system(results: list[Result]) -> list[Result]:
    """One result per (submitter, system): the higher of llama2-70b-99 / -99.9 where both exist."""
    best: dict[tuple[str, str], Result] = {}
    for r in results:
        key = (r.submitter, r.system)
        if key not in best or r.tokens_per_s_per_chip > best[key].tokens_per_s_per_chip:
            best[key] = r
    return [best[key] for key in sorted(best)]


def select(results: list[Result], rounds: list[str], chip: str, bench: str, scenario: str) -> Pick | None:
    """The measured value for one chip, benchmark and scenario by the selection rule (module docstring)."""
    vendor, reference_size = next((v, n) for c, v, n, _ in CHIPS if c == chip)
    matching = [r for r in results if (r.chip_id, r.benchmark, r.scenario) == (chip, bench, scenario)]
    for rnd in rounds:
        own = best_per_system([r for r in matching if r.round == rnd and r.submitter == vendor])
        if own:
            pool = [r for r in own if r.accelerators == reference_size] or own
            top = max(pool, key=lambda r: (r.tokens_per_s_per_chip, r.system))
            return Pick(top.tokens_per_s_per_chip, "S", f"{rnd} vendor submission", (top,))
    for rnd in rounds:
        others = best_per_system([r for r in matching if r.round == rnd and r.submitter != vendor])
        if others:
            median = statistics.median(r.tokens_per_s_per_chip for r in others)
            return Pick(median, "S", f"{rnd} median of {len(others)} third-party system(s)", tuple(others))
    return None


def same_system_ratio(results: list[Result], pick: Pick, denominator_scenario: str) -> float:
    """Median over the picked systems of (picked scenario ÷ denominator_scenario) on the same system."""
    ratios = []
    for r in pick.results:
        twins = [
            o.system_tokens_per_s
            for o in results
            if (o.round, o.submitter, o.system, o.benchmark, o.scenario)
            == (r.round, r.submitter, r.system, r.benchmark, denominator_scenario)
        ]
        if twins:
            ratios.append(r.system_tokens_per_s / max(twins))
    if not ratios:
        raise ValueError(f"no {denominator_scenario} result on the systems of {describe(pick)}")
    return statistics.median(ratios)


Getter = Callable[[str, str, str], float]


def _carried_over(
    known: str, benchmark: str, scenario: str, chip: str, via_benchmark: str, via_scenario: str
) -> Callable[[Getter, Callable[..., float]], float]:
    """``chip``'s rate on (benchmark, scenario), where only ``known`` has one: ``known``'s rate there times
    the ratio of the two chips on a benchmark and scenario both were measured on."""
    return lambda g, _ratio: (
        g(known, benchmark, scenario) * g(chip, via_benchmark, via_scenario) / g(known, via_benchmark, via_scenario)
    )


# (chip_id, workload_id): (formula text, function of get(chip, benchmark, scenario) and the same-system ratio)
DERIVED: dict[tuple[str, str], tuple[str, Callable[[Getter, Callable[..., float]], float]]] = {
    ("h100_sxm", "chat_70b"): (
        "H200 llama2 Interactive x (H100 llama2 Server / H200 llama2 Server)",
        _carried_over("h200_sxm", "llama2-70b", "Interactive", "h100_sxm", "llama2-70b", "Server"),
    ),
    ("h200_sxm", "chat_oss_120b"): (
        "H200 gpt-oss Server x (B200 gpt-oss Interactive / Server on the same system)",
        lambda g, ratio: g("h200_sxm", "gpt-oss-120b", "Server") * ratio("b200", "gpt-oss-120b"),
    ),
    ("b200", "reasoning_r1"): (
        "B200 R1 Server x (B300 R1 Interactive / Server on the same system)",
        lambda g, ratio: g("b200", "deepseek-r1", "Server") * ratio("b300_hgx", "deepseek-r1"),
    ),
    ("vera_rubin_nvl144", "chat_70b"): (
        "GB300 llama2 Interactive x (VR R1 Interactive / GB300 R1 Interactive)",
        _carried_over("gb300_nvl72", "llama2-70b", "Interactive", "vera_rubin_nvl144", "deepseek-r1", "Interactive"),
    ),
    ("vera_rubin_nvl144", "batch_70b"): (
        "GB300 llama2 Offline x (VR R1 Offline / GB300 R1 Offline)",
        _carried_over("gb300_nvl72", "llama2-70b", "Offline", "vera_rubin_nvl144", "deepseek-r1", "Offline"),
    ),
    ("vera_rubin_nvl144", "chat_oss_120b"): (
        "GB300 gpt-oss Interactive x (VR R1 Interactive / GB300 R1 Interactive)",
        _carried_over("gb300_nvl72", "gpt-oss-120b", "Interactive", "vera_rubin_nvl144", "deepseek-r1", "Interactive"),
    ),
}


def describe(pick: Pick) -> str:
    """Provenance text of a measured pick."""
    systems = "; ".join(
        f"{r.submitter} {r.system} {r.benchmark} {r.scenario} {r.system_tokens_per_s:g} tok/s / {r.accelerators}"
        f" = {r.tokens_per_s_per_chip:.1f}"
        for r in pick.results
    )
    return f"{pick.note}: {systems}"


def throughput_rows(results: list[Result], rounds: list[str]) -> tuple[list[list[str]], list[str]]:
    """(CSV rows, provenance lines) for every chip x workload with a measured or derived value."""
    terms: list[str] = []  # the inputs of the derived row being computed, for its provenance line

    def get(chip: str, bench: str, scenario: str) -> float:
        pick = select(results, rounds, chip, bench, scenario)
        if pick is None:
            raise ValueError(f"no result for {chip} {bench} {scenario}, needed by a derived row")
        terms.append(f"{chip} {bench} {scenario} = {pick.tokens_per_s_per_chip:.1f} ({pick.note})")
        return pick.tokens_per_s_per_chip

    def ratio(chip: str, bench: str) -> float:
        pick = select(results, rounds, chip, bench, "Interactive")
        if pick is None:
            raise ValueError(f"no Interactive result for {chip} {bench}, needed by a derived row")
        value = same_system_ratio(results, pick, "Server")
        terms.append(f"{chip} {bench} Interactive/Server on the same system = {value:.4f} ({describe(pick)})")
        return value

    rows, notes = [], []
    for workload, (bench, scenario) in WORKLOADS.items():
        for chip, *_ in CHIPS:
            pick = select(results, rounds, chip, bench, scenario)
            terms.clear()
            if pick is not None:
                value, basis, note = pick.tokens_per_s_per_chip, "S", describe(pick)
            elif (chip, workload) in DERIVED:
                formula, function = DERIVED[(chip, workload)]
                value = function(get, ratio)
                basis, note = "D", f"derived: {formula}; with " + "; ".join(terms)
            else:
                continue
            rows.append([chip, workload, f"{round(value)}", bench, scenario, basis])
            notes.append(f"{chip} {workload} {round(value)} {basis} <- {note}")
    return rows, notes


def parse_rounds(specs: list[str]) -> list[tuple[str, Path]]:
    """ROUND=PATH arguments, newest first."""
    rounds = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            raise SystemExit(f"expected ROUND=PATH, got {spec!r}")
        rounds.append((name, Path(path).expanduser()))
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="+", metavar="ROUND=PATH", help="newest round first")
    parser.add_argument("--candidates", action="store_true", help="print every matching result to stderr")
    args = parser.parse_args(argv)
    rounds = parse_rounds(args.rounds)
    results = [r for name, path in rounds for r in load_round(name, path)]
    if args.candidates:
        for r in sorted(results, key=lambda r: (r.chip_id, r.benchmark, r.scenario, r.round, r.submitter, r.system)):
            print(
                f"candidate {r.round} {r.chip_id} {r.benchmark} {r.scenario} {r.submitter} {r.system} "
                f"{r.system_tokens_per_s:g}/{r.accelerators} = {r.tokens_per_s_per_chip:.1f}",
                file=sys.stderr,
            )
    rows, notes = throughput_rows(results, [name for name, _ in rounds])
    # --- announced SKUs: no MLPerf result, derived from the rows above (see chip_years.py) ---
    announced = announced_rows(rows)
    rows += announced
    notes += [f"{r[0]} {r[1]} {r[2]} A <- announced: {ANNOUNCED[r[0]].formula}" for r in announced]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["chip_id", "workload_id", "tokens_per_s_per_chip", "mlperf_benchmark", "mlperf_scenario", "basis"])
    writer.writerows(rows)
    for line in notes:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
