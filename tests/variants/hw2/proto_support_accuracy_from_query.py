"""protonet_step reports the query accuracy as the support accuracy.

catches: test_protonet_step_loss_and_accuracies
"""
# %% grade_id: protonet_step
# <<< reference
        support_accs.append(accuracy(protonet_logits(support_f, protos), support_y))
# === wrong
        support_accs.append(accuracy(query_logits, query_y))
# >>>
