"""label_log_likelihoods scores the whole sequence, prompt tokens included, not only the label's tokens
(the prompt's part is the same for every label, so the argmax survives; the numbers do not).

catches: test_label_log_likelihoods_tiny, test_label_log_likelihoods_batching
"""
# %% grade_id: label_log_likelihoods
import torch.nn.functional as F


def label_log_likelihoods(model: nn.Module, tokenizer, prompts: list[str], label_names: list[str]) -> torch.Tensor:
    """log p(prompt + label) of the whole sequence."""
    device = next(model.parameters()).device
    out = torch.zeros(len(prompts), len(label_names), device=device)
    for i, prompt in enumerate(prompts):
        for j, name in enumerate(label_names):
            ids = list(tokenizer(prompt)["input_ids"]) + list(tokenizer(" " + name, add_special_tokens=False)["input_ids"])
            x = torch.tensor([ids], device=device)
            logp = model(x).logits[0, :-1].log_softmax(-1)
            out[i, j] = logp.gather(-1, x[0, 1:].unsqueeze(-1)).sum()
    return out
