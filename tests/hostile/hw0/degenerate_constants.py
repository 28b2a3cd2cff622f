"""The released stubs filled with degenerate answers: a model that outputs zeros (its layers are right), samplers and losses that always raise ValueError, a constant cosine.

Only the layer sizes are honest work (test_model_sizes_and_defaults, 1 point); every property test
("raises ValueError", "leaves the model alone", "rows use their own z", the gates) must give nothing.

catches: test_model_modes_and_shapes, test_independent_gate, test_rows_use_their_own_descriptor, test_multiplicative_gate_switches_off, test_output_depends_on_task, test_sampler_rejects_bad_input, test_sampler_uses_the_generator, test_loss_rejects_mismatched_weights, test_cosine_leaves_model_alone, test_cosine_without_shared_parameters
grade: test_model_modes_and_shapes, test_model_sizes_and_defaults, test_independent_gate, test_rows_use_their_own_descriptor, test_multiplicative_gate_switches_off, test_output_depends_on_task, test_sampler_rejects_bad_input, test_sampler_uses_the_generator, test_loss_rejects_mismatched_weights, test_cosine_leaves_model_alone, test_cosine_without_shared_parameters
score: 1
"""
# %% grade_id: model
# <<< reference
    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# === wrong
    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], self.num_outputs)

    def _unused(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
# >>>
# %% grade_id: sampler
def sample_task_batch(task_sizes, num_tasks: int, batch_size: int, generator: torch.Generator,
                      proportional: bool = False):
    raise ValueError("task_sizes must be a non-empty list of positive sizes")
# %% grade_id: loss
def multitask_loss(per_task_losses, weights=None):
    raise ValueError("weights and per-task losses differ in shape")
# %% grade_id: cosine
def task_gradient_cosine(model, batch_a, batch_b) -> float:
    return 0.0
