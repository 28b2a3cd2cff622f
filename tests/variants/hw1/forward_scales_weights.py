"""The label inputs are scaled up by 10 in forward, in place, instead of once in __init__.

catches: test_forward_leaves_labels_unchanged
"""
# %% grade_id: mann
# <<< reference
            self.layer1.weight_ih_l0[:, IMAGE_SIZE:] *= 10.0
# === wrong
            pass
# >>>
# <<< reference
        batch, rows, ways = labels.shape[:3]
# === wrong
        batch, rows, ways = labels.shape[:3]
        with torch.no_grad():
            self.layer1.weight_ih_l0[:, IMAGE_SIZE:] *= 10.0
# >>>
