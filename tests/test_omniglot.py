"""Real Omniglot reader, cache, downloader, writer, and every bad input they must reject."""
from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metakit.data import download as downloader, omniglot
from metakit.data.charset import CharacterSet
from metakit.data.omniglot import (
    OfficialFile,
    OmniglotError,
    download,
    find_sources,
    load_omniglot,
    read_omniglot,
    write_official_layout,
)
from metakit.data.splits import assert_disjoint, split_by_alphabet, union
from metakit.paths import shared_omniglot_dir

SMALL1 = "images_background_small1.zip"
SMALL2 = "images_background_small2.zip"
SMALL1_ALPHABETS = ["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]
SMALL2_ALPHABETS = ["Greek", "Japanese_(katakana)", "Latin", "Sanskrit", "Tagalog"]


# ---------------------------------------------------------------- helpers
def shared_zip(name: str) -> Path:
    path = shared_omniglot_dir() / name
    if not path.exists():
        pytest.skip(f"real Omniglot not found: {path} is absent (the two official minimal splits "
                    f"belong in {shared_omniglot_dir()}; set METAKIT_OMNIGLOT to another folder)")
    return path


@pytest.fixture(scope="module")
def small1() -> CharacterSet:
    return read_omniglot(shared_zip(SMALL1), progress=False)


@pytest.fixture(scope="module")
def small2() -> CharacterSet:
    return read_omniglot(shared_zip(SMALL2), progress=False)


def synthetic_set(alphabets: int = 2, characters: int = 3, drawers: int = 20, seed: int = 0) -> CharacterSet:
    """Blocky random characters (``[A*C, D, 28, 28]`` uint8 0/255) with per-drawer noise."""
    rng = np.random.default_rng(seed)
    base = rng.random((alphabets * characters, 1, 7, 7)) < 0.3
    noise = rng.random((alphabets * characters, drawers, 7, 7)) < 0.05
    cells = (base ^ noise).astype(np.uint8) * 255
    images = cells.repeat(4, axis=2).repeat(4, axis=3)
    manifest = [{"alphabet": f"Alphabet_{a}", "character": f"character{c + 1:02d}"}
                for a in range(alphabets) for c in range(characters)]
    return CharacterSet(np.ascontiguousarray(images), manifest, name="synthetic")


@pytest.fixture
def layout(tmp_path: Path) -> tuple[CharacterSet, Path]:
    """A synthetic set written as exact 28x28 grey PNGs in the official layout."""
    charset = synthetic_set()
    root = write_official_layout(charset, tmp_path / "set", size=28, binary=False, progress=False)
    return charset, root


def zip_folder(folder: Path, target: Path, top: str | None = None) -> Path:
    """Zip the files of ``folder`` (no directory entries, like many zip tools)."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            archive.write(path, f"{top}/{relative}" if top else relative)
    return target


def first_png(root: Path) -> Path:
    return sorted(root.rglob("*.png"))[0]


# ---------------------------------------------------------------- the real minimal splits
@pytest.mark.omniglot
def test_small1_shape_dtype_and_manifest(small1: CharacterSet) -> None:
    assert small1.images.shape == (136, 20, 28, 28)
    assert small1.images.dtype == np.uint8
    assert small1.alphabets == SMALL1_ALPHABETS
    keys = [(e["alphabet"], e["character"]) for e in small1.manifest]
    assert keys == sorted(keys) and len(set(keys)) == 136
    for entry in small1.manifest:
        assert len(entry["files"]) == 20 and entry["files"] == sorted(entry["files"])
    assert small1.manifest[0]["files"][0] == "0108_01.png"  # Balinese/character01, drawer 1
    assert small1.name == "omniglot/images_background_small1"


@pytest.mark.omniglot
def test_small1_strokes_are_bright_on_black(small1: CharacterSet) -> None:
    images = small1.images
    assert images.max() == 255
    corners = images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 0).mean() > 0.99  # background is 0
    ink = (images > 127).mean()
    assert 0.03 < ink < 0.25, ink  # thin strokes, not an inverted page
    assert np.all((images > 0).reshape(136 * 20, -1).any(axis=1))  # no blank image


@pytest.mark.omniglot
def test_small2_shape_and_alphabets(small2: CharacterSet) -> None:
    assert small2.images.shape == (156, 20, 28, 28)
    assert small2.alphabets == SMALL2_ALPHABETS


@pytest.mark.omniglot
def test_same_files_give_the_same_array(small1: CharacterSet) -> None:
    again = read_omniglot(shared_zip(SMALL1), progress=False)
    assert np.array_equal(again.images, small1.images)
    assert again.manifest == small1.manifest


@pytest.mark.omniglot
def test_extracted_folder_equals_zip(small1: CharacterSet, tmp_path: Path) -> None:
    with zipfile.ZipFile(shared_zip(SMALL1)) as archive:
        archive.extractall(tmp_path)
    for root in (tmp_path, tmp_path / "images_background_small1"):  # with and without top folder
        folder = read_omniglot(root, progress=False)
        assert np.array_equal(folder.images, small1.images)
        assert folder.manifest == small1.manifest
        assert folder.name == small1.name


@pytest.mark.omniglot
def test_cache_round_trip(small1: CharacterSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path / "cache"))
    built = load_omniglot(shared_zip(SMALL1), progress=False)
    files = sorted(p.name for p in (tmp_path / "cache" / "omniglot").iterdir())
    assert len(files) == 2 and files[0].startswith("images_background_small1-1319022-f38eb80f")
    assert files[0].endswith(f"-v{omniglot.LOADER_VERSION}.json")

    def must_not_read(*args: object, **kwargs: object) -> CharacterSet:
        raise AssertionError("the second load must come from the cache")

    monkeypatch.setattr(omniglot, "read_omniglot", must_not_read)
    cached = load_omniglot(shared_zip(SMALL1))
    assert np.array_equal(cached.images, small1.images) and np.array_equal(built.images, small1.images)
    assert cached.manifest == small1.manifest


@pytest.mark.omniglot
def test_minimal_splits_share_fifty_characters(small1: CharacterSet, small2: CharacterSet) -> None:
    """Greek and Latin are in both minimal splits: stacking them would leak characters."""
    with pytest.raises(ValueError, match=r"overlap in 50 characters: Greek/character01"):
        split_by_alphabet(small1, small2)
    joined = union(small1, small2)
    assert joined.num_characters == 136 + 156 - 50
    assert_disjoint(small1, joined.subset(range(136, joined.num_characters)))


@pytest.mark.omniglot
def test_download_real_zip_from_file_url(tmp_path: Path) -> None:
    shared = shared_zip(SMALL1).parent
    [path] = download(tmp_path, ["background_small1"], base_url=shared.as_uri(), progress=False)
    assert path == tmp_path / SMALL1
    assert omniglot.sha256_file(path) == omniglot.OFFICIAL_FILES["background_small1"].sha256

    def offline(url: str) -> bytes:
        raise AssertionError(f"a file with the right checksum must not be fetched again: {url}")

    assert download(tmp_path, ["background_small1"], fetch=offline) == [path]
    assert find_sources(tmp_path) == [path]


# ---------------------------------------------------------------- synthetic sets: reading and writing
def test_write_then_read_is_exact_at_28(layout: tuple[CharacterSet, Path]) -> None:
    charset, root = layout
    back = read_omniglot(root, progress=False)
    assert np.array_equal(back.images, charset.images)
    assert [(e["alphabet"], e["character"]) for e in back.manifest] == \
        [(e["alphabet"], e["character"]) for e in charset.manifest]
    assert back.manifest[0]["files"] == [f"0001_{d:02d}.png" for d in range(1, 21)]


def test_written_105_pngs_are_one_bit_and_read_back_close(tmp_path: Path) -> None:
    from PIL import Image

    charset = synthetic_set(alphabets=1, characters=2)
    root = write_official_layout(charset, tmp_path, size=105, progress=False)
    with Image.open(first_png(root)) as image:
        assert image.mode == "1" and image.size == (105, 105)
    back = read_omniglot(root, progress=False)
    difference = np.abs(back.images.astype(int) - charset.images.astype(int)).mean()
    assert difference < 10, difference


def test_zip_with_and_without_top_folder(layout: tuple[CharacterSet, Path], tmp_path: Path) -> None:
    charset, root = layout
    flat = read_omniglot(zip_folder(root, tmp_path / "flat.zip"), progress=False)
    nested = read_omniglot(zip_folder(root, tmp_path / "nested.zip", top="images_x"), progress=False)
    assert np.array_equal(flat.images, charset.images) and np.array_equal(nested.images, charset.images)
    assert nested.name == "omniglot/images_x"


def test_hidden_files_are_ignored(layout: tuple[CharacterSet, Path]) -> None:
    charset, root = layout
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "Alphabet_0" / "character01" / "._0001_01.png").write_bytes(b"junk")
    assert np.array_equal(read_omniglot(root, progress=False).images, charset.images)


def test_folder_cache_key_follows_content(layout: tuple[CharacterSet, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    charset, root = layout
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path / "cache"))
    first = omniglot.cache_path(root)
    assert np.array_equal(load_omniglot(root, progress=False).images, charset.images)
    assert first.with_suffix(".npz").exists()
    (root / "Alphabet_0" / "character01" / "0001_01.png").write_bytes(
        (root / "Alphabet_1" / "character01" / "0004_01.png").read_bytes() + b"\0")
    assert omniglot.cache_path(root) != first  # changed content, new key


def test_corrupt_cache_is_rebuilt(layout: tuple[CharacterSet, Path], tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    charset, root = layout
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path / "cache"))
    load_omniglot(root, progress=False)
    omniglot.cache_path(root).with_suffix(".npz").write_bytes(b"not an npz")
    assert np.array_equal(load_omniglot(root, progress=False).images, charset.images)


# ---------------------------------------------------------------- bad input
def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.zip"
    for call in (read_omniglot, load_omniglot):
        with pytest.raises(OmniglotError, match=r"not found: .*nowhere\.zip.*--download"):
            call(missing)


def test_truncated_png(layout: tuple[CharacterSet, Path]) -> None:
    _, root = layout
    victim = first_png(root)
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(OmniglotError, match=rf"cannot decode .*{victim.name}"):
        read_omniglot(root, progress=False)


def test_non_image_png(layout: tuple[CharacterSet, Path], tmp_path: Path) -> None:
    _, root = layout
    victim = sorted(root.rglob("*.png"))[-1]
    victim.write_text("<html>Google Drive - virus scan warning</html>")
    with pytest.raises(OmniglotError, match=rf"cannot decode .*{victim.name}.*not a PNG"):
        read_omniglot(root, progress=False)
    archive = zip_folder(root, tmp_path / "bad.zip")
    with pytest.raises(OmniglotError, match=rf"bad\.zip:.*{victim.name}"):
        read_omniglot(archive, progress=False)


def test_not_a_zip(tmp_path: Path) -> None:
    fake = tmp_path / "images_background.zip"
    fake.write_text("<html>Sorry, we can't scan this file for viruses</html>")
    with pytest.raises(OmniglotError, match=r"images_background\.zip is not a zip file"):
        read_omniglot(fake)


def test_empty_alphabet_folder(layout: tuple[CharacterSet, Path], tmp_path: Path) -> None:
    _, root = layout
    (root / "Empty_Script").mkdir()
    with pytest.raises(OmniglotError, match=r"empty alphabet folder: .*Empty_Script"):
        read_omniglot(root, progress=False)
    with zipfile.ZipFile(zip_folder(root, tmp_path / "e.zip"), "a") as archive:
        archive.writestr("Empty_Script/", b"")
    with pytest.raises(OmniglotError, match=r"empty alphabet folder: .*e\.zip:Empty_Script"):
        read_omniglot(tmp_path / "e.zip", progress=False)


def test_empty_character_folder(layout: tuple[CharacterSet, Path]) -> None:
    _, root = layout
    (root / "Alphabet_0" / "character99").mkdir()
    with pytest.raises(OmniglotError, match=r"empty character folder: .*Alphabet_0/character99"):
        read_omniglot(root, progress=False)


def test_no_images_at_all(tmp_path: Path) -> None:
    (tmp_path / "Latin" / "character01").mkdir(parents=True)
    with pytest.raises(OmniglotError, match=r"wrong layout .*no PNG images found"):
        read_omniglot(tmp_path)


def test_images_without_alphabet_folders(layout: tuple[CharacterSet, Path], tmp_path: Path) -> None:
    _, root = layout
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, png in enumerate(sorted(root.rglob("*.png"))):
        (flat / f"{i:04d}.png").write_bytes(png.read_bytes())
    with pytest.raises(OmniglotError, match=r"no <Alphabet>/<characterNN>/ folders found; images sit "
                                            r"0 folder\(s\) deep"):
        read_omniglot(flat)


def test_image_at_the_wrong_depth(layout: tuple[CharacterSet, Path]) -> None:
    _, root = layout
    stray = root / "Alphabet_1" / "stray.png"
    stray.write_bytes(first_png(root).read_bytes())
    with pytest.raises(OmniglotError, match=r"image at the wrong depth: .*Alphabet_1/stray\.png"):
        read_omniglot(root, progress=False)


def test_several_top_folders(layout: tuple[CharacterSet, Path], tmp_path: Path) -> None:
    _, root = layout
    both = zip_folder(root, tmp_path / "a.zip", top="images_background")
    with zipfile.ZipFile(both, "a") as archive:
        archive.write(first_png(root), "images_evaluation/X/character01/1_01.png")
    with pytest.raises(OmniglotError, match=r"several top folders \(images_background, images_evaluation\)"):
        read_omniglot(both)


def test_different_drawer_counts(layout: tuple[CharacterSet, Path]) -> None:
    _, root = layout
    (root / "Alphabet_1" / "character02" / "0005_07.png").unlink()
    with pytest.raises(OmniglotError, match=r"5 characters have 20 drawers, but Alphabet_1/character02 \(19\)"):
        read_omniglot(root, progress=False)


# ---------------------------------------------------------------- downloader against local files
@pytest.fixture
def fake_release(layout: tuple[CharacterSet, Path], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> tuple[Path, OfficialFile]:
    """A local 'server' folder holding a zip, registered as the official background file."""
    _, root = layout
    server = tmp_path / "server"
    server.mkdir()
    archive = zip_folder(root, server / "images_background.zip", top="images_background")
    data = archive.read_bytes()
    spec = OfficialFile("images_background.zip", len(data), hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(omniglot.OFFICIAL_FILES, "background", spec)
    return server, spec


def test_download_good_file_then_read_it(fake_release: tuple[Path, OfficialFile], tmp_path: Path,
                                         layout: tuple[CharacterSet, Path]) -> None:
    server, spec = fake_release
    [path] = download(tmp_path / "data", ["background"], base_url=server.as_uri(), progress=False)
    assert omniglot.sha256_file(path) == spec.sha256
    assert sorted(p.name for p in path.parent.iterdir()) == ["images_background.zip"]
    assert np.array_equal(read_omniglot(path, progress=False).images, layout[0].images)


def test_download_accepts_bytes_and_streams(fake_release: tuple[Path, OfficialFile], tmp_path: Path) -> None:
    server, spec = fake_release
    data = (server / spec.filename).read_bytes()
    seen: list[str] = []

    def fetch(url: str) -> io.BytesIO:
        seen.append(url)
        return io.BytesIO(data)

    download(tmp_path / "a", ["background"], fetch=fetch, progress=False)
    download(tmp_path / "b", ["background"], fetch=lambda url: data, progress=False)
    assert seen == [omniglot.OFFICIAL_BASE_URL + "images_background.zip"]
    assert (tmp_path / "b" / spec.filename).read_bytes() == data


def test_download_checksum_mismatch_saves_nothing(tmp_path: Path) -> None:
    server = tmp_path / "server"
    server.mkdir()
    (server / "images_background.zip").write_bytes(b"<html>virus scan warning</html>")
    target = tmp_path / "data"
    with pytest.raises(OmniglotError, match=r"checksum mismatch for file://.*images_background\.zip.*"
                                            r"expected ad41ab67.*--root"):
        download(target, ["background"], base_url=server.as_uri(), progress=False)
    assert list(target.iterdir()) == []


def test_download_replaces_a_bad_existing_file(fake_release: tuple[Path, OfficialFile], tmp_path: Path) -> None:
    server, spec = fake_release
    (tmp_path / spec.filename).write_bytes(b"half a download")
    [path] = download(tmp_path, ["background"], base_url=server.as_uri(), progress=False)
    assert omniglot.sha256_file(path) == spec.sha256


def test_download_offline_says_what_to_do(tmp_path: Path) -> None:
    def offline(url: str) -> bytes:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    with pytest.raises(OmniglotError) as error:
        download(tmp_path, ["evaluation"], fetch=offline)
    message = str(error.value)
    assert omniglot.OFFICIAL_BASE_URL + "images_evaluation.zip" in message
    assert "offline" in message and "by hand" in message and f"--root {tmp_path}" in message
    assert list(tmp_path.iterdir()) == []


def test_download_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(OmniglotError, match=r"cannot download file://.*images_evaluation\.zip"):
        download(tmp_path / "data", ["evaluation"], base_url=(tmp_path / "empty").as_uri())


def test_broken_off_download_leaves_no_partial_file(fake_release: tuple[Path, OfficialFile],
                                                    tmp_path: Path) -> None:
    server, spec = fake_release
    data = (server / spec.filename).read_bytes()

    class DropsAfterHalf(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            if self.sent >= len(data) // 2:
                raise ConnectionResetError("connection reset by peer")
            chunk = data[self.sent : self.sent + min(size, 1000)]
            self.sent += len(chunk)
            return chunk

    target = tmp_path / "data"
    with pytest.raises(OmniglotError, match=r"broke off after \d+ bytes"):
        download(target, ["background"], fetch=lambda url: DropsAfterHalf(), progress=False)
    assert list(target.iterdir()) == []


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(OmniglotError, match=r"unknown Omniglot split 'training'; known: background"):
        download(tmp_path, ["training"])


# ---------------------------------------------------------------- the data CLI
def run_cli(*argv: str) -> int:
    import argparse

    from metakit.cli.data import add_data_commands

    parser = argparse.ArgumentParser()
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.func(args)


def test_cli_omniglot_builds_the_cache(layout: tuple[CharacterSet, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _, root = layout
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path / "cache"))
    assert run_cli("omniglot", "--root", str(root)) == 0
    out = capsys.readouterr().out
    assert "omniglot/set: 6 characters x 20 drawers of 28x28 in 2 alphabets" in out
    assert omniglot.cache_path(root).with_suffix(".npz").exists()
    assert str(tmp_path / "cache" / "omniglot") in out


def test_cli_errors_are_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("omniglot", "--root", str(tmp_path / "missing")) == 2
    assert "error: Omniglot source not found" in capsys.readouterr().err

    def offline(url: str) -> bytes:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(downloader, "_urlopen", offline)
    assert run_cli("omniglot", "--root", str(tmp_path / "dl"), "--download") == 2
    err = capsys.readouterr().err
    assert "cannot download https://github.com/brendenlake/omniglot/" in err and "--root" in err


def test_cli_show_writes_a_figure(layout: tuple[CharacterSet, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("metakit.plot")
    _, root = layout
    out = tmp_path / "figs" / "episode.png"
    assert run_cli("show", "--dataset", "omniglot", "--root", str(root), "--ways", "3", "--shots", "2",
                   "--queries", "1", "--out", str(out)) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli("show", "--dataset", "omniglot", "--root", str(root), "--ways", "9") == 2
    assert "9-way episodes need 9 classes but this split has only 6" in capsys.readouterr().err
    assert run_cli("show", "--dataset", "omniglot") == 2
    assert "needs --root" in capsys.readouterr().err
