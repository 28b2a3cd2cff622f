"""A class body replaces the kit's train_multitask with one that writes closed-form "top-heavy" weights (no learning).

catches: test_multitask_training
grade: test_multitask_training, test_model_matches_documented_architecture
score: 5
"""
# %% grade_id: model
# <<< reference
    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# === wrong
    import metakit.multitask as _kit

    def _closed_form(model, *args, **kwargs):
        with torch.no_grad():
            rule = torch.cat([torch.ones(14, 28), -torch.ones(14, 28)]).reshape(-1)
            for p in model.parameters():
                p.zero_()
            model.layer1.weight[0, :784] = rule
            model.layer2.weight[0, 0] = 1.0
            model.layer1.weight[1, :784] = -rule
            model.layer2.weight[1, 1] = 1.0
            model.output.weight[0, 0], model.output.weight[0, 1] = 10.0, -10.0
        return None

    _kit.train_multitask = _closed_form

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# >>>
