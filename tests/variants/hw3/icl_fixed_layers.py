"""The in-context classifier always stacks 2 transformer layers, whatever layers says.

catches: test_size_arguments
"""
# %% grade_id: in_context_classifier
# <<< reference
        self.transformer = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
# === wrong
        self.transformer = nn.TransformerEncoder(block, 2, enable_nested_tensor=False)
# >>>
