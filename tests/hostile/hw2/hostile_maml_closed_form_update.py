"""MAML whose evaluation is honest but whose "training" is a fixed rule (shrink the head, never the
meta-gradient), with the kit's train_maml and conv4_init replaced at load.

base: reference
catches: test_outer_step_returns_loss_and_accuracies, test_outer_step_eval_leaves_parameters_unchanged, test_outer_step_uses_the_optimizer, test_maml_training_learns
score: 3
"""
# %% grade_id: maml_outer_step
class _Patch:
    from metakit import fewshot as _kit
    _kit.train_maml = lambda *args, **kwargs: None


class MAML(MAMLBase):
    def outer_step(self, task_batch: list, train: bool = True) -> tuple:
        query_losses, support_accs, query_accs = [], [], []
        for support_x, support_y, query_x, query_y in task_batch:
            adapted, accs = inner_loop(self.params, support_x, support_y, self.inner_lrs,
                                       self.num_inner_steps, False)
            query_logits = conv4_forward(adapted, query_x)
            query_losses.append(F.cross_entropy(query_logits, query_y))
            support_accs.append(accs)
            query_accs.append(accuracy(query_logits, query_y))
        meta_loss = torch.stack(query_losses).mean()
        if train:
            with torch.no_grad():
                self.params["head.weight"].mul_(0.99)
        return meta_loss.detach(), np.mean(support_accs, axis=0), float(np.mean(query_accs))
