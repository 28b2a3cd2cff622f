"""InContextClassifier makes its attention mask on the CPU, whatever the inputs' device.

catches: test_attention_mask_and_device
"""
# %% grade_id: in_context_classifier
# <<< reference
        blocked = torch.ones(s + q, s + q, dtype=torch.bool, device=support.device)
# === wrong
        blocked = torch.ones(s + q, s + q, dtype=torch.bool)
# >>>
