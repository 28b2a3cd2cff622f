"""Input-to-hidden weights Xavier-normal instead of Xavier-uniform.

catches: test_mann_initialisation
"""
# %% grade_id: mann
# <<< reference
                    nn.init.xavier_uniform_(parameter)
# === wrong
                    nn.init.xavier_normal_(parameter)
# >>>
