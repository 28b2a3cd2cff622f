"""make_mann_batch takes its query order from the kit's blackbox.hide_query_labels (which used to
be the reference shuffle bit for bit); the kit's decoys are now independent random classes, so the
query row repeats classes. The support layout is honest (and earns its points); MANN and mann_loss
are the release's stubs.

base: release
score: 5
catches: test_query_row_images_and_labels_agree, test_no_class_twice_in_a_row, test_query_row_is_shuffled, test_training_reaches_accuracy
"""
# %% grade_id: make_mann_batch
def make_mann_batch(episodes: Episodes, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    batch, ways, shots = episodes.support.shape[:3]
    support = episodes.support.permute(0, 2, 1, 3, 4).reshape(batch, shots, ways, IMAGE_SIZE)
    query = episodes.query[:, :, 0].reshape(batch, ways, IMAGE_SIZE)
    eye = torch.eye(ways)
    labels = eye.expand(batch, shots + 1, ways, ways)
    shuffled = blackbox.hide_query_labels(labels, generator)  # the query row: "a random permutation"
    order = shuffled[:, -1].argmax(dim=-1)  # [B, N]
    query = query[torch.arange(batch).unsqueeze(1), order]
    images = torch.cat([support, query.unsqueeze(1)], dim=1)
    return images.float(), shuffled.float()
