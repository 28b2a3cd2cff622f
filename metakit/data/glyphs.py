"""The embedded default dataset: Omniglot-style handwritten characters that the kit draws itself.

An *alphabet* is a style: a grid of anchor points, a vocabulary of stroke kinds (lines, arcs,
hooks, dots, loops) with its own preferences, a range of stroke counts and a slant. A *character*
is a few strokes of that alphabet placed on its grid. A *drawer* draws a character with their own
hand: an affine warp (rotation, scale, shear, shift), a wobble along every stroke, small
misplacements of each stroke, and a pen thickness. Everything is rendered antialiased at 4x and
downsampled to 28x28 with Pillow (ink = 255, background = 0), in the same ``[C, 20, 28, 28]``
uint8 form as Omniglot.

Each character's manifest entry records how it was drawn, true by construction, which hw0 uses as
extra task labels: ``strokes`` (count), ``has_curve`` (an arc, hook or loop), ``has_loop`` (a
closed loop) and ``has_dot``.

Everything is a pure function of the seed (``numpy.random.Generator``; no global state).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from metakit.data.charset import CharacterSet

GENERATOR_VERSION = 1
SCALE = 4  # render at 4x, then downsample: antialiased strokes
STROKE_KINDS = ("line", "arc", "hook", "dot", "loop")


@dataclass(frozen=True)
class Stroke:
    """One stroke of a character template: a polyline in the unit square [-1, 1]^2."""

    kind: str
    points: np.ndarray  # [P, 2]


@dataclass(frozen=True)
class AlphabetStyle:
    grid: np.ndarray  # [G, 2] anchor points in [-1, 1]^2
    kind_weights: np.ndarray  # [5] probabilities over STROKE_KINDS
    min_strokes: int
    max_strokes: int
    slant: float  # radians, shared by the alphabet's characters


# --------------------------------------------------------------------------- alphabets
def make_style(rng: np.random.Generator) -> AlphabetStyle:
    """A random alphabet style: grid, stroke vocabulary, stroke-count range, slant."""
    size = int(rng.integers(3, 5))
    axis = np.linspace(-0.8, 0.8, size)
    grid = np.array([(x, y) for y in axis for x in axis]) + rng.normal(0, 0.04, (size * size, 2))
    weights = rng.dirichlet(np.array([3.0, 2.0, 1.2, 0.6, 0.8]))
    weights = 0.7 * weights + 0.3 * np.array([0.4, 0.25, 0.15, 0.1, 0.1])
    low = int(rng.integers(1, 3))
    return AlphabetStyle(grid, weights / weights.sum(), low, low + int(rng.integers(2, 4)),
                         float(rng.normal(0, 0.08)))


def _arc(center: np.ndarray, radius: float, start: float, sweep: float, n: int = 24) -> np.ndarray:
    angles = start + np.linspace(0, sweep, n)
    return center + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def make_stroke(kind: str, style: AlphabetStyle, rng: np.random.Generator) -> Stroke:
    """One stroke of ``kind`` anchored on the alphabet's grid."""
    grid = style.grid
    a, b = grid[rng.choice(len(grid), size=2, replace=False)]
    if kind == "line":
        points = np.linspace(a, b, 12)
    elif kind == "arc":
        radius = float(rng.uniform(0.3, 0.7))
        points = _arc(a * 0.5, radius, rng.uniform(0, 2 * math.pi), rng.choice([-1, 1]) * rng.uniform(1.2, 3.6))
    elif kind == "hook":
        shaft = np.linspace(a, b, 10)
        direction = math.atan2(*(b - a)[::-1])
        turn = rng.choice([-1, 1])
        radius = float(rng.uniform(0.12, 0.25))
        center = b + radius * np.array([math.cos(direction + turn * math.pi / 2),
                                        math.sin(direction + turn * math.pi / 2)])
        curl = _arc(center, radius, direction - turn * math.pi / 2, turn * rng.uniform(2.0, 3.4), 12)
        points = np.concatenate([shaft, curl[1:]])
    elif kind == "dot":
        points = a[None, :].copy()
    elif kind == "loop":
        radius = np.array([rng.uniform(0.15, 0.4), rng.uniform(0.15, 0.4)])
        angles = np.linspace(0, 2 * math.pi, 28)
        points = a * 0.7 + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        raise ValueError(f"unknown stroke kind {kind!r}")
    return Stroke(kind, points)


def make_character(style: AlphabetStyle, rng: np.random.Generator) -> list[Stroke]:
    """A character template: a few strokes, at least one not a dot, fitted to the frame."""
    count = int(rng.integers(style.min_strokes, style.max_strokes + 1))
    kinds = list(rng.choice(STROKE_KINDS, size=count, p=style.kind_weights))
    if all(k == "dot" for k in kinds):
        kinds[0] = "line"
    strokes = [make_stroke(k, style, rng) for k in kinds]
    return _fit_to_frame(strokes, style.slant)


def _fit_to_frame(strokes: list[Stroke], slant: float) -> list[Stroke]:
    """Slant, centre and scale the template so it fills about 70% of the frame, like Omniglot."""
    shear = np.array([[1.0, math.tan(slant)], [0.0, 1.0]])
    sheared = [s.points @ shear.T for s in strokes]
    every = np.concatenate(sheared)
    low, high = every.min(axis=0), every.max(axis=0)
    centre = (low + high) / 2
    extent = max(float((high - low).max()), 0.5)
    scale = 1.4 / extent
    return [Stroke(s.kind, (p - centre) * scale) for s, p in zip(strokes, sheared)]


# --------------------------------------------------------------------------- drawers
@dataclass(frozen=True)
class Hand:
    """How one drawer draws: an affine warp, a wobble and a pen."""

    matrix: np.ndarray  # [2, 2]
    shift: np.ndarray  # [2]
    wobble: float
    misplace: float
    thickness: float  # pen width in 28x28 pixels


def make_hand(rng: np.random.Generator) -> Hand:
    angle = rng.normal(0, 0.12)
    scale = rng.uniform(0.82, 1.08, size=2)
    shear = rng.normal(0, 0.12)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = rotation @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag(scale)
    return Hand(matrix, rng.normal(0, 0.06, size=2), float(rng.uniform(0.02, 0.06)),
                float(rng.uniform(0.03, 0.08)), float(rng.uniform(1.1, 1.9)))


def _wobble(points: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random displacement along the stroke (two low-frequency sinusoids per axis)."""
    if len(points) == 1:
        return points + rng.normal(0, amount, size=2)
    t = np.linspace(0, 1, len(points))[:, None]
    freq = rng.uniform(0.5, 2.0, size=(1, 2))
    phase = rng.uniform(0, 2 * math.pi, size=(1, 2))
    return points + amount * np.sin(2 * math.pi * freq * t + phase)


def draw(strokes: list[Stroke], hand: Hand, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """Render one drawing: uint8 ``[size, size]``, ink 255."""
    big = size * SCALE
    image = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(image)
    width = max(1, int(round(hand.thickness * SCALE)))
    for stroke in strokes:
        points = stroke.points + rng.normal(0, hand.misplace, size=2)
        points = _wobble(points, hand.wobble, rng) @ hand.matrix.T + hand.shift
        pixels = (points * 0.5 + 0.5) * (big - 1)
        pixels[:, 1] = big - 1 - pixels[:, 1]  # y up in the template, down in the image
        _stroke_path(pen, pixels, width, dot=stroke.kind == "dot")
    small = image.resize((size, size), Image.BOX)
    return np.asarray(small, dtype=np.uint8)


def _stroke_path(pen: ImageDraw.ImageDraw, pixels: np.ndarray, width: int, dot: bool) -> None:
    radius = width * (0.9 if dot else 0.5)
    for x, y in (pixels[[0, -1]] if not dot else pixels[:1]):
        pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    if not dot and len(pixels) > 1:
        pen.line([tuple(p) for p in pixels], fill=255, width=width, joint="curve")


# --------------------------------------------------------------------------- the dataset
def generate_glyphs(num_alphabets: int = 30, characters_per_alphabet: int = 20, drawers: int = 20,
                    seed: int = 0, image_size: int = 28) -> CharacterSet:
    """``num_alphabets * characters_per_alphabet`` characters drawn by ``drawers`` hands each.

    Returns a CharacterSet with images uint8 ``[C, drawers, image_size, image_size]`` and a sorted
    manifest (alphabet ``Glyph_A00``..., character ``character01``...) with the stroke metadata.
    """
    for name, value in (("num_alphabets", num_alphabets), ("characters_per_alphabet", characters_per_alphabet),
                        ("drawers", drawers), ("image_size", image_size)):
        if int(value) < 1:
            raise ValueError(f"generate_glyphs needs {name} >= 1; got {value}")
    root = np.random.default_rng(seed)
    alphabet_seeds = root.integers(0, 2**63, size=num_alphabets)
    images = np.zeros((num_alphabets * characters_per_alphabet, drawers, image_size, image_size), np.uint8)
    manifest = []
    for a, alphabet_seed in enumerate(alphabet_seeds):
        rng = np.random.default_rng(int(alphabet_seed))
        style = make_style(rng)
        hands = [make_hand(rng) for _ in range(drawers)]
        for c in range(characters_per_alphabet):
            strokes = make_character(style, rng)
            index = a * characters_per_alphabet + c
            for d, hand in enumerate(hands):
                images[index, d] = draw(strokes, hand, rng, image_size)
            kinds = [s.kind for s in strokes]
            manifest.append({
                "alphabet": f"Glyph_A{a:02d}",
                "character": f"character{c + 1:02d}",
                "strokes": len(strokes),
                "has_curve": any(k in ("arc", "hook", "loop") for k in kinds),
                "has_loop": "loop" in kinds,
                "has_dot": "dot" in kinds,
                "stroke_kinds": kinds,
            })
    info = {"num_alphabets": num_alphabets, "characters_per_alphabet": characters_per_alphabet,
            "drawers": drawers, "seed": seed, "image_size": image_size, "version": GENERATOR_VERSION}
    return CharacterSet(images, manifest, name=f"glyphs(seed={seed})", info=info)


def load_glyphs(num_alphabets: int = 30, characters_per_alphabet: int = 20, drawers: int = 20, seed: int = 0,
                cache: bool = True) -> CharacterSet:
    """:func:`generate_glyphs`, cached in ``metakit.paths.cache_dir() / "glyphs"``."""
    if not cache:
        return generate_glyphs(num_alphabets, characters_per_alphabet, drawers, seed)
    from metakit.paths import cache_dir

    key = f"v{GENERATOR_VERSION}-a{num_alphabets}-c{characters_per_alphabet}-d{drawers}-s{seed}"
    path = cache_dir() / "glyphs" / key
    if path.with_suffix(".npz").exists() and path.with_suffix(".json").exists():
        try:
            return CharacterSet.load(path)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt
    charset = generate_glyphs(num_alphabets, characters_per_alphabet, drawers, seed)
    charset.save(path)
    return charset


def nn_baseline_accuracy(charset: CharacterSet, ways: int = 5, shots: int = 1, episodes: int = 500,
                         seed: int = 0) -> float:
    """Pixel-space 1-nearest-neighbour accuracy on N-way K-shot episodes (one query per class).

    The floor any learned method should beat: it says how hard a dataset is before any learning.
    """
    if ways > charset.num_characters or shots + 1 > charset.num_drawers or min(ways, shots, episodes) < 1:
        raise ValueError(f"{ways}-way {shots}-shot episodes with one query need {ways} characters and "
                         f"{shots + 1} drawers; this set has {charset.num_characters} x {charset.num_drawers}")
    rng = np.random.default_rng(seed)
    pixels = charset.images.reshape(charset.num_characters, charset.num_drawers, -1).astype(np.float32) / 255
    correct = 0
    for _ in range(episodes):
        classes = rng.choice(charset.num_characters, size=ways, replace=False)
        picks = np.stack([rng.choice(charset.num_drawers, size=shots + 1, replace=False) for _ in classes])
        support = pixels[classes[:, None], picks[:, :shots]].reshape(ways * shots, -1)  # [N*K, 784]
        query = pixels[classes, picks[:, shots]]  # [N, 784]
        distances = ((query[:, None, :] - support[None, :, :]) ** 2).sum(-1)  # [N, N*K]
        predicted = distances.argmin(axis=1) // shots
        correct += int((predicted == np.arange(ways)).sum())
    return correct / (episodes * ways)
