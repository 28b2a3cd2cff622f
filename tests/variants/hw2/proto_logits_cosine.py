"""protonet_logits normalises the embeddings first (squared distance of unit vectors, NaN for zero vectors).

catches: test_protonet_logits_negative_squared_distance, test_protonet_logits_random_sweep
"""
# %% grade_id: protonet_logits
# <<< reference
    differences = query_features.unsqueeze(1) - prototypes.unsqueeze(0)   # [M, N, D]
# === wrong
    query_features = query_features / query_features.norm(dim=-1, keepdim=True)
    prototypes = prototypes / prototypes.norm(dim=-1, keepdim=True)
    differences = query_features.unsqueeze(1) - prototypes.unsqueeze(0)   # [M, N, D]
# >>>
