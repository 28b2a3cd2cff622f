"""In "head" mode the head is returned but left frozen (requires_grad=False), so nothing trains.

catches: test_head_and_all_modes, test_head_finetuning_moves_only_the_head
"""
# %% grade_id: parameters_to_fine_tune
# <<< reference
    wanted = {id(p) for p in chosen}
# === wrong
    wanted = {id(p) for p in chosen} if mode != "head" else set()
# >>>
