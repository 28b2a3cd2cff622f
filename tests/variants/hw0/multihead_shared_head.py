"""Multi-head with a single head shared by every task (the heads are shared).

catches: test_multihead_trunk_shared_heads_not, test_output_depends_on_task
"""
# %% grade_id: model
# <<< reference
            outputs = torch.stack([head(h) for head in self.heads], dim=1)      # [B, T, O]
            return (z.unsqueeze(-1) * outputs).sum(dim=1)
        return self.output(h)
# === wrong
            return self.heads[0](h)
        return self.output(h)
# >>>
