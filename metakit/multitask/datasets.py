"""hw0's data sets: task sets on the kit's glyph alphabets or on real Omniglot alphabets."""
from __future__ import annotations

from typing import Any

from metakit.data.charset import CharacterSet
from metakit.multitask.building import build_taskset
from metakit.multitask.tasks import TaskSet


def glyph_tasks(num_alphabets: int = 10, characters_per_alphabet: int = 20, glyph_seed: int = 0,
                **options: Any) -> TaskSet:
    """:func:`build_taskset` on glyph alphabets from the kit's generator (the default data);
    ``options`` go to :func:`build_taskset` (``train_drawers``, ``questions``, ``conflicting``, ...)."""
    from metakit.data.glyphs import load_glyphs

    charset = load_glyphs(num_alphabets=num_alphabets, characters_per_alphabet=characters_per_alphabet,
                          drawers=20, seed=glyph_seed)
    options.setdefault("name", f"glyphs: {len(charset.alphabets)} alphabets")
    return build_taskset(charset, **options)


def load_omniglot_alphabets(folder: Any = None) -> CharacterSet:
    """Real Omniglot alphabets, each character once, sorted by (alphabet, character).

    ``folder`` goes to :func:`metakit.data.source.resolve` (None: ``"omniglot"``, wherever it is;
    an error naming where it belongs when there is none). The two official minimal background
    splits (``images_background_small1.zip`` and ``..._small2.zip``) share Latin and Greek;
    joined with :func:`metakit.data.splits.union` they hold 8 alphabets (242 characters). The
    full background set holds 30 (964 characters).
    """
    from metakit.data.source import MINIMAL, load_characters, resolve

    source = resolve("omniglot" if folder is None else folder)
    pool = load_characters(source).pool
    order = sorted(range(pool.num_characters),
                   key=lambda i: (pool.manifest[i]["alphabet"], pool.manifest[i]["character"]))
    return pool.subset(order, name="omniglot (minimal splits)" if source.kind == MINIMAL else pool.name)


def load_alphabets(source: Any = "auto", glyph_seed: int = 1) -> CharacterSet:
    """hw0's second set of alphabets: real Omniglot when :func:`metakit.data.source.resolve` finds
    it (:func:`load_omniglot_alphabets`), else 10 glyph alphabets drawn with ``glyph_seed`` (other
    alphabets than :func:`glyph_tasks`' seed 0), so the notebook runs with no Omniglot file."""
    from metakit.data.glyphs import load_glyphs
    from metakit.data.source import resolve

    resolved = resolve(source)
    if resolved.is_omniglot:
        return load_omniglot_alphabets(resolved)
    return load_glyphs(num_alphabets=10, characters_per_alphabet=20, drawers=20, seed=glyph_seed)


def omniglot_tasks(folder: Any = None, **options: Any) -> TaskSet:
    """:func:`build_taskset` on the real Omniglot alphabets of :func:`load_omniglot_alphabets`;
    ``options`` go to :func:`build_taskset` (``alphabets``, ``train_drawers``, ``questions``, ...)."""
    charset = load_omniglot_alphabets(folder)
    options.setdefault("name", f"omniglot: {len(charset.alphabets)} alphabets")
    return build_taskset(charset, **options)
