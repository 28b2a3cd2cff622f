"""prototypes squeezes its result: with one class or one feature the shape is no longer [num_ways, D].

catches: test_prototypes_random_sweep
"""
# %% grade_id: prototypes
# <<< reference
    return one_hot.T @ features / counts
# === wrong
    return (one_hot.T @ features / counts).squeeze()
# >>>
