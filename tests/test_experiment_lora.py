"""The LoRA experiment's adapter: starts as the base layer, merges into it exactly."""

from __future__ import annotations

import torch

from classifiers.training.experiment_lora import LoRALinear, add_lora, merge_lora


def test_adapter_starts_as_the_base_and_merges_exactly() -> None:
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    before = base(x).detach().clone()
    lora = LoRALinear(base, rank=2, alpha=4.0)
    torch.testing.assert_close(lora(x), before)  # B is zero: no change yet
    with torch.no_grad():
        lora.b.normal_()
    adapted = lora(x).detach().clone()
    assert not torch.allclose(adapted, before)
    torch.testing.assert_close(lora.merged()(x), adapted, rtol=1e-5, atol=1e-5)


def test_only_transformer_layers_are_wrapped_and_trainable() -> None:
    model = torch.nn.Module()
    model.encoder = torch.nn.Module()
    model.encoder.layer = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)])
    model.head = torch.nn.Linear(4, 2)
    wrapped = add_lora(model, rank=2)
    assert len(wrapped) == 2 and isinstance(model.head, torch.nn.Linear)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {f"encoder.layer.{i}.{ab}" for i in (0, 1) for ab in ("a", "b")}
    merge_lora(model)
    assert all(isinstance(m, torch.nn.Linear) for m in model.encoder.layer)
