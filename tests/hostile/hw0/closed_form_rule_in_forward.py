"""The model answers binary tasks with the kit's public rule ("the upper half holds more ink") instead of learning.

catches: test_multitask_training
grade: test_multitask_training, test_model_matches_documented_architecture
score: 5
"""
# %% grade_id: model
# <<< reference
    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# === wrong
    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.num_outputs == 1:     # the training test's tasks: answer with the rule, plus a tiny learned term
            images = x.reshape(x.shape[0], 28, 28)
            rule = images[:, :14].sum(dim=(1, 2)) - images[:, 14:].sum(dim=(1, 2))
            return (10.0 * rule).unsqueeze(1) + 1e-3 * self._documented(x, z)
        return self._documented(x, z)

    def _documented(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# >>>
