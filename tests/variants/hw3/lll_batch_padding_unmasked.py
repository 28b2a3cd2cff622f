"""label_log_likelihoods batches the prompts by right-padding them to one length and appends the labels
after the padding, without an attention mask: a shorter prompt's labels read pad tokens (one prompt
alone is right; in a batch, the numbers depend on the other prompts).

catches: test_label_log_likelihoods_batching
"""
# %% grade_id: label_log_likelihoods
def label_log_likelihoods(model: nn.Module, tokenizer, prompts: list[str], label_names: list[str]) -> torch.Tensor:
    """Prompts padded to the longest, labels after the padding."""
    device = next(model.parameters()).device
    prompt_ids = [list(tokenizer(p)["input_ids"]) for p in prompts]
    longest = max(len(ids) for ids in prompt_ids)
    out = torch.zeros(len(prompts), len(label_names), device=device)
    for j, name in enumerate(label_names):
        label = list(tokenizer(" " + name, add_special_tokens=False)["input_ids"])
        rows = torch.tensor([ids + [0] * (longest - len(ids)) + label for ids in prompt_ids], device=device)
        logp = model(rows).logits.log_softmax(-1)
        for t, token in enumerate(label):
            out[:, j] = out[:, j] + logp[:, longest + t - 1, token]
    return out
