"""Splits by alphabet and by character: sizes, determinism, disjointness, errors."""
from __future__ import annotations

import numpy as np
import pytest

from metakit.data.charset import CharacterSet
from metakit.data.splits import (
    assert_disjoint,
    character_keys,
    sizes_from_fractions,
    split_alphabets,
    split_by_alphabet,
    split_by_character,
    union,
)


def make_set(alphabets: int = 4, characters: int = 10, drawers: int = 2, name: str = "toy",
             first_alphabet: int = 0) -> CharacterSet:
    """``[A*C, D, 28, 28]``; every image filled with its character's index (mod 256)."""
    count = alphabets * characters
    images = (np.arange(count, dtype=np.int64) % 256).astype(np.uint8)
    images = np.broadcast_to(images[:, None, None, None], (count, drawers, 28, 28)).copy()
    manifest = [{"alphabet": f"Script_{a:02d}", "character": f"character{c + 1:02d}"}
                for a in range(first_alphabet, first_alphabet + alphabets) for c in range(characters)]
    return CharacterSet(images, manifest, name=name)


def keys(charset: CharacterSet) -> set[tuple[str, str]]:
    return set(character_keys(charset))


# ---------------------------------------------------------------- by character
def test_class_protocol_sizes_on_1623_characters() -> None:
    full = make_set(alphabets=1, characters=1623, drawers=1)
    train, val, test = split_by_character(full)
    assert (train.num_characters, val.num_characters, test.num_characters) == (1100, 100, 423)
    assert keys(train) | keys(val) | keys(test) == keys(full)
    assert_disjoint(train, val, test)
    assert [s.name for s in (train, val, test)] == ["toy[train]", "toy[val]", "toy[test]"]


def test_images_follow_their_manifest() -> None:
    full = make_set()
    for part in split_by_character(full, sizes=(25, 15)):
        index = {k: i for i, k in enumerate(character_keys(full))}
        for image, key in zip(part.images, character_keys(part)):
            assert np.array_equal(image, full.images[index[key]])


def test_deterministic_and_seeded() -> None:
    full = make_set()
    first = [keys(s) for s in split_by_character(full, sizes=(20, 10, 10), seed=3)]
    again = [keys(s) for s in split_by_character(full, sizes=(20, 10, 10), seed=3)]
    other = [keys(s) for s in split_by_character(full, sizes=(20, 10, 10), seed=4)]
    assert first == again
    assert first != other


def test_independent_of_input_order() -> None:
    full = make_set()
    shuffled = full.subset(np.random.default_rng(1).permutation(full.num_characters))
    assert [keys(s) for s in split_by_character(full, seed=7)] == \
        [keys(s) for s in split_by_character(shuffled, seed=7)]


def test_parts_keep_input_order_and_record_the_split() -> None:
    train, rest = split_by_character(make_set(), sizes=(30, 10), seed=0)
    order = character_keys(train)
    assert order == sorted(order)
    assert train.name == "toy[part0]" and rest.info["split_seed"] == 0
    assert rest.info["split_sizes"] == [30, 10]


def test_sizes_may_leave_characters_unused() -> None:
    small = split_by_character(make_set(), sizes=(5, 3))
    assert [s.num_characters for s in small] == [5, 3]
    assert_disjoint(*small)


def test_sizes_from_fractions() -> None:
    assert sizes_from_fractions(1623, (1100 / 1623, 100 / 1623, 423 / 1623)) == (1100, 100, 423)
    assert sum(sizes_from_fractions(40, (1100 / 1623, 100 / 1623, 423 / 1623))) == 40
    assert sizes_from_fractions(10, (0.5, 0.25)) == (5, 2)  # the rest unused
    assert sizes_from_fractions(3, (1 / 3, 1 / 3, 1 / 3)) == (1, 1, 1)


def test_too_many_characters_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"1100 \+ 100 \+ 423 = 1623 characters, but toy has only 40"):
        split_by_character(make_set(), sizes=(1100, 100, 423))


@pytest.mark.parametrize("sizes", [(-1, 5), ()])
def test_bad_sizes(sizes: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"split sizes must be non-negative"):
        split_by_character(make_set(), sizes=sizes)


@pytest.mark.parametrize("fractions", [(0.8, 0.3), (-0.1, 0.5), ()])
def test_bad_fractions(fractions: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"fractions"):
        split_by_character(make_set(), fractions=fractions)


# ---------------------------------------------------------------- disjointness
def test_assert_disjoint_names_the_overlap() -> None:
    full = make_set()
    a, b = full.subset(range(0, 12), name="a"), full.subset(range(10, 20), name="b")
    with pytest.raises(ValueError, match=r"overlap in 2 characters: Script_01/character01 \(in a, b\); "
                                         r"Script_01/character02 \(in a, b\)"):
        assert_disjoint(a, b)
    assert_disjoint(full.subset(range(0, 10)), full.subset(range(10, 20)), full.subset([]))


def test_assert_disjoint_compares_names_not_positions() -> None:
    one = make_set(alphabets=1, name="one")
    same_names_other_images = CharacterSet(255 - one.images, list(one.manifest), name="two")
    with pytest.raises(ValueError, match=r"overlap in 10 characters"):
        assert_disjoint(one, same_names_other_images)


# ---------------------------------------------------------------- by alphabet
def test_split_by_alphabet_returns_the_official_sets() -> None:
    background, evaluation = make_set(3, name="bg"), make_set(2, name="ev", first_alphabet=3)
    assert split_by_alphabet(background, evaluation) == (background, evaluation)
    with pytest.raises(ValueError, match=r"overlap in 10 characters: Script_02/character01 \(in bg, ev2\)"):
        split_by_alphabet(background, make_set(2, name="ev2", first_alphabet=2))


def test_split_alphabets() -> None:
    full = make_set()
    train, test = split_alphabets(full, ["Script_03", "Script_01"])
    assert test.alphabets == ["Script_01", "Script_03"] and train.alphabets == ["Script_00", "Script_02"]
    assert train.num_characters == test.num_characters == 20
    assert_disjoint(train, test)


def test_split_alphabets_errors() -> None:
    full = make_set()
    with pytest.raises(ValueError, match=r"unknown alphabets \['Klingon'\]"):
        split_alphabets(full, ["Klingon"])
    with pytest.raises(ValueError, match=r"some but not all of the 4 alphabets"):
        split_alphabets(full, full.alphabets)
    with pytest.raises(ValueError, match=r"some but not all"):
        split_alphabets(full, [])
    with pytest.raises(TypeError, match=r"not one string"):
        split_alphabets(full, "Script_00")


# ---------------------------------------------------------------- union
def test_union_drops_repeats() -> None:
    full = make_set()
    joined = union(full.subset(range(0, 25)), full.subset(range(15, 40)), name="joined")
    assert joined.num_characters == 40 and joined.name == "joined"
    assert np.array_equal(joined.images, full.images)
    assert character_keys(joined) == character_keys(full)


def test_union_rejects_a_repeat_with_different_images() -> None:
    one = make_set(alphabets=1)
    clash = CharacterSet(255 - one.images, list(one.manifest), name="clash")
    with pytest.raises(ValueError, match=r"Script_00/character01 occurs twice with different images"):
        union(one, clash)
