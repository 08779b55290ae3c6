"""Checks of what is delivered and what it costs: demand, latency, tokens, costs, $/Mtok, emissions,
carbon cap, capital budget and water.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.constants import HOURS_PER_YEAR, KG_PER_T, KWH_PER_MWH, LITRES_PER_ML, SECONDS_PER_HOUR, TOKENS_PER_MTOK
from optimizer.verify.contract import ALLOCATION_EXPORT_RACKS, ATOL, COST_ATOL_USD, EMISSIONS_ATOL_T, LAYERS
from optimizer.verify.folder import Plan
from optimizer.verify.formulas import distance_and_latency
from optimizer.verify.recorder import Recorder, per_delivered
from optimizer.verify.registry import register_check


@register_check(
    "demand",
    "Tokens delivered to each region and workload meet its demand (serve_demand; where the scenario prices "
    "unserved demand, what is left is unserved_tokens_per_yr at that price) or stay within it and above "
    "min_demand_share of all demand; no negative delivery",
)
def _check_demand(p: Plan, c: Recorder) -> None:
    deliveries, demand = p.t["deliveries"], p.s["demand"]["tokens_per_yr"]
    delivered = deliveries.groupby(["region_id", "workload_id"])["tokens_per_yr"].sum()
    stray = set(delivered.index) - set(demand.index)
    c.rule(not stray, f"deliveries to (region, workload) pairs without demand: {sorted(stray)[:5]}")
    pairs = demand.index.to_frame(index=False)
    got = delivered.reindex(demand.index, fill_value=0.0)
    objective = p.scenario.objective
    unserved, price = float(p.summary["unserved_tokens_per_yr"]), objective.unserved_usd_per_mtok
    if objective.mode == "serve_demand" and price is None:
        c.eq("tokens delivered = demand", got, demand, unit="tokens/yr", at=pairs)
        _nothing_unserved(p, c)
    elif objective.mode == "serve_demand" and price is not None:
        c.le("tokens delivered <= demand", got, demand, unit="tokens/yr", at=pairs)
        c.eq(
            "unserved_tokens_per_yr = demand - delivered",
            unserved,
            demand.sum() - got.sum(),
            unit="tokens/yr",
            at="summary",
        )
        c.eq(
            "unserved_usd_per_yr = unserved Mtok x objective.unserved_usd_per_mtok",
            p.summary["unserved_usd_per_yr"],
            unserved / TOKENS_PER_MTOK * price,
            unit="USD/yr",
            at="summary",
        )
    else:
        _nothing_unserved(p, c)  # min_cost_per_token chooses what it delivers: nothing is bought
        c.le("tokens delivered <= demand", got, demand, unit="tokens/yr", at=pairs)
        floor = objective.min_demand_share * demand.sum()
        c.le(
            "min_demand_share x demand <= tokens delivered", floor, delivered.sum(), unit="tokens/yr", at="all regions"
        )
    c.le(
        "delivery >= 0",
        0.0,
        deliveries["tokens_per_yr"],
        unit="tokens/yr",
        at=deliveries,
        describe=lambda x: f"{x.site_id}->{x.region_id}/{x.workload_id}: negative delivery {x.tokens_per_yr}",
    )
    c.eq(
        "summary demand_tokens_per_yr = demand.csv",
        p.summary["demand_tokens_per_yr"],
        demand.sum(),
        unit="tokens/yr",
        at="summary",
    )


def _nothing_unserved(p: Plan, c: Recorder) -> None:
    """Without an unserved price no demand is bought: both unserved columns of the summary are 0."""
    c.eq(
        "unserved_tokens_per_yr = 0 (no unserved price)",
        p.summary["unserved_tokens_per_yr"],
        0.0,
        unit="tokens/yr",
        at="summary",
    )
    c.eq(
        "unserved_usd_per_yr = 0 (no unserved price)",
        p.summary["unserved_usd_per_yr"],
        0.0,
        unit="USD/yr",
        at="summary",
    )


@register_check(
    "latency",
    "Every delivery's network round trip (geodesic distance x route factor over fibre, plus "
    "overhead) is within its workload's latency budget; reported distances and latencies re-measured",
)
def _check_latency(p: Plan, c: Recorder) -> None:
    deliveries = p.t["deliveries"]
    if not len(deliveries):
        return
    km, ms = distance_and_latency(p, deliveries["site_id"], deliveries["region_id"])
    budget = deliveries["workload_id"].map(p.s["workloads"]["latency_budget_ms"]).astype(float)
    frame = deliveries.assign(v_km=km, v_ms=ms, v_budget=budget)
    c.le(
        "round trip <= latency budget",
        ms,
        budget,
        unit="ms",
        at=frame,
        describe=lambda x: (
            f"{x.site_id}->{x.region_id}/{x.workload_id}: round trip {x.v_ms:.6g} ms exceeds the "
            f"{x.v_budget:g} ms budget"
        ),
    )
    c.le(
        "reported latency <= latency budget",
        deliveries["latency_ms"],
        budget,
        unit="ms",
        at=frame,
        describe=lambda x: (
            f"{x.site_id}->{x.region_id}/{x.workload_id}: reported latency {x.latency_ms:.6g} ms "
            f"exceeds the {x.v_budget:g} ms budget"
        ),
    )
    c.eq(
        "reported latency = geodesic recomputation",
        deliveries["latency_ms"],
        ms,
        unit="ms",
        at=frame,
        describe=lambda x: (
            f"{x.site_id}->{x.region_id}: reported latency {x.latency_ms:.9g} ms != geodesic "
            f"recomputation {x.v_ms:.9g} ms"
        ),
    )
    c.eq(
        "reported distance = geodesic",
        deliveries["distance_km"],
        km,
        unit="km",
        at=frame,
        describe=lambda x: (
            f"{x.site_id}->{x.region_id}: reported distance {x.distance_km:.9g} km != geodesic {x.v_km:.9g} km"
        ),
    )
    c.eq(
        "latency_budget_ms = workloads.csv",
        deliveries["latency_budget_ms"],
        budget,
        unit="ms",
        at=frame,
        describe=lambda x: (
            f"{x.site_id}->{x.region_id}/{x.workload_id}: latency_budget_ms {x.latency_budget_ms} != "
            f"workloads.csv {x.v_budget}"
        ),
    )


@register_check(
    "tokens",
    "Tokens each site delivers for a workload are produced by the racks assigned to it (MLPerf "
    "tokens/s x chips x utilisation x 8760 h); racks assigned within racks installed; token totals",
)
def _check_tokens(p: Plan, c: Recorder) -> None:
    chips, workloads, throughput = p.s["chips"], p.s["workloads"], p.s["chip_throughput"]["tokens_per_s_per_chip"]
    alloc, deliveries = p.t["allocation"], p.t["deliveries"]
    pairs = pd.MultiIndex.from_arrays([alloc["chip_id"], alloc["workload_id"]])
    served = pairs.isin(throughput.index)
    for row in alloc[~served].itertuples(index=False):
        c.rule(
            False,
            f"site {row.site_id}: racks of {row.chip_id} assigned to {row.workload_id}, which it cannot "
            f"serve (no throughput)",
        )
    known = alloc[served].assign(v_rate=throughput.reindex(pairs[served]).to_numpy())
    c.eq(
        "tokens_per_s_per_chip = chip_throughput.csv",
        known["tokens_per_s_per_chip"],
        known["v_rate"],
        unit="tokens/s",
        at=known,
        describe=lambda x: (
            f"site {x.site_id}: tokens_per_s_per_chip "
            f"{x.tokens_per_s_per_chip} of {x.chip_id}/{x.workload_id} != chip_throughput.csv {x.v_rate}"
        ),
    )
    c.le("racks assigned >= 0", 0.0, alloc["racks_assigned"], unit="racks", at=alloc)

    per_rack_year = (
        throughput.reindex(pairs).fillna(0.0).to_numpy()
        * alloc["chip_id"].map(chips["chips_per_rack"])
        * alloc["workload_id"].map(workloads["utilisation"])
        * SECONDS_PER_HOUR
        * HOURS_PER_YEAR
    )
    keys = [alloc["site_id"], alloc["workload_id"]]
    produced = (alloc["racks_assigned"] * per_rack_year).groupby(keys).sum()
    # allocation.csv leaves out assignments below its export threshold: allow what those could make
    slack = per_rack_year.groupby(keys).max() * ALLOCATION_EXPORT_RACKS * len(chips)
    delivered = deliveries.groupby(["site_id", "workload_id"])["tokens_per_yr"].sum()
    frame = delivered.index.to_frame(index=False)
    c.le(
        "tokens delivered <= tokens produced by the racks assigned",
        delivered,
        produced.reindex(delivered.index, fill_value=0.0),
        unit="tokens/yr",
        at=frame,
        atol=np.maximum(ATOL, slack.reindex(delivered.index, fill_value=0.0)),
    )
    index = pd.MultiIndex.from_frame(alloc[["site_id", "workload_id"]])  # every row repeats its site's total
    c.eq(
        "site_workload_tokens_per_yr = recomputed",
        alloc["site_workload_tokens_per_yr"],
        produced.reindex(index),
        unit="tokens/yr",
        at=alloc,
        atol=np.maximum(ATOL, slack.reindex(index).to_numpy()),
    )

    assigned = alloc.groupby(["site_id", "chip_id"])["racks_assigned"].sum()
    installed = p.t["chips"].groupby(["site_id", "chip_id"])["racks"].sum().reindex(assigned.index, fill_value=0.0)
    c.le(
        "racks assigned to workloads <= racks installed",
        assigned,
        installed,
        unit="racks",
        at=assigned.index.to_frame(index=False),
    )

    site_tokens = deliveries.groupby("site_id")["tokens_per_yr"].sum().reindex(p.sites.index, fill_value=0.0)
    c.eq(
        "delivered_tokens_per_yr (sites.csv) = deliveries.csv",
        p.per_site("delivered_tokens_per_yr"),
        site_tokens,
        unit="tokens/yr",
        at=p.site_rows,
    )
    c.eq(
        "delivered_tokens_per_yr = deliveries.csv",
        p.summary["delivered_tokens_per_yr"],
        deliveries["tokens_per_yr"].sum(),
        unit="tokens/yr",
        at="summary",
    )


@register_check(
    "costs",
    "Every cost item of every site (chips, generation, grid, fuel, storage, carbon price, land, "
    "building, cooling) recomputed from the plan and the scenario; totals by layer and site; overnight capex",
)
def _check_costs(p: Plan, c: Recorder) -> None:
    summary, costs = p.summary, p.t["costs"]
    c.eq(
        "costs.csv usd_per_yr sum = total_cost_usd_per_yr",
        costs["usd_per_yr"].sum(),
        summary["total_cost_usd_per_yr"],
        unit="USD/yr",
        at="summary",
        atol=COST_ATOL_USD,
    )
    stray = sorted(set(costs["layer"]) - set(LAYERS))
    c.rule(not stray, f"costs.csv has unknown layers {stray}")
    recomputed, capex = p.recomputed_costs
    unknown = sorted(set(zip(costs["layer"], costs["item"])) - set(recomputed))
    c.rule(not unknown, f"costs.csv has cost items the formulation does not have: {unknown}")
    reported = costs.groupby(["layer", "item", "site_id"])["usd_per_yr"].sum()
    for (layer, name), expected in recomputed.items():
        got = [reported.get((layer, name, site), 0.0) for site in p.sites.index]
        c.eq(
            f"{layer} / {name} (costs.csv) vs recomputed from the tables",
            got,
            expected,
            unit="USD/yr",
            at=p.site_rows,
            atol=COST_ATOL_USD,
        )

    by_site = costs.pivot_table(index="site_id", columns="layer", values="usd_per_yr", aggfunc="sum")
    by_site = by_site.reindex(index=p.sites.index, columns=list(LAYERS)).fillna(0.0)
    for layer in LAYERS:
        c.eq(
            f"{layer}_usd_per_yr (sites.csv) = costs.csv",
            p.per_site(f"{layer}_usd_per_yr"),
            by_site[layer],
            unit="USD/yr",
            at=p.site_rows,
            atol=COST_ATOL_USD,
        )
        layer_total = sum(
            (v for (lay, _), v in recomputed.items() if lay == layer), pd.Series(0.0, index=p.sites.index)
        )
        c.eq(
            f"total {layer} layer cost vs recomputed",
            by_site[layer].sum(),
            layer_total.sum(),
            unit="USD/yr",
            at="all sites",
            atol=COST_ATOL_USD,
        )
    c.eq(
        "cost_usd_per_yr (sites.csv) = costs.csv",
        p.per_site("cost_usd_per_yr"),
        by_site.sum(axis=1),
        unit="USD/yr",
        at=p.site_rows,
        atol=COST_ATOL_USD,
    )
    c.eq(
        "capex_usd vs recomputed overnight capex",
        summary["capex_usd"],
        capex.sum(),
        unit="USD",
        at="summary",
        atol=COST_ATOL_USD,
    )


@register_check(
    "usd per mtok",
    "Cost per million tokens = total cost / delivered Mtok, and its split by layer, site and cost row adds up",
)
def _check_usd_per_mtok(p: Plan, c: Recorder) -> None:
    summary, costs = p.summary, p.t["costs"]
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq(
        "usd_per_mtok = total_cost_usd_per_yr / delivered Mtok",
        summary["usd_per_mtok"],
        per_delivered(float(summary["total_cost_usd_per_yr"]), mtok),
        unit="USD/Mtok",
        at="summary",
    )
    layers = sum(float(summary[f"{layer}_usd_per_mtok"]) for layer in LAYERS)
    c.eq(
        "energy + chips + infrastructure usd_per_mtok = usd_per_mtok",
        layers,
        summary["usd_per_mtok"],
        unit="USD/Mtok",
        at="summary",
    )
    by_layer = costs.groupby("layer")["usd_per_yr"].sum()
    for layer in LAYERS:
        c.eq(
            f"{layer}_usd_per_mtok = costs.csv / delivered Mtok",
            summary[f"{layer}_usd_per_mtok"],
            per_delivered(by_layer.get(layer, 0.0), mtok),
            unit="USD/Mtok",
            at="summary",
        )
    c.eq(
        "costs.csv usd_per_mtok sum = summary usd_per_mtok",
        costs["usd_per_mtok"].sum(min_count=1),
        summary["usd_per_mtok"],
        unit="USD/Mtok",
        at="costs.csv",
    )
    c.eq(
        "costs.csv usd_per_mtok = usd_per_yr / delivered Mtok",
        costs["usd_per_mtok"],
        per_delivered(costs["usd_per_yr"], mtok),
        unit="USD/Mtok",
        at=costs,
        describe=lambda x: (
            f"costs.csv {x.site_id}/{x.item}: usd_per_mtok {x.usd_per_mtok:.9g} != usd_per_yr / delivered Mtok"
        ),
    )
    site_cost = costs.groupby("site_id")["usd_per_yr"].sum().reindex(p.sites.index, fill_value=0.0)
    site_mtok = p.per_site("delivered_tokens_per_yr") / TOKENS_PER_MTOK
    c.eq(
        "usd_per_mtok (sites.csv) = cost / delivered Mtok",
        p.per_site("usd_per_mtok"),
        site_cost / site_mtok.where(site_mtok > 0),
        unit="USD/Mtok",
        at=p.site_rows,
    )


@register_check(
    "emissions",
    "CO2 of every site recomputed from the dispatch (the grid's hourly rate in grid years, "
    "fuel carbon of on-site generation in grid and bridge years); totals and kg per Mtok",
)
def _check_emissions(p: Plan, c: Recorder) -> None:
    summary, emissions = p.summary, p.emissions_t
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq(
        "emissions_t_per_yr (sites.csv) vs recomputed from dispatch",
        p.per_site("emissions_t_per_yr"),
        emissions,
        unit="t/yr",
        at=p.site_rows,
        atol=EMISSIONS_ATOL_T,
    )
    c.eq(
        "emissions_t_per_yr vs recomputed",
        summary["emissions_t_per_yr"],
        emissions.sum(),
        unit="t/yr",
        at="summary",
        atol=EMISSIONS_ATOL_T,
    )
    c.eq(
        "emissions_kg_per_mtok vs recomputed",
        summary["emissions_kg_per_mtok"],
        per_delivered(emissions.sum() * KG_PER_T, mtok),
        unit="kg/Mtok",
        at="summary",
    )


@register_check(
    "carbon cap",
    "Emissions, reported and recomputed, within carbon_cap_t_per_yr (when the scenario sets "
    "one; a carbon price is costed under 'costs')",
)
def _check_carbon_cap(p: Plan, c: Recorder) -> None:
    cap = p.scenario.constraints.carbon_cap_t_per_yr
    if cap is None:
        return
    c.le("reported emissions <= carbon_cap_t_per_yr", p.summary["emissions_t_per_yr"], cap, unit="t/yr", at="summary")
    c.le("recomputed emissions <= carbon_cap_t_per_yr", p.emissions_t.sum(), cap, unit="t/yr", at="all sites")


@register_check("capex budget", "Overnight capex, recomputed, within capex_budget_usd (when the scenario sets one)")
def _check_capex_budget(p: Plan, c: Recorder) -> None:
    budget = p.scenario.constraints.capex_budget_usd
    if budget is None:
        return
    _, capex = p.recomputed_costs
    c.le("overnight capex <= capex_budget_usd", capex.sum(), budget, unit="USD", at="all sites", atol=COST_ATOL_USD)


@register_check(
    "water",
    "Water use = the hourly WUE of the chosen cooling x IT energy, within each site's water "
    "limit; annual WUE and litres per Mtok",
)
def _check_water(p: Plan, c: Recorder) -> None:
    d, sites, summary = p.dispatch, p.s["sites"], p.summary
    _, wue = p.pue_wue
    litres = (wue * d["it_mw"] * KWH_PER_MWH * p.w).groupby(d["site_id"]).sum()
    water_ml = (litres / LITRES_PER_ML).reindex(p.sites.index, fill_value=0.0)
    it_kwh = p.annual("it_mw") * KWH_PER_MWH
    c.eq(
        "water_ml_per_yr (sites.csv) vs hourly WUE x IT energy",
        p.per_site("water_ml_per_yr"),
        water_ml,
        unit="ML/yr",
        at=p.site_rows,
    )
    c.eq(
        "annual_wue_l_per_kwh (sites.csv) vs water / IT energy",
        p.per_site("annual_wue_l_per_kwh"),
        water_ml * LITRES_PER_ML / it_kwh.where(it_kwh > 0),
        unit="L/kWh",
        at=p.site_rows,
    )
    if "water_limit_ml_per_yr" in sites:
        limit = sites["water_limit_ml_per_yr"].reindex(p.sites.index)
        limited = limit.notna().to_numpy()
        at = p.site_rows[limited]
        c.le("water use <= water_limit_ml_per_yr", water_ml[limited], limit[limited], unit="ML/yr", at=at)
        c.le(
            "reported water_ml_per_yr <= water_limit_ml_per_yr",
            p.per_site("water_ml_per_yr")[limited],
            limit[limited],
            unit="ML/yr",
            at=at,
        )
    mtok = float(summary["delivered_tokens_per_yr"]) / TOKENS_PER_MTOK
    c.eq("water_ml_per_yr vs recomputed", summary["water_ml_per_yr"], water_ml.sum(), unit="ML/yr", at="summary")
    c.eq(
        "water_l_per_mtok vs recomputed",
        summary["water_l_per_mtok"],
        per_delivered(water_ml.sum() * LITRES_PER_ML, mtok),
        unit="L/Mtok",
        at="summary",
    )
