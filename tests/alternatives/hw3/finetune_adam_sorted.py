"""A correct alternative finetune: torch.optim.Adam with no weight decay (the same update as AdamW with
weight_decay=0), groups listed body first, the batch indices sorted, nn.CrossEntropyLoss, zero_grad after
the step.

catches: none
tests: test_finetune_follows_the_documented_loop, test_finetune_defaults, test_finetune_modes_and_edge_cases, test_lora_finetuning_moves_only_adapters_and_head, test_head_finetuning_moves_only_the_head, test_finetuning_fits_the_support_set, test_finetune_on_the_models_device
"""
# %% grade_id: finetune
LEARNING_RATES = {"head": 1e-2, "last": 2e-4, "all": 1e-4, "lora": 1e-3}  # the encoder's learning rate
HEAD_LR = 1e-2
FINETUNE_STEPS = 30
BATCH_SIZE = 16


def finetune(model: SentenceClassifier, support: tuple, mode: str, steps: int = FINETUNE_STEPS,
             lr: float | None = None, head_lr: float = HEAD_LR, batch_size: int = BATCH_SIZE,
             seed: int = 0) -> list[float]:
    """Fine-tune `model` in place on a support set (texts, labels [S]); returns the step losses."""
    texts, labels = list(support[0]), torch.as_tensor(support[1]).long().to(model.device)
    chosen = parameters_to_fine_tune(model, mode)
    family = re.sub(r"\d+$", "", mode)
    body_lr = LEARNING_RATES[family] if lr is None else lr
    head = [p for p in chosen if any(p is q for q in model.head.parameters())]
    body = [p for p in chosen if not any(p is q for q in model.head.parameters())]
    groups = ([{"params": body, "lr": body_lr}] if body else []) + [{"params": head, "lr": head_lr}]
    optimizer = torch.optim.Adam(groups, weight_decay=0)
    criterion = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(texts))
    history = []
    model.train()
    for _ in range(steps):
        idx = torch.randperm(len(texts), generator=g)[:size].sort().values
        loss = criterion(model([texts[i] for i in idx.tolist()]), labels[idx.to(labels.device)])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        history.append(float(loss.item()))
    model.eval()
    return history
