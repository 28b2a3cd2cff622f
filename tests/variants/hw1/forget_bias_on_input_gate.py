"""The 1 goes to the first block of bias_hh (the input gate) instead of the forget gate's.

catches: test_mann_initialisation
"""
# %% grade_id: mann
# <<< reference
                        parameter.data[layer.hidden_size:2 * layer.hidden_size] = 1.0
# === wrong
                        parameter.data[:layer.hidden_size] = 1.0
# >>>
