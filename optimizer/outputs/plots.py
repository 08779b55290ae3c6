"""Pictures of a plan, drawn from its folder alone: map, cost per token by site, hourly dispatch.

``aifactory plot PLAN`` writes them as PNGs into ``PLAN/plots/``, and the map once more as a
self-contained interactive HTML page (bokeh, scripts inlined: it opens offline, with hover details
of every site and region). The map draws US state outlines from
``bokeh_sampledata`` (US Census TIGER/Line, installed from PyPI) or from a boundary file the user
names; without either it still draws sites and regions on a longitude/latitude frame.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

# Figure objects, not pyplot: files are drawn without a display or a global backend, so a notebook
# that imports this module keeps its own inline plots
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from optimizer.constants import TOKENS_PER_MTOK
from optimizer.contract import PLAN_STATUSES
from optimizer.inputs.safe_io import checked_file, read_csv

LAYER_COLOURS = {"energy": "#e6a817", "chips": "#3b6fb6", "infrastructure": "#7a8b99"}
SOURCE_COLOURS = {
    "grid": "#6c757d",
    "solar": "#f2c12e",
    "wind": "#4fa3d1",
    "thermal": "#c0504d",
    "nuclear": "#8e6bbf",
    "storage": "#2ca58d",
}
#: map extent of the contiguous US, degrees (sites and regions outside it widen the frame)
US_EXTENT = (-125.0, -66.0, 24.0, 50.0)


class PlotOptionError(ValueError):
    """A plot option (site, period, metric) that the folder does not have."""


def _read(folder: Path, name: str) -> pd.DataFrame:
    return read_csv(folder / f"{name}.csv", f"table '{name}'")


def us_states(boundary_file: str | Path | None = None) -> gpd.GeoDataFrame | None:
    """State outlines: a user's boundary file, else bokeh_sampledata's US states, else None."""
    if boundary_file is not None:
        return gpd.read_file(checked_file(boundary_file, what="boundary file")).to_crs(4326)
    try:
        from bokeh_sampledata.us_states import records
    except ImportError:
        return None
    states = [r for r in records() if r["code"] not in ("AK", "HI")]
    return gpd.GeoDataFrame(states, geometry=[r["geometry"] for r in states], crs=4326)


def _main_source(folder: Path) -> pd.Series:
    """Kind of the power source that delivers most energy at each built site."""
    power = _read(folder, "power")
    if power.empty:
        return pd.Series(dtype=str)
    energy = power.groupby(["site_id", "kind"])["generation_mwh_per_yr"].sum()
    return energy.groupby(level="site_id").idxmax().map(lambda key: key[1])


def plot_map(folder: Path, out: Path, boundary_file: str | Path | None = None) -> Path:
    """Sites sized by IT MW and coloured by their main power source; demand regions and the
    site-region links that carry tokens (line width by tokens)."""
    sites, deliveries = _read(folder, "sites"), _read(folder, "deliveries")
    regions = read_csv(folder / "scenario" / "regions.csv").set_index("region_id")
    demand = read_csv(folder / "scenario" / "demand.csv").groupby("region_id")["tokens_per_yr"].sum()
    built = sites[sites["built"] == 1].set_index("site_id")
    main_source = _main_source(folder)

    fig = Figure(figsize=(12, 7))
    ax = fig.subplots()
    states = us_states(boundary_file)
    if states is not None:
        states.plot(ax=ax, color="#f4f4f0", edgecolor="#b8b8b0", linewidth=0.6)
    links = deliveries.groupby(["site_id", "region_id"])["tokens_per_yr"].sum()
    widest = links.max() if len(links) else 1.0
    for (site, region), tokens in links.items():
        ax.plot(
            [built.loc[site, "lon"], regions.loc[region, "lon"]],
            [built.loc[site, "lat"], regions.loc[region, "lat"]],
            color="#3b6fb6",
            alpha=0.35,
            linewidth=0.5 + 4.0 * tokens / widest,
            zorder=2,
        )
    sizes = 40 + 400 * demand.reindex(regions.index, fill_value=0.0) / max(demand.max(), 1.0)
    ax.scatter(
        regions["lon"],
        regions["lat"],
        s=sizes,
        marker="s",
        color="#222222",
        alpha=0.6,
        zorder=3,
        label="demand region (size: tokens)",
    )
    unbuilt = sites[sites["built"] == 0]
    ax.scatter(unbuilt["lon"], unbuilt["lat"], s=12, color="#999999", zorder=3, label="candidate site, not built")
    for kind, colour in SOURCE_COLOURS.items():
        chosen = built[main_source.reindex(built.index) == kind]
        if len(chosen):
            ax.scatter(
                chosen["lon"],
                chosen["lat"],
                s=30 + 2.0 * chosen["it_capacity_mw"],
                color=colour,
                edgecolor="black",
                linewidth=0.8,
                zorder=4,
                label=f"site, mainly {kind} (size: IT MW)",
            )
    for site, row in built.iterrows():
        ax.annotate(
            f"{site}\n{row['it_capacity_mw']:,.0f} MW",
            (row["lon"], row["lat"]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            zorder=5,
        )
    west = min(US_EXTENT[0], sites["lon"].min() - 2, regions["lon"].min() - 2)
    east = max(US_EXTENT[1], sites["lon"].max() + 2, regions["lon"].max() + 2)
    south = min(US_EXTENT[2], sites["lat"].min() - 2, regions["lat"].min() - 2)
    north = max(US_EXTENT[3], sites["lat"].max() + 2, regions["lat"].max() + 2)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(f"{folder.name}: sites built, their main power source and the demand they serve")
    ax.legend(loc="lower left", fontsize=8, markerscale=0.5)
    return _save(fig, out)


def _exterior_rings(states: gpd.GeoDataFrame) -> tuple[list[list[float]], list[list[float]]]:
    """Longitudes and latitudes of every polygon's outer ring (holes do not matter at this scale)."""
    polygons = states.geometry.explode(index_parts=False)
    rings = [polygon.exterior.coords.xy for polygon in polygons if polygon.geom_type == "Polygon"]
    return [list(x) for x, _ in rings], [list(y) for _, y in rings]


def _site_details(folder: Path, built: pd.DataFrame) -> pd.DataFrame:
    """One line per built site for the hover box: power mix and accelerators as text."""
    power, chips = _read(folder, "power"), _read(folder, "chips")
    shown = power[power["capacity_mw"] >= 0.5]
    mix = shown.groupby("site_id").apply(
        lambda rows: ", ".join(f"{r.tech_id} {r.capacity_mw:,.0f} MW" for r in rows.itertuples()), include_groups=False
    )
    skus = chips.groupby("site_id").apply(
        lambda rows: ", ".join(f"{r.chip_id} x{int(r.chips):,}" for r in rows.itertuples()), include_groups=False
    )
    details = built.copy()
    details["power_mix"] = mix.reindex(details.index).fillna("")
    details["accelerators"] = skus.reindex(details.index).fillna("")
    details["main_source"] = _main_source(folder).reindex(details.index).fillna("grid")
    details["colour"] = details["main_source"].map(SOURCE_COLOURS)
    # marker area grows with IT MW, as on the PNG map
    details["size_px"] = 8 + 2.2 * details["it_capacity_mw"] ** 0.5
    return details.reset_index()


def plot_map_html(folder: Path, out: Path, boundary_file: str | Path | None = None) -> Path:
    """The map as an interactive page: pan, zoom, and hover for each site's IT MW, power mix,
    accelerators, cooling, PUE and $/Mtok, and each region's demand. Scripts are inlined, so the
    file opens without a network."""
    from bokeh.embed import file_html
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    sites, deliveries = _read(folder, "sites"), _read(folder, "deliveries")
    regions = read_csv(folder / "scenario" / "regions.csv")
    demand = read_csv(folder / "scenario" / "demand.csv").groupby("region_id")["tokens_per_yr"].sum()
    regions["demand_tokens_per_yr"] = regions["region_id"].map(demand).fillna(0.0)
    regions["size_px"] = 6 + 18 * regions["demand_tokens_per_yr"] / max(regions["demand_tokens_per_yr"].max(), 1.0)
    built = sites[sites["built"] == 1].set_index("site_id")

    page = figure(
        title=f"{folder.name}: sites built (size: IT MW, colour: main power source) and the demand they serve",
        width=1150,
        height=680,
        x_axis_label="longitude",
        y_axis_label="latitude",
        tools="pan,wheel_zoom,box_zoom,reset,save",
        active_scroll="wheel_zoom",
        match_aspect=True,
    )
    states = us_states(boundary_file)
    if states is not None:
        xs, ys = _exterior_rings(states)
        page.patches(xs, ys, fill_color="#f4f4f0", line_color="#b8b8b0", line_width=0.6)

    links = deliveries.groupby(["site_id", "region_id"])["tokens_per_yr"].sum().reset_index()
    if len(links):
        position = regions.set_index("region_id")
        link_source = ColumnDataSource(
            {
                "xs": [[built.loc[r.site_id, "lon"], position.loc[r.region_id, "lon"]] for r in links.itertuples()],
                "ys": [[built.loc[r.site_id, "lat"], position.loc[r.region_id, "lat"]] for r in links.itertuples()],
                "site": links["site_id"],
                "region": links["region_id"],
                "tokens": links["tokens_per_yr"],
                "width": 0.5 + 5.0 * links["tokens_per_yr"] / links["tokens_per_yr"].max(),
            }
        )
        link_glyph = page.multi_line(
            "xs",
            "ys",
            source=link_source,
            line_width="width",
            line_color="#3b6fb6",
            line_alpha=0.35,
            legend_label="tokens served (width: tokens)",
        )
        page.add_tools(
            HoverTool(renderers=[link_glyph], tooltips=[("link", "@site -> @region"), ("tokens/yr", "@tokens{0.00e0}")])
        )

    region_glyph = page.scatter(
        "lon",
        "lat",
        source=ColumnDataSource(regions),
        size="size_px",
        marker="square",
        color="#222222",
        alpha=0.6,
        legend_label="demand region (size: tokens)",
    )
    page.add_tools(
        HoverTool(
            renderers=[region_glyph],
            tooltips=[("region", "@name"), ("demand, tokens/yr", "@demand_tokens_per_yr{0.00e0}")],
        )
    )

    unbuilt = sites[sites["built"] == 0]
    candidate_glyph = page.scatter(
        "lon",
        "lat",
        source=ColumnDataSource(unbuilt),
        size=5,
        color="#999999",
        legend_label="candidate site, not built",
    )
    page.add_tools(
        HoverTool(
            renderers=[candidate_glyph],
            tooltips=[("candidate", "@name (@state)"), ("grid, MW", "@grid_capacity_mw{0,0}")],
        )
    )

    details = _site_details(folder, built)
    for kind in SOURCE_COLOURS:
        chosen = details[details["main_source"] == kind]
        if len(chosen):
            glyph = page.scatter(
                "lon",
                "lat",
                source=ColumnDataSource(chosen),
                size="size_px",
                color="colour",
                line_color="black",
                alpha=0.9,
                legend_label=f"site, mainly {kind}",
            )
            page.add_tools(
                HoverTool(
                    renderers=[glyph],
                    tooltips=[
                        ("site", "@name (@state, @iso)"),
                        ("IT capacity", "@it_capacity_mw{0,0} MW"),
                        ("cooling", "@cooling_id, PUE @annual_pue{0.000}"),
                        ("accelerators", "@accelerators"),
                        ("power", "@power_mix"),
                        ("cost", "$@usd_per_mtok{0.0000} per Mtok"),
                        ("emissions", "@emissions_t_per_yr{0,0} t CO2/yr"),
                    ],
                )
            )
    page.legend.location = "bottom_left"
    page.legend.click_policy = "hide"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(file_html(page, INLINE, title=f"{folder.name}: AI-factory plan map"))
    return out


def plot_cost_by_site(folder: Path, out: Path) -> Path:
    """Stacked bars of $/Mtok by layer for each built site and for the whole plan."""
    sites, summary = _read(folder, "sites"), _read(folder, "summary").iloc[0]
    built = sites[sites["built"] == 1].set_index("site_id")
    mtok = built["delivered_tokens_per_yr"] / TOKENS_PER_MTOK
    rows = pd.DataFrame({layer: built[f"{layer}_usd_per_yr"] / mtok for layer in LAYER_COLOURS})
    rows.loc["whole plan"] = [summary[f"{layer}_usd_per_mtok"] for layer in LAYER_COLOURS]
    fig = Figure(figsize=(max(6, 1.2 * len(rows)), 5))
    ax = _layer_bars(fig, rows, f"{folder.name}: cost per token by layer")
    ax.tick_params(axis="x", labelrotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    return _save(fig, out)


def _layer_bars(fig: Figure, rows: pd.DataFrame, title: str) -> Axes:
    """Stacked bars of $/Mtok by layer (columns of ``rows``, one bar per row), each bar's total on top."""
    ax = fig.subplots()
    bottom = pd.Series(0.0, index=rows.index)
    for layer, colour in LAYER_COLOURS.items():
        ax.bar(rows.index, rows[layer], bottom=bottom, color=colour, label=layer)
        bottom += rows[layer]
    for position, total in enumerate(bottom):
        ax.annotate(f"${total:.4f}", (position, total), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("USD per million tokens")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_dispatch(folder: Path, out: Path, site: str | None = None, period: int | None = None) -> Path:
    """Hourly supply by source on one representative day at one site, with the facility load.

    Defaults: the largest site, and the representative day standing for the most calendar days.
    """
    dispatch = _read(folder, "dispatch")
    sites = _read(folder, "sites")
    if site is None:
        site = sites.sort_values("it_capacity_mw", ascending=False)["site_id"].iloc[0]
    day = dispatch[dispatch["site_id"] == site]
    if day.empty:
        raise PlotOptionError(f"site '{site}' is not built in {folder}; built: {sorted(dispatch['site_id'].unique())}")
    if period is None:
        period = int(day.groupby("period")["weight_h"].first().idxmax())
    day = day[day["period"] == period].sort_values("hour")
    if day.empty:
        raise PlotOptionError(f"period {period} is not in {folder}; periods: {sorted(dispatch['period'].unique())}")
    techs = read_csv(folder / "scenario" / "power_techs.csv").set_index("tech_id")
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    bottom = pd.Series(0.0, index=day.index)
    for tech, kind in techs["kind"].items():
        column = f"{tech}_mw"
        if column in day and day[column].abs().max() > 1e-6:
            ax.bar(
                day["hour"],
                day[column],
                bottom=bottom,
                color=SOURCE_COLOURS[kind],
                label=tech,
                width=0.9,
                alpha=0.9 if kind != "grid" else 0.6,
            )
            bottom += day[column]
    for column in [c for c in day.columns if c.endswith("_discharge_mw") and not c.startswith("bridge_")]:
        if day[column].max() > 1e-6:
            ax.bar(day["hour"], day[column], bottom=bottom, color=SOURCE_COLOURS["storage"], label=column, width=0.9)
            bottom += day[column]
        charge = column.replace("_discharge_mw", "_charge_mw")
        if day[charge].max() > 1e-6:
            ax.bar(day["hour"], -day[charge], color=SOURCE_COLOURS["storage"], alpha=0.5, label=charge, width=0.9)
    ax.plot(day["hour"], day["facility_mw"], color="black", linewidth=2, label="facility load")
    ax.set_xlabel("hour (local standard time)")
    ax.set_ylabel("MW")
    weight_days = day["weight_h"].iloc[0]
    ax.set_title(f"{site}, representative day {period} (stands for {weight_days:g} days)")
    ax.legend(fontsize=8, ncol=2)
    return _save(fig, out)


def sweep_parameters(sweep: pd.DataFrame) -> list[str]:
    """The parameter columns of a sweep.csv: those between case_id and status (a parameter may
    share its name with a result column, e.g. ``chips``)."""
    columns = list(sweep.columns)
    if "case_id" not in columns or "status" not in columns:
        raise ValueError("not a sweep table: case_id and status columns are missing")
    return columns[columns.index("case_id") + 1 : columns.index("status")]


#: a parameter with more distinct values than this (a sampled range) is split into quartiles
DISTINCT_VALUES_SHOWN = 6


def sensitivity(sweep: pd.DataFrame, metric: str = "usd_per_mtok") -> tuple[pd.DataFrame, float]:
    """Each parameter's effect on ``metric``: the mean result at its lowest and highest setting.

    In a one-at-a-time sweep that is the case with only this parameter moved; in a grid it is the
    main effect (the mean over the other parameters); a sampled range compares its lowest and
    highest quartile. The reference is the base case where the sweep has one (no parameter set),
    else the mean of all solved cases. Cases without a plan are left out.
    """
    if metric not in sweep.columns:
        raise PlotOptionError(f"sweep.csv has no column '{metric}'")
    solved = sweep[sweep["status"].isin(PLAN_STATUSES)]
    if solved.empty:
        raise ValueError("no case of this sweep has a plan: nothing to chart")
    parameters = sweep_parameters(sweep)
    untouched = solved[solved[parameters].isna().all(axis=1)]
    reference = float(untouched[metric].mean() if len(untouched) else solved[metric].mean())
    rows = []
    for name in parameters:
        moved = solved.dropna(subset=[name])
        if moved.empty:
            continue
        values = pd.to_numeric(moved[name], errors="coerce")
        if values.isna().any():  # labels (e.g. notebook variants), not numbers: no low and high
            continue
        if values.nunique() > DISTINCT_VALUES_SHOWN:
            low_rows, high_rows = moved[values <= values.quantile(0.25)], moved[values >= values.quantile(0.75)]
            low_label, high_label = f"<= {values.quantile(0.25):.4g}", f">= {values.quantile(0.75):.4g}"
        else:
            low_rows, high_rows = moved[values == values.min()], moved[values == values.max()]
            low_label, high_label = f"{values.min():.4g}", f"{values.max():.4g}"
        at_low, at_high = float(low_rows[metric].mean()), float(high_rows[metric].mean())
        rows.append(
            {
                "parameter": name,
                "low_setting": low_label,
                "high_setting": high_label,
                f"{metric}_at_low": at_low,
                f"{metric}_at_high": at_high,
                "swing": abs(at_high - at_low),
                "reference": reference,
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError("no numeric parameter of this sweep was moved in a solved case")
    return table.sort_values("swing", ascending=False).reset_index(drop=True), reference


def plot_tornado(folder: Path, out: Path, metric: str = "usd_per_mtok") -> Path:
    """Tornado chart of a sweep folder: one bar per parameter from its effect at the lowest setting
    to its effect at the highest, widest on top; ``sensitivity.csv`` beside it holds the numbers."""
    table, reference = sensitivity(_read(folder, "sweep"), metric)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.parent / "sensitivity.csv", index=False)
    fig = Figure(figsize=(10, 1.6 + 0.6 * len(table)))
    ax = fig.subplots()
    positions = range(len(table))[::-1]
    for y, row in zip(positions, table.itertuples(index=False)):
        ends = [
            (getattr(row, f"{metric}_at_low"), row.low_setting, "#3b6fb6", "lowest setting"),
            (getattr(row, f"{metric}_at_high"), row.high_setting, "#c0504d", "highest setting"),
        ]
        # the longer bar first, so that a shorter one on the same side stays visible on top of it
        for value, _, colour, label in sorted(ends, key=lambda end: -abs(end[0] - reference)):
            ax.barh(
                y,
                value - reference,
                left=reference,
                color=colour,
                height=0.6,
                label=label if y == len(table) - 1 else None,
            )
        sides = {value >= reference for value, *_ in ends}
        groups = [ends] if len(sides) == 1 else [[end] for end in ends]  # one label per side of the line
        for group in groups:
            outer = max(group, key=lambda end: abs(end[0] - reference))[0]
            right = outer >= reference
            text = ", ".join(f"{setting}: {value:.4g}" for value, setting, *_ in group)
            ax.annotate(
                text,
                (outer, y),
                xytext=(4 if right else -4, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize=8,
            )
    ax.axvline(reference, color="black", linewidth=1)
    ax.set_yticks(list(positions), table["parameter"])
    ax.set_xlabel(f"{metric} (reference {reference:.4g})")
    span = max(table[[f"{metric}_at_low", f"{metric}_at_high"]].sub(reference).abs().max().max(), abs(reference) * 1e-3)
    ax.set_xlim(reference - 1.6 * span, reference + 1.6 * span)
    ax.set_title(f"{folder.name}: sensitivity of {metric}")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, out)


def _year_labels(years: pd.DataFrame) -> list[str]:
    """A planning year as the calendar years it stands for: 2030-2031, or 2028 alone."""
    return [f"{y}-{e - 1}" if e - y > 1 else str(y) for y, e in zip(years["year"], years["end_year"], strict=True)]


def plot_buildout_it(folder: Path, out: Path) -> Path:
    """A build-out's IT capacity standing at each site, planning year by planning year (stacked)."""
    schedule, years = _read(folder, "schedule"), _read(folder, "years")
    table = schedule.pivot_table(index="year", columns="site_id", values="it_capacity_mw", aggfunc="sum")
    table = table.reindex(years["year"]).fillna(0.0)
    table = table[table.sum().sort_values(ascending=False).index]
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    labels = _year_labels(years)
    bottom = pd.Series(0.0, index=table.index)
    for site in table.columns:
        ax.bar(labels, table[site].to_numpy(), bottom=bottom.to_numpy(), label=site)
        bottom += table[site]
    ax.set_ylabel("IT capacity standing, MW")
    ax.set_title(f"{folder.name}: IT capacity by site")
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out)


def plot_buildout_fleet(folder: Path, out: Path) -> Path:
    """A build-out's accelerators standing by SKU (generation), planning year by planning year."""
    fleet, years = _read(folder, "fleet"), _read(folder, "years")
    chips = read_csv(folder / "scenario" / "chips.csv", "table 'chips'").set_index("chip_id")
    fleet["accelerators"] = fleet["racks"] * fleet["chip_id"].map(chips["chips_per_rack"])
    table = fleet.pivot_table(index="year", columns="chip_id", values="accelerators", aggfunc="sum")
    table = table.reindex(years["year"]).fillna(0.0)
    order = chips.loc[table.columns].sort_values("available_year").index
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    labels = _year_labels(years)
    bottom = pd.Series(0.0, index=table.index)
    for chip in order:
        ax.bar(
            labels,
            table[chip].to_numpy(),
            bottom=bottom.to_numpy(),
            label=f"{chip} ({chips.loc[chip, 'available_year']})",
        )
        bottom += table[chip]
    ax.set_ylabel("accelerators standing")
    ax.set_title(f"{folder.name}: accelerator fleet by generation (first year of sale)")
    ax.legend(fontsize=7)
    return _save(fig, out)


def plot_buildout_cost(folder: Path, out: Path) -> Path:
    """A build-out's cost per token by layer in each planning year, and levelised over all of them."""
    years, summary = _read(folder, "years"), _read(folder, "summary").iloc[0]
    rows = pd.DataFrame({layer: years[f"{layer}_usd_per_mtok"].to_numpy() for layer in LAYER_COLOURS})
    rows.index = pd.Index(_year_labels(years))
    rows.loc["levelised"] = [summary[f"levelised_{layer}_usd_per_mtok"] for layer in LAYER_COLOURS]
    fig = Figure(figsize=(8, 5))
    _layer_bars(fig, rows, f"{folder.name}: cost per token by year and layer")
    return _save(fig, out)


def _save(fig: Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return out
