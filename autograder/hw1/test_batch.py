"""Hidden graders of hw1, part 1: make_mann_batch (the MANN layout of N-way K-shot episodes).

The grader builds episodes whose every image is unique random noise, sends them to the worker as
an ``Episodes`` object, and finds each returned image among the images it sent: so it knows, for
every cell of the returned grid, which class and which drawing the student put there, and checks
the layout, the labels and the shuffling from that, never from numbers the student computed.
Images must come back exactly as sent (the layout copies pixels, it never changes them), and every
property test (shapes, determinism) also requires a batch that holds the episode's images with
their own labels, so constant or random batches earn nothing.
"""
from __future__ import annotations

import itertools

import numpy as np

from metakit.grading import graded, naming, tensor

check, fail, close, as_array = naming("make_mann_batch")  # every message names the function at fault

PIXELS = 784


# ------------------------------------------------------------------------------ helpers
def random_episodes(seed: int, batch: int, ways: int, shots: int) -> dict[str, np.ndarray]:
    """Episodes of unique noise images: support [B, N, K, 28, 28], query [B, N, 1, 28, 28]."""
    rng = np.random.default_rng(seed)
    support = rng.random((batch, ways, shots, 28, 28), dtype=np.float32)
    query = rng.random((batch, ways, 1, 28, 28), dtype=np.float32)
    classes = np.stack([rng.permutation(50)[:ways] for _ in range(batch)]).astype(np.int64)
    return {"support": support, "query": query, "classes": classes}


def send_episodes(student, episodes: dict[str, np.ndarray]):
    """An ``Episodes`` object in the worker, built by the kit from the grader's arrays."""
    return student.call("metakit.episodes:Episodes", tensor(episodes["support"]), tensor(episodes["query"]),
                        tensor(episodes["classes"]), keep=True)


def call_batch(student, episodes: dict[str, np.ndarray], generator_seed: int, generator=None):
    """(images, labels) as float64 arrays with the expected shapes, or a failure saying what came back."""
    batch, ways, shots = episodes["support"].shape[:3]
    ref = send_episodes(student, episodes)
    if generator is None:
        generator = student.call("metakit.grading.harness:generator", generator_seed, keep=True)
    out = student.call("make_mann_batch", ref, generator)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        fail(f"make_mann_batch should return a tuple (images, labels); it returned "
             f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
    images = as_array(out[0], "images (the first thing make_mann_batch returns)",
                      shape=(batch, shots + 1, ways, PIXELS))
    labels = as_array(out[1], "labels (the second thing make_mann_batch returns)",
                      shape=(batch, shots + 1, ways, ways))
    return images, labels


def identify(images: np.ndarray, episodes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every returned cell [B, K+1, N]: (kind 0 support / 1 query / -1 unknown, class, drawing).

    Each returned image is matched to an image the grader sent in the same episode, exactly: the
    layout copies pixels, so any change (a rescaling, a rounding) leaves a cell unidentified.
    """
    support, query = episodes["support"], episodes["query"]
    batch, ways, shots = support.shape[:3]
    sent = np.concatenate([support.reshape(batch, ways * shots, PIXELS),
                           query.reshape(batch, ways, PIXELS)], axis=1).astype(np.float64)
    kind_of = np.array([0] * (ways * shots) + [1] * ways)
    class_of = np.array([j for j in range(ways) for _ in range(shots)] + list(range(ways)))
    drawing_of = np.array([k for _ in range(ways) for k in range(shots)] + [0] * ways)
    cells = images.reshape(batch, -1, PIXELS)
    kind = np.full(cells.shape[:2], -1)
    cls = np.full(cells.shape[:2], -1)
    drawing = np.full(cells.shape[:2], -1)
    for b in range(batch):
        dist = np.abs(cells[b][:, None, :] - sent[b][None, :, :]).max(axis=-1)  # [cells, sent]
        nearest = dist.argmin(axis=1)
        found = dist[np.arange(len(nearest)), nearest] == 0.0
        kind[b] = np.where(found, kind_of[nearest], -1)
        cls[b] = np.where(found, class_of[nearest], -1)
        drawing[b] = np.where(found, drawing_of[nearest], -1)
    shape = images.shape[:3]
    return kind.reshape(shape), cls.reshape(shape), drawing.reshape(shape)


def require_known_images(kind: np.ndarray) -> None:
    unknown = int((kind < 0).sum())
    check(unknown == 0, f"{unknown} of the {kind.size} returned images are none of the episode's images: "
                        f"each cell of images[b, k, j] should be one support or query image of episode b, "
                        f"flattened to 784 values and otherwise exactly unchanged (no normalisation or "
                        f"rescaling, no change of precision, no mixing of pixels from different images: check "
                        f"the order of permute/reshape)")


def require_labels_of_images(labels: np.ndarray, cls: np.ndarray) -> None:
    """labels[b, k, j] must be the one-hot class of the image in cell (b, k, j)."""
    wrong = labels.argmax(axis=-1) != cls
    check(not wrong.any(), f"{int(wrong.sum())} of {wrong.size} cells carry a label that is not the class of "
                           f"their image: labels[b, k, j] should be the one-hot class of images[b, k, j]")


def require_one_hot(labels: np.ndarray) -> None:
    binary = np.isin(labels, (0.0, 1.0)).all()
    single = np.allclose(labels.sum(axis=-1), 1.0)
    check(binary and single, "labels should be one-hot along the last axis: every labels[b, k, j] a "
                             "vector of N zeros with a single 1")


# ------------------------------------------------------------------------------ tests
@graded(points=2, timeout=40)
def test_batch_shapes_and_one_hot(student):
    """make_mann_batch returns images [B, K+1, N, 784] and one-hot labels [B, K+1, N, N], float32"""
    configs = [(4, 3, 2), (3, 2, 1), (2, 5, 1), (2, 4, 3), (1, 3, 2), (2, 1, 1), (1, 2, 4), (3, 6, 1)]
    for seed, (batch, ways, shots) in enumerate(configs):
        episodes = random_episodes(100 + seed, batch, ways, shots)
        ref = send_episodes(student, episodes)
        generator = student.call("metakit.grading.harness:generator", seed, keep=True)
        out = student.call("make_mann_batch", ref, generator)
        check(isinstance(out, (tuple, list)) and len(out) == 2,
              f"make_mann_batch should return a tuple (images, labels); it returned {type(out).__name__}")
        for value, what, shape in ((out[0], "images", (batch, shots + 1, ways, PIXELS)),
                                   (out[1], "labels", (batch, shots + 1, ways, ways))):
            check(isinstance(value, np.ndarray) and value.dtype == np.float32,
                  f"{what} should be a float32 tensor; for a {ways}-way {shots}-shot batch yours is "
                  f"{getattr(value, 'dtype', type(value).__name__)}")
            as_array(value, f"{what} of a batch of {batch} {ways}-way {shots}-shot episodes "
                            f"([B, K+1, N, ...] with B={batch}, K={shots}, N={ways})", shape=shape)
        labels = np.asarray(out[1], dtype=np.float64)
        require_one_hot(labels)
        # the shapes only count when the batch holds the episode's images with their own labels
        kind, cls, _ = identify(np.asarray(out[0], dtype=np.float64), episodes)
        require_known_images(kind)
        require_labels_of_images(labels, cls)


@graded(points=2, timeout=30)
def test_support_rows_in_class_order(student):
    """rows 0..K-1: column j holds the support drawings of class j, each once, labelled e_j"""
    batch, ways, shots = 5, 4, 3
    episodes = random_episodes(7, batch, ways, shots)
    images, labels = call_batch(student, episodes, generator_seed=1)
    kind, cls, drawing = identify(images, episodes)
    require_known_images(kind)
    support_kind = kind[:, :shots]
    check((support_kind == 0).all(), f"rows 0..K-1 should hold support images only; "
                                     f"{int((support_kind == 1).sum())} of them hold query images")
    column = np.arange(ways)[None, None, :]
    wrong = cls[:, :shots] != column
    check(not wrong.any(), f"support rows should be in class order: images[b, k, j] should be a drawing of "
                           f"class j (episodes.support[b, j, k]); {int(wrong.sum())} of {wrong.size} support "
                           f"cells hold another class. A reshape of [B, N, K, ...] straight to [B, K, N, ...] "
                           f"mixes classes: swap the N and K axes first (permute/transpose)")
    for b in range(batch):
        for j in range(ways):
            used = sorted(drawing[b, :shots, j].tolist())
            check(used == list(range(shots)), f"column {j} of the support rows should use each of the K={shots} "
                                              f"support drawings of class {j} once; episode {b} uses drawings "
                                              f"{used}")
    expected = np.broadcast_to(np.eye(ways), (batch, shots, ways, ways))
    check(np.array_equal(labels[:, :shots], expected),
          "support labels should be in class order: labels[b, k, j] = e_j (the identity matrix in every "
          "support row), because column j of a support row holds class j")


@graded(points=2, timeout=30)
def test_query_row_images_and_labels_agree(student):
    """row K holds each query drawing once, with the label of its own class"""
    for seed, (batch, ways, shots) in enumerate([(6, 5, 1), (6, 3, 2)]):
        episodes = random_episodes(20 + seed, batch, ways, shots)
        images, labels = call_batch(student, episodes, generator_seed=3 + seed)
        require_one_hot(labels)
        kind, cls, _ = identify(images, episodes)
        require_known_images(kind)
        query_kind = kind[:, shots]
        check((query_kind == 1).all(), f"row K (the last row) should hold the query images "
                                       f"(episodes.query); in a {ways}-way {shots}-shot batch "
                                       f"{int((query_kind == 0).sum())} of its {query_kind.size} cells hold "
                                       f"support images")
        for b in range(batch):
            check(sorted(cls[b, shots].tolist()) == list(range(ways)),
                  f"row K should hold the query drawing of every class once; episode {b} holds classes "
                  f"{cls[b, shots].tolist()}")
        stated = labels[:, shots].argmax(axis=-1)
        wrong = stated != cls[:, shots]
        check(not wrong.any(), f"a query image and its label must move together: {int(wrong.sum())} of "
                               f"{wrong.size} query cells carry the label of another class (labels[b, K, j] "
                               f"should be the one-hot class of images[b, K, j]; shuffle images and labels "
                               f"with the same order, and build the one-hot rows along the last axis)")


@graded(points=1, timeout=30)
def test_no_class_twice_in_a_row(student):
    """every row of an episode holds every class exactly once (images and labels)"""
    batch, ways, shots = 6, 3, 4
    episodes = random_episodes(31, batch, ways, shots)
    images, labels = call_batch(student, episodes, generator_seed=5)
    kind, cls, _ = identify(images, episodes)
    require_known_images(kind)
    for b, k in itertools.product(range(batch), range(shots + 1)):
        check(sorted(cls[b, k].tolist()) == list(range(ways)),
              f"every row should hold one image of each class; row {k} of episode {b} holds classes "
              f"{cls[b, k].tolist()} (K={shots}, N={ways}: check the reshape of the support set)")
    counts = labels.sum(axis=2)  # [B, K+1, N]: how often each class is named in a row
    check(np.allclose(counts, 1.0), "every row's labels should name each class once (each row of labels, "
                                    "an N x N block, a permutation matrix)")


@graded(points=2, timeout=60)
def test_query_row_is_shuffled(student):
    """the query row is in a fresh random order in every episode"""
    ways, shots, batch, calls = 3, 1, 40, 25
    generator = student.call("metakit.grading.harness:generator", 2024, keep=True)
    orders = []
    for call in range(calls):
        episodes = random_episodes(500 + call, batch, ways, shots)
        images, _ = call_batch(student, episodes, generator_seed=0, generator=generator)
        kind, cls, _ = identify(images, episodes)
        require_known_images(kind)
        check((kind[:, shots] == 1).all(), "row K (the last row) should hold the query images")
        orders.append(cls[:, shots])
    orders = np.concatenate(orders)  # [calls * B, N]: class at each query position
    total = len(orders)
    in_order = float((orders == np.arange(ways)).all(axis=1).mean())
    check(in_order < 0.30,
          f"the query row is in class order in {100 * in_order:.0f}% of {total} episodes (a random order "
          f"would be in class order in about {100 / 6:.0f}%): shuffle row K, or the model can read each "
          f"query's label off its position")
    per_batch = orders.reshape(calls, batch, ways)
    same = [len({tuple(o) for o in orders_b}) == 1 for orders_b in per_batch]
    check(not all(same), "every episode of a batch has the same query order: draw a separate random order "
                         "for each episode")
    frequency = np.stack([(orders == c).mean(axis=0) for c in range(ways)])  # [class, position]
    worst = float(np.abs(frequency - 1 / ways).max())
    check(worst < 0.08, f"over {total} episodes the query row is not uniformly shuffled: some class lands in "
                        f"some position {100 * (1 / ways + worst):.0f}% or {100 * (1 / ways - worst):.0f}% of the "
                        f"time instead of about {100 / ways:.0f}% (a fixed reordering, such as a reversal or a "
                        f"rotation, is not a shuffle)")
    permutations = list(itertools.permutations(range(ways)))
    share = np.array([float((orders == np.array(p)).all(axis=1).mean()) for p in permutations])
    check(np.abs(share - 1 / len(permutations)).max() < 0.06,
          f"over {total} episodes the {len(permutations)} possible orders of the {ways} query images do not come "
          f"up equally often (each should be about {100 / len(permutations):.0f}%; yours range from "
          f"{100 * share.min():.0f}% to {100 * share.max():.0f}%): draw a uniformly random permutation for each "
          f"episode (torch.randperm, or argsort of torch.rand), not a random shift or a random swap")


@graded(points=1, timeout=30)
def test_batch_uses_the_generator(student):
    """the same generator seed gives the same batch; other seeds give other query orders"""
    batch, ways, shots = 30, 4, 2
    episodes = random_episodes(77, batch, ways, shots)
    student.call("metakit.grading.harness:set_seed", 1)
    first = call_batch(student, episodes, generator_seed=11)
    student.call("metakit.grading.harness:set_seed", 2)
    second = call_batch(student, episodes, generator_seed=11)
    check(np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1]),
          "make_mann_batch: two calls with generators seeded alike (and different global random states) gave different "
          "batches: draw every random number from `generator` (torch.randperm(n, generator=generator), "
          "torch.rand(..., generator=generator)), not from the global torch/numpy/random state")
    other = call_batch(student, episodes, generator_seed=12)
    check(not np.array_equal(first[1][:, shots], other[1][:, shots]),
          "generators with different seeds gave the same query order for all 30 episodes: the order "
          "should come from the generator")
    generator = student.call("metakit.grading.harness:generator", 11, keep=True)
    again = call_batch(student, episodes, generator_seed=0, generator=generator)
    then = call_batch(student, episodes, generator_seed=0, generator=generator)
    check(np.array_equal(again[1], first[1]),
          "a generator seeded 11 gave another batch the second time: use only `generator` for randomness")
    check(not np.array_equal(then[1][:, shots], again[1][:, shots]),
          "two successive calls with the same generator gave the same query order for all 30 episodes: every "
          "batch needs new random orders, so draw them from `generator` itself (it advances as you draw), "
          "not from a copy or a new generator seeded from it")
    # determinism only counts for a batch that is right
    kind, cls, _ = identify(first[0], episodes)
    require_known_images(kind)
    require_labels_of_images(first[1], cls)


@graded(points=1, timeout=30)
def test_batch_stays_on_the_episodes_device(student):
    """make_mann_batch returns images and labels on the episodes' device (a GPU run needs it)"""
    from metakit.grading.harness import devices_verdict

    for seed, (batch, ways, shots) in enumerate([(2, 3, 2), (1, 4, 1)]):
        ref = send_episodes(student, random_episodes(300 + seed, batch, ways, shots))
        generator = student.call("metakit.grading.harness:generator", seed, keep=True)
        devices = student.call("metakit.grading.harness:output_devices", student.ref("make_mann_batch"), ref, generator)
        verdict = devices_verdict([str(d) for d in devices] if isinstance(devices, list) else [str(devices)])
        check(verdict in ("ok", "inconclusive"),
              f"make_mann_batch on episodes whose tensors are on another device (PyTorch's 'meta' device, as a "
              f"GPU would be): {verdict}. Make every tensor you create on the episodes' device "
              f"(torch.eye(..., device=episodes.support.device), .to(device)), so the batch stays there")
