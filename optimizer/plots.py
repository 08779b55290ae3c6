"""Pictures of a plan, drawn from its folder alone: map, cost per token by site, hourly dispatch.

``aifactory plot PLAN`` writes them as PNGs into ``PLAN/plots/``. The map draws US state outlines from
``bokeh_sampledata`` (US Census TIGER/Line, installed from PyPI) or from a boundary file the user
names; without either it still draws sites and regions on a longitude/latitude frame.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # files only: no display needed, works on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

LAYER_COLOURS = {"energy": "#e6a817", "chips": "#3b6fb6", "infrastructure": "#7a8b99"}
SOURCE_COLOURS = {
    "grid": "#6c757d", "solar": "#f2c12e", "wind": "#4fa3d1", "thermal": "#c0504d", "nuclear": "#8e6bbf",
    "storage": "#2ca58d",
}
#: map extent of the contiguous US, degrees (sites and regions outside it widen the frame)
US_EXTENT = (-125.0, -66.0, 24.0, 50.0)


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv")


def us_states(boundary_file: str | Path | None = None) -> gpd.GeoDataFrame | None:
    """State outlines: a user's boundary file, else bokeh_sampledata's US states, else None."""
    if boundary_file is not None:
        return gpd.read_file(boundary_file).to_crs(4326)
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
    regions = pd.read_csv(folder / "scenario" / "regions.csv").set_index("region_id")
    demand = pd.read_csv(folder / "scenario" / "demand.csv").groupby("region_id")["tokens_per_yr"].sum()
    built = sites[sites["built"] == 1].set_index("site_id")
    main_source = _main_source(folder)

    fig, ax = plt.subplots(figsize=(12, 7))
    states = us_states(boundary_file)
    if states is not None:
        states.plot(ax=ax, color="#f4f4f0", edgecolor="#b8b8b0", linewidth=0.6)
    links = deliveries.groupby(["site_id", "region_id"])["tokens_per_yr"].sum()
    widest = links.max() if len(links) else 1.0
    for (site, region), tokens in links.items():
        ax.plot([built.loc[site, "lon"], regions.loc[region, "lon"]], [built.loc[site, "lat"], regions.loc[region, "lat"]],
                color="#3b6fb6", alpha=0.35, linewidth=0.5 + 4.0 * tokens / widest, zorder=2)
    sizes = 40 + 400 * demand.reindex(regions.index, fill_value=0.0) / max(demand.max(), 1.0)
    ax.scatter(regions["lon"], regions["lat"], s=sizes, marker="s", color="#222222", alpha=0.6, zorder=3,
               label="demand region (size: tokens)")
    unbuilt = sites[sites["built"] == 0]
    ax.scatter(unbuilt["lon"], unbuilt["lat"], s=12, color="#999999", zorder=3, label="candidate site, not built")
    for kind, colour in SOURCE_COLOURS.items():
        chosen = built[main_source.reindex(built.index) == kind]
        if len(chosen):
            ax.scatter(chosen["lon"], chosen["lat"], s=30 + 2.0 * chosen["it_capacity_mw"], color=colour,
                       edgecolor="black", linewidth=0.8, zorder=4, label=f"site, mainly {kind} (size: IT MW)")
    for site, row in built.iterrows():
        ax.annotate(f"{site}\n{row['it_capacity_mw']:,.0f} MW", (row["lon"], row["lat"]), xytext=(6, 6),
                    textcoords="offset points", fontsize=8, zorder=5)
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


def plot_cost_by_site(folder: Path, out: Path) -> Path:
    """Stacked bars of $/Mtok by layer for each built site and for the whole plan."""
    sites, summary = _read(folder, "sites"), _read(folder, "summary").iloc[0]
    built = sites[sites["built"] == 1].set_index("site_id")
    mtok = built["delivered_tokens_per_yr"] / 1e6
    rows = pd.DataFrame({layer: built[f"{layer}_usd_per_yr"] / mtok for layer in LAYER_COLOURS})
    rows.loc["whole plan"] = [summary[f"{layer}_usd_per_mtok"] for layer in LAYER_COLOURS]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 5))
    bottom = pd.Series(0.0, index=rows.index)
    for layer, colour in LAYER_COLOURS.items():
        ax.bar(rows.index, rows[layer], bottom=bottom, color=colour, label=layer)
        bottom += rows[layer]
    for position, total in enumerate(bottom):
        ax.annotate(f"${total:.4f}", (position, total), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("USD per million tokens")
    ax.set_title(f"{folder.name}: cost per token by layer")
    ax.legend()
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    return _save(fig, out)


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
        raise ValueError(f"site '{site}' is not built in {folder}; built: {sorted(dispatch['site_id'].unique())}")
    if period is None:
        period = int(day.groupby("period")["weight_h"].first().idxmax())
    day = day[day["period"] == period].sort_values("hour")
    if day.empty:
        raise ValueError(f"period {period} is not in {folder}; periods: {sorted(dispatch['period'].unique())}")
    techs = pd.read_csv(folder / "scenario" / "power_techs.csv").set_index("tech_id")
    fig, ax = plt.subplots(figsize=(10, 5))
    bottom = pd.Series(0.0, index=day.index)
    for tech, kind in techs["kind"].items():
        column = f"{tech}_mw"
        if column in day and day[column].abs().max() > 1e-6:
            ax.bar(day["hour"], day[column], bottom=bottom, color=SOURCE_COLOURS[kind], label=tech, width=0.9,
                   alpha=0.9 if kind != "grid" else 0.6)
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


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
