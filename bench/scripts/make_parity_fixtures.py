#!/usr/bin/env python3
"""Reference outputs of small random-weight Hugging Face models, for Panomni's parity tests.

For each family (qwen3, llama, qwen3_moe) writes OUT/<family>/ with config.json, model.safetensors
(the weights) and reference.safetensors holding, for the fixed inputs `input_ids` [2, 12]:
`logits` [2, 12, vocab] (fp32), `loss` (mean next-token cross-entropy), `aux_loss` (MoE only),
and `grad.<parameter name>` for every parameter, of loss + router_aux_loss_coef * aux_loss.
Usage: python3 bench/scripts/make_parity_fixtures.py OUT
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig,
                          Qwen3MoeForCausalLM)

COMMON = dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              head_dim=8, intermediate_size=64, rms_norm_eps=1e-6, max_position_embeddings=256,
              tie_word_embeddings=False, attention_dropout=0.0)


def families():
    yield "qwen3", Qwen3ForCausalLM(Qwen3Config(rope_theta=10000.0, **COMMON))
    llama = dict(COMMON)
    llama.pop("head_dim")
    yield "llama", LlamaForCausalLM(LlamaConfig(rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64}, **llama))
    yield "qwen3_moe", Qwen3MoeForCausalLM(Qwen3MoeConfig(rope_theta=10000.0, num_experts=4, num_experts_per_tok=2,
                                                          moe_intermediate_size=16, norm_topk_prob=True,
                                                          decoder_sparse_step=1, router_aux_loss_coef=0.01,
                                                          output_router_logits=True, **COMMON))


def per_expert(name, t, moe_inter, hidden):
    """Hugging Face's on-disk layout: one [out, in] matrix per expert, whatever the in-memory layout."""
    out = {}
    prefix = name.rsplit(".", 1)[0]
    if name.endswith("experts.gate_up_proj"):
        if t.shape[1] != 2 * moe_inter:
            t = t.transpose(1, 2)
        for e in range(t.shape[0]):
            out[f"{prefix}.{e}.gate_proj.weight"] = t[e, :moe_inter].contiguous()
            out[f"{prefix}.{e}.up_proj.weight"] = t[e, moe_inter:].contiguous()
    elif name.endswith("experts.down_proj"):
        if t.shape[1] != hidden:
            t = t.transpose(1, 2)
        for e in range(t.shape[0]):
            out[f"{prefix}.{e}.down_proj.weight"] = t[e].contiguous()
    else:
        out[name] = t.contiguous()
    return out


def main():
    out_root = sys.argv[1]
    torch.manual_seed(0)
    ids = torch.randint(0, 128, (2, 12), generator=torch.Generator().manual_seed(1))
    for name, model in families():
        model = model.float().eval()
        model.config._attn_implementation = "eager"
        with torch.no_grad():
            for p in model.parameters():  # non-trivial norms too
                p.add_(torch.randn_like(p) * 0.02)
        folder = os.path.join(out_root, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        for extra in os.listdir(folder):  # keep config.json; weights are rewritten below in the classic layout
            if extra.endswith(".safetensors") or extra.endswith(".index.json"):
                os.remove(os.path.join(folder, extra))
        inter = getattr(model.config, "moe_intermediate_size", 0)
        weights = {}
        for pname, p in model.named_parameters():
            weights.update(per_expert(pname, p.detach().float(), inter, model.config.hidden_size))
        save_file(weights, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
        out = model(input_ids=ids, labels=ids, output_router_logits=(name == "qwen3_moe"))
        logits = out.logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        total = loss
        ref = {"input_ids": ids.to(torch.int64), "logits": logits.detach().float().contiguous(),
               "loss": loss.detach().reshape(1)}
        if name == "qwen3_moe":
            ref["aux_loss"] = out.aux_loss.detach().reshape(1)
            total = loss + model.config.router_aux_loss_coef * out.aux_loss
        total.backward()
        for pname, p in model.named_parameters():
            for k, g in per_expert(pname, p.grad.detach().float(), inter, model.config.hidden_size).items():
                ref["grad." + k] = g
        save_file(ref, os.path.join(folder, "reference.safetensors"))
        print(name, "loss", float(loss), "params", sum(p.numel() for p in model.parameters()))


if __name__ == "__main__":
    main()
