"""build_prompt adds a newline between the examples and the query (the template already holds every separator).

catches: test_build_prompt_exact
"""
# %% grade_id: build_prompt
# <<< reference
    parts.append(template["query"].format(text=query))
# === wrong
    parts.append("\n" + template["query"].format(text=query))
# >>>
