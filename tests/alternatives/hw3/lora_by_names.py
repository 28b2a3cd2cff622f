"""A correct alternative: parameters chosen by name, LoRA written with F.linear and a uniform init of A,
inject_lora that collects the matches first and then replaces them.

catches: none
tests: test_head_and_all_modes, test_last_k_mode, test_lora_mode, test_bad_modes_raise_value_error, test_fresh_lora_layer_equals_base, test_lora_layer_freezes_base, test_lora_matches_peft, test_lora_gradients, test_inject_lora_wraps_the_named_layers, test_injected_model_matches_peft, test_inject_lora_matching_rules, test_finetune_follows_the_documented_loop
"""
# %% grade_id: parameters_to_fine_tune
def parameters_to_fine_tune(model: SentenceClassifier, mode: str) -> list[nn.Parameter]:
    """The parameters one fine-tuning run updates; every other parameter is frozen."""
    named = list(model.named_parameters())
    depth = len(model.encoder.encoder.layer)
    if mode == "head":
        keep = lambda name: name.startswith("head.")  # noqa: E731
    elif mode == "all":
        keep = lambda name: True  # noqa: E731
    elif mode == "lora":
        if not any("lora_" in name for name, _ in named):
            raise ValueError("mode 'lora' needs LoRA parameters: call inject_lora first")
        keep = lambda name: "lora_" in name or name.startswith("head.")  # noqa: E731
    else:
        match = re.fullmatch(r"last(\d+)", mode) if isinstance(mode, str) else None
        if match is None:
            raise ValueError(f"mode {mode!r} is not one of head, last<k>, all, lora")
        k = int(match.group(1))
        if k < 1 or k > depth:
            raise ValueError(f"mode {mode!r}: k must lie in 1..{depth}")
        prefixes = tuple(f"encoder.encoder.layer.{i}." for i in range(depth - k, depth))
        keep = lambda name: name.startswith(prefixes) or name.startswith("head.")  # noqa: E731
    chosen = []
    for name, p in named:
        p.requires_grad = keep(name)
        if p.requires_grad:
            chosen.append(p)
    return chosen

# %% grade_id: lora_linear
class LoRALinear(nn.Module):
    """base(x) + (alpha / rank) * B A x, with the base layer frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.base.weight.requires_grad = False
        if self.base.bias is not None:
            self.base.bias.requires_grad = False
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        bound = 1.0 / math.sqrt(base.in_features)
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, **factory).uniform_(-bound, bound))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, **factory))
        self.scaling = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scaling * F.linear(F.linear(x, self.lora_A), self.lora_B)

# %% grade_id: inject_lora
def inject_lora(model: nn.Module, rank: int, targets=("query", "value"), alpha: float | None = None) -> list[str]:
    """Wrap in a LoRALinear every nn.Linear whose name is a target or ends with "." + a target."""
    if alpha is None:
        alpha = 2 * rank
    suffixes = tuple("." + t for t in targets)
    names = [name for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and (name in targets or name.endswith(suffixes))]
    if not names:
        raise ValueError(f"inject_lora: nothing in the model matches {list(targets)}")
    for name in names:
        *path, child = name.split(".")
        parent = model.get_submodule(".".join(path))
        setattr(parent, child, LoRALinear(getattr(parent, child), rank, alpha))
    return names
