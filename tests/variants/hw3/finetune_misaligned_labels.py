"""finetune pairs the minibatch texts with the first labels of the support set, not their own.

catches: test_finetuning_fits_the_support_set
"""
# %% grade_id: finetune
# <<< reference
        loss = F.cross_entropy(logits, labels[batch.to(labels.device)])
# === wrong
        loss = F.cross_entropy(logits, labels[: len(batch)])
# >>>
