"""Building hw0's tasks from a :class:`~metakit.data.charset.CharacterSet`: one classification task
per alphabet, attribute tasks (binary and regression) on the same images, conflicting tasks
(labels permuted across images), and the array form a grader passes across processes.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch

from metakit.data.charset import CharacterSet
from metakit.multitask.tasks import Task, TaskSet

BINARY_ATTRIBUTES = ("has_curve", "has_loop", "has_dot", "top_heavy", "wide")
REGRESSION_ATTRIBUTES = ("strokes", "ink")
IMAGE_ATTRIBUTES = ("ink", "top_heavy", "wide")


def split_drawers(num_characters: int, drawers: int, train_drawers: int, test_drawers: int,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per character, ``train_drawers`` training and ``test_drawers`` test drawers, disjoint.

    Returns int64 ``[C, train_drawers]`` and ``[C, test_drawers]`` drawer indices (seeded).
    """
    if train_drawers < 1 or test_drawers < 1:
        raise ValueError(f"need at least one training and one test drawer; got {train_drawers}, {test_drawers}")
    if train_drawers + test_drawers > drawers:
        raise ValueError(f"{train_drawers} training + {test_drawers} test drawers = "
                         f"{train_drawers + test_drawers}, but each character has only {drawers}")
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((num_characters, drawers)), axis=1)
    return order[:, :train_drawers], order[:, train_drawers:train_drawers + test_drawers]


def _images(charset: CharacterSet, chars: np.ndarray, drawers: np.ndarray) -> torch.Tensor:
    """``[len(chars) * k, 1, 28, 28]`` float32 for drawers ``[len(chars), k]`` (character-major)."""
    picked = charset.images[chars[:, None], drawers]
    flat = picked.reshape(-1, 1, *charset.images.shape[-2:])
    return torch.from_numpy(flat.astype(np.float32) / 255.0)


def image_attribute(images: np.ndarray, attribute: str) -> np.ndarray:
    """An attribute computed from the images themselves (so it exists for every CharacterSet).

    ``images``: uint8 ``[..., 28, 28]``. ``ink``: total ink (sum of intensities in [0, 1], about the
    number of inked pixels); ``top_heavy``: 1 when the upper half holds more ink than the lower half;
    ``wide``: 1 when the inked bounding box is wider than it is tall. Returns float64 ``[...]``.
    """
    x = images.astype(np.float64) / 255.0
    if attribute == "ink":
        return x.sum(axis=(-2, -1))
    if attribute == "top_heavy":
        half = x.shape[-2] // 2
        return (x[..., :half, :].sum(axis=(-2, -1)) > x[..., half:, :].sum(axis=(-2, -1))).astype(np.float64)
    if attribute == "wide":
        ink = x > 0.3
        width, height = _extent(ink.any(axis=-2)), _extent(ink.any(axis=-1))
        return (width > height).astype(np.float64)
    raise ValueError(f"{attribute!r} is not an image attribute; choose from {IMAGE_ATTRIBUTES}")


def _extent(mask: np.ndarray) -> np.ndarray:
    """Last minus first True index along the last axis (-1 where there is none)."""
    size = mask.shape[-1]
    first = np.argmax(mask, axis=-1)
    last = size - 1 - np.argmax(mask[..., ::-1], axis=-1)
    return np.where(mask.any(axis=-1), last - first, -1)


def _attribute_values(charset: CharacterSet, attribute: str, chars: np.ndarray, drawers: np.ndarray) -> np.ndarray:
    """Raw attribute value of every picked image, ``[len(chars) * k]`` float64 (character-major)."""
    if attribute in IMAGE_ATTRIBUTES:
        return image_attribute(charset.images[chars[:, None], drawers], attribute).reshape(-1)
    missing = [int(c) for c in chars if attribute not in charset.manifest[int(c)]]
    if missing:
        keys = sorted(charset.manifest[missing[0]])
        raise ValueError(f"attribute {attribute!r} is not in the manifest of {charset.name} (character "
                         f"{missing[0]} has keys {keys}); glyph sets have strokes/has_curve/has_loop/has_dot, "
                         f"and {IMAGE_ATTRIBUTES} work for every CharacterSet")
    per_char = np.array([float(charset.manifest[int(c)][attribute]) for c in chars])
    return np.repeat(per_char, drawers.shape[1])


def _choose_alphabets(charset: CharacterSet, alphabets: Sequence[str] | int | None) -> list[str]:
    names = charset.alphabets
    if alphabets is None:
        return names
    if isinstance(alphabets, int):
        if not 1 <= alphabets <= len(names):
            raise ValueError(f"{charset.name} has {len(names)} alphabets; asked for {alphabets}")
        return names[:alphabets]
    unknown = [a for a in alphabets if a not in names]
    if unknown:
        raise ValueError(f"alphabets {unknown} are not in {charset.name} (it has {names})")
    return list(alphabets)


def build_taskset(charset: CharacterSet, *, alphabets: Sequence[str] | int | None = None,
                  train_drawers: int = 3, test_drawers: int = 5, recognise: bool = True,
                  questions: Sequence[str] = (), attributes: Sequence[str] = (), conflicting: int = 0,
                  scale_regression: bool = True, seed: int = 0, name: str | None = None) -> TaskSet:
    """The hw0 task collection built from ``charset``, in this order:

    1. ``recognise``: one classification task per alphabet, "which character of alphabet A is
       this?" (named after the alphabet);
    2. ``questions``: for every alphabet and every attribute q, the task "A: q" asking q of that
       alphabet's characters only (the same question in every alphabet: p_i(y|x) shared, p_i(x) not);
    3. ``attributes``: one task per attribute over the images of all chosen alphabets (multi-label
       learning on the same images);
    4. ``conflicting``: conflicting twins (:func:`conflicting_task`) of the first ``conflicting``
       tasks above.

    Attributes: ``strokes`` (regression), ``has_curve``, ``has_loop``, ``has_dot`` (binary) from a
    glyph manifest; ``ink`` (regression), ``top_heavy``, ``wide`` (binary) from the images.

    Args:
        alphabets: which alphabets (names, the first N, or all).
        train_drawers, test_drawers: drawings per character in each task's training / test set; every
            task built on a character uses the same drawers, so tasks share images.
        scale_regression: standardise regression labels with the training mean and standard
            deviation (False keeps raw units: ink is ~100 pixels, strokes 1..6).
        seed: drawer split and conflicting permutations.
    """
    chosen = _choose_alphabets(charset, alphabets)
    known = BINARY_ATTRIBUTES + REGRESSION_ATTRIBUTES
    bad = [a for a in (*attributes, *questions) if a not in known]
    if bad:
        raise ValueError(f"unknown attributes {bad}; choose from {known}")
    train_d, test_d = split_drawers(charset.num_characters, charset.num_drawers, train_drawers, test_drawers, seed)
    alphabet_of = np.array([e["alphabet"] for e in charset.manifest])
    chars_of = {a: np.flatnonzero(alphabet_of == a) for a in chosen}

    tasks: list[Task] = []
    if recognise:
        for alphabet in chosen:
            chars = chars_of[alphabet]
            labels = np.arange(len(chars))
            tasks.append(Task(
                name=alphabet, kind="classification", num_outputs=len(chars),
                train_x=_images(charset, chars, train_d[chars]),
                train_y=torch.from_numpy(np.repeat(labels, train_drawers)).long(),
                test_x=_images(charset, chars, test_d[chars]),
                test_y=torch.from_numpy(np.repeat(labels, test_drawers)).long(),
                source=f"characters of {alphabet}",
            ))
    for question in questions:
        for alphabet in chosen:
            chars = chars_of[alphabet]
            task = attribute_task(charset, question, chars, train_d[chars], test_d[chars], scale_regression)
            task.name, task.source = f"{alphabet}: {task.name}", f"{question} of {alphabet}"
            tasks.append(task)
    pooled = np.concatenate([chars_of[a] for a in chosen])
    for attribute in attributes:
        tasks.append(attribute_task(charset, attribute, pooled, train_d[pooled], test_d[pooled], scale_regression))
    if conflicting > len(tasks):
        raise ValueError(f"asked for {conflicting} conflicting tasks but only {len(tasks)} tasks were built")
    tasks += [conflicting_task(t, seed=seed + 1000 + k) for k, t in enumerate(tasks[:conflicting])]
    return TaskSet(tasks, name or f"{charset.name}: {len(chosen)} alphabets")


def attribute_task(charset: CharacterSet, attribute: str, chars: np.ndarray, train_drawers: np.ndarray,
                   test_drawers: np.ndarray, scale_regression: bool = True) -> Task:
    """A binary or regression task on the images of ``chars`` (drawers ``[len(chars), k]``)."""
    kind = "binary" if attribute in BINARY_ATTRIBUTES else "regression"
    train_raw = _attribute_values(charset, attribute, chars, train_drawers)
    test_raw = _attribute_values(charset, attribute, chars, test_drawers)
    shift, scale = 0.0, 1.0
    if kind == "regression" and scale_regression:
        shift, scale = float(train_raw.mean()), float(train_raw.std() or 1.0)
    label = f"{attribute}" + ("" if kind == "binary" or scale_regression else " (unscaled)")
    return Task(
        name=label, kind=kind, num_outputs=1,
        train_x=_images(charset, chars, train_drawers),
        train_y=torch.from_numpy((train_raw - shift) / scale).float(),
        test_x=_images(charset, chars, test_drawers),
        test_y=torch.from_numpy((test_raw - shift) / scale).float(),
        label_shift=shift, label_scale=scale, source=f"attribute {attribute}",
    )


def conflicting_task(task: Task, seed: int = 0, name: str | None = None) -> Task:
    """A twin of ``task`` built to conflict with it: the same images with their labels permuted
    across the images (seeded), in the training and the test set alike.

    The labels keep their values and frequencies but no longer depend on the image, so nothing
    learned for the real task helps this one: a shared network can only memorise it, and each
    step it takes on it pushes the shared parameters in a direction that has nothing to do with
    (and often opposes) the real tasks. Its test score is chance by construction.
    """
    gen = torch.Generator().manual_seed(int(seed))
    train_perm = torch.randperm(task.num_train, generator=gen)
    test_perm = torch.randperm(task.num_test, generator=gen)
    return Task(name or f"{task.name} (permuted)", task.kind, task.num_outputs, task.train_x,
                task.train_y[train_perm], task.test_x, task.test_y[test_perm], task.label_shift,
                task.label_scale, source=f"{task.name} with labels permuted across images")


def taskset_from_arrays(tasks: Sequence[Mapping[str, Any]], name: str = "tasks") -> TaskSet:
    """A TaskSet from plain data (what a grader sends a worker).

    Each entry: ``name``, ``kind``, ``num_outputs``, ``train_x`` uint8 or float ``[N, 1, 28, 28]``
    (uint8 is divided by 255), ``train_y``, ``test_x``, ``test_y``.
    """
    built = []
    for entry in tasks:
        def images(a):
            t = torch.as_tensor(np.asarray(a))
            return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()

        kind = entry["kind"]
        ytype = torch.long if kind == "classification" else torch.float32
        built.append(Task(entry["name"], kind, int(entry["num_outputs"]), images(entry["train_x"]),
                          torch.as_tensor(np.asarray(entry["train_y"])).to(ytype), images(entry["test_x"]),
                          torch.as_tensor(np.asarray(entry["test_y"])).to(ytype)))
    return TaskSet(built, name)


def taskset_to_arrays(taskset: TaskSet) -> list[dict[str, Any]]:
    """The inverse of :func:`taskset_from_arrays` (images as uint8, to send them small)."""
    out = []
    for t in taskset.tasks:
        out.append({"name": t.name, "kind": t.kind, "num_outputs": t.num_outputs,
                    "train_x": (t.train_x * 255).round().to(torch.uint8).cpu().numpy(),
                    "train_y": t.train_y.cpu().numpy(),
                    "test_x": (t.test_x * 255).round().to(torch.uint8).cpu().numpy(),
                    "test_y": t.test_y.cpu().numpy()})
    return out
