"""metakit.plot.figure_problems: fit figures pass, and each kind of defect is named; the kit's plot helpers pass."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from metakit.episodes import Episodes
from metakit.plot import (_corners, accuracy_with_ci, episode_grid, figure_problems, learning_curves,
                          place_legend)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def line_plot(title: str | None = "a curve", xlabel: str | None = "step", ylabel: str | None = "loss",
              legend: str | None = "upper right") -> tuple[Figure, plt.Axes]:
    """A fit figure to spoil: a falling curve (the upper right corner is empty), labelled, laid out."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = np.linspace(0, 10, 50)
    ax.plot(xs, np.exp(-xs / 2), marker="o", markersize=3, label="training loss")
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc=legend)
    fig.tight_layout()
    return fig, ax


def one_problem(fig: Figure, *words: str) -> str:
    """The figure has exactly one problem and it says all of ``words``."""
    problems = figure_problems(fig)
    assert len(problems) == 1, problems
    assert all(word in problems[0] for word in words), problems
    return problems[0]


# --- fit figures: no problems ------------------------------------------------------------------------------

def test_a_labelled_titled_line_plot_has_no_problems() -> None:
    fig, _ = line_plot()
    assert figure_problems(fig) == []


def test_a_suptitle_stands_for_the_axes_titles_and_shared_ticks_need_no_label() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(9, 3), sharey=True)
    for k, ax in enumerate(axes):
        ax.plot([1, 2, 3], [k, k + 1, k + 3])
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")  # the other two show no y tick labels (sharey), so they need no y label
    fig.suptitle("three panels")
    fig.tight_layout()
    assert figure_problems(fig) == []


def test_an_image_grid_with_the_axis_off_needs_no_labels() -> None:
    fig, axes = plt.subplots(2, 3, figsize=(4, 3))
    for ax in axes.flat:
        ax.imshow(np.random.default_rng(0).random((8, 8)))
        ax.axis("off")
    fig.suptitle("examples")
    fig.tight_layout()
    assert figure_problems(fig) == []


def test_a_twin_axes_shares_the_title_of_its_partner() -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([0, 1, 2], [3, 2, 1], color="tab:red")
    ax.set(title="loss and accuracy", xlabel="step", ylabel="loss")
    twin = ax.twinx()
    twin.plot([0, 1, 2], [0.2, 0.5, 0.7])
    twin.set_ylabel("accuracy")
    fig.tight_layout()
    assert figure_problems(fig) == []


def test_slanted_tick_labels_close_together_do_not_overlap() -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    names = [f"alphabet number {k}" for k in range(12)]
    ax.bar(range(12), np.linspace(0.3, 0.9, 12))
    ax.set_xticks(range(12), names, rotation=35, ha="right", fontsize=8)
    ax.set(title="slanted labels", xlabel="alphabet", ylabel="accuracy")
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels()]
    assert boxes[0].overlaps(boxes[1]), "the upright boxes overlap: this figure tests the rotated ones"
    assert figure_problems(fig) == []


def test_a_figure_without_an_agg_canvas_is_drawn_with_agg() -> None:
    fig = Figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 1])
    ax.set(title="no pyplot", xlabel="x", ylabel="y")
    fig.tight_layout()
    canvas = fig.canvas
    assert not isinstance(canvas, FigureCanvasAgg)
    assert figure_problems(fig) == []
    assert fig.canvas is canvas, "the check gave the figure back its own canvas"


def test_rotated_corners_recover_the_text_box() -> None:
    fig, ax = plt.subplots()
    upright = ax.text(0.5, 0.5, "some words", rotation=0)
    slanted = ax.text(0.5, 0.5, "some words", rotation=30)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width = lambda c: np.hypot(*(c[1] - c[0]))  # noqa: E731
    height = lambda c: np.hypot(*(c[3] - c[0]))  # noqa: E731
    a, b = _corners(upright, renderer), _corners(slanted, renderer)
    assert width(b) == pytest.approx(width(a), rel=0.05) and height(b) == pytest.approx(height(a), rel=0.05)


# --- each kind of problem is found -------------------------------------------------------------------------

def test_a_plot_without_a_title_is_named() -> None:
    fig, _ = line_plot(title=None)
    one_problem(fig, "no title")


def test_missing_axis_labels_are_named() -> None:
    fig, _ = line_plot(xlabel=None)
    one_problem(fig, "x axis", "no x label")
    fig, _ = line_plot(ylabel=None)
    one_problem(fig, "y axis", "no y label")


def test_overlapping_texts_are_named() -> None:
    fig, ax = line_plot()
    ax.text(5, 0.6, "first note")
    ax.text(5.2, 0.6, "second note")
    one_problem(fig, '"first note"', "overlaps", '"second note"')


def test_crowded_tick_labels_overlap_each_other() -> None:
    fig, ax = line_plot()
    ax.set_xticks(np.linspace(0, 10, 41))
    problems = figure_problems(fig)
    assert problems and all("x tick label" in p and "overlaps" in p for p in problems), problems


def test_a_title_on_the_tick_labels_of_the_panel_above_is_found() -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4, 3))  # no layout: the lower title sits on the upper ticks
    for ax, name in ((top, "upper"), (bottom, "lower panel title in a large font")):
        ax.plot([0, 1], [0, 1])
        ax.set(xlabel="x", ylabel="y")
        ax.set_title(name, fontsize=14)
    assert any("overlaps" in p for p in figure_problems(fig))


def test_text_outside_the_figure_is_cut_off() -> None:
    fig, ax = line_plot()
    ax.text(1.1, 0.5, "far to the right", transform=ax.transAxes)
    one_problem(fig, '"far to the right"', "outside the figure")


def test_a_label_cut_by_a_missing_layout_is_found() -> None:
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    ax.set(title="cramped", xlabel="a label in a large font", ylabel="y")
    ax.xaxis.label.set_fontsize(20)
    problems = figure_problems(fig)
    cut = 'x label of axes 0 ("cramped") "a label in a large font" reaches outside the figure'
    assert any(cut in p for p in problems), problems


def test_a_legend_over_the_curve_is_found() -> None:
    fig, _ = line_plot(legend="lower right")
    one_problem(fig, "legend covers", 'line "training loss"')


def test_a_legend_over_scatter_points_is_found() -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(np.linspace(0, 1, 11), np.full(11, 0.5), label="points")
    ax.set(title="scatter", xlabel="x", ylabel="y")
    ax.legend(loc="center")
    fig.tight_layout()
    one_problem(fig, "legend covers", "scatter points")


def test_a_data_point_outside_the_view_limits_is_found() -> None:
    fig, ax = line_plot()
    ax.set_xlim(0, 8)
    one_problem(fig, 'line "training loss"', "outside the axes")


def test_a_marker_on_the_edge_of_the_axes_is_clipped() -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([0, 1, 2], [1, 2, 3], marker="o", label="sweep")
    ax.set(title="edge", xlabel="x", ylabel="y", xlim=(-0.2, 2))  # the last marker is cut in half
    fig.tight_layout()
    one_problem(fig, 'line "sweep"', "edge")
    ax.set_xlim(-0.2, 2.2)
    assert figure_problems(fig) == []


def test_one_with_a_plural_is_found() -> None:
    fig, _ = line_plot(title="1 queries per class")
    one_problem(fig, '"1 queries"', "singular")
    for fine in ("1 query per class", "1 loss", "0.1 steps", "10-way 1-shot", "w=4 steps"):
        fig, _ = line_plot(title=fine)
        assert figure_problems(fig) == [], fine


# --- the kit's plot helpers draw fit figures ---------------------------------------------------------------

def test_kit_line_plots_have_no_problems() -> None:
    steps = list(range(0, 200, 10))
    curves = {f"hidden {h}": (steps, list(0.33 + 0.6 * (1 - np.exp(-np.array(steps) / h)))) for h in (4, 40, 400)}
    assert figure_problems(learning_curves(curves, chance=1 / 3, title="hidden sizes")) == []
    shots = [1, 2, 4, 8, 16]
    series = {m: ([0.3 + 0.1 * i + 0.03 * j for i in range(5)], [0.04] * 5) for j, m in enumerate(("a", "b"))}
    assert figure_problems(accuracy_with_ci(shots, series, xlabel="k", title="accuracy", logx=True)) == []


@pytest.mark.parametrize("queries", [1, 3])
def test_episode_grid_has_no_problems_and_counts_queries_in_words(queries: int) -> None:
    episodes = Episodes(support=torch.rand(1, 3, 2, 28, 28), query=torch.rand(1, 3, queries, 28, 28),
                        classes=torch.arange(3).view(1, 3))
    fig = episode_grid(episodes)
    assert figure_problems(fig) == []
    assert fig.get_suptitle() == ("3-way 2-shot episode, 1 query per class" if queries == 1
                                  else "3-way 2-shot episode, 3 queries per class")


def test_place_legend_keeps_a_free_spot_inside_and_goes_outside_when_there_is_none() -> None:
    fig, ax = line_plot(legend=None)
    legend = place_legend(ax)
    assert figure_problems(fig) == []
    assert ax.bbox.contains(*legend.get_window_extent().p0), "the empty upper right corner had room"
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = np.linspace(0, 1, 200)
    for k in range(8):  # lines through every part of the axes: no spot is free
        ax.plot(xs, (xs * (k + 1) * 7) % 1, label=f"saw {k}")
    ax.set(title="crowded", xlabel="x", ylabel="y")
    legend = place_legend(ax, fontsize=8)
    assert figure_problems(fig) == []
    assert legend.get_window_extent().x0 > ax.bbox.x1, "the legend moved to the right of the axes"


def test_kit_multitask_plots_have_no_problems_and_show_whole_names() -> None:
    from metakit.multitask import TrainResult, glyph_tasks, plot_mean_curves, plot_task_examples, plot_task_scores

    names = ["Alphabet_of_the_Magi: top_heavy", "Japanese_(hiragana): top_heavy", "Glyph_A00: top_heavy"]
    runs = {label: {n: 0.6 + 0.1 * k + 0.05 * j for j, n in enumerate(names)}
            for k, label in enumerate(("independent networks", "concat", "multihead"))}
    fig = plot_task_scores(runs, title="the same question in every alphabet")
    assert figure_problems(fig) == []
    assert "Alphabet_of_the_Magi" in [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert figure_problems(plot_task_scores({"a": {"x": 0.5, "y": 0.7}}, title="no common suffix")) == []

    results = {label: TrainResult(scores={}, curves={n: ([10, 20, 30], [0.5 + k * 0.1, 0.6, 0.7]) for n in names})
               for k, label in enumerate(("concat", "additive"))}
    assert figure_problems(plot_mean_curves(results, title="mean curves")) == []

    tasks = glyph_tasks(num_alphabets=2, characters_per_alphabet=4, questions=("top_heavy",))
    fig = plot_task_examples(tasks, per_task=4)
    assert figure_problems(fig) == []
    row_labels = [ax.get_ylabel().replace("\n", " ") for ax in fig.axes if ax.get_ylabel()]
    assert row_labels == tasks.names, "every row shows its task's whole name"


def test_kit_training_history_plot_has_no_problems() -> None:
    from metakit.training import History

    steps = list(range(1, 31))
    history = History(name="ProtoNet", train_steps=steps,
                      train={"loss": list(np.linspace(4, 2.5, 30)), "support_accuracy": list(np.linspace(0.8, 0.9, 30)),
                             "query_accuracy": list(np.linspace(0.2, 0.4, 30))},
                      eval_steps=steps[2::3], evaluation={"query_accuracy": list(np.linspace(0.29, 0.39, 10))})
    assert figure_problems(history.plot("ProtoNet, 10-way 5-shot training")) == []
