"""The plan's design run through every hour of the year: what it really costs and what it cannot carry.

The model plans on a few representative days. This re-check fixes the plan's design (sites built,
cooling, IT load, power capacities, storage power and energy) and dispatches each built site over
the 8,760 hours of its weather and grid series, in the grid years and, at a site that waits for a
late grid, in the bridge years (no grid), weighted by their present-value shares as the model
weighs them. It reports:

- each site's peak facility load and PUE over the full year, beside the representative hours';
- the full-year operating cost (grid energy, fuel and variable O&M, carbon price) in place of the
  representative days' in the plan's cost: the full-year $/Mtok by layer, and the representative
  days' error against it;
- energy the design cannot serve in some hour, never hidden: the unserved MWh, the site-hours they
  fall in, and the tokens the IT load would have made meanwhile (lost, so every layer's $/Mtok rises);
- with an hourly carbon-free share, the carbon-free MWh the design falls short of it.

Dispatch of one site in one regime over hours h, sources j (grid, plants, solar, wind), storage b::

    min   sum_h [ sum_j c_j(h) x_j(h) + pi_short q(h) + pi_unserved u(h) ]
    s.t.  sum_j x_j(h) + sum_b (d_b(h) - c_b(h)) + u(h) = L(h)      facility load sum_k PUE_k(h) I_k
          0 <= x_j(h) <= A_j(h)                                     capacity x availability or the hour's CF
          c_b(h) + d_b(h) <= P_b,  0 <= e_b(h) <= E_b
          e_b(h) = e_b(h-1) + eta_b c_b(h) - d_b(h) / eta_b         eta_b = sqrt(round trip); the year wraps
          sum_j (phi_j(h) - sigma) x_j(h) + (1 - sigma) sum_b (d_b(h) - c_b(h)) + q(h) >= 0   if sigma > 0

``c_j(h)`` is the marginal cost (the hour's grid price, fuel and variable O&M, carbon price x CO2),
``phi_j(h)`` the carbon-free share of source j in the hour (1 clean, 0 fossil; the grid's hourly share, or
its annual eGRID share where the input has no hourly one) and ``sigma``
the scenario's hourly carbon-free share, as in the model. The penalties are above any cost of serving,
so the dispatch serves every hour it can and meets the carbon-free share wherever it can. Without
storage and without a carbon-free share the hours are independent and the LP is a merit order per
hour, vectorised over the year; otherwise it is one LP per site and regime, solved by HiGHS, the
sites side by side on the solver's threads.

Not re-imposed: the annual carbon cap, a portfolio rule (the dispatch runs by cost; its emissions are
reported), and water limits, which the design and the hourly WUE fix whatever the dispatch.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from optimizer.constants import KG_PER_T, TOKENS_PER_MTOK
from optimizer.contract import CARBON_PRICE_ITEM, FUEL_AND_VOM_ITEM, GRID_ENERGY_ITEM
from optimizer.inputs.derived import VARIABLE_KINDS
from optimizer.model import FactoryModel
from optimizer.model.core import LAYERS

#: cost items the full-year dispatch recomputes (every other item follows the fixed design), and
#: the column of each in :attr:`FullYearCheck.sites`
ITEM_COLUMNS = {
    GRID_ENERGY_ITEM: "grid_energy_usd_per_yr",
    FUEL_AND_VOM_ITEM: "fuel_and_vom_usd_per_yr",
    CARBON_PRICE_ITEM: "carbon_price_usd_per_yr",
}
#: capacities, flows and shortfalls at or below this are solver noise
NOISE_MW = 1e-6
#: falling short of the carbon-free share costs this many times the dearest source (plus the floor,
#: should every source be free), and unserved energy this many times that: the dispatch serves every
#: hour it can, then meets the share wherever it can (a storage round trip at most doubles a cost)
PENALTY_MULTIPLE = 10.0
PENALTY_FLOOR_USD_PER_MWH = 1.0
#: HiGHS for a site's year: one thread (the sites run side by side) and no presolve, which finds
#: little to remove in these chained rows and costs more than it saves (the six sites of the 24/7
#: carbon-free plan, one after another: 3.3 s without, 4.5 s with)
HIGHS_OPTIONS: dict[str, bool | int | str] = {"output_flag": False, "threads": 1, "presolve": "off"}
#: |representative-day error| of $/Mtok above which a solve warns
WARNING_ERROR_PCT = 1.0
PERCENT = 100.0


@dataclass
class FullYearCheck:
    """The full-year re-check of a plan: one row per built site, and how long it took."""

    sites: pd.DataFrame
    """site_id, it_mw, representative_peak_pue, full_year_peak_pue, full_year_peak_facility_mw,
    the cost of each redispatched item (:data:`ITEM_COLUMNS`), emissions_t_per_yr, unserved_mwh_per_yr,
    unserved_hours_per_yr, it_served_share, cfe_shortfall_mwh_per_yr (annual figures weigh the grid
    and bridge years by their present-value shares, as the model does)"""
    seconds: float


@dataclass
class _Supply:
    """What a site can draw from in one regime: one column per source, one row per hour."""

    available_mw: np.ndarray  # hours x sources
    price_usd_per_mwh: np.ndarray  # hours x sources: the grid's hourly price, 0 for the others
    vom_fuel_usd_per_mwh: np.ndarray  # sources
    co2_t_per_mwh: np.ndarray  # hours x sources
    carbon_free_share: np.ndarray  # hours x sources


@dataclass
class _Storage:
    power_mw: float
    energy_mwh: float
    one_way_efficiency: float


def check_full_year(fm: FactoryModel) -> FullYearCheck:
    """Dispatch the solved plan's fixed design over all 8,760 hours of every built site."""
    started = time.perf_counter()
    scenario = fm.scenario
    built = [s for s, var in fm.infrastructure.build.items() if (var.value or 0.0) > 0.5]
    inputs = fm.inputs
    of_built = inputs.full_year_hourly.index.get_level_values("site_id").isin(built)
    hourly = inputs.full_year_hourly[of_built].sort_index()
    pue = inputs.full_year_pue[of_built].sort_index()
    representative_pue = inputs.pue_wue[0]
    it = pd.Series({key: var.value or 0.0 for key, var in fm.infrastructure.cooled_it_mw.items()}, dtype=float)
    # one site per solver thread: HiGHS releases the GIL while it solves a site's year
    with ThreadPoolExecutor(max_workers=scenario.solver.threads) as pool:
        rows = list(
            pool.map(
                lambda s: _check_site(fm, s, hourly.loc[s], pue.loc[s], representative_pue.loc[s], it.loc[s]), built
            )
        )
    sites = pd.DataFrame(rows, columns=_site_columns())
    return FullYearCheck(sites, time.perf_counter() - started)


def _site_columns() -> list[str]:
    return [
        "site_id",
        "it_mw",
        "representative_peak_pue",
        "full_year_peak_pue",
        "full_year_peak_facility_mw",
        *ITEM_COLUMNS.values(),
        "emissions_t_per_yr",
        "unserved_mwh_per_yr",
        "unserved_hours_per_yr",
        "it_served_share",
        "cfe_shortfall_mwh_per_yr",
    ]


def _check_site(
    fm: FactoryModel,
    site: str,
    weather: pd.DataFrame,
    pue: pd.DataFrame,
    representative_pue: pd.DataFrame,
    it_by_cooling: pd.Series,
) -> dict:
    """Peak loads of one site, and its grid-year and bridge-year dispatch weighted into one year."""
    it_mw = float(it_by_cooling.sum())
    load_mw = pue[it_by_cooling.index].to_numpy() @ it_by_cooling.to_numpy()
    representative_mw = representative_pue[it_by_cooling.index].to_numpy() @ it_by_cooling.to_numpy()
    storage = _storage(fm, site)
    bridge = float(fm.energy.sites.bridge_share.get(site, 0.0))
    year = _operate(fm, site, weather, load_mw, it_mw, storage, with_grid=True)
    if bridge > 0:
        bridge_years = _operate(fm, site, weather, load_mw, it_mw, storage, with_grid=False)
        year = {key: (1.0 - bridge) * value + bridge * bridge_years[key] for key, value in year.items()}
    peak_mw = float(load_mw.max())
    return {
        "site_id": site,
        "it_mw": it_mw,
        "representative_peak_pue": float(representative_mw.max()) / it_mw if it_mw > 0 else np.nan,
        "full_year_peak_pue": peak_mw / it_mw if it_mw > 0 else np.nan,
        "full_year_peak_facility_mw": peak_mw,
        **year,
    }


def _storage(fm: FactoryModel, site: str) -> list[_Storage]:
    energy, table = fm.energy, fm.scenario.tables["storage_techs"]
    return [
        _Storage(
            float(power.value),
            float(energy.storage_energy_mwh[s, b].value or 0.0),
            float(np.sqrt(table.loc[b, "round_trip_efficiency"])),
        )
        for (s, b), power in energy.storage_power_mw.items()
        if s == site and (power.value or 0.0) > NOISE_MW
    ]


def _supply(fm: FactoryModel, site: str, weather: pd.DataFrame, with_grid: bool) -> _Supply:
    """The site's built sources (without the grid in the bridge years) and what each hour offers."""
    scenario, capacity_mw = fm.scenario, fm.energy.capacity_mw
    techs = scenario.tables["power_techs"]
    grid = fm.energy.sites.grid
    built = [
        g
        for (s, g), var in capacity_mw.items()
        if s == site and (var.value or 0.0) > NOISE_MW and (with_grid or g != grid)
    ]
    hours = len(weather)
    fuel, fuel_co2 = fm.inputs.fuel_usd_per_mwh, fm.inputs.fuel_co2_t_per_mwh
    clean = set(fm.inputs.carbon_free_techs)
    # share: the carbon-free share of each source in every hour (the grid's own hourly share, 1 or 0 on site)
    available, price, co2, share = (np.zeros((hours, len(built))) for _ in range(4))
    for j, g in enumerate(built):
        kind = techs.loc[g, "kind"]
        factor = weather[f"{kind}_cf"].to_numpy() if kind in VARIABLE_KINDS else float(techs.loc[g, "availability"])
        available[:, j] = factor * capacity_mw[site, g].value
        if g == grid:
            price[:, j] = weather["grid_price_usd_per_mwh"].to_numpy()
            co2[:, j] = weather["grid_co2_kg_per_mwh"].to_numpy() / KG_PER_T
            share[:, j] = weather["grid_cfe_share"].to_numpy()
        else:
            co2[:, j] = fuel_co2.get(g, 0.0)
            share[:, j] = float(g in clean)
    vom_fuel = np.array([techs.loc[g, "vom_usd_per_mwh"] + fuel.get((site, g), 0.0) for g in built], dtype=float)
    return _Supply(available, price, vom_fuel, co2, share)


def _operate(
    fm: FactoryModel,
    site: str,
    weather: pd.DataFrame,
    load_mw: np.ndarray,
    it_mw: float,
    storage: list[_Storage],
    with_grid: bool,
) -> dict[str, float]:
    """One regime's year at one site: cost by item, emissions, and what could not be served."""
    scenario = fm.scenario
    supply = _supply(fm, site, weather, with_grid)
    carbon_price = scenario.constraints.carbon_price_usd_per_t
    cost = supply.price_usd_per_mwh + supply.vom_fuel_usd_per_mwh + carbon_price * supply.co2_t_per_mwh
    cfe_share = scenario.constraints.cfe_share
    if storage or cfe_share > 0:
        generation, unserved, short = _dispatch_lp(cost, supply, load_mw, storage, cfe_share)
    else:
        generation, unserved = _merit_order(cost, supply.available_mw, load_mw)
        short = np.zeros_like(load_mw)
    emissions = float((supply.co2_t_per_mwh * generation).sum())
    # IT load shed in an hour is the unserved part of the facility load, divided by that hour's PUE
    it_lost_mwh = float((unserved * it_mw / np.where(load_mw > 0, load_mw, 1.0)).sum())
    return {
        ITEM_COLUMNS[GRID_ENERGY_ITEM]: float((supply.price_usd_per_mwh * generation).sum()),
        ITEM_COLUMNS[FUEL_AND_VOM_ITEM]: float((generation @ supply.vom_fuel_usd_per_mwh).sum()),
        ITEM_COLUMNS[CARBON_PRICE_ITEM]: carbon_price * emissions,
        "emissions_t_per_yr": emissions,
        "unserved_mwh_per_yr": float(unserved[unserved > NOISE_MW].sum()),
        "unserved_hours_per_yr": float((unserved > NOISE_MW).sum()),
        "it_served_share": 1.0 - it_lost_mwh / (it_mw * len(load_mw)) if it_mw > 0 else 1.0,
        "cfe_shortfall_mwh_per_yr": float(short[short > NOISE_MW].sum()),
    }


def _merit_order(cost: np.ndarray, available_mw: np.ndarray, load_mw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest sources first in every hour (exact when hours are independent): generation, unserved."""
    order = np.argsort(cost, axis=1, kind="stable")
    offered = np.take_along_axis(available_mw, order, axis=1)
    before = np.cumsum(offered, axis=1) - offered
    used = np.clip(load_mw[:, None] - before, 0.0, offered)
    generation = np.empty_like(used)
    np.put_along_axis(generation, order, used, axis=1)
    return generation, np.maximum(load_mw - available_mw.sum(axis=1), 0.0)


def with_site_columns(sites: pd.DataFrame, check: FullYearCheck) -> pd.DataFrame:
    """``sites`` (a plan's sites table) with each built site's full-year peak and unserved energy."""
    figures = check.sites.set_index("site_id")[
        ["representative_peak_pue", "full_year_peak_pue", "full_year_peak_facility_mw", "unserved_mwh_per_yr"]
    ].rename(columns={"unserved_mwh_per_yr": "full_year_unserved_mwh_per_yr"})
    return sites.join(figures, on="site_id")


def summary_columns(check: FullYearCheck, costs: pd.DataFrame, tokens_by_site: pd.Series) -> dict[str, float]:
    """Full-year figures of a plan for its summary, and the representative days' error against them.

    ``costs``: the plan's cost items (site_id, layer, item, usd_per_yr); ``tokens_by_site``: tokens
    delivered per year, by site id. The full year keeps every cost item but the redispatched ones and
    loses the tokens of the IT load it could not carry. Errors are representative / full year - 1, in %.
    """
    representative = costs.groupby("layer")["usd_per_yr"].sum().reindex(list(LAYERS), fill_value=0.0)
    full = representative.copy()
    for item, column in ITEM_COLUMNS.items():
        planned = costs[costs["item"] == item]
        if len(planned):
            full[planned["layer"].iloc[0]] += check.sites[column].sum() - planned["usd_per_yr"].sum()
    served = check.sites.set_index("site_id")["it_served_share"].reindex(tokens_by_site.index, fill_value=1.0)
    mtok = tokens_by_site.sum() / TOKENS_PER_MTOK
    full_mtok = (tokens_by_site * served).sum() / TOKENS_PER_MTOK
    return {
        "full_year_check_s": check.seconds,
        "full_year_total_cost_usd_per_yr": full.sum(),
        "full_year_delivered_tokens_per_yr": full_mtok * TOKENS_PER_MTOK,
        "full_year_usd_per_mtok": _per(full.sum(), full_mtok),
        **{f"full_year_{layer}_usd_per_mtok": _per(full[layer], full_mtok) for layer in LAYERS},
        "full_year_emissions_t_per_yr": check.sites["emissions_t_per_yr"].sum(),
        "full_year_unserved_mwh_per_yr": check.sites["unserved_mwh_per_yr"].sum(),
        "full_year_unserved_hours_per_yr": check.sites["unserved_hours_per_yr"].sum(),
        "full_year_cfe_shortfall_mwh_per_yr": check.sites["cfe_shortfall_mwh_per_yr"].sum(),
        "representative_error_pct": _error_pct(_per(representative.sum(), mtok), _per(full.sum(), full_mtok)),
        **{
            f"representative_{layer}_error_pct": _error_pct(
                _per(representative[layer], mtok), _per(full[layer], full_mtok)
            )
            for layer in LAYERS
        },
    }


def full_year_warning(summary: pd.Series) -> str | None:
    """What a planner must hear about a plan's full-year re-check (its summary row), or None."""
    problems = []
    error = summary["representative_error_pct"]
    if abs(error) > WARNING_ERROR_PCT:
        problems.append(
            f"the representative days put the cost per token {error:+.1f} % off the full year "
            f"(${summary['usd_per_mtok']:.4f} against ${summary['full_year_usd_per_mtok']:.4f}/Mtok): "
            "raise time.representative_days"
        )
    if summary["full_year_unserved_mwh_per_yr"] > 0:
        problems.append(
            f"the design cannot carry {summary['full_year_unserved_mwh_per_yr']:,.0f} MWh/yr of its load in "
            f"{summary['full_year_unserved_hours_per_yr']:,.0f} site-hours of the full year; the tokens of "
            "that time are lost in the full-year $/Mtok"
        )
    if summary["full_year_cfe_shortfall_mwh_per_yr"] > 0:
        problems.append(
            f"over the full year it falls {summary['full_year_cfe_shortfall_mwh_per_yr']:,.0f} MWh/yr short of "
            "the hourly carbon-free share"
        )
    return "full-year check: " + "; ".join(problems) if problems else None


def _per(amount: float, mtok: float) -> float:
    return amount / mtok if mtok > 0 else float("nan")


def _error_pct(representative: float, full_year: float) -> float:
    return PERCENT * (representative / full_year - 1.0) if full_year > 0 else float("nan")


class _YearLp:
    """An LP over the hours of a year, in blocks of one column per hour, solved by HiGHS."""

    def __init__(self, hours: int) -> None:
        self.hours = hours
        self.cost: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.rows: list[tuple[dict[int, sparse.spmatrix], np.ndarray, np.ndarray]] = []

    def columns(self, cost: npt.ArrayLike, upper: npt.ArrayLike) -> int:
        """A new block (cost and upper bound per hour, or one for all hours; lower bound 0): its position."""
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), self.hours))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), self.hours))
        return len(self.cost) - 1

    def constrain(self, blocks: dict[int, sparse.spmatrix], lower: npt.ArrayLike, upper: npt.ArrayLike) -> None:
        """One row per hour: lower <= sum of each block's matrix times its columns <= upper."""
        self.rows.append((blocks, np.broadcast_to(lower, self.hours), np.broadcast_to(upper, self.hours)))

    def solve(self) -> np.ndarray:
        """The optimal columns, one row of hours per block."""
        empty = sparse.csr_matrix((self.hours, self.hours))  # keeps the width of a block a row does not use
        matrix = sparse.bmat(
            [[blocks.get(b, empty) for b in range(len(self.cost))] for blocks, _, _ in self.rows], format="csc"
        )
        lp = highspy.HighsLp()
        lp.num_row_, lp.num_col_ = matrix.shape
        lp.col_cost_ = np.concatenate(self.cost)
        lp.col_lower_ = np.zeros(lp.num_col_)
        lp.col_upper_ = np.concatenate(self.upper)
        lp.row_lower_ = np.concatenate([lower for _, lower, _ in self.rows])
        lp.row_upper_ = np.concatenate([upper for _, _, upper in self.rows])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
        highs = highspy.Highs()
        for option, value in HIGHS_OPTIONS.items():
            highs.setOptionValue(option, value)
        highs.passModel(lp)
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"full-year dispatch LP: HiGHS stopped with {highs.modelStatusToString(status)}")
        return np.asarray(highs.getSolution().col_value).reshape(len(self.cost), self.hours)


def _dispatch_lp(
    cost: np.ndarray, supply: _Supply, load_mw: np.ndarray, storage: list[_Storage], cfe_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The year as one LP (storage links the hours): generation, unserved load and carbon-free shortfall."""
    hours, sources = cost.shape
    eye = sparse.identity(hours, format="csr")
    # the level of the hour before; the year wraps (the last hour comes before the first)
    before = sparse.csr_matrix(
        (np.ones(hours), (np.arange(hours), np.arange(-1, hours - 1) % hours)), shape=(hours, hours)
    )
    short_cost = PENALTY_MULTIPLE * (np.abs(cost).max(initial=0.0) + PENALTY_FLOOR_USD_PER_MWH)
    lp = _YearLp(hours)
    generation = [lp.columns(cost[:, j], supply.available_mw[:, j]) for j in range(sources)]
    flows = [
        (lp.columns(0.0, unit.power_mw), lp.columns(0.0, unit.power_mw), lp.columns(0.0, unit.energy_mwh))
        for unit in storage
    ]
    unserved = lp.columns(PENALTY_MULTIPLE * short_cost, load_mw)
    short = lp.columns(short_cost, np.inf) if cfe_share > 0 else None

    net_discharge = {c: -eye for c, _, _ in flows} | {d: eye for _, d, _ in flows}
    lp.constrain({**{j: eye for j in generation}, **net_discharge, unserved: eye}, load_mw, load_mw)
    for unit, (charge, discharge, level) in zip(storage, flows):
        efficiency = unit.one_way_efficiency
        lp.constrain({charge: -efficiency * eye, discharge: eye / efficiency, level: eye - before}, 0.0, 0.0)
        lp.constrain({charge: eye, discharge: eye}, 0.0, unit.power_mw)
    if short is not None:
        # carbon-free supply + net discharge + shortfall >= share x (generation + net discharge)
        carbon_free = {j: sparse.diags(supply.carbon_free_share[:, j] - cfe_share) for j in generation}
        storage_share = {key: (1 - cfe_share) * matrix for key, matrix in net_discharge.items()}
        lp.constrain({**carbon_free, **storage_share, short: eye}, 0.0, np.inf)
    x = lp.solve()
    return x[generation].T, x[unserved], x[short] if short is not None else np.zeros(hours)
