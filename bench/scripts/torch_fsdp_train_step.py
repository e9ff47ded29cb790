#!/usr/bin/env python3
"""PyTorch FSDP2 reference for Panomni's ScalingRunner: training steps (forward, backward, AdamW) of the
benchmark shapes (bench/scripts/torch_train_step.py's build_model: qwen3 = Qwen3-0.6B shape, qwen3_moe =
Qwen3-MoE shape with router logits and load-balancing loss 0.001) on N GPUs, B4 S4096 per GPU as four rows,
SDPA attention. FSDP2 (`torch.distributed.fsdp.fully_shard`) per decoder layer and on the root, with
MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32) over fp32 parameters: fp32 master weights and
AdamW state, as Panomni's engine keeps them. No expert parallelism (FSDP2 has none). --ac adds
per-layer activation checkpointing (Hugging Face's gradient checkpointing, non-reentrant), which
Panomni's engine always does.

Prints "[scaling] ..." lines with tokens/s per GPU and each rank's peak memory (max_memory_allocated).
Usage: torchrun --nproc-per-node N bench/scripts/torch_fsdp_train_step.py [--model qwen3|qwen3_moe]
           [--steps 3] [--warmup 2] [--batch 4] [--seq 4096] [--layers L] [--ac]
NVLink multicast stays off (NCCL_NVLS_ENABLE=0 unless set), as on Panomni's runs; the caching allocator uses
expandable segments unless PYTORCH_CUDA_ALLOC_CONF says otherwise.
"""
import argparse
import os
import time

os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
# fp32 master weights and AdamW state add ~16 bytes per parameter to eager's footprint; expandable segments
# keep fragmentation from tipping the one-GPU runs over 80 GB (torchtitan's usual setting).
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")

import torch
import torch.distributed as dist
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

from torch_train_step import build_model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["qwen3", "qwen3_moe"], default="qwen3")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--ac", action="store_true", help="activation checkpointing of every decoder layer")
    a = ap.parse_args()

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank)
    torch.cuda.set_device(device)
    dist.init_process_group("nccl", device_id=device)
    rank, world = dist.get_rank(), dist.get_world_size()
    # torchrun gives each rank one CPU thread; the CPU initialization of the weights wants more.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))

    torch.manual_seed(0)  # the same initial weights on every rank: each keeps its shard of them
    model, cfg, layers = build_model(a.model, a.layers, a.seq)
    model.config._attn_implementation = "sdpa"
    params = sum(p.numel() for p in model.parameters())
    if a.ac:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    model.to(device)  # fp32: the sharded parameters are the master weights
    mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    for layer in model.model.layers:
        fully_shard(layer, mp_policy=mp)
    fully_shard(model, mp_policy=mp)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    gen = torch.Generator(device=device)
    gen.manual_seed(rank)  # each data-parallel rank its own batches
    tokens = a.batch * a.seq
    times = []
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    for s in range(a.warmup + a.steps):
        ids = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device=device, generator=gen)
        dist.barrier()
        torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        out = model(input_ids=ids, labels=ids)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss = out.loss.detach().float()
        dist.all_reduce(loss, op=dist.ReduceOp.AVG)
        torch.cuda.synchronize(device)
        dist.barrier()
        dt = time.perf_counter() - t0
        if s >= a.warmup:
            times.append(dt)
        if rank == 0:
            print(f"{'warmup' if s < a.warmup else '      '} step {s - a.warmup}: loss {loss.item():.4f}, "
                  f"{dt:.3f} s", flush=True)

    peak = torch.tensor([float(torch.cuda.max_memory_allocated(device))], dtype=torch.float64, device=device)
    peaks = [torch.zeros_like(peak) for _ in range(world)]
    dist.all_gather(peaks, peak)
    if rank == 0:
        step = sum(times) / len(times)
        gib = " / ".join(f"{p.item() / 2**30:.1f}" for p in peaks)
        who = " / ".join(str(r) for r in range(world))
        ac = ", activation checkpointing" if a.ac else ""
        print(f"[scaling] pytorch fsdp2 {a.model} ({layers} layers, {params / 1e6:.0f}M parameters) fsdp {world}, "
              f"B{a.batch} S{a.seq} per GPU, bf16 (fp32 master, fp32 reduce){ac}, {world} x "
              f"{torch.cuda.get_device_name(device)}: {tokens / step:.0f} tokens/s per GPU "
              f"({tokens * world / step:.0f} total), step {step:.3f} s, "
              f"peak {gib} GiB (rank{'s' if world > 1 else ''} {who})", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
