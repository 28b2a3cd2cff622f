"""meta_train_in_context's lr defaults to 3e-3 instead of the documented 1e-3.

catches: test_meta_train_defaults_progress_and_device
"""
# %% grade_id: meta_train_in_context
# <<< reference
                          lr: float = 1e-3, device="cpu", progress: bool = False) -> list[float]:
# === wrong
                          lr: float = 3e-3, device="cpu", progress: bool = False) -> list[float]:
# >>>
