"""The one data front door (metakit.data.source): resolution order, the printed line, downloads of
every official split into the kit's Omniglot folder, and the loaders of hw0-hw2 reading what it finds."""
from __future__ import annotations

import argparse
import hashlib
import io
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metakit import blackbox, fewshot, multitask
from metakit.data import download as downloader, omniglot, source
from metakit.data.charset import CharacterSet
from metakit.data.omniglot import LAYOUT, OfficialFile, OmniglotError, read_omniglot, write_official_layout
from metakit.data.source import BACKGROUND, GLYPHS, MINIMAL, PATH, OmniglotNotFound, announce, resolve

SPLITS = {"background": "images_background", "evaluation": "images_evaluation",
          "background_small1": "images_background_small1", "background_small2": "images_background_small2"}


# ---------------------------------------------------------------- fake official files
def character_set(alphabets: list[str], characters: int, seed: int) -> CharacterSet:
    """Blocky random characters ``[A*C, 20, 28, 28]`` uint8, named ``<alphabet>/characterNN``."""
    rng = np.random.default_rng(seed)
    cells = (rng.random((len(alphabets) * characters, 20, 7, 7)) < 0.3).astype(np.uint8) * 255
    manifest = [{"alphabet": a, "character": f"character{c + 1:02d}",
                 "files": [f"{seed:02d}{i:02d}_{d + 1:02d}.png" for d in range(20)]}
                for i, (a, c) in enumerate((a, c) for a in alphabets for c in range(characters))]
    return CharacterSet(np.ascontiguousarray(cells.repeat(4, 2).repeat(4, 3)), manifest, name="fake")


def zip_tree(folder: Path, target: Path, top: str) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return target


def fake_sets() -> dict[str, CharacterSet]:
    """Small stand-ins: small2 shares alphabet Beta (identical images) with small1, like Greek and Latin."""
    small1 = character_set(["Alpha", "Beta"], 3, seed=3)
    beta = small1.subset(range(3, 6))
    gamma = character_set(["Gamma"], 2, seed=4)
    small2 = CharacterSet(np.concatenate([beta.images, gamma.images]), beta.manifest + gamma.manifest, name="fake")
    return {"background": character_set(["Aleph", "Bet", "Gimel"], 6, seed=1),
            "evaluation": character_set(["Eta", "Zeta"], 3, seed=2),
            "background_small1": small1, "background_small2": small2}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local folder with the four official zips (fake content), registered with their sha256."""
    folder = tmp_path / "server"
    folder.mkdir()
    for split, charset in fake_sets().items():
        tree = write_official_layout(charset, tmp_path / "trees" / split, size=28, binary=False, progress=False)
        data = zip_tree(tree, folder / f"{SPLITS[split]}.zip", SPLITS[split]).read_bytes()
        monkeypatch.setitem(omniglot.OFFICIAL_FILES, split,
                            OfficialFile(f"{SPLITS[split]}.zip", len(data), hashlib.sha256(data).hexdigest()))
    monkeypatch.setattr(downloader, "_urlopen",
                        lambda url: urllib.request.urlopen(folder.as_uri() + "/" + url.rsplit("/", 1)[-1]))
    return folder


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty cache, an empty shared folder, no $METAKIT_OMNIGLOT: nothing but glyphs."""
    folders = {name: tmp_path / name for name in ("cache", "shared", "env")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setenv("METAKIT_CACHE", str(folders["cache"]))
    monkeypatch.delenv("METAKIT_OMNIGLOT", raising=False)
    monkeypatch.setattr(source, "default_shared_dir", lambda: folders["shared"])
    folders["home"] = folders["cache"] / "omniglot"
    return folders


def put(server: Path, folder: Path, *splits: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        (folder / f"{SPLITS[split]}.zip").write_bytes((server / f"{SPLITS[split]}.zip").read_bytes())


MINIMAL_PAIR = ("background_small1", "background_small2")


# ---------------------------------------------------------------- resolution order
def test_nothing_anywhere_is_glyphs(places: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    found = announce("auto")
    assert found.kind == GLYPHS and found.paths == () and not found.is_omniglot
    assert capsys.readouterr().out == ("data: glyphs (embedded; run `python -m metakit data omniglot --download` "
                                       "for real Omniglot)\n")
    assert resolve("glyphs").kind == GLYPHS


def test_order_explicit_env_cache_background_shared_cache_minimal(
        server: Path, places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    put(server, places["home"], *MINIMAL_PAIR)
    assert resolve().kind == MINIMAL and resolve().paths[0].parent == places["home"]   # cache minimal
    put(server, places["shared"], *MINIMAL_PAIR)
    assert resolve().paths[0].parent == places["shared"]                               # shared > cache minimal
    put(server, places["home"], "background")
    assert resolve().kind == BACKGROUND and resolve().evaluation is None               # background > minimal
    put(server, places["env"], *MINIMAL_PAIR)
    monkeypatch.setenv("METAKIT_OMNIGLOT", str(places["env"]))
    assert resolve().kind == MINIMAL and resolve().paths[0].parent == places["env"]    # env > cache
    explicit = places["shared"] / "images_background_small1.zip"
    assert resolve(explicit) == resolve(str(explicit))
    assert resolve(explicit).kind == PATH and resolve(explicit).paths == (explicit,)   # explicit > env
    assert resolve(places["home"]).kind == BACKGROUND                                  # a folder of zips
    assert resolve("omniglot") == resolve("auto")


def test_background_with_evaluation_and_unpacked_folders(server: Path, places: dict[str, Path]) -> None:
    put(server, places["home"], "background", "evaluation")
    zipped = resolve()
    assert zipped.paths == (places["home"] / "images_background.zip",)
    assert zipped.evaluation == places["home"] / "images_evaluation.zip"
    assert zipped.line == f"data: Omniglot background; evaluation held out ({places['home']})"  # fake: no counts
    for name in ("images_background", "images_evaluation"):
        with zipfile.ZipFile(places["home"] / f"{name}.zip") as archive:
            archive.extractall(places["home"])
        (places["home"] / f"{name}.zip").unlink()
    unpacked = resolve()
    assert unpacked.paths == (places["home"] / "images_background",)
    assert unpacked.evaluation == places["home"] / "images_evaluation"
    assert np.array_equal(read_omniglot(unpacked.paths[0], progress=False).images, fake_sets()["background"].images)


def test_line_names_the_official_counts(places: dict[str, Path]) -> None:
    (places["home"]).mkdir()
    (places["home"] / "images_background.zip").write_bytes(b"not read by resolve")
    assert resolve().line == f"data: Omniglot background, 964 characters ({places['home']})"


def test_env_pointing_at_an_empty_folder(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_OMNIGLOT", str(places["env"]))
    found = resolve("auto")
    assert found.kind == GLYPHS
    assert f"$METAKIT_OMNIGLOT={places['env']} holds no Omniglot" in found.line
    with pytest.raises(FileNotFoundError) as error:
        resolve("omniglot")
    message = str(error.value)
    assert str(places["env"]) in message and "python -m metakit data omniglot --download" in message
    assert "images_background.zip" in message and LAYOUT in message
    monkeypatch.setenv("METAKIT_OMNIGLOT", str(places["env"] / "missing"))
    assert resolve("auto").kind == GLYPHS


def test_explicit_requests_without_omniglot_are_one_clear_error(places: dict[str, Path]) -> None:
    for request in (places["env"], places["env"] / "nowhere.zip"):
        with pytest.raises(OmniglotNotFound, match="python -m metakit data omniglot --download"):
            resolve(request)
    with pytest.raises(FileNotFoundError, match="images_background_small1.zip"):
        multitask.load_omniglot_alphabets(places["env"])
    with pytest.raises(ValueError, match="'glyphs'"):  # an unknown word is a missing path, and a bad argument
        blackbox.load_data("mnist")
    with pytest.raises(FileNotFoundError):
        fewshot.load_data("omniglot")


def test_tilde_paths_are_expanded(server: Path, tmp_path: Path, places: dict[str, Path],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    put(server, tmp_path / "omni", *MINIMAL_PAIR)
    monkeypatch.setenv("METAKIT_OMNIGLOT", "~/omni")
    assert resolve().paths == (tmp_path / "omni" / "images_background_small1.zip",
                               tmp_path / "omni" / "images_background_small2.zip")
    assert resolve("~/omni/images_background_small1.zip").paths == (tmp_path / "omni" / "images_background_small1.zip",)
    monkeypatch.setenv("METAKIT_CACHE", "~/cache")
    assert source.omniglot_home() == tmp_path / "cache" / "omniglot"
    assert read_omniglot("~/omni/images_background_small2.zip", progress=False).num_characters == 5


# ---------------------------------------------------------------- downloads, then every loader
def run_cli(*argv: str) -> int:
    from metakit.cli.data import add_data_commands

    parser = argparse.ArgumentParser()
    add_data_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.func(args)


@pytest.mark.parametrize("alias, split", [("background", "background"), ("evaluation", "evaluation"),
                                          ("small1", "background_small1"), ("small2", "background_small2")])
def test_download_each_split_into_the_kit_folder(alias: str, split: str, server: Path, places: dict[str, Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("omniglot", "--download", "--splits", alias) == 0
    target = places["home"] / f"{SPLITS[split]}.zip"
    assert sorted(p.name for p in places["home"].iterdir() if p.suffix == ".zip") == [target.name]
    assert omniglot.sha256_file(target) == omniglot.OFFICIAL_FILES[split].sha256
    out = capsys.readouterr().out
    assert f"omniglot/{SPLITS[split]}: {fake_sets()[split].num_characters} characters" in out
    assert out.splitlines()[-1].startswith("data: ")


def test_all_splits_then_the_loaders_use_background_and_evaluation(server: Path, places: dict[str, Path],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("omniglot", "--download", "--splits", "background,evaluation,small1,small2") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("data: Omniglot background")
    sets = fake_sets()
    few = fewshot.load_data("auto", val_characters=3, test_characters=2)
    assert (few.train.num_characters, few.val.num_characters) == (15, 3)
    assert np.array_equal(few.test.images, sets["evaluation"].images) and "images_evaluation" in few.summary()
    mann = blackbox.load_data("auto")
    assert np.array_equal(mann.train.images, sets["background"].images)
    assert np.array_equal(mann.test.images, sets["evaluation"].images)
    assert multitask.load_omniglot_alphabets().alphabets == ["Aleph", "Bet", "Gimel"]
    assert blackbox.omniglot_available() and fewshot.omniglot_available()


def test_minimal_splits_alone_keep_the_union_protocol(server: Path, places: dict[str, Path]) -> None:
    assert run_cli("omniglot", "--download", "--splits", "small1,small2") == 0
    found = resolve()
    assert found.kind == MINIMAL and found.paths[0].parent == places["home"]
    few = fewshot.load_data("auto", val_characters=2, test_characters=2)
    assert few.train.num_characters == 8 - 4  # 6 + 5 characters, 3 of them (alphabet Beta) in both
    alphabets = multitask.load_omniglot_alphabets()
    assert alphabets.name == "omniglot (minimal splits)" and alphabets.num_characters == 8
    keys = [(e["alphabet"], e["character"]) for e in alphabets.manifest]
    assert keys == sorted(set(keys))
    split = blackbox.omniglot_split(test_characters=3)
    assert (split.train.num_characters, split.test.num_characters) == (5, 3)


def test_cli_without_root_reads_what_the_loaders_find(server: Path, places: dict[str, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("omniglot") == 2
    assert "python -m metakit data omniglot --download" in capsys.readouterr().err
    put(server, places["shared"], *MINIMAL_PAIR)
    assert run_cli("omniglot") == 0
    assert "omniglot/images_background_small2: 5 characters" in capsys.readouterr().out


def test_download_retries_once_when_the_connection_breaks(server: Path, places: dict[str, Path]) -> None:
    data = (server / "images_evaluation.zip").read_bytes()
    calls: list[str] = []

    class BreaksOnce(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
            raise ConnectionResetError("connection reset by peer")

    def fetch(url: str):  # noqa: ANN202 - bytes or a stream
        calls.append(url)
        return BreaksOnce() if len(calls) == 1 else io.BytesIO(data)

    [path] = omniglot.download(places["home"], ["evaluation"], fetch=fetch, progress=False)
    assert len(calls) == 2 and path.read_bytes() == data
    assert sorted(p.name for p in places["home"].iterdir()) == ["images_evaluation.zip"]  # no partial file


def test_unknown_split_on_the_command_line(places: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("omniglot", "--download", "--splits", "background,small3") == 2
    assert "unknown Omniglot split 'small3'; known: background, evaluation" in capsys.readouterr().err
    assert not places["home"].exists() or not any(places["home"].iterdir())


# ---------------------------------------------------------------- layouts that are not the official one
def test_a_small_official_zip_is_read(tmp_path: Path) -> None:
    charset = character_set(["Alpha", "Beta"], 2, seed=5)
    tree = write_official_layout(charset, tmp_path / "tree", size=28, binary=False, progress=False)
    back = read_omniglot(zip_tree(tree, tmp_path / "set.zip", "my_set"), progress=False)
    assert np.array_equal(back.images, charset.images) and back.name == "omniglot/my_set"


def test_one_shot_runs_are_refused(tmp_path: Path) -> None:
    png = io.BytesIO()
    from PIL import Image

    Image.new("1", (105, 105), 1).save(png, format="PNG")
    runs = tmp_path / "all_runs.zip"
    with zipfile.ZipFile(runs, "w") as archive:
        for run in range(1, 3):
            for i in range(1, 21):
                archive.writestr(f"all_runs/run{run:02d}/training/class{i:02d}.png", png.getvalue())
                archive.writestr(f"all_runs/run{run:02d}/test/item{i:02d}.png", png.getvalue())
    with pytest.raises(OmniglotError) as error:
        read_omniglot(runs, progress=False)
    message = str(error.value)
    assert LAYOUT in message and "<id>_<drawer>.png" in message
    assert "all_runs.zip:all_runs/run01/test/item01.png" in message and "one-shot classification runs" in message


def test_mixed_ids_and_repeated_drawers_are_refused(tmp_path: Path) -> None:
    charset = character_set(["Alpha"], 2, seed=6)
    tree = write_official_layout(charset, tmp_path / "tree", size=28, binary=False, progress=False)
    folder = tree / "Alpha" / "character01"
    (folder / "0600_02.png").rename(folder / "0600_1.png")
    with pytest.raises(OmniglotError, match=rf"Alpha/character01 holds drawer 1 2 times\. Expected {LAYOUT}"):
        read_omniglot(tree, progress=False)
    (folder / "0600_1.png").rename(folder / "0999_02.png")
    with pytest.raises(OmniglotError, match=r"Alpha/character01 holds character ids 0600, 0999"):
        read_omniglot(tree, progress=False)


def test_official_name_with_wrong_counts_is_refused(tmp_path: Path) -> None:
    charset = character_set(["Alpha", "Beta"], 3, seed=7)
    tree = write_official_layout(charset, tmp_path / "tree", size=28, binary=False, progress=False)
    with pytest.raises(OmniglotError, match=r"images_background_small1 of the official release holds 136 "
                                            r"characters in 5 alphabets, 20 drawers each; found 6 characters "
                                            r"in 2 alphabets"):
        read_omniglot(zip_tree(tree, tmp_path / "images_background_small1.zip", "images_background_small1"),
                      progress=False)


# ---------------------------------------------------------------- the real minimal splits beside the repo
@pytest.mark.omniglot
def test_the_shared_minimal_splits_are_found(omniglot_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("METAKIT_OMNIGLOT", raising=False)
    monkeypatch.setattr(source, "default_shared_dir", lambda: omniglot_dir)
    found = resolve()
    assert found.kind == MINIMAL and found.paths == (omniglot_dir / "images_background_small1.zip",
                                                     omniglot_dir / "images_background_small2.zip")
    assert found.line == f"data: Omniglot minimal splits small1 + small2, 242 distinct characters ({omniglot_dir})"
    assert source.load_characters(found).pool.num_characters == 242


def test_hw0_alphabets_fall_back_to_glyphs(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METAKIT_OMNIGLOT", str(places["env"]))
    alphabets = multitask.load_alphabets("auto")
    assert alphabets.name == "glyphs(seed=1)" and len(alphabets.alphabets) == 10


def test_the_data_package_imports_nothing_above_it() -> None:
    """Data flows one way (dataset -> episodes -> model -> loop): metakit.data imports only itself
    and metakit.paths, never metakit.episodes, metakit.plot or a command line."""
    import ast

    import metakit.data

    allowed = ("metakit.data", "metakit.paths")
    for path in sorted(Path(metakit.data.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name == "metakit" or name.startswith("metakit."):
                    assert name.startswith(allowed), f"{path.name}:{node.lineno} imports {name}"
