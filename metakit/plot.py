"""Plots a person would rather look at than read: episodes and learning curves."""
from __future__ import annotations

import re
from typing import Mapping, Sequence

import matplotlib.axis as maxis
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine
from matplotlib.legend import Legend
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from metakit.episodes import Episodes


def episode_grid(episodes: Episodes, index: int = 0, title: str | None = None) -> plt.Figure:
    """One episode as a grid: a row per way, support images then query images (query framed).

    ``episodes.support`` is ``[B, N, K, H, W]`` and ``episodes.query`` ``[B, N, Q, H, W]``.
    """
    support = episodes.support[index].detach().cpu().numpy()
    query = episodes.query[index].detach().cpu().numpy()
    ways, shots, queries = support.shape[0], support.shape[1], query.shape[1]
    columns = shots + queries
    fig, axes = plt.subplots(ways, columns, figsize=(1.1 * columns + 0.6, 1.1 * ways + 0.6), squeeze=False)
    for way in range(ways):
        for col in range(columns):
            ax = axes[way, col]
            image = support[way, col] if col < shots else query[way, col - shots]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= shots:
                for spine in ax.spines.values():
                    spine.set_color("tab:orange")
                    spine.set_linewidth(2)
            if col == 0:
                ax.set_ylabel(f"label {way}", fontsize=8)
            if way == 0:
                ax.set_title("support" if col < shots else "query", fontsize=8)
    per_class = f"{queries} {'query' if queries == 1 else 'queries'} per class"
    fig.suptitle(title or f"{ways}-way {shots}-shot episode, {per_class}")
    fig.tight_layout()
    return fig


def learning_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], ylabel: str = "query accuracy",
                    xlabel: str = "step", title: str | None = None, chance: float | None = None) -> plt.Figure:
    """Several runs in one figure: ``{"label": (steps, values)}``; a dashed line at ``chance``."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, label=label)
    if all(float(x).is_integer() for xs, _ in curves.values() for x in xs):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps: no tick at step 2.5
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    return _finish(fig, ax, xlabel, ylabel, title)


def accuracy_with_ci(xs: Sequence[float], series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                     xlabel: str, ylabel: str = "accuracy", title: str | None = None,
                     logx: bool = False) -> plt.Figure:
    """Mean accuracy with 95% confidence bars: ``{"label": (means, ci_halfwidths)}`` over ``xs``."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, (means, cis) in series.items():
        ax.errorbar(xs, means, yerr=cis, marker="o", capsize=3, label=label)
    if logx:
        ax.set_xscale("log")
    return _finish(fig, ax, xlabel, ylabel, title)


def _finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str | None) -> plt.Figure:
    """Labels, a light grid, the legend and the title: what every line plot here ends with."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    place_legend(ax, fontsize=8)
    return fig


def place_legend(ax: plt.Axes, **options) -> Legend:
    """A legend that hides no data: matplotlib's best spot inside the axes when one is free, else outside on
    the right. ``options`` go to ``ax.legend``; the figure is laid out (``tight_layout``, unless it has a
    layout engine) before the legend is placed and again after it moves out."""
    fig = ax.figure
    _lay_out(fig)
    legend = ax.legend(loc="best", **options)
    if _covered(legend, fig, _draw(fig)):
        legend.remove()
        legend = ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **options)
        _lay_out(fig)
    return legend


def _lay_out(fig: Figure) -> None:
    """``tight_layout`` now, unless the figure lays itself out at every draw (layout="constrained"/"tight")."""
    if not isinstance(fig.get_layout_engine(), (ConstrainedLayoutEngine, TightLayoutEngine)):
        fig.tight_layout()


# --- checking a drawn figure -------------------------------------------------------------------------------
# figure_problems() is what tests/test_notebooks.py runs on every figure of every notebook: it names the
# defects a reader would notice (no title, unlabelled axes, text on text, cut-off text, a legend over the data,
# a data point outside the axes) in words, so a failing test says what to fix.

_TOLERANCE = 1.0  # pixels: boxes that merely touch, or poke out by less than this, are fine
_PLURAL_AFTER_ONE = re.compile(r"(?<![\w.])1 ([A-Za-z]+s)\b")


def figure_problems(fig: Figure) -> list[str]:
    """What is wrong with a figure, in words; ``[]`` for a figure fit to show.

    The figure is drawn with the Agg renderer first, so every extent is the one a reader sees. Problems:

    * an axes showing data (lines, collections, patches or images, axis visible) without a title, when the
      figure has no suptitle (a twin axes shares its partner's title);
    * an axis with tick labels but no label (axes with the axis off, such as image grids, have none);
    * two visible texts (titles, suptitle, axis and tick labels, legend texts, annotations) that overlap;
    * a text that reaches outside the figure (it would be cut off);
    * a legend whose box covers data (line vertices, scatter points, or a line drawn across it);
    * a data point of a line outside the axes' view limits, or its marker cut by the axes' edge;
    * "1" followed by a plural ("1 queries").
    """
    renderer = _draw(fig)
    texts = _visible_texts(fig)
    return (_title_problems(fig) + _label_problems(fig) + _overlap_problems(texts, renderer)
            + _outside_problems(fig, texts, renderer) + _legend_problems(fig, renderer) + _clipping_problems(fig)
            + _plural_problems(texts))


def _draw(fig: Figure) -> RendererBase:
    """Draw the figure with Agg and return the renderer the extents refer to; the figure keeps its canvas."""
    if isinstance(fig.canvas, FigureCanvasAgg):
        fig.canvas.draw()
        return fig.canvas.get_renderer()
    canvas = fig.canvas
    agg = FigureCanvasAgg(fig)  # attaches itself to the figure: give the figure its own canvas back after
    agg.draw()
    fig.set_canvas(canvas)
    return agg.get_renderer()


def _name(ax: plt.Axes) -> str:
    """How a message names an axes: its number in the figure and its title, if any."""
    title = _title(ax)
    return f"axes {ax.figure.axes.index(ax)}" + (f' ("{title}")' if title else "")


def _title(ax: plt.Axes) -> str:
    return " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t.strip())


def _shows_data(ax: plt.Axes) -> bool:
    """A visible axes, axis on, with something plotted in it."""
    return ax.get_visible() and ax.axison and bool(ax.lines or ax.collections or ax.patches or ax.images)


def _twins(ax: plt.Axes) -> list[plt.Axes]:
    """The axes itself and every other axes of its figure at the same place (twinx/twiny partners)."""
    here = ax.get_position().bounds
    return [other for other in ax.figure.axes if np.allclose(other.get_position().bounds, here)]


def _title_problems(fig: Figure) -> list[str]:
    if fig.get_suptitle().strip():
        return []
    return [f"{_name(ax)} shows data but has no title (and the figure has no suptitle)"
            for ax in fig.axes if _shows_data(ax) and not any(_title(twin) for twin in _twins(ax))]


def _label_problems(fig: Figure) -> list[str]:
    """An axis that shows tick labels needs a label (the figure's supxlabel/supylabel counts)."""
    problems = []
    for ax in fig.axes:
        if not _shows_data(ax):
            continue
        for letter, axis, figure_label in (("x", ax.xaxis, fig.get_supxlabel()), ("y", ax.yaxis, fig.get_supylabel())):
            if _tick_labels(axis) and not axis.label.get_text().strip() and not figure_label.strip():
                problems.append(f"{_name(ax)} has tick labels on its {letter} axis but no {letter} label")
    return problems


def _tick_labels(axis: maxis.Axis) -> list[Text]:
    """The tick labels a draw shows: ticks inside the view limits (``_update_ticks``), visible, not empty."""
    if not (axis.get_visible() and axis.axes.axison):
        return []
    ticks = axis._update_ticks()  # the ticks Axis.draw draws; no public method names them
    return [label for tick in ticks for label in (tick.label1, tick.label2)
            if label.get_visible() and label.get_text().strip()]


def _visible_texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every text a reader sees, each with words that name it: ``("x tick label '0.5' of axes 0", text)``."""
    found = [("figure text", text) for text in fig.texts]
    for legend in fig.legends:
        found += _legend_texts(legend, "figure legend")
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        name = _name(ax)
        found += [(f"{'title' if text in (ax.title, ax._left_title, ax._right_title) else 'text'} of {name}", text)
                  for text in ax.get_children() if isinstance(text, Text)]
        for letter, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if axis.get_visible() and ax.axison:
                found += [(f"{letter} label of {name}", axis.label), (f"{letter} offset of {name}", axis.offsetText)]
                found += [(f"{letter} tick label of {name}", label) for label in _tick_labels(axis)]
        if ax.get_legend() is not None:
            found += _legend_texts(ax.get_legend(), f"legend of {name}")
    return [(f'{kind} "{text.get_text()[:40]}"', text) for kind, text in found
            if text.get_visible() and text.get_text().strip()]


def _legend_texts(legend: Legend, name: str) -> list[tuple[str, Text]]:
    if not legend.get_visible():
        return []
    return [(f"{name} title", legend.get_title())] + [(f"{name} entry", text) for text in legend.get_texts()]


def _corners(text: Text, renderer: RendererBase) -> np.ndarray:
    """The four corners (display pixels) of a text's box, rotated with the text.

    ``get_window_extent`` is the upright box around the rotated text; rotated neighbours (slanted tick
    labels) overlap there although their letters do not, so the rotated box is recovered from it.
    """
    box = text.get_window_extent(renderer)
    angle = np.deg2rad(text.get_rotation())
    c, s = abs(np.cos(angle)), abs(np.sin(angle))
    upright = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    if abs(c * c - s * s) < 0.2:  # near 45 degrees the upright box does not pin the rotated one down
        return upright
    # the upright box of a w x h rectangle turned by angle is (w c + h s) x (w s + h c): solve for w and h
    w = (box.width * c - box.height * s) / (c * c - s * s)
    h = (box.height * c - box.width * s) / (c * c - s * s)
    if w <= 0 or h <= 0:
        return upright
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return half @ turn.T + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def _boxes_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex quadrilaterals overlap by more than the tolerance (separating-axis test)."""
    for poly in (a, b):
        for edge in np.diff(np.vstack([poly, poly[:1]]), axis=0):
            normal = np.array([-edge[1], edge[0]]) / (np.hypot(*edge) or 1.0)
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= _TOLERANCE:
                return False
    return True


def _overlap_problems(texts: list[tuple[str, Text]], renderer: RendererBase) -> list[str]:
    corners = [_corners(text, renderer) for _, text in texts]
    lo = np.array([c.min(axis=0) for c in corners]).reshape(-1, 2)
    hi = np.array([c.max(axis=0) for c in corners]).reshape(-1, 2)
    # only pairs whose upright boxes overlap can overlap: test those few exactly (a grid has thousands of pairs)
    near = ((np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None])) > _TOLERANCE).all(axis=-1)
    return [f"{texts[i][0]} overlaps {texts[j][0]}" for i, j in zip(*np.nonzero(np.triu(near, 1)))
            if _boxes_overlap(corners[i], corners[j])]


def _outside_problems(fig: Figure, texts: list[tuple[str, Text]], renderer: RendererBase) -> list[str]:
    inside = fig.bbox.padded(_TOLERANCE)
    problems = []
    for name, text in texts:
        box = text.get_window_extent(renderer)
        if not (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1):
            problems.append(f"{name} reaches outside the figure (it is cut off)")
    return problems


def _data_marks(ax: plt.Axes) -> list[tuple[str, np.ndarray, bool]]:
    """Every visible line and scatter of an axes: its name, its points in display pixels, joined by lines?"""
    marks = [(f'line "{line.get_label()}" of {_name(ax)}', line.get_transform().transform(line.get_xydata()),
              line.get_linestyle() not in ("None", "none", "", " "))
             for line in ax.lines if line.get_visible() and len(line.get_xydata())]
    marks += [(f"scatter points of {_name(ax)}", c.get_offset_transform().transform(c.get_offsets()), False)
              for c in ax.collections if isinstance(c, PathCollection) and c.get_visible() and len(c.get_offsets())]
    return [(name, xy[np.isfinite(xy).all(axis=1)], joined) for name, xy, joined in marks]


def _covered(legend: Legend, fig: Figure, renderer: RendererBase) -> list[str]:
    """The data a legend's box hides: points inside it, or a line drawn across it."""
    box = legend.get_window_extent(renderer)
    hidden = []
    for ax in fig.axes:
        for name, xy, joined in _data_marks(ax):
            inside = (xy[:, 0] > box.x0) & (xy[:, 0] < box.x1) & (xy[:, 1] > box.y0) & (xy[:, 1] < box.y1)
            if inside.any():
                hidden.append(f"{inside.sum()} point(s) of {name}")
            elif joined and len(xy) > 1 and Path(xy).intersects_bbox(box, filled=False):
                hidden.append(name)
    return hidden


def _legend_problems(fig: Figure, renderer: RendererBase) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [f"the legend covers {hidden}" for legend in legends if legend.get_visible()
            for hidden in _covered(legend, fig, renderer)]


def _clipping_problems(fig: Figure) -> list[str]:
    """A point of a data line outside the axes is not drawn; one on the edge loses half its marker."""
    problems = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        box = ax.get_window_extent()
        for line in ax.lines:
            if not (line.get_visible() and line.get_transform().contains_branch(ax.transData)):
                continue  # axhline/axvline span the axes by construction
            xy = line.get_transform().transform(line.get_xydata())
            xy = xy[np.isfinite(xy).all(axis=1)]
            has_marker = line.get_marker() not in (None, "", " ", "None", "none")
            radius = (line.get_markersize() + line.get_markeredgewidth()) / 2 * fig.dpi / 72
            margin = radius if has_marker else -_TOLERANCE  # a marker must fit inside the axes whole
            outside = ((xy[:, 0] < box.x0 + margin) | (xy[:, 0] > box.x1 - margin)
                       | (xy[:, 1] < box.y0 + margin) | (xy[:, 1] > box.y1 - margin)).sum()
            if outside:
                problems.append(f'{outside} point(s) of line "{line.get_label()}" of {_name(ax)} lie outside '
                                f"the axes or on their edge (clipped)")
    return problems


def _plural_problems(texts: list[tuple[str, Text]]) -> list[str]:
    """'1 queries': one of something takes the singular (words ending in -ss, -us, -is are not plurals)."""
    return [f'{name} says "1 {word}" (one {word} needs the singular)'
            for name, text in texts for word in _PLURAL_AFTER_ONE.findall(text.get_text())
            if not word.lower().endswith(("ss", "us", "is"))]
