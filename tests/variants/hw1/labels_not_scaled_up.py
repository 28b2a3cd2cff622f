"""The label inputs of layer1 are not multiplied by 10 after the Xavier init.

catches: test_mann_initialisation
"""
# %% grade_id: mann
# <<< reference
            self.layer1.weight_ih_l0[:, IMAGE_SIZE:] *= 10.0
# === wrong
            pass
# >>>
