"""The whole batch is conditioned on the first row's descriptor (batches that mix tasks go wrong).

catches: test_rows_use_their_own_descriptor
"""
# %% grade_id: model
# <<< reference
        x = x.reshape(x.shape[0], -1)
        z = z.to(x.dtype)
# === wrong
        x = x.reshape(x.shape[0], -1)
        z = z.to(x.dtype)[:1].expand(x.shape[0], -1)
# >>>
