"""The forget-gate bias is set to 1 in bias_ih as well as bias_hh (it starts at 2, not 1).

catches: test_mann_initialisation
"""
# %% grade_id: mann
# <<< reference
                    if name.startswith("bias_hh"):  # gates (input, forget, cell, output): remember by default
# === wrong
                    if name.startswith("bias"):  # gates (input, forget, cell, output): remember by default
# >>>
