"""The assignments' data protocols: which characters go to training, validation and test.

Both return one type, :class:`CharacterSplit` (hw2 calls it ``FewShotData``, hw1 ``DataSplit``):

* hw2 (:mod:`metakit.fewshot`): :func:`fewshot_data` (meta-training, validation and held-out test
  characters);
* hw1 (:mod:`metakit.blackbox`): :func:`blackbox_data` (meta-training and held-out test
  characters; ``val`` is None), with :func:`omniglot_split`, :func:`glyph_split` and
  :func:`fraction_split`.

Every split is by character or by alphabet (:mod:`metakit.data.splits`), so the parts never share a
character. Each wing keeps these names: ``metakit.fewshot.load_data`` is :func:`fewshot_data`,
``metakit.blackbox.load_data`` is :func:`blackbox_data`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from metakit.data.charset import CharacterSet
from metakit.data.source import GLYPHS, MINIMAL, Characters, DataSource, load_characters
from metakit.data.source import resolve as resolve_source


@dataclass(frozen=True)
class CharacterSplit:
    """Meta-training, (for hw2) validation and meta-test characters, pairwise disjoint, and their source."""

    train: CharacterSet
    test: CharacterSet
    source: str
    description: str
    val: CharacterSet | None = None  # hw1 has no validation characters

    def summary(self) -> str:
        if self.val is None:
            return (f"{self.source}: {self.train.num_characters} training characters, "
                    f"{self.test.num_characters} held-out test characters ({self.description})")
        return (f"{self.source}: {self.train.num_characters} training, {self.val.num_characters} validation, "
                f"{self.test.num_characters} held-out test characters ({self.description})")


FewShotData = CharacterSplit  # hw2's name (metakit.fewshot)
DataSplit = CharacterSplit  # hw1's name (metakit.blackbox)


# ====================================================================== hw2 (metakit.fewshot)
def fewshot_data(source: str | os.PathLike | DataSource = "auto", val_characters: int = 12, test_characters: int = 50,
                 seed: int = 0) -> FewShotData:
    """Characters for hw2, split so that train, validation and test never share a character.

    ``source`` goes to :func:`metakit.data.source.resolve`: ``"auto"`` (real Omniglot when found,
    glyphs otherwise), ``"omniglot"`` (an error when there is none), ``"glyphs"``, a path, or a
    :class:`~metakit.data.source.DataSource`. What each kind gives:

    * the two official minimal splits: joined with :func:`metakit.data.splits.union` (136 + 156
      characters, of which 50 Greek and Latin ones are in both: 242 distinct characters, 8
      alphabets), then split by character (seeded :func:`metakit.data.splits.split_by_character`)
      into ``242 - val - test`` training, ``val_characters`` validation and ``test_characters``
      held-out test characters. Test characters belong to alphabets seen in training, but no test
      character is.
    * the full background set with ``images_evaluation`` beside it (the Omniglot paper's protocol):
      the 964 background characters split into training and ``val_characters`` validation ones;
      the test set is all of images_evaluation (659 characters of 20 other alphabets), and
      ``test_characters`` is not used.
    * the background set alone, one Omniglot folder or zip, or the glyphs: split by character
      into training, validation and test characters like the minimal splits.
    """
    from metakit.data.splits import split_by_character

    resolved = resolve_source(source)
    loaded = load_characters(resolved)
    kind = "omniglot" if resolved.is_omniglot else "glyphs"
    if loaded.evaluation is not None:
        return _background_protocol(loaded, kind, val_characters, test_characters, seed)
    count = loaded.pool.num_characters
    train_characters = _check_sizes(count, val_characters, test_characters, count - val_characters - test_characters)
    train, val, test = split_by_character(loaded.pool, sizes=(train_characters, val_characters, test_characters),
                                          seed=seed)
    return FewShotData(train, test, kind, f"{_describe(resolved, loaded)}, split by character (seed {seed})", val=val)


def _check_sizes(count: int, val_characters: int, test_characters: int, train_characters: int) -> int:
    if val_characters < 1 or test_characters < 1 or train_characters < 1:
        raise ValueError(f"cannot hold out {val_characters} validation and {test_characters} test characters "
                         f"of {count}")
    return train_characters


def _background_protocol(loaded: Characters, kind: str, val_characters: int, test_characters: int,
                         seed: int) -> FewShotData:
    """Background characters split into training and validation; images_evaluation is the test set."""
    from metakit.data.splits import split_by_alphabet, split_by_character

    background, test = split_by_alphabet(loaded.pool, loaded.evaluation)
    count = background.num_characters
    train_characters = _check_sizes(count, val_characters, test_characters, count - val_characters)
    train, val = split_by_character(background, sizes=(train_characters, val_characters), seed=seed)
    return FewShotData(train, test, kind,
                       f"{count} background characters split by character into training and validation "
                       f"(seed {seed}); test: the {test.num_characters} characters of images_evaluation "
                       f"(other alphabets)", val=val)


def _describe(source: DataSource, loaded: Characters) -> str:
    """What the pool is, for :meth:`FewShotData.summary`."""
    count = loaded.pool.num_characters
    if source.kind == MINIMAL:
        small1, small2 = loaded.parts
        return (f"union of small1 ({small1.num_characters}) and small2 ({small2.num_characters}): "
                f"{count} distinct characters")
    if source.kind == GLYPHS:
        return f"{count} generated characters"
    return f"{count} characters of {source.paths[0]}"


# ====================================================================== hw1 (metakit.blackbox)
def omniglot_split(folder: str | os.PathLike | DataSource | None = None, test_characters: int = 42,
                   seed: int = 0) -> DataSplit:
    """Real Omniglot, 28x28, split into meta-training and held-out meta-test characters.

    ``folder`` goes to :func:`metakit.data.source.resolve` (None: ``"omniglot"``, wherever it is).

    * The two official minimal splits: ``small1`` (136 characters) and ``small2`` (156) share 50
      characters (their Greek and Latin alphabets, identical images), so they are joined with
      :func:`metakit.data.splits.union` into 242 distinct characters first; a plain concatenation
      would hold those 50 twice and could put one copy in training and the other in the test set.
      The union is then split by character (:func:`metakit.data.splits.split_by_character`,
      seeded, checked disjoint) into ``242 - test_characters`` meta-training and
      ``test_characters`` held-out meta-test characters.
    * The full background set with ``images_evaluation`` beside it: meta-training on the 964
      background characters, meta-test on the 659 evaluation characters (other alphabets; the
      Omniglot paper's protocol); ``test_characters`` is not used.
    * The background set alone, or one folder or zip: split by character like the minimal splits.
    """
    from metakit.data.splits import split_by_alphabet, split_by_character

    source = resolve_source("omniglot" if folder is None else folder)
    loaded = load_characters(source)
    if loaded.evaluation is not None:
        train, test = split_by_alphabet(loaded.pool, loaded.evaluation)
        return DataSplit(train, test, "omniglot",
                         f"the {train.num_characters} background characters for meta-training, the "
                         f"{test.num_characters} of images_evaluation (other alphabets) held out")
    everything = loaded.pool
    total = everything.num_characters
    if not 0 < test_characters < total:
        raise ValueError(f"test_characters must be in 1..{total - 1}; got {test_characters}")
    train, test = split_by_character(everything, sizes=(total - test_characters, test_characters), seed=seed)
    return DataSplit(train, test, "omniglot", f"{_pool_words(source, loaded)}, split by character into "
                                              f"{train.num_characters} train / {test.num_characters} test "
                                              f"(seed {seed})")


def _pool_words(source: DataSource, loaded: Characters) -> str:
    total = loaded.pool.num_characters
    if source.kind != MINIMAL:
        return f"{total} characters of {source.paths[0]}"
    small1, small2 = loaded.parts
    return (f"small1 ({small1.num_characters}) and small2 ({small2.num_characters}) share "
            f"{small1.num_characters + small2.num_characters - total} characters: {total} distinct")


def glyph_split(test_fraction: float = 0.2, seed: int = 0, **glyph_options) -> DataSplit:
    """The kit's generated glyphs, split by character into train and held-out test characters."""
    from metakit.data.glyphs import load_glyphs

    return fraction_split(load_glyphs(**glyph_options), "glyphs", "generated characters", test_fraction, seed)


def fraction_split(characters: CharacterSet, source: str, what: str, test_fraction: float = 0.2,
                   seed: int = 0) -> DataSplit:
    """``characters`` split by character: ``test_fraction`` of them held out (seeded, disjoint)."""
    from metakit.data.splits import split_by_character

    count = characters.num_characters
    test_count = max(1, int(round(count * test_fraction)))
    train, test = split_by_character(characters, sizes=(count - test_count, test_count), seed=seed)
    return DataSplit(train, test, source, f"{count} {what} split {count - test_count}/{test_count} by character "
                                          f"(seed {seed})")


def blackbox_data(source: str | os.PathLike | DataSource = "glyphs", seed: int = 0, **glyph_options) -> DataSplit:
    """Meta-training and held-out meta-test characters, from :func:`metakit.data.source.resolve`.

    ``"glyphs"`` (the default, always there), ``"omniglot"`` (real Omniglot, or an error naming
    where it belongs), ``"auto"`` (Omniglot when found, glyphs otherwise), a path, or a
    :class:`~metakit.data.source.DataSource`. The minimal splits, and the background set with
    images_evaluation, are split as :func:`omniglot_split` says; glyphs, the background set alone
    and any one Omniglot folder or zip are split 80/20 by character.

    ``glyph_options`` go to :func:`metakit.data.glyphs.load_glyphs` (e.g. ``num_alphabets=5`` for
    a small, quick set)."""
    resolved = resolve_source(source)
    if resolved.kind == GLYPHS:
        return glyph_split(seed=seed, **glyph_options)
    if resolved.kind == MINIMAL or resolved.evaluation is not None:
        return omniglot_split(resolved, seed=seed)
    return fraction_split(load_characters(resolved).pool, "omniglot", f"characters of {resolved.paths[0]}",
                          seed=seed)
