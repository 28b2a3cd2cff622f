"""build_prompt lists the support examples from the last to the first, not in the support's order.

catches: test_build_prompt_exact
"""
# %% grade_id: build_prompt
# <<< reference
    parts += [template["example"].format(text=text, label=label_names[int(label)]) for text, label in zip(texts, labels)]
# === wrong
    parts += [template["example"].format(text=text, label=label_names[int(label)])
              for text, label in reversed(list(zip(texts, labels)))]
# >>>
