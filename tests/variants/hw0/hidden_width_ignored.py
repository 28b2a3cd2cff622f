"""The hidden argument is ignored: every network is 16 units wide.

catches: test_model_sizes_and_defaults, test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
        self.num_tasks, self.num_outputs = num_tasks, num_outputs
# === wrong
        self.num_tasks, self.num_outputs = num_tasks, num_outputs
        hidden = 16
# >>>
