"""The in-context classifier always uses 4 attention heads, whatever heads says.

catches: test_size_arguments
"""
# %% grade_id: in_context_classifier
# <<< reference
        block = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=2 * d_model, dropout=dropout,
# === wrong
        block = nn.TransformerEncoderLayer(d_model, 4, dim_feedforward=2 * d_model, dropout=dropout,
# >>>
