"""Degenerate answers on the untouched release: zeros and constants of the right shapes, no updates.

Every property test ("leaves the parameters unchanged", "keeps the model's mode", "no gradients
left behind") holds vacuously for these; none may give points, and the training runs learn nothing.

base: release
catches: test_prototypes_class_means, test_protonet_logits_differentiable, test_protonet_step_uses_model_as_given, test_inner_loop_leaves_params_untouched, test_outer_step_eval_leaves_parameters_unchanged, test_protonet_training_learns, test_maml_training_learns
score: 0
"""
# %% grade_id: prototypes
def prototypes(features, labels, num_ways):
    return torch.zeros(num_ways, features.shape[1], dtype=features.dtype)

# %% grade_id: protonet_logits
def protonet_logits(query_features, prototypes):
    return torch.zeros(query_features.shape[0], prototypes.shape[0], dtype=query_features.dtype)

# %% grade_id: protonet_step
def protonet_step(model, task_batch):
    zero = sum(p.sum() for p in model.parameters()) * 0.0
    return zero, 0.2, 0.2

# %% grade_id: inner_loop
def inner_loop(params, support_x, support_y, inner_lrs, num_steps, create_graph):
    return dict(params), [0.2] * (num_steps + 1)

# %% grade_id: maml_outer_step
class MAML(MAMLBase):
    def outer_step(self, task_batch, train=True):
        return torch.tensor(1.6), np.full(self.num_inner_steps + 1, 0.2), 0.2
