"""The in-context classifier lets queries attend to each other (no attention mask).

catches: test_queries_do_not_see_each_other
"""
# %% grade_id: in_context_classifier
# <<< reference
        hidden = self.transformer(self.input(tokens), mask=blocked)
# === wrong
        hidden = self.transformer(self.input(tokens))
# >>>
