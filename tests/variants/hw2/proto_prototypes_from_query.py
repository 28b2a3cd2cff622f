"""Prototypes computed from the query embeddings instead of the support embeddings.

catches: test_protonet_step_loss_and_accuracies, test_protonet_step_gradient
"""
# %% grade_id: protonet_step
# <<< reference
        protos = prototypes(support_f, support_y, num_ways)
# === wrong
        protos = prototypes(query_f, query_y, num_ways)
# >>>
