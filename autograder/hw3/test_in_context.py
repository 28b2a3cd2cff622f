"""Hidden graders of hw3, part 4: the in-context classifier (structure, learning on easy episodes, and
invariance to which label each class gets). Data are synthetic embeddings built here; accuracies and
comparisons are computed here from the logits the student's model returns."""
import numpy as np
from conftest import softmax, synthetic_embeddings, synthetic_episodes, verdict_on_meta

from metakit.grading import as_array, check, graded, tensor

DIM, WAYS = 16, 5
# Calibrated with benchmarks/calibrate_hw3.py (the reference passes on 20 seeds of 20).
META_STEPS, META_BATCH, META_LR = 150, 16, 1e-3
MIN_ACCURACY = 0.8            # 5-way, chance 0.2
MIN_AGREEMENT = 0.9           # same prediction after relabelling the classes
MAX_PROBABILITY_GAP = 0.06    # mean |p - p_relabelled| over queries and classes
MAX_UNTRAINED_ACCURACY = 0.45  # a fresh (random) transformer: about 0.2

RNG = np.random.default_rng(31)
SUPPORT = RNG.normal(size=(3, 10, DIM)).astype(np.float32)
SUPPORT_LABELS = np.tile(np.repeat(np.arange(WAYS), 2), (3, 1)).astype(np.int64)
QUERY = RNG.normal(size=(3, 7, DIM)).astype(np.float32)


def new_model(student):
    model = student.call("InContextClassifier", DIM, WAYS, keep=True)
    student.method(model, "eval")
    return model


def logits_of(student, model, support, support_labels, query, what="InContextClassifier.forward's logits"):
    out = student.method(model, "forward", tensor(support), tensor(support_labels), tensor(query))
    return as_array(out, what, shape=(query.shape[0], query.shape[1], WAYS))


def local_batch(x: np.ndarray, y: np.ndarray, seed: int, shots, start: int, count: int):
    """The episodes the kit's sampler gives (built here): support, labels, query, query labels."""
    from metakit.textdata import EmbeddingEpisodeSampler

    batch = EmbeddingEpisodeSampler(x, y, WAYS, shots, 3, seed=seed).batch(start, count)
    return tuple(t.numpy() for t in (batch.support, batch.support_labels, batch.query, batch.query_labels))


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy over every query of every episode, computed here."""
    z = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(z)), labels.reshape(-1)].mean())


def run_meta_training(student, model, x, y, seed: int, steps: int, batch_size: int, lr: float, shots=(1, 2, 4)):
    """meta_train_in_context on a kit sampler; checks the losses (the first against the cross-entropy computed
    here from the model's own logits on the first batch) and that the model is left in eval mode."""
    support, labels, query, query_labels = local_batch(x, y, seed, list(shots), 0, batch_size)
    start = logits_of(student, model, support, labels, query, what="the logits of the model before meta-training")
    sampler = student.call("metakit.textdata:EmbeddingEpisodeSampler", tensor(x), tensor(y), WAYS, list(shots), 3,
                           seed=seed, keep=True)
    call = f"meta_train_in_context(model, sampler, {steps}, batch_size={batch_size}, lr={lr:g})"
    losses = student.call("meta_train_in_context", model, sampler, steps, batch_size=batch_size, lr=lr)
    check(isinstance(losses, list) and all(isinstance(v, float) for v in losses),
          f"{call} should return a list of Python floats; it returned {type(losses).__name__}")
    values = np.asarray(losses, dtype=np.float64)
    check(values.shape == (steps,) and np.isfinite(values).all(), f"{call} should return {steps} finite losses")
    position = student.attr(sampler, "_next")
    check(position == steps * batch_size,
          f"{call} should draw sampler.sample({batch_size}) once per step ({steps * batch_size} episodes in all); "
          f"the sampler gave {position} episodes")
    check(not student.attr(model, "training"), f"{call} should leave the model in eval mode (model.eval())")
    return values, cross_entropy(start, query_labels), start


def meta_trained(student, seed: int):
    """The student's classifier after a short meta-training on easy synthetic 5-way episodes."""
    x, y = synthetic_embeddings(120, 10, DIM, seed=seed)
    model = new_model(student)
    before = student.call("metakit.grading.harness:state_arrays", model)
    losses, first, _ = run_meta_training(student, model, x, y, seed, META_STEPS, META_BATCH, META_LR)
    check(abs(losses[0] - first) < 1e-4,
          f"the first loss meta_train_in_context returned is {losses[0]:.5f}; the mean cross-entropy of the "
          f"InContextClassifier's logits for every query of that first batch is {first:.5f} (average over all queries of all episodes)")
    after = student.call("metakit.grading.harness:state_arrays", model)
    unchanged = [n for n in before if n in after and np.array_equal(after[n], before[n])]
    check(len(unchanged) < len(before), "meta_train_in_context changed none of the model's parameters")
    student.method(model, "eval")
    return model


def check_untrained_is_at_chance(student) -> None:
    """A fresh (random) transformer is near chance on new classes; a fixed rule (nearest class mean, say) is
    not: the accuracy of the learning tests must come from meta-training."""
    fresh = new_model(student)
    support, support_labels, query, query_labels = new_classes(seed=5, shots=4)
    before = float((logits_of(student, fresh, support, support_labels, query).argmax(-1) == query_labels).mean())
    check(before <= MAX_UNTRAINED_ACCURACY,
          f"before any meta-training, a new InContextClassifier already gets {before:.0%} on new classes (a fresh "
          f"transformer gets about 20%): the accuracy must come from meta-training, not from a fixed rule")


def new_classes(seed: int, shots: int, count: int = 40):
    x, y = synthetic_embeddings(30, 12, DIM, seed=seed + 1000)
    return synthetic_episodes(x, y, WAYS, shots, 4, count, seed=seed)


def check_does_its_job(student, model, what: str) -> np.ndarray:
    """The property tests give their points only to a classifier that computes something: its logits are the
    same for the same input (eval mode), differ from query to query, and change with the support embeddings
    and with the support labels."""
    full = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    again = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    check(np.array_equal(full, again), f"{what}: the same input gives different logits in eval mode")
    check(np.isfinite(full).all(), f"{what}: the logits contain NaN or inf")
    check(np.abs(full - full[:, :1]).max() > 1e-4, f"{what}: every query gets the same logits: the output must "
                                                   f"come from each query's own token")
    other = logits_of(student, model, SUPPORT[:, ::-1] * 2.0, SUPPORT_LABELS, QUERY)
    check(np.abs(other - full).max() > 1e-4, f"{what}: changing the support embeddings does not change the logits")
    relabelled = logits_of(student, model, SUPPORT, (SUPPORT_LABELS + 1) % WAYS, QUERY)
    check(np.abs(relabelled - full).max() > 1e-4, f"{what}: changing the support labels does not change the logits")
    return full


@graded(points=1, timeout=120)
def test_output_shape(student):
    """forward(support [B, S, D], labels [B, S], query [B, Q, D]) gives finite logits [B, Q, ways]"""
    model = new_model(student)
    logits = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    check(np.isfinite(logits).all(), "the logits contain NaN or inf")
    one_shot = logits_of(student, model, SUPPORT[:, ::2], SUPPORT_LABELS[:, ::2], QUERY[:, :1],
                         what="the logits of a 1-shot episode with one query")
    check(np.isfinite(one_shot).all(), "the logits of a 1-shot episode contain NaN or inf")
    check_does_its_job(student, model, "InContextClassifier(16, 5)")
    # Episodes of a batch do not see each other; other sizes of everything (seeded sweep).
    alone = logits_of(student, model, SUPPORT[1:2], SUPPORT_LABELS[1:2], QUERY[1:2])
    check(np.allclose(alone[0], logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)[1], atol=1e-4),
          "episode 1 of a batch gets other logits alone than in a batch of 3: episodes must not see each other")
    rng = np.random.default_rng(17)
    for _ in range(3):
        dim, ways = int(rng.integers(3, 12)), int(rng.integers(2, 7))
        b, s, q = int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 6))
        other = student.call("InContextClassifier", dim, ways, keep=True)
        student.method(other, "eval")
        out = student.method(other, "forward", tensor(rng.normal(size=(b, s, dim)).astype(np.float32)),
                             tensor(rng.integers(0, ways, size=(b, s)).astype(np.int64)),
                             tensor(rng.normal(size=(b, q, dim)).astype(np.float32)))
        logits = as_array(out, f"the logits of InContextClassifier({dim}, {ways}) on support [{b}, {s}, {dim}], "
                               f"query [{b}, {q}, {dim}]", shape=(b, q, ways))
        check(np.isfinite(logits).all(), f"InContextClassifier({dim}, {ways}) gives NaN or inf logits")


@graded(points=2, timeout=120)
def test_queries_do_not_see_each_other(student):
    """a query's logits depend on the support and that query only, not on the other queries"""
    model = new_model(student)
    full = check_does_its_job(student, model, "InContextClassifier(16, 5)")
    alone = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY[:, 2:3])
    check(np.allclose(alone[:, 0], full[:, 2], atol=1e-4),
          f"query 2 gets different logits alone and among 7 queries (largest difference "
          f"{np.abs(alone[:, 0] - full[:, 2]).max():.3g}): mask the attention so that no query attends to another")
    reversed_ = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY[:, ::-1].copy())
    check(np.allclose(reversed_[:, ::-1], full, atol=1e-4),
          "reversing the order of the queries changes their logits: queries must not attend to each other, and "
          "must not carry positions")


@graded(points=1, timeout=120)
def test_support_is_a_set(student):
    """shuffling the support pairs (each embedding with its label) leaves the logits unchanged"""
    model = new_model(student)
    full = check_does_its_job(student, model, "InContextClassifier(16, 5)")
    order = np.random.default_rng(5).permutation(SUPPORT.shape[1])
    shuffled = logits_of(student, model, SUPPORT[:, order], SUPPORT_LABELS[:, order], QUERY)
    check(np.allclose(shuffled, full, atol=1e-4),
          f"reordering the support set changes the logits (largest difference {np.abs(shuffled - full).max():.3g}): "
          f"use no positional encoding, the support set is a set")


@graded(points=1, timeout=120)
def test_labels_are_read(student):
    """the support labels are an input: changing them changes the logits"""
    model = new_model(student)
    full = check_does_its_job(student, model, "InContextClassifier(16, 5)")
    other = logits_of(student, model, SUPPORT, (SUPPORT_LABELS + 1) % WAYS, QUERY)
    check(np.abs(other - full).max() > 1e-4,
          "giving the support examples different labels does not change the logits at all: the one-hot labels "
          "must be part of the support tokens")


@graded(points=3, timeout=180)
def test_learns_easy_episodes(student):
    """after a short meta-training on easy episodes, it classifies new classes well above chance (and not before)"""
    check_untrained_is_at_chance(student)
    model = meta_trained(student, seed=1)
    accuracies = []
    for shots in (1, 4):
        support, support_labels, query, query_labels = new_classes(seed=5, shots=shots)
        logits = logits_of(student, model, support, support_labels, query)
        accuracies.append(float((logits.argmax(-1) == query_labels).mean()))
    check(min(accuracies) >= MIN_ACCURACY,
          f"after {META_STEPS} steps of meta_train_in_context on easy 5-way episodes, the InContextClassifier's "
          f"accuracy on new classes is "
          f"{accuracies[0]:.0%} (1-shot) and {accuracies[1]:.0%} (4-shot); the reference gets well above "
          f"{MIN_ACCURACY:.0%} (chance is 20%)")


@graded(points=3, timeout=180)
def test_invariant_to_relabelling(student):
    """after meta-training, handing the classes out under other labels gives the same answers, relabelled"""
    check_untrained_is_at_chance(student)
    model = meta_trained(student, seed=2)
    support, support_labels, query, query_labels = new_classes(seed=6, shots=2)
    rng = np.random.default_rng(11)
    agreements, gaps = [], []
    for _ in range(3):
        perm = rng.permutation(WAYS)  # class with label c now gets label perm[c]
        original = softmax(logits_of(student, model, support, support_labels, query))
        relabelled = softmax(logits_of(student, model, support, perm[support_labels], query))[..., perm]
        agreements.append(float((original.argmax(-1) == relabelled.argmax(-1)).mean()))
        gaps.append(float(np.abs(original - relabelled).mean()))
    accuracy = float((original.argmax(-1) == query_labels).mean())
    check(accuracy >= MIN_ACCURACY, f"after meta-training, the classifier gets {accuracy:.0%} of these new-class "
                                    f"queries right; relabelling is only checked on a classifier that works "
                                    f"(the reference: over {MIN_ACCURACY:.0%})")
    check(min(agreements) >= MIN_AGREEMENT and max(gaps) <= MAX_PROBABILITY_GAP,
          f"relabelling the classes of an episode changes the answers: the predicted class (mapped back) is the "
          f"same for only {min(agreements):.0%} of the queries, and the probabilities differ by "
          f"{max(gaps):.3f} on average (the reference: over {MIN_AGREEMENT:.0%} and under "
          f"{MAX_PROBABILITY_GAP}). Shuffle the labels in every meta-training episode, and make the output "
          f"depend on the labels the support carries, not on their order")


def find_modules(student, model, kind: str) -> list:
    modules = student.call("builtins:list", student.method(model, "modules", keep=True))
    return [m for m in modules if getattr(m, "type", "") == kind]


def find_attention(student, model) -> list:
    return find_modules(student, model, "MultiheadAttention")


def check_architecture(student, model, call: str, d_model: int, layers: int, heads: int) -> None:
    """The documented size arguments: `layers` nn.TransformerEncoderLayer blocks, each attention `d_model`
    wide with `heads` heads, read from the modules the worker built (the feed-forward width and where the
    norms sit are the student's choice)."""
    blocks = find_modules(student, model, "TransformerEncoderLayer")
    check(len(blocks) == layers, f"{call} should hold {layers} nn.TransformerEncoderLayer blocks (inside one "
                                 f"nn.TransformerEncoder); yours has {len(blocks)}")
    for number, block in enumerate(blocks):
        attention = student.attr(block, "self_attn", keep=True)
        width, count = student.attr(attention, "embed_dim"), student.attr(attention, "num_heads")
        check((width, count) == (d_model, heads), f"{call}: block {number}'s attention should be {d_model} wide "
                                                  f"with {heads} heads; yours: {width} wide, {count} heads")


def documented_mask(s: int, q: int) -> np.ndarray:
    """[S+Q, S+Q], True = may not attend: every token reads the support, a query also reads itself."""
    blocked = np.ones((s + q, s + q), dtype=bool)
    blocked[:, :s] = False
    blocked[np.arange(s, s + q), np.arange(s, s + q)] = False
    return blocked


def describe_mask_rows(got: np.ndarray, expected: np.ndarray, s: int) -> str:
    rows = [int(r) for r in np.nonzero((got != expected).any(axis=1))[0]]
    first = rows[0]
    kind = f"support token {first}" if first < s else f"query {first - s} (row {first})"
    return (f"rows {rows[:6]} differ; {kind} may attend to columns {np.nonzero(~got[first])[0].tolist()}, "
            f"the markdown's mask lets it attend to {np.nonzero(~expected[first])[0].tolist()}")


@graded(points=2, timeout=120)
def test_size_arguments(student):
    """d_model, layers, heads and dropout of InContextClassifier do what they say"""
    model = student.call("InContextClassifier", 10, 3, 24, 3, 6, keep=True)
    info = student.call("metakit.grading.harness:parameter_info", model)
    shapes = [tuple(i["shape"]) for i in info.values()]
    call = "InContextClassifier(10, 3, d_model=24, layers=3, heads=6)"
    check((3, 24) in shapes, f"{call}: the output layer (24 -> 3 logits) should have a weight of shape [3, 24]")
    check(shapes.count((72, 24)) == 3, f"{call}: nn.TransformerEncoder with 3 layers of width 24 has 3 attention "
                                       f"in-projections of shape [72, 24]; yours has {shapes.count((72, 24))}")
    heads = [student.attr(m, "num_heads") for m in find_attention(student, model)]
    check(heads and all(h == 6 for h in heads), f"{call}: every attention should have 6 heads; yours: {heads}")
    check_architecture(student, model, call, d_model=24, layers=3, heads=6)
    check_architecture(student, student.call("InContextClassifier", DIM, WAYS, keep=True),
                       f"InContextClassifier({DIM}, {WAYS}) (the defaults d_model=128, layers=2, heads=4)",
                       d_model=128, layers=2, heads=4)
    for dropout, differ in ((0.0, False), (0.5, True)):
        model = student.call("InContextClassifier", DIM, WAYS, dropout=dropout, keep=True)
        student.method(model, "train")
        first = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
        second = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
        check(bool(np.abs(first - second).max() > 1e-6) == differ,
              f"InContextClassifier(16, 5, dropout={dropout}) in train mode: two forward passes should "
              f"{'differ (dropout 0.5 is on)' if differ else 'agree (no dropout, the default)'}; they "
              f"{'differ' if not differ else 'agree'}")


@graded(points=2, timeout=120)
def test_meta_train_arguments(student):
    """meta_train_in_context: one AdamW step of size lr per step, batch_size episodes a step, train mode, then eval"""
    x, y = synthetic_embeddings(30, 10, DIM, seed=3)
    model = new_model(student)
    before = student.call("metakit.grading.harness:state_arrays", model)
    losses, first, _ = run_meta_training(student, model, x, y, seed=3, steps=1, batch_size=5, lr=3e-3, shots=(2,))
    check(abs(losses[0] - first) < 1e-4,
          f"meta_train_in_context's first loss is {losses[0]:.5f}; the mean cross-entropy of the InContextClassifier's "
          f"logits for every query of the first batch of 5 episodes is {first:.5f}")
    after = student.call("metakit.grading.harness:state_arrays", model)
    steps = np.concatenate([np.abs(after[n] - before[n]).ravel() for n in before if n in after])
    moved = steps[steps > 0]
    check(moved.size > 0, "meta_train_in_context(model, sampler, 1, lr=3e-3) changed no parameter")
    median = float(np.median(moved))
    check(2.4e-3 < median < 3.6e-3,
          f"after one AdamW step of meta_train_in_context with lr=3e-3, a parameter should move by about lr (Adam's first step is lr * "
          f"sign(gradient)); yours moved by {median:.2g} (median): use lr")
    # Dropout on: the first loss is computed in train mode, so it is not the eval-mode cross-entropy.
    model = student.call("InContextClassifier", DIM, WAYS, dropout=0.5, keep=True)
    student.method(model, "eval")
    losses, first, _ = run_meta_training(student, model, x, y, seed=4, steps=2, batch_size=4, lr=1e-3, shots=(1,))
    check(abs(losses[0] - first) > 1e-4,
          "with dropout 0.5, meta_train_in_context's first loss equals the eval-mode loss: call model.train() "
          "before meta-training (the model it gets may be in eval mode)")


@graded(points=2, timeout=120)
def test_attention_mask_and_device(student):
    """the encoder gets the markdown's [S+Q, S+Q] mask (a query reads the support and itself), on the model's device"""
    from metakit.grading.harness import devices_verdict

    model = new_model(student)
    s, q = SUPPORT.shape[1], QUERY.shape[1]
    masks = student.call("metakit.grading.harness:encoder_masks", model, tensor(SUPPORT), tensor(SUPPORT_LABELS),
                         tensor(QUERY))
    check(isinstance(masks, list) and len(masks) == 1,
          f"one forward pass of InContextClassifier should run its nn.TransformerEncoder once, with mask=; it "
          f"ran {len(masks) if isinstance(masks, list) else masks!r} (use nn.TransformerEncoder, as the markdown says)")
    check(masks[0] is not None, "InContextClassifier's forward calls its nn.TransformerEncoder without a mask: give "
                                "it mask= (a [S+Q, S+Q] bool tensor, True = may not attend)")
    mask, expected = np.asarray(masks[0]), documented_mask(s, q)
    check(mask.shape[-2:] == expected.shape and mask.ndim in (2, 3),
          f"with {s} support and {q} query tokens the mask should be [{s + q}, {s + q}]; yours is {list(mask.shape)}")
    different = [m for m in mask.reshape(-1, s + q, s + q) if not np.array_equal(m, expected)]
    if different:
        mask = different[0]
        check(False, "InContextClassifier's attention mask (True = may not attend) is not the one the markdown "
                     "gives: " + describe_mask_rows(mask, expected, s))
    # On PyTorch's meta device (as on a GPU) a mask made on the CPU is refused by the encoder.
    student.method(model, "to", "meta", keep=True)
    forward = student.attr(model, "forward", keep=True)
    devices = student.call("metakit.grading.harness:output_devices", forward, tensor(SUPPORT), tensor(SUPPORT_LABELS),
                           tensor(QUERY))
    verdict = devices_verdict([str(d) for d in devices] if isinstance(devices, list) else [str(devices)])
    check(verdict in ("ok", "inconclusive"),
          f"InContextClassifier on another device (PyTorch's 'meta' device, as a GPU would be): {verdict}. Make "
          f"the one-hots, the zeros and the mask on the inputs' device (device=support.device)")


def median_step(before: dict, after: dict) -> float:
    steps = np.concatenate([np.abs(after[n] - before[n]).ravel() for n in before if n in after])
    moved = steps[steps > 0]
    return float(np.median(moved)) if moved.size else 0.0


@graded(points=2, timeout=180)
def test_meta_train_defaults_progress_and_device(student):
    """meta_train_in_context's defaults (batch_size=16, lr=1e-3), progress=True, and device= (model and batches)"""
    x, y = synthetic_embeddings(30, 10, DIM, seed=7)

    def sampler(seed: int):
        return student.call("metakit.textdata:EmbeddingEpisodeSampler", tensor(x), tensor(y), WAYS, [2], 3,
                            seed=seed, keep=True)

    model = new_model(student)
    episodes = sampler(7)
    losses = student.call("meta_train_in_context", model, episodes, 2)
    check(isinstance(losses, list) and len(losses) == 2,
          "meta_train_in_context(model, sampler, 2) should return 2 losses")
    drawn = student.attr(episodes, "_next")
    check(drawn == 2 * 16, f"meta_train_in_context(model, sampler, 2) with the default batch_size=16 should draw "
                           f"{2 * 16} episodes; it drew {drawn}")
    one_step = new_model(student)
    before = student.call("metakit.grading.harness:state_arrays", one_step)
    student.call("meta_train_in_context", one_step, sampler(8), 1)
    median = median_step(before, student.call("metakit.grading.harness:state_arrays", one_step))
    check(0.8e-3 < median < 1.2e-3, f"after one AdamW step of meta_train_in_context at the default lr=1e-3, a "
                                    f"parameter should move by about 1e-3 (Adam's first step is lr * sign(gradient)); yours moved by {median:.2g}")
    # progress=True only adds a bar (what it shows is not graded): the loop runs as without it.
    losses = student.call("meta_train_in_context", new_model(student), sampler(9), 2, batch_size=4, progress=True)
    check(isinstance(losses, list) and len(losses) == 2 and np.isfinite(losses).all(),
          "meta_train_in_context(model, sampler, 2, batch_size=4, progress=True) should return 2 finite losses")
    # device="meta": the model and every batch must go there (as to a GPU); .item() on meta cannot run, which
    # is as far as a check without a GPU goes.
    verdict = verdict_on_meta(lambda: student.call("meta_train_in_context", new_model(student), sampler(10), 1,
                                                   batch_size=2, device="meta"))
    check(verdict in ("ok", "inconclusive"),
          f'meta_train_in_context(..., device="meta") (PyTorch\'s shapes-only device, as a GPU would be): {verdict}. '
          f"Move the model there (model.to(device)) and every batch (episodes.to(device))")
