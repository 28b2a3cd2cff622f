"""The in-context classifier ignores its dropout argument (nn.TransformerEncoderLayer's default 0.1 stays on).

catches: test_size_arguments
"""
# %% grade_id: in_context_classifier
# <<< reference
        block = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=dropout,
                                           batch_first=True, norm_first=True)
# === wrong
        block = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model,
                                           batch_first=True, norm_first=True)
# >>>
