"""Route-flow map of one run: the network at its node coordinates, edges as arrows whose width is the number of
people who entered the edge and whose colour is the edge's loss rate.

Loss rate of an edge = (returned + caught + killed) / entered, from summary.json's by_edge (repatriations happen
at transit nodes, not on edges, and are written beside those nodes). Positions: longitude/latitude when every
node has them (drawn with the local aspect 1/cos(mean latitude)); otherwise a fixed layered layout (origins,
borders, transit, destinations from left to right, in scenario order), which does not move between runs.
When a few far-away nodes would squeeze the rest into a corner, a second, larger panel shows the dense part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle

from sim.plots import style
from sim.plots.style import NotApplicable
from sim.directories import RunData

KINDS = ("origin", "border", "transit", "destination")
KIND_MARKERS = {"origin": "o", "border": "s", "transit": "D", "destination": "*"}
KIND_SIZES = {"origin": 55, "border": 45, "transit": 50, "destination": 160}
LOSS_CMAP = LinearSegmentedColormap.from_list(
    "loss", [mpl.colormaps["plasma"](x) for x in np.linspace(0.0, 0.85, 64)])
MAX_WIDTH = 9.0  # points, for the busiest edge
MIN_WIDTH = 0.8


@dataclass
class Layout:
    pos: dict[str, tuple[float, float]]
    geographic: bool
    aspect: float  # display height per data unit of y, relative to x
    core: list[str]  # nodes of the dense part (all nodes when no detail panel is needed)

    @property
    def needs_detail(self) -> bool:
        return len(self.core) < len(self.pos)


def layout(nodes: list[dict]) -> Layout:
    """Node positions (see module docstring) and the dense core: nodes within 3 median distances of the median
    position, kept apart only when their extent is under 40% of the whole map's."""
    ids = [n["id"] for n in nodes]
    if nodes and all(n.get("lon") is not None and n.get("lat") is not None for n in nodes):
        pos = {n["id"]: (float(n["lon"]), float(n["lat"])) for n in nodes}
        mean_lat = float(np.mean([p[1] for p in pos.values()]))
        aspect = 1 / max(math.cos(math.radians(mean_lat)), 0.2)
        core = _core(pos, aspect)
        return Layout(pos, True, aspect, core)
    pos = {}
    for x, kind in enumerate(KINDS):
        members = [n["id"] for n in nodes if n.get("kind") == kind]
        for i, nid in enumerate(members):
            pos[nid] = (float(x), (len(members) - 1) / 2 - i)
    for nid in ids:  # unknown kinds (not produced by a valid scenario) go to the far right
        pos.setdefault(nid, (float(len(KINDS)), 0.0))
    return Layout(pos, False, 1.0, ids)


def _core(pos: dict[str, tuple[float, float]], aspect: float) -> list[str]:
    ids = list(pos)
    if len(ids) < 5:
        return ids
    xy = np.array([pos[i] for i in ids]) * [1.0, aspect]
    centre = np.median(xy, axis=0)
    dist = np.hypot(*(xy - centre).T)
    inside = dist <= 3 * max(float(np.median(dist)), 1e-9)
    if inside.sum() < 3 or inside.all():
        return ids
    full = np.ptp(xy, axis=0).max()
    part = np.ptp(xy[inside], axis=0).max()
    return [i for i, k in zip(ids, inside) if k] if part < 0.4 * full else ids


def _edge_stats(run: RunData) -> dict[str, tuple[int, float | None]]:
    """edge id -> (entered, loss rate or None when nobody entered). NotApplicable when summary.json records no
    crossings per edge (`by_edge`): every edge would be drawn as one no one entered."""
    if "by_edge" not in run.summary:
        raise NotApplicable("its summary.json records no crossings per edge ('by_edge', written by every run "
                            "since the route map was added)")
    out = {}
    for eid, c in run.summary["by_edge"].items():
        entered = int(c.get("entered", 0))
        lost = int(c.get("returned", 0)) + int(c.get("caught", 0)) + int(c.get("killed", 0))
        out[eid] = (entered, lost / entered if entered else None)
    return out


def _width(entered: int, top: int) -> float:
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * entered / top if top else MIN_WIDTH


def _arrow(width: float) -> str:
    """'simple' arrow style for a shaft `width` points wide (units of the mutation scale, 10 points)."""
    return (f"simple,tail_width={width / 10:.3f},head_width={(width + 6) / 10:.3f},"
            f"head_length={(0.5 * width + 5) / 10:.3f}")


def _curvatures(edges: list[dict]) -> dict[str, float]:
    """Arc curvature per edge: 0 for a lone edge, spread symmetrically for parallel edges between two nodes."""
    pairs: dict[tuple, list[str]] = {}
    for e in edges:
        pairs.setdefault(tuple(sorted((e["from"], e["to"]))), []).append(e["id"])
    rad = {}
    for (a, _b), members in pairs.items():
        k = len(members)
        for i, eid in enumerate(members):
            r = 0.0 if k == 1 else (i - (k - 1) / 2) * 0.35
            edge = next(e for e in edges if e["id"] == eid)
            rad[eid] = r if edge["from"] == a else -r  # same side whatever the direction
    return rad


def _draw(ax, run: RunData, lay: Layout, show: list[str], *, detail: bool) -> tuple[list, list]:
    """Edges (busiest on top), route names of labelled edges inside the panel, node markers. Returns the node
    labels to place, as (text, x, y), for the nodes in `show`, and the route labels with their edge's ends and
    curvature, to centre on the drawn arcs once the layout is final."""
    nodes = run.scenario["network"]["nodes"]
    edges = run.scenario["network"]["edges"]
    stats = _edge_stats(run)
    top = max([s[0] for s in stats.values()] + [0])
    rad = _curvatures(edges)
    norm = Normalize(0, 1)
    size_scale = 1.0 if detail else 0.6
    route_labels = []
    for e in sorted(edges, key=lambda e: stats.get(e["id"], (0, None))[0]):
        (x1, y1), (x2, y2) = lay.pos[e["from"]], lay.pos[e["to"]]
        entered, loss = stats.get(e["id"], (0, None))
        width = _width(entered, top) * size_scale
        colour = "#BBBBBB" if loss is None else LOSS_CMAP(norm(loss))
        connection = f"arc3,rad={rad[e['id']]}"
        if loss is None:
            arrow = FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=connection, arrowstyle="-", lw=width,
                                    color=colour, ls="--", shrinkA=6, shrinkB=8, zorder=2)
        else:  # a filled arrow whose shaft is `width` points wide and whose head grows gently with it
            arrow = FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=connection, arrowstyle=_arrow(width),
                                    mutation_scale=10, lw=0, color=colour, shrinkA=6, shrinkB=9, zorder=2,
                                    alpha=0.95)
        arrow.set_gid("edge")
        ax.add_patch(arrow)
        if detail and e.get("route") and e["from"] in show and e["to"] in show:
            # placed at the straight midpoint for now; moved onto the arc once the layout is final
            text = ax.text((x1 + x2) / 2, (y1 + y2) / 2, e["route"], fontsize=7.5, style="italic", ha="center",
                           va="center", zorder=4, color="#222222", gid="route",
                           bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
            route_labels.append((text, (x1, y1), (x2, y2), rad[e["id"]]))
    repatriated = run.summary.get("repatriated_at", {})
    labels = []
    for n in nodes:
        x, y = lay.pos[n["id"]]
        kind = n.get("kind", "transit")
        ax.scatter([x], [y], s=KIND_SIZES.get(kind, 45) * size_scale, marker=KIND_MARKERS.get(kind, "o"),
                   facecolor="white", edgecolor="#222222", linewidth=1.2, zorder=5)
        if n["id"] in show:
            text = n.get("label") or n["id"]
            if repatriated.get(n["id"]):
                text += f"\n{repatriated[n['id']]:,} repatriated"
            labels.append((text, x, y))
    return labels, route_labels


def _centre_route_labels(ax, route_labels) -> None:
    """Move each route name to the middle of its edge's arc. An 'arc3' connection of curvature r from A to B is a
    quadratic Bezier in display space with control point M + r·(dy, −dx); its middle is M + r/2·(dy, −dx)."""
    for text, a, b, r in route_labels:
        (ax_, ay), (bx, by) = ax.transData.transform([a, b])
        dx, dy = bx - ax_, by - ay
        mid = ((ax_ + bx) / 2 + 0.5 * r * dy, (ay + by) / 2 - 0.5 * r * dx)
        text.set_position(ax.transData.inverted().transform(mid))


# Candidate label offsets (points) and alignments around a node, in order of preference.
_CANDIDATES = [((0, 8), "center", "bottom"), ((0, -8), "center", "top"), ((8, 0), "left", "center"),
               ((-8, 0), "right", "center"), ((7, 6), "left", "bottom"), ((-7, 6), "right", "bottom"),
               ((7, -6), "left", "top"), ((-7, -6), "right", "top"), ((0, 22), "center", "bottom"),
               ((0, -22), "center", "top"), ((22, 0), "left", "center"), ((-22, 0), "right", "center"),
               ((18, 16), "left", "bottom"), ((-18, 16), "right", "bottom"), ((18, -16), "left", "top"),
               ((-18, -16), "right", "top")]


def _place_labels(ax, labels: list[tuple[str, float, float]], renderer) -> None:
    """Put each node label at the candidate position with the lowest penalty: edge length covered (1 per 4 px),
    node markers covered (8 each), the share of other labels and route names hidden, leaving the panel, and ending up
    nearer another node than its own (ambiguous). Far candidates get a thin leader line. A greedy search; the
    figure must have been drawn once so that the layout is final. Labels are kept out of the layout so that
    placing them does not move the axes."""
    edge_parts = [_resample(p.get_transform().transform(p.get_path().vertices), 4.0)
                  for p in ax.patches if p.get_gid() == "edge"]
    edge_pts = np.vstack(edge_parts) if edge_parts else np.empty((0, 2))
    node_pts = np.vstack([c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections]
                         or [np.empty((0, 2))])
    taken = [t.get_window_extent(renderer).padded(2) for t in ax.texts if t.get_gid() == "route"]
    frame = ax.get_window_extent(renderer)
    for text, x, y in sorted(labels, key=lambda t: -len(t[0])):
        own = ax.transData.transform((x, y))
        others = node_pts[np.hypot(*(node_pts - own).T) > 1.0]
        best, best_score = None, None
        for rank, (offset, ha, va) in enumerate(_CANDIDATES):
            far = max(abs(offset[0]), abs(offset[1])) > 12
            ann = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=8,
                              zorder=6, bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                              "alpha": 0.85},
                              arrowprops={"arrowstyle": "-", "color": "#666666", "lw": 0.6, "shrinkA": 0,
                                          "shrinkB": 4} if far else None)
            box = ann.get_window_extent(renderer).padded(2)  # the white box around the text
            area = max(box.width * box.height, 1.0)
            score = (_covered(edge_pts, box) + 8 * _covered(others, box)
                     + 400 * sum(_area(box, t) / max(t.width * t.height, 1.0) for t in taken)
                     + 1000 * (1 - _area(box, frame) / area) + 0.3 * rank)
            centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
            if len(others) and np.hypot(*(others - centre).T).min() < np.hypot(*(own - centre)):
                score += 6
            if best_score is None or score < best_score:
                if best is not None:
                    best.remove()
                best, best_score = ann, score
            else:
                ann.remove()
        assert best is not None  # _CANDIDATES is not empty, and the first candidate is always kept
        best.set_in_layout(False)
        taken.append(best.get_window_extent(renderer).padded(2))


def _resample(xy: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` pixels along a polyline (so that coverage measures length, not vertex count)."""
    if len(xy) < 2:
        return xy
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(0.0, cum[-1] + step / 2, step)
    return np.column_stack([np.interp(at, cum, xy[:, 0]), np.interp(at, cum, xy[:, 1])])


def _covered(points: np.ndarray, box) -> int:
    b = box.expanded(1.04, 1.15)
    return int(((points[:, 0] >= b.x0) & (points[:, 0] <= b.x1)
                & (points[:, 1] >= b.y0) & (points[:, 1] <= b.y1)).sum())


def _area(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _shape(lim: tuple[float, float, float, float], aspect: float) -> float:
    """Height / width of a panel showing these limits at this aspect."""
    x0, x1, y0, y1 = lim
    return (y1 - y0) * aspect / (x1 - x0)


@style.styled
def route_map(run: RunData) -> Figure:
    """The route-flow map (see module docstring)."""
    nodes = run.scenario["network"]["nodes"]
    lay = layout(nodes)
    stats = _edge_stats(run)
    top = max([s[0] for s in stats.values()] + [0])
    panel_h = 5.6
    if lay.needs_detail:
        lims = [_bounds(lay, list(lay.pos), 0.06), _bounds(lay, lay.core, 0.25)]
    else:
        lims = [_bounds(lay, list(lay.pos), 0.18)]
    if lay.geographic:
        widths = [min(max(panel_h / _shape(lim, lay.aspect), 2.5), 9.0) for lim in lims]
        if lay.needs_detail:  # the overview is context: no wider than the detail
            widths[0] = min(widths[0], widths[1])
    else:
        widths = [8.0]
    fig = style.figure(min(max(sum(widths) + 2.6, 8.0), 16.0), panel_h + 1.9)
    axes = list(np.atleast_1d(fig.subplots(1, len(lims), gridspec_kw={"width_ratios": widths})))
    placements = []
    if lay.needs_detail:
        ax_over, ax = axes
        outer = [i for i in lay.pos if i not in lay.core]
        placements.append((ax_over, _draw(ax_over, run, lay, outer, detail=False)))
        placements.append((ax, _draw(ax, run, lay, lay.core, detail=True)))
        x0, x1, y0, y1 = lims[1]
        ax_over.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="#444444", lw=1, ls="--",
                                    zorder=1))
        ax_over.annotate("detail at right", (x1, y1), xytext=(0, 3), textcoords="offset points", fontsize=7.5,
                         color="#444444", ha="right", va="bottom")
        ax_over.set_title("Whole network")
        ax.set_title("Detail (dashed box at left)")
    else:
        placements.append((axes[0], _draw(axes[0], run, lay, list(lay.pos), detail=True)))
    for a, lim in zip(axes, lims):
        a.set_xlim(lim[0], lim[1])
        a.set_ylim(lim[2], lim[3])
        if lay.geographic:
            a.set_aspect(lay.aspect, adjustable="box")
            a.set_xlabel("longitude (°E)")
            a.set_ylabel("latitude (°N)")
        else:
            a.set_xticks(range(len(KINDS)), KINDS)
            a.set_yticks([])
            a.set_xlabel("journey stage (node kind); the scenario gives no coordinates: fixed layered layout")
            a.set_ylabel("nodes in scenario order")
            a.grid(False)
    sm = mpl.cm.ScalarMappable(norm=Normalize(0, 1), cmap=LOSS_CMAP)
    cbar = fig.colorbar(sm, ax=axes, shrink=0.7, pad=0.03, aspect=30, format=style.PERCENT)
    cbar.set_label("loss rate on the edge:\n(turned back + caught + killed) / entered")
    handles = [Line2D([], [], color="#555555", lw=_width(v, top), label=f"{v:,} entered")
               for v in _reference_flows(top)]
    handles.append(Line2D([], [], color="#BBBBBB", lw=MIN_WIDTH, ls="--", label="no one entered"))
    handles += [Line2D([], [], ls="", marker=KIND_MARKERS[k], markersize=7 if k != "destination" else 11,
                       markerfacecolor="white", markeredgecolor="#222222", label=k) for k in KINDS]
    fig.legend(handles=handles, loc="outside lower center", ncol=4,
               title="edge width: people who entered the edge over the run; node shape: kind")
    style.title(fig, f"Route-flow map: {run.name} (seed {run.summary['provenance']['seed']})")
    fig.canvas.draw()  # final layout first, so that labels can be placed in display space
    assert isinstance(fig.canvas, FigureCanvasAgg)  # style.figure draws with Agg
    renderer = fig.canvas.get_renderer()
    for a, (labels, route_labels) in placements:
        _centre_route_labels(a, route_labels)
        _place_labels(a, labels, renderer)
    fig.set_layout_engine("none")  # freeze: the labels were placed for this layout
    return fig


def _bounds(lay: Layout, ids: list[str], pad: float) -> tuple[float, float, float, float]:
    """Axis limits around these nodes: a margin of `pad` times the extent (plus a little) above and below, and
    half as much again left and right, where labels beside the outermost nodes need room."""
    xy = np.array([lay.pos[i] for i in ids])
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    m = 0.3 if lay.geographic else 0.5
    return x0 - 1.5 * pad * w - m, x1 + 1.5 * pad * w + m, y0 - pad * h - m, y1 + pad * h + m


def _reference_flows(top: int) -> list[int]:
    """Three round flows for the width legend: about a tenth, a third and all of the busiest edge's."""
    if top <= 0:
        return []
    out = []
    for frac in (0.1, 0.35, 1.0):
        v = top * frac
        mag = 10 ** max(math.floor(math.log10(v)) - 1, 0) if v >= 1 else 1
        r = round(v / mag) * mag or 1
        if r not in out:
            out.append(r)
    return out
