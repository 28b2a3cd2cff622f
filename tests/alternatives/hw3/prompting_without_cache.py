"""A correct alternative: build_prompt with one f-string per part and str.join on a generator, and
label_log_likelihoods without any KV cache: every (prompt, label) sequence in one right-padded batch
with an attention mask, per-token log-probabilities gathered by index arithmetic.

catches: none
tests: test_build_prompt_exact, test_label_log_likelihoods_tiny, test_label_log_likelihoods_batching, test_label_log_likelihoods_stays_on_the_models_device, test_label_log_likelihoods_real_model, test_finetune_causal_lm_trains_only_adapters, test_finetune_causal_lm_beats_prompting, test_finetune_causal_lm_trains_the_given_parameters
"""
# %% grade_id: build_prompt
def build_prompt(support: tuple, query: str, label_names: list[str], template: dict = INSTRUCT_TEMPLATE) -> str:
    """Instruction, examples in order, query."""
    texts, labels = support
    head = template["instruction"].format(labels=", ".join(label_names))
    body = "".join(template["example"].format(label=label_names[int(y)], text=x) for x, y in zip(texts, list(labels)))
    return f"{head}{body}{template['query'].format(text=query)}"


# %% grade_id: label_log_likelihoods
def label_log_likelihoods(model: nn.Module, tokenizer, prompts: list[str], label_names: list[str]) -> torch.Tensor:
    """Every (prompt, label) pair as one row of a padded batch, no cache."""
    device = next(model.parameters()).device
    labels = [tokenizer(" " + n, add_special_tokens=False)["input_ids"] for n in label_names]
    rows, spans = [], []
    for prompt in prompts:
        ids = tokenizer(prompt)["input_ids"]
        for lab in labels:
            spans.append((len(ids), len(lab)))
            rows.append(list(ids) + list(lab))
    width = max(len(r) for r in rows)
    x = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    mask = torch.zeros_like(x)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    logp = torch.log_softmax(model(input_ids=x, attention_mask=mask).logits.float(), dim=-1)
    scores = []
    for i, (start, count) in enumerate(spans):
        positions = torch.arange(start - 1, start - 1 + count, device=device)
        scores.append(logp[i, positions, x[i, positions + 1]].sum())
    return torch.stack(scores).view(len(prompts), len(label_names))
