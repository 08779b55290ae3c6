"""Checks of the energy layer and the facility: balance, PUE, IT load, generation, grid, bridge power,
carbon-free share, land, racks, cooling and units (storage: checks_storage).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimizer.constants import HOURS_PER_YEAR, J_PER_MWH, KW_PER_MW
from optimizer.verify.checks_tables import power_columns
from optimizer.verify.contract import ATOL, COST_ATOL_USD
from optimizer.verify.folder import Plan
from optimizer.verify.recorder import Recorder, Row, largest_magnitude, per_delivered
from optimizer.verify.registry import register_check


@register_check(
    "energy balance",
    "In every slice of every site, generation + grid + storage discharge - charging = "
    "facility load, and no power is negative",
)
def _check_energy_balance(p: Plan, c: Recorder) -> None:
    d = p.dispatch
    supply = p.dispatch_sum(f"{g}_mw" for g in p.s["power_techs"].index)
    discharge = p.dispatch_sum(f"{b}_discharge_mw" for b in p.storage_ids)
    charge = p.dispatch_sum(f"{b}_charge_mw" for b in p.storage_ids)
    net = supply + discharge - charge
    frame = d.assign(v_net=net)
    c.eq(
        "supply - charging = facility load",
        net,
        d["facility_mw"],
        unit="MW",
        at=frame,
        scale=largest_magnitude(supply + discharge, charge, d["facility_mw"]),
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: supply - charging {x.v_net:.9g} MW != facility "
            f"load {x.facility_mw:.9g} MW"
        ),
    )
    for column in power_columns(p):
        c.le(
            f"{column} >= 0",
            0.0,
            d[column],
            unit="MW",
            at=d,
            describe=lambda x, col=column: (
                f"site {x.site_id} slice {x.slice_id}: {col} is negative or blank ({getattr(x, col):.6g})"
            ),
        )


@register_check(
    "pue",
    "Facility load = IT load x the hourly PUE of the chosen cooling in the slice's weather; annual "
    "energy, PUE, peak load and energy per token agree with the dispatch",
)
def _check_pue(p: Plan, c: Recorder) -> None:
    d = p.dispatch
    pue, _ = p.pue_wue
    temp, wetbulb = p.profile("temp_c"), p.profile("wetbulb_c")
    frame = d.assign(v_expected=d["it_mw"] * pue, v_pue=pue, v_temp=temp, v_wet=wetbulb)
    c.eq(
        "facility load = IT load x PUE",
        d["facility_mw"],
        frame["v_expected"],
        unit="MW",
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: facility {x.facility_mw:.9g} MW != IT "
            f"{x.it_mw:.9g} MW x PUE {x.v_pue:.6g} ({x.v_temp:.4g} C dry-bulb, {x.v_wet:.4g} C wet-bulb)"
        ),
    )
    running = frame[d["it_mw"] > 0]
    c.eq(
        "reported pue = PUE from cooling.csv",
        running["pue"] if "pue" in d else np.nan,
        running["v_pue"],
        unit="",
        at=running,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: reported pue {x.pue:.9g} != {x.v_pue:.9g} from cooling.csv"
        ),
    )
    idle = frame[~(d["it_mw"] > 0)]
    c.eq("pue blank without IT load", idle["pue"], np.nan, unit="", at=idle)
    for column, values in (("temp_c", temp), ("wetbulb_c", wetbulb)):
        c.eq(
            f"dispatch {column} = profiles.csv",
            p.dispatch_column(column),
            values,
            unit="C",
            at=frame,
            describe=lambda x, col=column: (
                f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col)} differs from profiles.csv"
            ),
        )

    # annual figures of sites.csv and summary.csv
    it_mwh, facility_mwh = p.annual("it_mw"), p.annual("facility_mw")
    peak = d.groupby("site_id")["facility_mw"].max().reindex(p.sites.index, fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        annual_pue = np.where(it_mwh > 0, facility_mwh / it_mwh, np.nan)
    for column, expected, unit, rule in (
        ("it_energy_mwh_per_yr", it_mwh, "MWh/yr", "vs dispatch"),
        ("facility_energy_mwh_per_yr", facility_mwh, "MWh/yr", "vs dispatch"),
        ("annual_pue", annual_pue, "", "vs facility / IT energy"),
        ("peak_facility_mw", peak, "MW", "vs dispatch"),
    ):
        c.eq(f"{column} (sites.csv) {rule}", p.per_site(column), expected, unit=unit, at=p.site_rows)
    summary, tokens = p.summary, float(p.summary["delivered_tokens_per_yr"])
    c.eq(
        "facility_energy_mwh_per_yr vs dispatch",
        summary["facility_energy_mwh_per_yr"],
        facility_mwh.sum(),
        unit="MWh/yr",
        at="summary",
    )
    c.eq(
        "energy_j_per_token vs dispatch",
        summary["energy_j_per_token"],
        per_delivered(facility_mwh.sum() * J_PER_MWH, tokens),
        unit="J/token",
        at="summary",
    )


@register_check(
    "it load",
    "IT load is the same in every slice, within the site's IT capacity, and equal to the racks "
    "assigned to workloads x their rack power",
)
def _check_it_load(p: Plan, c: Recorder) -> None:
    d, chips, alloc = p.dispatch, p.s["chips"], p.t["allocation"]
    racks_mw = alloc["racks_assigned"] * alloc["chip_id"].map(chips["rack_power_kw"]) / KW_PER_MW
    running = racks_mw.groupby(alloc["site_id"]).sum()
    it = d.groupby("site_id")["it_mw"].agg(["min", "max", "mean"])
    frame = it.assign(
        v_abs=d["it_mw"].abs().groupby(d["site_id"]).max(),
        v_cap=p.sites["it_capacity_mw"].reindex(it.index),
        v_running=running.reindex(it.index, fill_value=0.0),
    ).reset_index()
    c.eq(
        "IT load the same in every slice",
        frame["max"],
        frame["min"],
        unit="MW",
        scale=frame["v_abs"],
        at=frame,
        describe=lambda x: f"site {x.site_id}: IT load varies between slices ({x.min:.9g}..{x.max:.9g} MW)",
    )
    c.le("IT load <= it_capacity_mw", frame["max"], frame["v_cap"], unit="MW", at=frame)
    c.eq(
        "IT load = racks assigned x rack power (allocation.csv)",
        frame["mean"],
        frame["v_running"],
        unit="MW",
        at=frame,
        atol=1e-5,
    )


@register_check(
    "generation",
    "Each source's output in every slice is within its capacity x availability (hourly wind "
    "and solar factors); only allowed sources that are ready by online_by_year are built; power.csv energy figures",
)
def _check_generation(p: Plan, c: Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    for tech in techs.index:
        column = f"{tech}_mw"
        if column not in d.columns:
            continue  # reported by the structure check
        capacity = p.capacities_at(d["site_id"], tech)
        avail = p.availability(tech)
        frame = d.assign(v_cap=capacity, v_av=avail)
        c.le(
            f"{tech} output <= capacity x availability",
            d[column],
            capacity * avail,
            unit="MW",
            at=frame,
            describe=lambda x, col=column: (
                f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col):.9g} > "
                f"capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}"
            ),
        )

    c.eq(
        "energy_capacity_mwh blank for a generator",
        p.gen_power["energy_capacity_mwh"],
        np.nan,
        unit="MWh",
        at=p.gen_power,
    )

    # technologies that could not be built or used by the online-by year (lead time, first year, policy)
    limits, start = p.scenario.constraints, p.scenario.finance.start_year
    for row in p.gen_power.itertuples(index=False):
        where = f"site {row.site_id}, {row.tech_id}"
        c.rule(row.tech_id in techs.index, f"power.csv: unknown technology '{row.tech_id}' at {row.site_id}")
        if row.tech_id not in techs.index:
            continue
        tech = techs.loc[row.tech_id]
        c.rule(
            row.kind == tech["kind"],
            f"power.csv: {row.site_id}/{row.tech_id} kind '{row.kind}' != power_techs.csv '{tech['kind']}'",
        )
        if limits.allowed_power_techs is not None:
            c.rule(
                row.tech_id in limits.allowed_power_techs or row.capacity_mw <= ATOL,
                f"site {row.site_id}: {row.tech_id} built but not in constraints.allowed_power_techs",
            )
        if p.online_by is not None:
            ready = start + math.ceil(tech["lead_time_yr"])
            c.rule(
                (ready <= p.online_by and tech["first_year"] <= p.online_by) or row.capacity_mw <= ATOL,
                f"site {row.site_id}: {row.tech_id} built ({row.capacity_mw:.6g} MW) but cannot operate by "
                f"{p.online_by} (ready {ready}, first year {tech['first_year']})",
            )
        # the power.csv summary of the dispatch
        energy = float(p.annual(f"{row.tech_id}_mw").get(row.site_id, 0.0))
        c.eq("generation_mwh_per_yr vs dispatch", row.generation_mwh_per_yr, energy, unit="MWh/yr", at=where)
        c.eq(
            "capacity_factor vs generation / (capacity x 8760 h)",
            row.capacity_factor,
            energy / (row.capacity_mw * HOURS_PER_YEAR) if row.capacity_mw > 0 else np.nan,
            unit="",
            at=where,
        )


@register_check(
    "grid",
    "Grid import in every slice is within the site's grid capacity and the connection built; a "
    "grid online after online_by_year is used only after bridge years; sites.csv grid figures and hourly prices",
)
def _check_grid(p: Plan, c: Recorder) -> None:
    d, sites = p.dispatch, p.s["sites"]
    grid = p.dispatch_column(f"{p.grid_tech}_mw")
    frame = d.assign(
        v_grid=grid,
        v_limit=d["site_id"].map(sites["grid_capacity_mw"]).astype(float),
        v_conn=p.capacities_at(d["site_id"], p.grid_tech),
    )
    c.le(
        "grid import <= grid_capacity_mw",
        grid,
        frame["v_limit"],
        unit="MW",
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW > grid_capacity_mw {x.v_limit:.9g}"
        ),
    )
    c.le(
        "grid import <= grid connection built",
        grid,
        frame["v_conn"],
        unit="MW",
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW > grid connection "
            f"built {x.v_conn:.9g} MW (power.csv)"
        ),
    )
    connections = p.gen_power[p.gen_power["tech_id"] == p.grid_tech]
    c.le(
        "grid connection built (power.csv) <= grid_capacity_mw",
        connections["capacity_mw"],
        connections["site_id"].map(sites["grid_capacity_mw"]),
        unit="MW",
        at=connections,
    )
    if p.online_by is not None:
        # a grid that arrives late may be used only at a bridge site (bridge_power), carried until then
        bridge = set(p.bridge_sites)
        late = [s for s in sites.index[sites["grid_online_year"] > p.online_by] if s not in bridge]
        why = "bridge_power is off" if not p.scenario.constraints.bridge_power else "the grid is not allowed there"
        at_late = frame[d["site_id"].isin(late)]
        c.eq(
            "no grid import before a late grid is online",
            at_late["v_grid"],
            0.0,
            unit="MW",
            at=at_late,
            describe=lambda x: (
                f"site {x.site_id} slice {x.slice_id}: grid import {x.v_grid:.9g} MW but the grid "
                f"connection is online only in {sites.loc[x.site_id, 'grid_online_year']} > online_by_year "
                f"{p.online_by} and {why}"
            ),
        )
        for row in connections[connections["site_id"].isin(late)].itertuples(index=False):
            c.rule(
                row.capacity_mw <= ATOL,
                f"site {row.site_id}: grid connection built but online only after {p.online_by} ({why})",
            )
    # the sites.csv copies and the peak match the dispatch
    peak = grid.groupby(d["site_id"]).max().reindex(p.sites.index, fill_value=0.0)
    c.eq(
        "peak_grid_import_mw (sites.csv) vs dispatch",
        p.per_site("peak_grid_import_mw"),
        peak,
        unit="MW",
        at=p.site_rows,
    )
    for column, unit in (("grid_capacity_mw", "MW"), ("grid_online_year", "year")):
        c.eq(
            f"{column} (sites.csv) vs the scenario",
            p.per_site(column),
            sites[column].reindex(p.sites.index),
            unit=unit,
            at=p.site_rows,
        )
    for column, unit in (
        ("grid_price_usd_per_mwh", "USD/MWh"),
        ("grid_co2_kg_per_mwh", "kg/MWh"),
        ("grid_cfe_share", "-"),
    ):
        c.eq(
            f"dispatch {column} = profiles.csv",
            p.dispatch_column(column),
            p.profile(column),
            unit=unit,
            at=d,
            describe=lambda x, col=column: f"site {x.site_id} slice {x.slice_id}: {col} differs from profiles.csv",
        )


@register_check(
    "bridge",
    "Until a late grid arrives, on-site generation and storage alone carry the facility load "
    "within their capacity; no bridge generation elsewhere; grid wait, bridge share and bridge energy figures",
)
def _check_bridge(p: Plan, c: Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    share, wait = p.bridge_share.reindex(p.sites.index), p.grid_wait_yr.reindex(p.sites.index)
    c.eq(
        "grid_wait_yr (sites.csv) vs grid_online_year - online_by_year",
        p.per_site("grid_wait_yr"),
        wait,
        unit="yr",
        at=p.site_rows,
    )
    c.eq(
        "bridge_share (sites.csv) vs present-value share of the wait",
        p.per_site("bridge_share"),
        share,
        unit="",
        at=p.site_rows,
    )

    storage_columns = {f"bridge_{b}_{flow}_mw" for b in p.storage_ids for flow in ("charge", "discharge")}
    columns = [
        col for col in d.columns if col.startswith("bridge_") and col.endswith("_mw") and col not in storage_columns
    ]
    bridge_techs = {col: col[len("bridge_") : -len("_mw")] for col in columns}
    on_site = {col: tech for col, tech in bridge_techs.items() if tech in techs.index and tech != p.grid_tech}
    for column in [col for col in columns if col not in on_site]:
        c.rule(
            not (d[column].abs() > ATOL).any(),
            f"dispatch.csv: {column} carries power but '{bridge_techs[column]}' is not an on-site technology",
        )
    for column, tech in on_site.items():
        capacity = p.capacities_at(d["site_id"], tech)
        avail = p.availability(tech)
        frame = d.assign(v_cap=capacity, v_av=avail)
        c.le(
            f"bridge {tech} output <= capacity x availability",
            d[column],
            capacity * avail,
            unit="MW",
            at=frame,
            describe=lambda x, col=column: (
                f"site {x.site_id} slice {x.slice_id}: {col} {getattr(x, col):.9g} > "
                f"capacity {x.v_cap:.9g} MW x availability {x.v_av:.6g}"
            ),
        )

    # bridge-year batteries shift energy within the bridge years as they do in the grid years
    supply = (
        p.dispatch_sum(on_site)
        + p.dispatch_sum(f"bridge_{b}_discharge_mw" for b in p.storage_ids)
        - p.dispatch_sum(f"bridge_{b}_charge_mw" for b in p.storage_ids)
    )
    bridging = d["site_id"].map(share).fillna(0.0) > 0
    frame = d.assign(v_supply=supply)
    c.eq(
        "bridge supply = facility load while the grid is not yet online",
        frame["v_supply"][bridging],
        d["facility_mw"][bridging],
        unit="MW",
        at=frame[bridging],
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: bridge generation + net bridge storage "
            f"{x.v_supply:.9g} MW != facility load {x.facility_mw:.9g} MW while the grid is not yet online"
        ),
    )
    c.eq(
        "no bridge supply at a site without bridge years",
        frame["v_supply"][~bridging],
        0.0,
        unit="MW",
        at=frame[~bridging],
        describe=lambda x: (
            f"site {x.site_id} slice {x.slice_id}: bridge generation {x.v_supply:.9g} MW at a site without bridge years"
        ),
    )

    for row in p.power.itertuples(index=False):
        energy = float(p.annual(f"bridge_{row.tech_id}_mw").get(row.site_id, 0.0)) if row.kind != "storage" else 0.0
        c.eq(
            "bridge_generation_mwh_per_yr (power.csv) vs dispatch",
            row.bridge_generation_mwh_per_yr,
            energy,
            unit="MWh/yr",
            at=f"site {row.site_id}, {row.tech_id}",
        )


@register_check(
    "cfe",
    "24/7 carbon-free supply: carbon_free_mw as recomputed (clean generation, the grid's clean "
    "share, net storage), at least cfe_share of supply in every slice of grid and bridge years; cfe_score",
)
def _check_carbon_free(p: Plan, c: Recorder) -> None:
    d, techs = p.dispatch, p.s["power_techs"]
    clean = p.dispatch_sum(f"{g}_mw" for g in p.clean_techs)
    generation = p.dispatch_sum(f"{g}_mw" for g in techs.index)
    net_storage = p.dispatch_sum(f"{b}_discharge_mw" for b in p.storage_ids) - p.dispatch_sum(
        f"{b}_charge_mw" for b in p.storage_ids
    )
    grid_cfe = p.profile("grid_cfe_share")
    carbon_free = clean + grid_cfe * p.dispatch_column(f"{p.grid_tech}_mw") + net_storage
    load = generation + net_storage
    share = p.scenario.constraints.cfe_share
    frame = d.assign(v_free=carbon_free, v_load=load)
    if "carbon_free_mw" in d.columns:
        c.eq(
            "carbon_free_mw = clean generation + grid x the slice's grid_cfe_share + net storage",
            d["carbon_free_mw"],
            carbon_free,
            unit="MW",
            scale=largest_magnitude(carbon_free, load),
            at=frame,
            describe=lambda x: (
                f"site {x.site_id} slice {x.slice_id}: carbon_free_mw {x.carbon_free_mw:.9g} != clean "
                f"generation + grid x grid_cfe_share + net storage discharge = {x.v_free:.9g}"
            ),
        )
    if share > 0:
        c.le(
            "cfe_share x supply <= carbon-free supply",
            share * load,
            carbon_free,
            unit="MW",
            scale=largest_magnitude(carbon_free, load),
            at=frame,
            describe=lambda x: (
                f"site {x.site_id} slice {x.slice_id}: carbon-free supply {x.v_free:.9g} MW < "
                f"cfe_share {share:g} x supply {x.v_load:.9g} MW"
            ),
        )
        # the bridge years too: no grid, on-site generation and bridge storage only
        b_clean = p.dispatch_sum(f"bridge_{g}_mw" for g in p.clean_techs)
        b_gen = p.dispatch_sum(f"bridge_{g}_mw" for g in techs.index if g != p.grid_tech)
        b_net = p.dispatch_sum(f"bridge_{b}_discharge_mw" for b in p.storage_ids) - p.dispatch_sum(
            f"bridge_{b}_charge_mw" for b in p.storage_ids
        )
        frame = d.assign(v_free=b_clean + b_net, v_load=b_gen + b_net)
        c.le(
            "cfe_share x bridge supply <= bridge carbon-free supply",
            share * frame["v_load"],
            frame["v_free"],
            unit="MW",
            scale=largest_magnitude(b_clean, b_gen),
            at=frame,
            describe=lambda x: (
                f"site {x.site_id} slice {x.slice_id}: bridge-year carbon-free supply {x.v_free:.9g} "
                f"MW < cfe_share {share:g} x bridge supply {x.v_load:.9g} MW"
            ),
        )

    matched = (carbon_free.clip(lower=0.0).clip(upper=d["facility_mw"]) * p.w).groupby(d["site_id"]).sum()
    served = (d["facility_mw"] * p.w).groupby(d["site_id"]).sum()
    score = (matched / served.where(served > 0)).reindex(p.sites.index)
    c.eq(
        "cfe_score (sites.csv) vs hourly-matched carbon-free share",
        p.per_site("cfe_score"),
        score,
        unit="",
        at=p.site_rows,
    )


@register_check("land", "Each site's IT and generation footprint fits within its land")
def _check_land(p: Plan, c: Recorder) -> None:
    power = p.power
    per_mw = np.where(
        power["kind"] == "storage",
        power["tech_id"].map(p.s["storage_techs"]["land_acres_per_mw"]),
        power["tech_id"].map(p.s["power_techs"]["land_acres_per_mw"]),
    ).astype(float)
    footprint = power["capacity_mw"].to_numpy(dtype=float) * per_mw
    c.eq(
        "land_acres (power.csv) vs capacity x land_acres_per_mw", power["land_acres"], footprint, unit="acres", at=power
    )
    generation = pd.Series(footprint).groupby(power["site_id"].to_numpy()).sum().reindex(p.sites.index, fill_value=0.0)
    acres = p.per_site("it_capacity_mw") * p.facility("it_acres_per_mw") + generation
    scenario = p.s["sites"]["land_acres"].reindex(p.sites.index).astype(float)
    land = scenario.where(p.sites.index.isin(p.built), 0.0)
    c.le("IT + generation footprint <= land_acres", acres, land, unit="acres", at=p.site_rows)
    c.eq(
        "land_used_acres (sites.csv) vs recomputed", p.per_site("land_used_acres"), acres, unit="acres", at=p.site_rows
    )
    c.eq("land_acres (sites.csv) vs the scenario", p.per_site("land_acres"), scenario, unit="acres", at=p.site_rows)


@register_check(
    "racks",
    "Whole racks of known SKUs shipped by online_by_year; chips = racks x chips per rack; rack "
    "power within the site's IT capacity; chip supply limits; rack and chip counts of sites.csv and summary.csv",
)
def _check_racks(p: Plan, c: Recorder) -> None:
    chips, plan_chips = p.s["chips"], p.t["chips"]
    known = plan_chips["chip_id"].isin(chips.index)
    for row in plan_chips[~known].itertuples(index=False):
        c.rule(False, f"site {row.site_id} chip {row.chip_id}: unknown chip")
    rows = plan_chips[known]

    def not_whole(x: Row) -> str:
        return f"site {x.site_id} chip {x.chip_id}: {x.racks} racks is not a non-negative integer"

    c.eq("whole racks", rows["racks"], rows["racks"].round(), unit="racks", scale=0.0, at=rows, describe=not_whole)
    c.le("racks >= 0", 0.0, rows["racks"], unit="racks", at=rows, describe=not_whole)
    sku = chips.reindex(rows["chip_id"])
    c.eq(
        "chips = racks x chips_per_rack",
        rows["chips"],
        rows["racks"].to_numpy() * sku["chips_per_rack"].to_numpy(),
        unit="chips",
        at=rows,
    )
    c.eq("rack_power_kw = chips table", rows["rack_power_kw"], sku["rack_power_kw"], unit="kW", at=rows)
    if p.online_by is not None:
        shipping = rows[rows["racks"] > 0]
        frame = shipping.assign(v_year=shipping["chip_id"].map(chips["available_year"]))
        c.le(
            "SKU available_year <= online_by_year",
            frame["v_year"],
            p.online_by,
            unit="year",
            scale=0.0,
            at=frame,
            describe=lambda x: f"site {x.site_id} chip {x.chip_id}: SKU ships only in {x.v_year:g} > {p.online_by}",
        )

    rack_mw = plan_chips["racks"] * plan_chips["chip_id"].map(chips["rack_power_kw"]) / KW_PER_MW
    by_site = (
        pd.DataFrame({"mw": rack_mw, "racks": plan_chips["racks"], "chips": plan_chips["chips"]})
        .groupby(plan_chips["site_id"])
        .sum()
        .reindex(p.sites.index, fill_value=0.0)
    )
    c.le(
        "racks x rack_power_kw <= it_capacity_mw",
        by_site["mw"],
        p.per_site("it_capacity_mw"),
        unit="MW",
        at=p.site_rows,
    )
    c.eq("racks (sites.csv) = chips.csv", p.per_site("racks"), by_site["racks"], unit="racks", at=p.site_rows)
    c.eq("chips (sites.csv) = chips.csv", p.per_site("chips"), by_site["chips"], unit="chips", at=p.site_rows)
    summary = p.summary
    c.eq("chips = chips.csv", summary["chips"], plan_chips["chips"].sum(), unit="chips", at="summary")
    c.eq("sites_built = sites.csv", summary["sites_built"], len(p.built), unit="sites", at="summary")
    c.eq(
        "it_capacity_mw = sites.csv",
        summary["it_capacity_mw"],
        p.sites["it_capacity_mw"].sum(),
        unit="MW",
        at="summary",
    )

    limits = chips["supply_limit_chips"].dropna()
    installed = plan_chips.groupby("chip_id")["chips"].sum().reindex(limits.index, fill_value=0.0)
    c.le(
        "accelerators installed <= supply_limit_chips",
        installed,
        limits,
        unit="chips",
        at=pd.DataFrame({"chip_id": limits.index}),
    )


@register_check(
    "chips table",
    "chips.csv per site and SKU: IT MW = racks x rack kW, capex = racks x chips per rack x "
    "(price + system) per chip, from the scenario copy's chips table",
)
def _check_chips_table(p: Plan, c: Recorder) -> None:
    chips, plan_chips = p.s["chips"], p.t["chips"]
    rows = plan_chips[plan_chips["chip_id"].isin(chips.index)]  # unknown SKUs: the racks check
    sku = chips.reindex(rows["chip_id"])
    racks = rows["racks"].to_numpy(dtype=float)
    it_mw = racks * sku["rack_power_kw"].to_numpy(dtype=float) / KW_PER_MW
    per_chip = (sku["price_usd_per_chip"] + sku["system_usd_per_chip"]).to_numpy(dtype=float)
    capex = racks * sku["chips_per_rack"].to_numpy(dtype=float) * per_chip
    c.eq("it_mw = racks x rack_power_kw", rows["it_mw"], it_mw, unit="MW", at=rows)
    c.eq(
        "capex_usd = racks x chips_per_rack x (price_usd_per_chip + system_usd_per_chip)",
        rows["capex_usd"],
        capex,
        unit="USD",
        at=rows,
        atol=COST_ATOL_USD,
    )


@register_check("cooling", "Every rack's power is within the rack density its site's cooling can remove (max_rack_kw)")
def _check_cooling(p: Plan, c: Recorder) -> None:
    chips, cooling, plan_chips = p.s["chips"], p.s["cooling"], p.t["chips"]
    k = plan_chips["site_id"].map(p.sites["cooling_id"])
    rows = plan_chips[k.isin(cooling.index) & plan_chips["chip_id"].isin(chips.index)]  # others: structure, racks
    frame = rows.assign(
        v_kw=rows["chip_id"].map(chips["rack_power_kw"]),
        v_k=k[rows.index],
        v_max=k[rows.index].map(cooling["max_rack_kw"]),
    )
    c.le(
        "rack power <= max_rack_kw of the cooling",
        frame["v_kw"],
        frame["v_max"],
        unit="kW",
        at=frame,
        describe=lambda x: (
            f"site {x.site_id} chip {x.chip_id}: rack of {x.v_kw} kW under cooling '{x.v_k}' rated for {x.v_max} kW"
        ),
    )


@register_check(
    "unit sizes",
    "Plants with a unit size are built in whole units, and their unit counts match their "
    "capacity; other plants and storage have no unit count",
)
def _check_units(p: Plan, c: Recorder) -> None:
    unit_size = p.s["power_techs"]["unit_size_mw"].dropna()
    rows = p.gen_power[p.gen_power["tech_id"].isin(unit_size.index)]
    size = rows["tech_id"].map(unit_size).astype(float)
    n = rows["capacity_mw"] / size
    frame = rows.assign(v_size=size)
    c.eq(
        "capacity = a whole number of units",
        n,
        n.round(),
        unit="units",
        scale=np.maximum(n.abs(), 1.0),
        at=frame,
        describe=lambda x: (
            f"site {x.site_id}: {x.tech_id} capacity {x.capacity_mw:.9g} MW is not a multiple of its "
            f"{x.v_size:g} MW unit"
        ),
    )
    c.eq("units x unit size = capacity", frame["units"] * frame["v_size"], frame["capacity_mw"], unit="MW", at=frame)
    continuous = p.power[~p.power["tech_id"].isin(unit_size.index)]
    c.eq(
        "units blank without a unit size",
        continuous["units"],
        np.nan,
        unit="units",
        at=continuous,
        describe=lambda x: f"power.csv site {x.site_id}: {x.tech_id} has no unit size but claims {x.units} units",
    )
