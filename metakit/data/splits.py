"""Disjoint class splits of a :class:`CharacterSet`: by alphabet or by character.

Two protocols:

* **by alphabet** (the Omniglot paper): train on the 30 background alphabets, test on the 20
  evaluation alphabets, so test characters come from scripts never seen in training;
* **by character** (the class protocol, as in Matching Nets / MAML / ProtoNets): a seeded
  permutation of all 1623 characters into 1100 train, 100 validation and 423 test characters.

Rotations (90/180/270 degrees as new classes) are applied *after* splitting, inside the episode
sampler (``EpisodeSampler(..., rotations=True)``), so a character and its rotations always land in
the same split. Every split here is checked with :func:`assert_disjoint`.
"""
from __future__ import annotations

import hashlib
import math
from typing import Sequence

import numpy as np

from metakit.data.charset import CharacterSet

CLASS_FRACTIONS = (1100 / 1623, 100 / 1623, 423 / 1623)
SPLIT_NAMES = ("train", "val", "test")


def character_keys(charset: CharacterSet) -> list[tuple[str, str]]:
    """``[(alphabet, character)]`` of every character, in the set's order."""
    return [(str(e["alphabet"]), str(e["character"])) for e in charset.manifest]


def assert_disjoint(*sets: CharacterSet) -> None:
    """Raise ValueError naming every (alphabet, character) that occurs in more than one set."""
    owners: dict[tuple[str, str], list[int]] = {}
    for index, charset in enumerate(sets):
        for key in set(character_keys(charset)):
            owners.setdefault(key, []).append(index)
    shared = sorted((key, where) for key, where in owners.items() if len(where) > 1)
    if not shared:
        return
    names = [f"{a}/{c} (in {', '.join(sets[i].name for i in where)})" for (a, c), where in shared]
    listed = "; ".join(names[:8]) + (f"; and {len(names) - 8} more" if len(names) > 8 else "")
    raise ValueError(f"splits overlap in {len(shared)} characters: {listed}")


def union(*sets: CharacterSet, name: str | None = None) -> CharacterSet:
    """All distinct characters of ``sets``, concatenated in order; repeats are dropped.

    The two official minimal splits share 50 characters (Greek and Latin, identical images), so
    ``concatenate(small1, small2)`` would count them twice and leak them across a later split;
    ``union(small1, small2)`` holds each once (242 characters). A repeated (alphabet, character)
    whose images differ is an error.
    """
    if not sets:
        raise ValueError("union() needs at least one CharacterSet")
    shapes = {s.images.shape[1:] for s in sets}
    if len(shapes) > 1:
        raise ValueError(f"cannot join sets with image shapes {sorted(shapes)} [D, H, W]")
    first_seen: dict[tuple[str, str], np.ndarray] = {}
    images, manifest = [], []
    for charset in sets:
        for key, image, entry in zip(character_keys(charset), charset.images, charset.manifest):
            if key in first_seen:
                if not np.array_equal(first_seen[key], image):
                    raise ValueError(f"{key[0]}/{key[1]} occurs twice with different images "
                                     f"(second time in {charset.name})")
                continue
            first_seen[key] = image
            images.append(image)
            manifest.append(entry)
    joined = np.stack(images) if images else np.empty((0, *shapes.pop()), dtype=np.uint8)
    return CharacterSet(images=joined, manifest=manifest,
                        name=name or "+".join(s.name for s in sets), info={"union_of": [s.name for s in sets]})


def split_by_alphabet(
    background: CharacterSet, evaluation: CharacterSet
) -> tuple[CharacterSet, CharacterSet]:
    """The Omniglot paper's protocol: the two official sets as (train, test), checked disjoint."""
    assert_disjoint(background, evaluation)
    return background, evaluation


def split_alphabets(
    charset: CharacterSet, test_alphabets: Sequence[str]
) -> tuple[CharacterSet, CharacterSet]:
    """(train, test): the characters of ``test_alphabets`` form the test set, the rest train."""
    if isinstance(test_alphabets, str):
        raise TypeError("test_alphabets must be a list of alphabet names, not one string")
    wanted = set(test_alphabets)
    unknown = sorted(wanted - set(charset.alphabets))
    if unknown:
        raise ValueError(
            f"unknown alphabets {unknown} for {charset.name}; it has {charset.alphabets}"
        )
    if not wanted or wanted == set(charset.alphabets):
        raise ValueError(
            f"test_alphabets must name some but not all of the {len(charset.alphabets)} "
            f"alphabets of {charset.name}; got {len(wanted)}"
        )
    is_test = np.array([e["alphabet"] in wanted for e in charset.manifest])
    train = charset.subset(np.flatnonzero(~is_test), name=f"{charset.name}[train]")
    test = charset.subset(np.flatnonzero(is_test), name=f"{charset.name}[test]")
    assert_disjoint(train, test)
    return train, test


def sizes_from_fractions(total: int, fractions: Sequence[float]) -> tuple[int, ...]:
    """Integer sizes proportional to ``fractions`` of ``total`` (largest remainders).

    Fractions that sum to 1 use every character; 1623 with the class fractions gives exactly
    (1100, 100, 423).
    """
    if not fractions or any(f < 0 or not math.isfinite(f) for f in fractions):
        raise ValueError(f"fractions must be non-negative numbers; got {tuple(fractions)}")
    if sum(fractions) > 1 + 1e-9:
        raise ValueError(f"fractions sum to {sum(fractions):.4f} > 1: {tuple(fractions)}")
    exact = [f * total for f in fractions]
    sizes = [math.floor(x + 1e-9) for x in exact]
    budget = min(total, math.floor(sum(exact) + 1e-9)) - sum(sizes)
    by_remainder = sorted(range(len(exact)), key=lambda i: (sizes[i] - exact[i], i))
    for i in by_remainder[: max(budget, 0)]:
        sizes[i] += 1
    return tuple(sizes)


def _permutation_keys(charset: CharacterSet, seed: int) -> list[bytes]:
    """sha256 of ``seed:alphabet/character``: a seeded order that depends only on the names.

    Unlike a random generator's stream, it is the same on every machine and every library
    version, and it does not depend on the order of the input.
    """
    return [
        hashlib.sha256(f"{seed}:{a}/{c}".encode()).digest() for a, c in character_keys(charset)
    ]


def split_by_character(
    charset: CharacterSet,
    sizes: Sequence[int] | None = None,
    fractions: Sequence[float] = CLASS_FRACTIONS,
    seed: int = 0,
) -> list[CharacterSet]:
    """Seeded, disjoint split of the characters into ``len(sizes)`` sets.

    Args:
        charset: images ``[C, D, 28, 28]``.
        sizes: characters per split, e.g. ``(1100, 100, 423)``; their sum may be below C (the
            rest is unused) but not above. None: computed from ``fractions``.
        fractions: used when ``sizes`` is None; default 1100/100/423 of 1623 (train/val/test).
        seed: the permutation; the same seed and names always give the same split.

    Returns:
        one CharacterSet per size (``[size_i, D, 28, 28]``), each in the input's order, named
        ``<name>[train]``, ``[val]``, ``[test]`` (three splits) or ``[part<i>]``.
    """
    total = charset.num_characters
    if sizes is None:
        sizes = sizes_from_fractions(total, fractions)
    sizes = tuple(int(s) for s in sizes)
    if not sizes or any(s < 0 for s in sizes):
        raise ValueError(f"split sizes must be non-negative; got {sizes}")
    if sum(sizes) > total:
        raise ValueError(
            f"split sizes {' + '.join(map(str, sizes))} = {sum(sizes)} characters, but "
            f"{charset.name} has only {total}"
        )
    keys = _permutation_keys(charset, seed)
    order = sorted(range(total), key=lambda i: (keys[i], i))
    names = SPLIT_NAMES if len(sizes) == 3 else [f"part{i}" for i in range(len(sizes))]
    parts, start = [], 0
    for size, name in zip(sizes, names):
        chosen = sorted(order[start : start + size])
        part = charset.subset(chosen, name=f"{charset.name}[{name}]")
        part.info.update(split=name, split_seed=seed, split_sizes=list(sizes))
        parts.append(part)
        start += size
    assert_disjoint(*parts)
    return parts
