"""Write the chip rows no MLPerf result gives: the throughput of the announced SKUs (``basis`` A of
``data/chip_throughput.csv``) and every SKU's price and throughput by year (``data/chip_years.csv``).

Nothing is downloaded; every constant below names its source (the full citations are in
``data/SOURCES.md``, sections "chip_throughput.csv" and "chip_years.csv").

1. **Announced SKUs** (``ANNOUNCED``): NVIDIA Rubin Ultra NVL576 and AMD MI450X "Helios" have no
   MLPerf result. Their tokens/s per chip = the Vera Rubin row of the same workload × (the vendors'
   announced FP4 ratio per die) ** e × (dies per chip ratio), where e, per MLPerf scenario, is the
   elasticity the one generation step both announced and measured shows: Vera Rubin over GB300
   announced 50 / 15 PF FP4 per GPU and delivered 2.57× (Interactive) and 1.74× (Offline) the
   tokens. A scenario buys them only with ``constraints.announced_chips``. ``mlperf_throughput.py``
   appends the same rows after its measured ones; run alone, this script replaces only these SKUs'
   rows of chip_throughput.csv (at its end) and keeps every other line byte for byte.
2. **chip_years.csv**: for every SKU of chips.csv, ``price_index`` (price per chip in the year as a
   multiple of chips.csv) and ``throughput_index`` (tokens/s per chip as a multiple of
   chip_throughput.csv), stated at every year where either index changes slope, and at
   ``FIRST_YEAR`` and ``LAST_YEAR``; the model interpolates linearly between stated years.

   * price: 1 until the SKU's successor ships in volume (``SUCCESSOR_VOLUME_YEAR``), then
     ``PRICE_DECLINE_PER_YR`` of the chips.csv price less each year, down to ``PRICE_FLOOR``;
   * throughput: 1 (the MLPerf rows already hold the software of 2025-26, and the same systems
     gained nothing measurable since: ``--evidence``), except the SKUs whose rows rest on *preview*
     software, which gain ``MATURATION`` (B200: MLPerf v4.1 preview to v5.1 available) from the
     year in ``MATURED_FROM`` on. No further gain is extrapolated.

``--evidence OLD=PATH NEW=PATH`` prints, for two MLPerf rounds (``summary_results.json`` or a
results checkout, as ``mlperf_throughput.py`` reads them), the ratio NEW / OLD of every system
that both rounds measured on the same benchmark and scenario (same submitter, system name and
accelerator count): the evidence behind the throughput index.

Usage (from the repository root)::

    python data/scripts/chip_years.py [--data DIR] [--check]
    python data/scripts/chip_years.py --evidence v5.1=PATH v6.0=PATH
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"

# --- 1. announced SKUs: throughput from announced ratios, as far as announced ratios came true ---
#: the generation step both announced and measured: NVIDIA Vera Rubin 50 PF NVFP4 inference per GPU
#: (CES 2026; 3.6 EF per NVL144 rack of 72 GPUs, GTC 2025) over Blackwell Ultra GB300 15 PF dense NVFP4
#: per GPU (NVIDIA Blackwell Ultra, GTC 2025); measured in chip_throughput.csv
STEP_NEW, STEP_OLD, STEP_ANNOUNCED_RATIO = "vera_rubin_nvl144", "gb300_nvl72", 50.0 / 15.0
#: per MLPerf scenario, the workload whose rows of both SKUs carry a measured ratio: DeepSeek-R1
#: Interactive (both S) and Llama-2-70B Offline (VR's D row is GB300's times VR's measured R1 Offline ratio)
STEP_WORKLOAD = {"Interactive": "reasoning_r1", "Offline": "batch_70b"}
#: NVIDIA GTC 2025 roadmap (Tom's Hardware, 2025-03-20): Vera Rubin NVL144 3.6 EF FP4 over 144 dies
#: (72 two-die packages); Rubin Ultra NVL576 15 EF FP4 over 576 dies (144 four-die packages)
VR_RACK_FP4_EF, VR_DIES, VR_PACKAGES = 3.6, 144, 72
RUBIN_ULTRA_RACK_FP4_EF, RUBIN_ULTRA_DIES, RUBIN_ULTRA_PACKAGES = 15.0, 576, 144
#: AMD Helios (OCP Global Summit, 2025-10-14): 72 MI450-series GPUs, 2.9 EF FP4 per rack
HELIOS_RACK_FP4_EF, HELIOS_GPUS = 2.9, 72


@dataclass(frozen=True)
class Announced:
    """An announced SKU's throughput rule: ``base``'s row × per_die_fp4_ratio ** e × dies_ratio."""

    base: str
    per_die_fp4_ratio: float
    dies_ratio: float
    formula: str


#: chip_id: its rule, in chips.csv order
ANNOUNCED: dict[str, Announced] = {
    "rubin_ultra_nvl576": Announced(
        "vera_rubin_nvl144",
        (RUBIN_ULTRA_RACK_FP4_EF / RUBIN_ULTRA_DIES) / (VR_RACK_FP4_EF / VR_DIES),
        (RUBIN_ULTRA_DIES / RUBIN_ULTRA_PACKAGES) / (VR_DIES / VR_PACKAGES),
        "VR row x (15 EF/576 / 3.6 EF/144 FP4 per die)^e x 4/2 dies per package",
    ),
    "mi450x_helios": Announced(
        "vera_rubin_nvl144",
        (HELIOS_RACK_FP4_EF / HELIOS_GPUS) / (VR_RACK_FP4_EF / VR_PACKAGES),
        1.0,
        "VR row x (2.9 EF/72 / 3.6 EF/72 FP4 per GPU)^e",
    ),
}
THROUGHPUT_HEADER = ["chip_id", "workload_id", "tokens_per_s_per_chip", "mlperf_benchmark", "mlperf_scenario", "basis"]
#: basis of the announced rows in chip_throughput.csv
ANNOUNCED_BASIS = "A"


def elasticities(rows: list[list[str]]) -> dict[str, float]:
    """Per MLPerf scenario, ln(measured tokens ratio) / ln(announced FP4 ratio) of the measured step."""
    known = {(row[0], row[1]): float(row[2]) for row in rows}
    out = {}
    for scenario, workload in STEP_WORKLOAD.items():
        measured = known[(STEP_NEW, workload)] / known[(STEP_OLD, workload)]
        out[scenario] = math.log(measured) / math.log(STEP_ANNOUNCED_RATIO)
    return out


def announced_rows(rows: list[list[str]]) -> list[list[str]]:
    """chip_throughput.csv rows of the ``ANNOUNCED`` SKUs, from the rows (lists of strings) of the others."""
    known = {(row[0], row[1]): row for row in rows}
    elasticity = elasticities(rows)
    workloads = list(dict.fromkeys(row[1] for row in rows))
    out = []
    for workload in workloads:
        for chip, rule in ANNOUNCED.items():
            row = known.get((rule.base, workload))
            if row is not None and (chip, workload) not in known:  # a measured row, once there is one, wins
                ratio = rule.per_die_fp4_ratio ** elasticity[row[4]] * rule.dies_ratio
                out.append([chip, workload, f"{round(float(row[2]) * ratio)}", row[3], row[4], ANNOUNCED_BASIS])
    return out


def updated_throughput(text: str) -> str:
    """chip_throughput.csv's text with the ``ANNOUNCED`` rows replaced (appended); other lines untouched."""
    lines = text.splitlines()
    if not lines or next(csv.reader([lines[0]])) != THROUGHPUT_HEADER:
        raise SystemExit(f"chip_throughput.csv: expected the header {','.join(THROUGHPUT_HEADER)}")
    kept = [line for line in lines[1:] if line and next(csv.reader([line]))[0] not in ANNOUNCED]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(announced_rows(list(csv.reader(kept))))
    return "\n".join([lines[0], *kept]) + "\n" + buffer.getvalue()


# --- 2. price and throughput by year -----------------------------------------------------------
FIRST_YEAR, LAST_YEAR = 2026, 2036
#: the year each SKU's successor ships in volume (E unless marked): the price starts to fall then
SUCCESSOR_VOLUME_YEAR = {
    "h100_sxm": 2024,  # H200: first customer shipments Q2 2024 (aiwiki.ai/wiki/nvidia_h200)
    "h200_sxm": 2025,  # B200 / GB200: shipping late 2024, wide availability through 2025 (aiwiki nvidia_b200)
    "b200": 2026,  # B300 succeeded B200 in early 2026 (aiwiki nvidia_b200); DGX B300 ships Jan 2026
    "gb200_nvl72": 2025,  # GB300 NVL72: first racks July 2025, broad availability H2 2025 (chips.csv)
    "gb300_nvl72": 2026,  # Vera Rubin NVL72: volume ramp Q4 2026 (chips.csv)
    "mi300x": 2025,  # MI325X and MI355X ship in 2025 (chips.csv)
    "mi325x": 2025,  # MI355X: shipping June 2025, GA October 2025 (chips.csv)
    "b300_hgx": 2027,  # assumption: HGX Rubin NVL8 a year after the VR NVL72 ramp
    "mi355x": 2027,  # MI455X Helios: mass production ramp Q2 2027 (SemiAnalysis via nextplatform.com, 2026-02-23)
    "vera_rubin_nvl144": 2028,  # Rubin Ultra: Kyber racks delayed to 2028 or cancelled (Jefferies, 2026-06-22)
    "rubin_ultra_nvl576": 2029,  # assumption: Feynman, on NVIDIA's roadmap for 2028, in volume a year later
    "mi450x_helios": 2028,  # assumption: MI500, on AMD's roadmap for 2027, in volume a year later
}
#: assumption (middle of the evidence, SOURCES.md "chip_years.csv"): 10 % of the chips.csv price a year
#: once the successor ships -- H100 30,000 (2023) vs used 22-25 k$ in Q1 2026 (runlocalai.co), H200
#: 32,500 vs 28-31 k$ retail (same), one to two years after their successors
PRICE_DECLINE_PER_YR = 0.10
#: assumption: prices stop falling at 60 % (used H100 quotes 15-28 k$, computeforecast.com / Silicon Data);
#: only SKUs still on sale by then reach it (chips.csv last_year ends most sales a year after the successor)
PRICE_FLOOR = 0.60
#: MLPerf Inference llama2-70b, NVIDIA B200: v4.1 *preview* (B200-SXM-180GBx1_TRT, 1 GPU) Offline
#: 11,264.4 and Server 10,755.59 tok/s; v5.1 *available* (B200-SXM-180GBx8_TRT, 8 GPUs) Offline
#: 101,527 and Server 99,123 tok/s (mlcommons/inference_results_v4.1 and v5.1)
B200_PREVIEW_TOK_S = {"Offline": 11264.4, "Server": 10755.59}
B200_AVAILABLE_TOK_S_PER_GPU = {"Offline": 101527.0 / 8, "Server": 99123.0 / 8}
#: preview -> available software a year later: mean of Offline 1.127 and Server 1.152
MATURATION = statistics.mean(B200_AVAILABLE_TOK_S_PER_GPU[s] / B200_PREVIEW_TOK_S[s] for s in B200_PREVIEW_TOK_S)
#: SKUs whose rows rest on preview software: the first year of matured software (index 1 the year before)
MATURED_FROM = {
    "vera_rubin_nvl144": 2027,  # v6.1 preview (2026); available software with the volume ramp
    "rubin_ultra_nvl576": 2027,  # its rows are VR's preview rows x a hardware ratio: the same Rubin software
    "mi450x_helios": 2028,  # assumption: the year after its first volume year 2027 (MI300X: +20-24 % in a year)
}
INDEX_DIGITS = 3


def price_index(chip: str, year: int) -> float:
    """Price per chip in ``year`` as a multiple of chips.csv: flat, then falling after the successor ships."""
    years_after = max(0, year - SUCCESSOR_VOLUME_YEAR[chip])
    return max(PRICE_FLOOR, 1.0 - PRICE_DECLINE_PER_YR * years_after)


def throughput_index(chip: str, year: int) -> float:
    """Tokens/s per chip in ``year`` as a multiple of chip_throughput.csv."""
    matured = MATURED_FROM.get(chip)
    return MATURATION if matured is not None and year >= matured else 1.0


def stated_years(chip: str) -> list[int]:
    """The years where either index of ``chip`` changes slope, with FIRST_YEAR and LAST_YEAR."""
    start = SUCCESSOR_VOLUME_YEAR[chip]
    floor_year = start + math.ceil(round((1.0 - PRICE_FLOOR) / PRICE_DECLINE_PER_YR, 9))
    years = {FIRST_YEAR, LAST_YEAR, start, floor_year}
    if chip in MATURED_FROM:
        years |= {MATURED_FROM[chip] - 1, MATURED_FROM[chip]}
    return sorted(y for y in years if FIRST_YEAR <= y <= LAST_YEAR)


def number(value: float) -> str:
    """An index as written: rounded to INDEX_DIGITS decimals, no trailing zeros."""
    return f"{round(value, INDEX_DIGITS):g}"


def chip_years_text(chip_ids: list[str]) -> str:
    """chip_years.csv for the SKUs of chips.csv, in its order."""
    missing = [c for c in chip_ids if c not in SUCCESSOR_VOLUME_YEAR]
    if missing:
        raise SystemExit(f"chip_years.py: no SUCCESSOR_VOLUME_YEAR for {', '.join(missing)} (add one with its source)")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["chip_id", "year", "price_index", "throughput_index"])
    for chip in chip_ids:
        for year in stated_years(chip):
            writer.writerow([chip, year, number(price_index(chip, year)), number(throughput_index(chip, year))])
    return buffer.getvalue()


def evidence(old_spec: str, new_spec: str) -> None:
    """Print NEW / OLD for every system both MLPerf rounds measured on the same benchmark and scenario."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import mlperf_throughput as mlperf  # the round readers of the script beside this one

    (old_name, old_path), (new_name, new_path) = mlperf.parse_rounds([old_spec, new_spec])

    def best(results: list) -> dict[tuple, float]:
        out: dict[tuple, float] = {}
        for r in results:
            key = (r.chip_id, r.benchmark, r.scenario, r.submitter, r.system, r.accelerators)
            out[key] = max(out.get(key, 0.0), r.system_tokens_per_s)
        return out

    old = best(mlperf.load_round(old_name, old_path))
    new = best(mlperf.load_round(new_name, new_path))
    print(f"chip,benchmark,scenario,submitter,system,accelerators,{old_name}_tok_s,{new_name}_tok_s,ratio")
    for key in sorted(set(old) & set(new)):
        print(",".join(map(str, key)) + f",{old[key]:g},{new[key]:g},{new[key] / old[key]:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="data folder (chips.csv, chip_throughput.csv)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is out of date")
    parser.add_argument("--evidence", nargs=2, metavar="ROUND=PATH", help="print same-system MLPerf ratios")
    args = parser.parse_args(argv)
    if args.evidence:
        evidence(*args.evidence)
        return 0
    with (args.data / "chips.csv").open(encoding="utf-8", newline="") as handle:
        chip_ids = [row["chip_id"] for row in csv.DictReader(handle)]
    throughput_path = args.data / "chip_throughput.csv"
    outputs = {
        throughput_path: updated_throughput(throughput_path.read_text(encoding="utf-8")),
        args.data / "chip_years.csv": chip_years_text(chip_ids),
    }
    stale = [p for p, text in outputs.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8", newline="")
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
