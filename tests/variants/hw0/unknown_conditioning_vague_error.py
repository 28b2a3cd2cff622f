"""An unknown conditioning raises ValueError without naming the five conditionings.

catches: test_model_modes_and_shapes
"""
# %% grade_id: model
# <<< reference
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}; got {conditioning!r}")
# === wrong
            raise ValueError(f"unknown conditioning {conditioning!r}")
# >>>
