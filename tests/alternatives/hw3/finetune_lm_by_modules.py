"""A correct alternative: finetune_causal_lm finds the adapters through the LoRALinear modules, freezes
with requires_grad_ on the whole model first, takes the given parameters as any iterable, and builds each
minibatch's targets with index_select.

catches: none
tests: test_finetune_causal_lm_trains_only_adapters, test_finetune_causal_lm_beats_prompting, test_lora_on_llama, test_finetune_causal_lm_trains_the_given_parameters
"""
# %% grade_id: finetune_causal_lm
LM_LORA_RANK, LM_LORA_ALPHA = 4, 8.0
LM_FINETUNE_STEPS = 20
LM_LR = 3e-3
LM_BATCH_SIZE = 8


def finetune_causal_lm(model: nn.Module, tokenizer, support: tuple, label_names: list[str],
                       template: dict = INSTRUCT_TEMPLATE, steps: int = LM_FINETUNE_STEPS, lr: float = LM_LR,
                       batch_size: int = LM_BATCH_SIZE, seed: int = 0, parameters=None) -> list[float]:
    """The given parameters (or the adapters) only, zero-shot label scores, cross-entropy."""
    texts, labels = list(support[0]), torch.tensor([int(y) for y in support[1]])
    model.requires_grad_(False)
    params = []
    if parameters is not None:
        params = [p.requires_grad_(True) for p in parameters]
    else:
        for module in model.modules():
            if isinstance(module, LoRALinear):
                module.lora_A.requires_grad_(True)
                module.lora_B.requires_grad_(True)
                params += [module.lora_A, module.lora_B]
    if not params:
        raise ValueError("nothing to train: call inject_lora first or give parameters")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for step in range(steps):
        pick = torch.randperm(len(texts), generator=g)[:batch_size]
        logits = label_log_likelihoods(model, tokenizer, [build_prompt(([], []), texts[i], label_names, template)
                                                          for i in pick.tolist()], label_names)
        loss = F.cross_entropy(logits, labels.index_select(0, pick).to(logits.device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    model.eval()
    return losses
