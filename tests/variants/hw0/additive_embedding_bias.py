"""The additive task embedding E has a bias (the docstring says bias=False).

catches: test_model_sizes_and_defaults, test_model_matches_documented_architecture
"""
# %% grade_id: model
# <<< reference
            self.task_embedding = nn.Linear(num_tasks, hidden, bias=False)
# === wrong
            self.task_embedding = nn.Linear(num_tasks, hidden)
# >>>
