"""``python -m metakit data ...``: build the data caches and look at a sampled episode.

    python -m metakit data omniglot [--root PATH] [--download [--splits background,evaluation,small1,small2]]
    python -m metakit data glyphs
    python -m metakit data show --dataset glyphs --ways 5 --shots 1 --queries 2 --out episode.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metakit.data.charset import CharacterSet
from metakit.data.omniglot import OmniglotError, as_path, cache_path, download, find_sources, load_omniglot


def add_data_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``data`` command group (omniglot, glyphs, show) on ``subparsers``."""
    data = subparsers.add_parser("data", help="build data caches, look at episodes")
    commands = data.add_subparsers(dest="data_command", required=True)

    p = commands.add_parser("omniglot", help="read real Omniglot (official layout) into the cache")
    p.add_argument("--root", type=as_path, default=None,
                   help="a zip or folder in the official layout, or a folder holding the official "
                        "zips (with --download: where to put them; default the kit's Omniglot folder, "
                        "cache_dir()/omniglot, where every loader looks). Without --root and "
                        "--download: what the loaders find (metakit.data.source.resolve)")
    p.add_argument("--download", action="store_true",
                   help="fetch the official zips of --splits (sha256-checked) into --root first")
    p.add_argument("--splits", type=_splits, default=("background", "evaluation"),
                   help="comma-separated official files to download: background, evaluation, small1, "
                        "small2 (default: background,evaluation)")
    p.set_defaults(func=cmd_omniglot)

    p = commands.add_parser("glyphs", help="generate the embedded Omniglot-style glyphs into the cache")
    p.add_argument("--episodes", type=int, default=500, help="episodes for the 1-NN baseline")
    p.set_defaults(func=cmd_glyphs)

    p = commands.add_parser("show", help="sample an episode and save it as a figure")
    p.add_argument("--dataset", choices=["glyphs", "omniglot"], default="glyphs")
    p.add_argument("--root", type=Path, default=None, help="Omniglot source (for --dataset omniglot)")
    p.add_argument("--ways", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--queries", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--index", type=int, default=0, help="which episode of the seeded stream")
    p.add_argument("--rotations", action="store_true", help="90/180/270-degree rotations as classes")
    p.add_argument("--out", type=Path, default=Path("episode.png"))
    p.set_defaults(func=cmd_show)
    return data


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _splits(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _omniglot_sources(args: argparse.Namespace) -> list[Path]:
    """The zips or folders to read: downloaded, under ``--root``, or what the loaders find."""
    from metakit.data.source import omniglot_home, resolve

    if args.download:
        return download(args.root or omniglot_home(), args.splits)
    if args.root is not None:
        return find_sources(args.root)
    source = resolve("omniglot")
    return [*source.paths, *([source.evaluation] if source.evaluation else [])]


def cmd_omniglot(args: argparse.Namespace) -> int:
    """Download (optionally), read and cache Omniglot; end with the line the loaders will print."""
    from metakit.data.source import resolve

    try:
        for source in _omniglot_sources(args):
            charset = load_omniglot(source)
            print(charset.summary())
            print(f"  cache: {cache_path(source).with_suffix('.npz')} (+ .json manifest)")
        print(resolve("auto").line)
    except (OmniglotError, FileNotFoundError) as err:
        return _fail(str(err))
    return 0


def cmd_glyphs(args: argparse.Namespace) -> int:
    """Build the glyph cache and print its summary and pixel 1-NN 5-way 1-shot accuracy."""
    from metakit.data.glyphs import load_glyphs, nn_baseline_accuracy
    from metakit.paths import cache_dir

    charset = load_glyphs()
    print(charset.summary())
    print(f"  cache: {cache_dir() / 'glyphs'}")
    accuracy = nn_baseline_accuracy(charset, ways=5, shots=1, episodes=args.episodes, seed=0)
    print(f"  pixel 1-NN 5-way 1-shot accuracy: {accuracy:.1%} over {args.episodes} episodes")
    return 0


def _dataset(args: argparse.Namespace) -> CharacterSet:
    if args.dataset == "glyphs":
        from metakit.data.glyphs import load_glyphs

        return load_glyphs()
    if args.root is None:
        raise OmniglotError("--dataset omniglot needs --root PATH (a zip or folder in the official "
                            "layout, or a folder holding the official zips)")
    return load_omniglot(find_sources(args.root)[0])


def cmd_show(args: argparse.Namespace) -> int:
    """Sample episode ``--index`` and save :func:`metakit.plot.episode_grid` of it to ``--out``."""
    from metakit.episodes import EpisodeSampler
    from metakit.plot import episode_grid

    try:
        charset = _dataset(args)
        sampler = EpisodeSampler(charset, args.ways, args.shots, args.queries, seed=args.seed,
                                 rotations=args.rotations)
    except ValueError as err:  # OmniglotError, or too many ways/shots for this set
        return _fail(str(err))
    episodes = sampler.episodes(args.index, 1)
    title = (f"{charset.name}\n{args.ways}-way {args.shots}-shot, {args.queries} queries"
             f"{' (+rotations)' if args.rotations else ''}")
    figure = episode_grid(episodes, 0, title=title)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0
