"""Hidden graders of hw3, part 4: the in-context classifier (structure, learning on easy episodes, and
invariance to which label each class gets). Data are synthetic embeddings built here; accuracies and
comparisons are computed here from the logits the student's model returns."""
import numpy as np
from conftest import softmax, synthetic_embeddings, synthetic_episodes

from metakit.grading import as_array, check, graded, tensor

DIM, WAYS = 16, 5
# Calibrated with benchmarks/calibrate_hw3.py (the reference passes on 20 seeds of 20).
META_STEPS, META_BATCH, META_LR = 150, 16, 1e-3
MIN_ACCURACY = 0.8            # 5-way, chance 0.2
MIN_AGREEMENT = 0.9           # same prediction after relabelling the classes
MAX_PROBABILITY_GAP = 0.06    # mean |p - p_relabelled| over queries and classes

RNG = np.random.default_rng(31)
SUPPORT = RNG.normal(size=(3, 10, DIM)).astype(np.float32)
SUPPORT_LABELS = np.tile(np.repeat(np.arange(WAYS), 2), (3, 1)).astype(np.int64)
QUERY = RNG.normal(size=(3, 7, DIM)).astype(np.float32)


def new_model(student):
    model = student.call("InContextClassifier", DIM, WAYS, keep=True)
    student.method(model, "eval")
    return model


def logits_of(student, model, support, support_labels, query, what="the in-context classifier's logits"):
    out = student.method(model, "forward", tensor(support), tensor(support_labels), tensor(query))
    return as_array(out, what, shape=(query.shape[0], query.shape[1], WAYS))


def meta_trained(student, seed: int):
    """The student's classifier after a short meta-training on easy synthetic 5-way episodes."""
    x, y = synthetic_embeddings(120, 10, DIM, seed=seed)
    model = student.call("InContextClassifier", DIM, WAYS, keep=True)
    sampler = student.call("metakit.textdata:EmbeddingEpisodeSampler", tensor(x), tensor(y), WAYS, [1, 2, 4], 3,
                           seed=seed, keep=True)
    losses = as_array(student.call("meta_train_in_context", model, sampler, META_STEPS, batch_size=META_BATCH,
                                   lr=META_LR), "the list meta_train_in_context returns")
    check(losses.shape == (META_STEPS,) and np.isfinite(losses).all(),
          f"meta_train_in_context(model, sampler, {META_STEPS}, ...) should return {META_STEPS} finite losses")
    student.method(model, "eval")
    return model


def new_classes(seed: int, shots: int, count: int = 40):
    x, y = synthetic_embeddings(30, 12, DIM, seed=seed + 1000)
    return synthetic_episodes(x, y, WAYS, shots, 4, count, seed=seed)


@graded(points=1, timeout=40)
def test_output_shape(student):
    """forward(support [B, S, D], labels [B, S], query [B, Q, D]) gives finite logits [B, Q, ways]"""
    model = new_model(student)
    logits = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    check(np.isfinite(logits).all(), "the logits contain NaN or inf")
    one_shot = logits_of(student, model, SUPPORT[:, ::2], SUPPORT_LABELS[:, ::2], QUERY[:, :1],
                         what="the logits of a 1-shot episode with one query")
    check(np.isfinite(one_shot).all(), "the logits of a 1-shot episode contain NaN or inf")


@graded(points=2, timeout=40)
def test_queries_do_not_see_each_other(student):
    """a query's logits depend on the support and that query only, not on the other queries"""
    model = new_model(student)
    full = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    alone = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY[:, 2:3])
    check(np.allclose(alone[:, 0], full[:, 2], atol=1e-4),
          f"query 2 gets different logits alone and among 7 queries (largest difference "
          f"{np.abs(alone[:, 0] - full[:, 2]).max():.3g}): mask the attention so that no query attends to another")
    reversed_ = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY[:, ::-1].copy())
    check(np.allclose(reversed_[:, ::-1], full, atol=1e-4),
          "reversing the order of the queries changes their logits: queries must not attend to each other, and "
          "must not carry positions")


@graded(points=1, timeout=40)
def test_support_is_a_set(student):
    """shuffling the support pairs (each embedding with its label) leaves the logits unchanged"""
    model = new_model(student)
    full = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    order = np.random.default_rng(5).permutation(SUPPORT.shape[1])
    shuffled = logits_of(student, model, SUPPORT[:, order], SUPPORT_LABELS[:, order], QUERY)
    check(np.allclose(shuffled, full, atol=1e-4),
          f"reordering the support set changes the logits (largest difference {np.abs(shuffled - full).max():.3g}): "
          f"use no positional encoding, the support set is a set")


@graded(points=1, timeout=40)
def test_labels_are_read(student):
    """the support labels are an input: changing them changes the logits"""
    model = new_model(student)
    full = logits_of(student, model, SUPPORT, SUPPORT_LABELS, QUERY)
    other = logits_of(student, model, SUPPORT, (SUPPORT_LABELS + 1) % WAYS, QUERY)
    check(np.abs(other - full).max() > 1e-4,
          "giving the support examples different labels does not change the logits at all: the one-hot labels "
          "must be part of the support tokens")


@graded(points=3, timeout=90)
def test_learns_easy_episodes(student):
    """after a short meta-training on easy episodes, it classifies new classes well above chance"""
    model = meta_trained(student, seed=1)
    accuracies = []
    for shots in (1, 4):
        support, support_labels, query, query_labels = new_classes(seed=5, shots=shots)
        logits = logits_of(student, model, support, support_labels, query)
        accuracies.append(float((logits.argmax(-1) == query_labels).mean()))
    check(min(accuracies) >= MIN_ACCURACY,
          f"after {META_STEPS} meta-training steps on easy 5-way episodes, the accuracy on new classes is "
          f"{accuracies[0]:.0%} (1-shot) and {accuracies[1]:.0%} (4-shot); the reference gets well above "
          f"{MIN_ACCURACY:.0%} (chance is 20%)")


@graded(points=3, timeout=90)
def test_invariant_to_relabelling(student):
    """after meta-training, handing the classes out under other labels gives the same answers, relabelled"""
    model = meta_trained(student, seed=2)
    support, support_labels, query, _ = new_classes(seed=6, shots=2)
    rng = np.random.default_rng(11)
    agreements, gaps = [], []
    for _ in range(3):
        perm = rng.permutation(WAYS)  # class with label c now gets label perm[c]
        original = softmax(logits_of(student, model, support, support_labels, query))
        relabelled = softmax(logits_of(student, model, support, perm[support_labels], query))[..., perm]
        agreements.append(float((original.argmax(-1) == relabelled.argmax(-1)).mean()))
        gaps.append(float(np.abs(original - relabelled).mean()))
    check(min(agreements) >= MIN_AGREEMENT and max(gaps) <= MAX_PROBABILITY_GAP,
          f"relabelling the classes of an episode changes the answers: the predicted class (mapped back) is the "
          f"same for only {min(agreements):.0%} of the queries, and the probabilities differ by "
          f"{max(gaps):.3f} on average (the reference: over {MIN_AGREEMENT:.0%} and under "
          f"{MAX_PROBABILITY_GAP}). Shuffle the labels in every meta-training episode, and make the output "
          f"depend on the labels the support carries, not on their order")
