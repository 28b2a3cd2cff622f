"""finetune_causal_lm pairs each minibatch's prompts with the first labels of the support, not their own.

catches: test_finetune_causal_lm_beats_prompting
"""
# %% grade_id: finetune_causal_lm
# <<< reference
        loss = F.cross_entropy(scores, labels[batch].to(scores.device))
# === wrong
        loss = F.cross_entropy(scores, labels[: len(batch)].to(scores.device))
# >>>
