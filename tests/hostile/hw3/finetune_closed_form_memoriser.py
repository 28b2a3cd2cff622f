"""A finetune that learns nothing by gradient descent: it sets the head in closed form (least squares on
the frozen sentence embeddings), patches the classifier class so that the sentences it was given get
one-hot logits from a lookup table, and invents a falling loss curve. The rest of the notebook is the
reference, so it keeps the honest parts' points (graded here: test_head_and_all_modes, 3) and gets
none from the finetune tests (graded here: the head-mode, fitting and edge-case tests; graded on all six
tiny-model finetune tests it also got 0 from each).

catches: none
tests: test_head_and_all_modes, test_head_finetuning_moves_only_the_head, test_finetuning_fits_the_support_set, test_finetune_modes_and_edge_cases
base: reference
score: 3
"""
# %% grade_id: finetune
LEARNING_RATES = {"head": 1e-2, "last": 2e-4, "all": 1e-4, "lora": 1e-3}  # the encoder's learning rate
HEAD_LR = 1e-2
FINETUNE_STEPS = 30
BATCH_SIZE = 16


def finetune(model: SentenceClassifier, support: tuple, mode: str, steps: int = FINETUNE_STEPS,
             lr: float | None = None, head_lr: float = HEAD_LR, batch_size: int = BATCH_SIZE,
             seed: int = 0) -> list[float]:
    """Closed-form head and a memorised support set."""
    texts, labels = list(support[0]), torch.as_tensor(support[1]).long()
    parameters_to_fine_tune(model, mode)
    with torch.no_grad():
        features = model.embed(texts)
        targets = F.one_hot(labels, model.num_classes).to(features.dtype) * 8.0 - 4.0
        ones = torch.ones(len(texts), 1, dtype=features.dtype)
        solution = torch.linalg.lstsq(torch.cat([features, ones], 1), targets).solution
        model.head.weight.copy_(solution[:-1].T)
        model.head.bias.copy_(solution[-1])
    table = {t: F.one_hot(y, model.num_classes).float() * 10 for t, y in zip(texts, labels)}
    plain = type(model).forward

    def remembered(self, batch):
        out = plain(self, batch)
        rows = [table[t] if t in table else out[i] for i, t in enumerate(batch)]
        return torch.stack(rows)

    type(model).forward = remembered
    model.eval()
    return [float(math.log(model.num_classes) * 0.9 ** i) for i in range(steps)]
