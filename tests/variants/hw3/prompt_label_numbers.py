"""build_prompt writes the label's number instead of its name in the examples.

catches: test_build_prompt_exact
"""
# %% grade_id: build_prompt
# <<< reference
    parts += [template["example"].format(text=text, label=label_names[int(label)]) for text, label in zip(texts, labels)]
# === wrong
    parts += [template["example"].format(text=text, label=int(label)) for text, label in zip(texts, labels)]
# >>>
