"""build_prompt leaves out the template's instruction line (the plain template still matches).

catches: test_build_prompt_exact
"""
# %% grade_id: build_prompt
# <<< reference
    parts = [template["instruction"].format(labels=", ".join(label_names))]
# === wrong
    parts = []
# >>>
