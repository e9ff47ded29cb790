#!/usr/bin/env python3
"""PyTorch reference for TrainStepRunner: one training step of a Hugging Face model of the design
brief's benchmark shapes (forward, backward, AdamW), B4 S4096 as four rows, bf16, on one GPU:
tokens/s and peak memory. --model qwen3: Qwen3-0.6B shape; --model qwen3_moe: Qwen3-MoE shape
(12 layers, 64 experts of 512, top-8 renormalized, router load-balancing loss 0.001, untied head).
Usage: python3 bench/scripts/torch_train_step.py [--model qwen3] [--compile] [--steps 6] [--warmup 2] [--layers N]
"""
import argparse
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM


def build_model(name, layers=None, seq=4096):
    """The benchmark shape `name` (qwen3 or qwen3_moe) with fresh fp32 weights on the CPU, as Panomni's
    BenchmarkModels builds it; returns (model, config, layer count)."""
    if name == "qwen3":
        layers = layers or 28
        cfg = Qwen3Config(vocab_size=151936, hidden_size=1024, num_hidden_layers=layers, num_attention_heads=16,
                          num_key_value_heads=8, head_dim=128, intermediate_size=3072, rope_theta=1e6,
                          tie_word_embeddings=True, max_position_embeddings=seq)
        return Qwen3ForCausalLM(cfg), cfg, layers
    if name == "qwen3_moe":
        layers = layers or 12
        cfg = Qwen3MoeConfig(vocab_size=151936, hidden_size=1024, num_hidden_layers=layers, num_attention_heads=16,
                             num_key_value_heads=8, head_dim=128, intermediate_size=3072, moe_intermediate_size=512,
                             num_experts=64, num_experts_per_tok=8, norm_topk_prob=True, decoder_sparse_step=1,
                             mlp_only_layers=[], output_router_logits=True, router_aux_loss_coef=0.001,
                             rope_theta=1e6, tie_word_embeddings=False, max_position_embeddings=seq)
        return Qwen3MoeForCausalLM(cfg), cfg, layers
    raise ValueError(f"model must be qwen3 or qwen3_moe, got {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--model", choices=["qwen3", "qwen3_moe"], default="qwen3")
    a = ap.parse_args()
    model, cfg, a.layers = build_model(a.model, a.layers, a.seq)
    model = model.to(torch.bfloat16).cuda()
    params = sum(p.numel() for p in model.parameters())
    model.config._attn_implementation = "sdpa"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)
    step_fn = model
    if a.compile:
        step_fn = torch.compile(model)
    tokens = a.batch * a.seq
    total = 0.0
    torch.cuda.reset_peak_memory_stats()
    for s in range(a.warmup + a.steps):
        ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device="cuda")
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = step_fn(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            total += dt
        print(f"step {s}: loss {out.loss.item():.4f}, {dt:.3f} s, {tokens / dt:.0f} tokens/s", flush=True)
    mode = "torch.compile" if a.compile else "eager"
    print(f"[train-step] pytorch {mode} {a.model} ({a.layers} layers, {params / 1e6:.0f}M parameters) "
          f"B{a.batch} S{a.seq} bf16 on "
          f"{torch.cuda.get_device_name(0)}: {tokens * a.steps / total:.0f} tokens/s, "
          f"peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB", flush=True)


if __name__ == "__main__":
    main()
