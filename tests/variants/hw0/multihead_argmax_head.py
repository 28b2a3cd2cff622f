"""Multi-head that picks one head by z.argmax() instead of the documented sum_t z_t head_t(h_2).

catches: test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
            outputs = torch.stack([head(h) for head in self.heads], dim=1)      # [B, T, O]
            return (z.unsqueeze(-1) * outputs).sum(dim=1)
# === wrong
            outputs = torch.stack([head(h) for head in self.heads], dim=1)      # [B, T, O]
            return outputs[torch.arange(len(z)), z.argmax(dim=1)]
# >>>
