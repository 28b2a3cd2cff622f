"""The sampler rejects tasks of size 1 (the docstring only rejects sizes below 1).

catches: test_sampler_rejects_bad_input, test_sampler_examples
"""
# %% grade_id: sampler
# <<< reference
    if sizes.ndim != 1 or len(sizes) == 0 or bool((sizes < 1).any()):
# === wrong
    if sizes.ndim != 1 or len(sizes) == 0 or bool((sizes < 2).any()):
# >>>
