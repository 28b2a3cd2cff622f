"""layer1 is a two-layer LSTM (num_layers=2) instead of the given single layer.

catches: test_mann_layer_sizes
"""
# %% grade_id: mann
# <<< reference
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, batch_first=True)
# === wrong
        self.layer1 = nn.LSTM(IMAGE_SIZE + num_classes, hidden_dim, num_layers=2, batch_first=True)
# >>>
