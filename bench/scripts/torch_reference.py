#!/usr/bin/env python3
"""PyTorch reference figures for Panomni's GPU benchmarks, measured on the same GPU in the same run.

Prints one JSON object: device name, device-to-device copy bandwidth, bf16 GEMM TFLOP/s, SDPA
TFLOP/s, and the bandwidth of the memory-bound ops Panomni's kernels are compared with. Every
figure is sustained throughput, measured as Panomni's benchmarks measure (see bench()); the GEMMs
also report the short-burst figure (gemm_bf16_*_burst_TFLOPs) of single waited-for calls.
Usage: python3 bench/scripts/torch_reference.py [--quick] [--only-gemm] > torch.json
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def bench(fn, warmup=3, iters=20):
    """Median milliseconds per call of fn() in the GPU's sustained state, timed with CUDA events.

    Measured as Panomni's benchmarks measure (bench/.../EventTimer and CudaKernelBenchmark): calls
    queued back to back in samples of about 10 ms each (no host wait between the calls of a sample),
    after about half a second of warm-up, over about a second (at least `iters` samples; --quick
    shortens both). A few calls each followed by a wait would instead measure a ~30 ms burst, whose
    clocks and launch gaps vary from run to run: PyTorch's bf16 GEMM 8192^3 read 653, 738 and 780
    TFLOP/s that way in three runs on H100s on 2026-11-25, against 701 sustained (bench/RESULTS.md).
    """
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start.record()
    fn()
    end.record()
    end.synchronize()
    per_sample = max(1, min(1000, int(10.0 / max(start.elapsed_time(end), 1e-3))))

    def sample():
        start.record()
        for _ in range(per_sample):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / per_sample

    warm_s, measure_s = (0.1, 0.2) if iters < 20 else (0.5, 1.0)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm_s:
        sample()
    times = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < measure_s or len(times) < iters:
        times.append(sample())
    return statistics.median(times)


def bench_burst(fn, warmup=3, iters=20):
    """Median milliseconds of single calls, each timed with events and waited for: a short burst."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer iterations")
    ap.add_argument("--only-gemm", action="store_true", help="the copy and GEMM figures only")
    args = ap.parse_args()
    iters = 5 if args.quick else 20
    dev = torch.device("cuda")
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}

    n = 1 << 28  # 1 GiB of fp32
    a = torch.randn(n, device=dev)
    b = torch.empty_like(a)
    ms = bench(lambda: b.copy_(a), iters=iters)
    out["d2d_copy_GBps"] = 2 * a.numel() * 4 / ms / 1e6
    del a, b

    for m in (4096, 8192):
        x = torch.randn(m, m, device=dev, dtype=torch.bfloat16)
        y = torch.randn(m, m, device=dev, dtype=torch.bfloat16)
        ms = bench(lambda: x @ y, iters=iters)
        out[f"gemm_bf16_{m}_TFLOPs"] = 2 * m ** 3 / ms / 1e9
        ms = bench_burst(lambda: x @ y, iters=iters)
        out[f"gemm_bf16_{m}_burst_TFLOPs"] = 2 * m ** 3 / ms / 1e9
    del x, y
    if args.only_gemm:
        print(json.dumps(out, indent=1))
        return

    B, H, S, D = 4, 16, 4096, 128
    q = torch.randn(B, H, S, D, device=dev, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn_like(q, requires_grad=True)
    v = torch.randn_like(q, requires_grad=True)
    flops_fwd = 4 * B * H * S * S * D / 2  # causal: half the score matrix
    ms = bench(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), iters=iters)
    out["sdpa_causal_fwd_TFLOPs"] = flops_fwd / ms / 1e9
    g = torch.randn_like(q)

    def fwd_bwd():
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        o.backward(g)

    ms = bench(fwd_bwd, iters=iters)
    out["sdpa_causal_fwdbwd_TFLOPs"] = 3.5 * flops_fwd / ms / 1e9  # fwd + bwd (2.5x fwd)
    del q, k, v, g

    # Memory-bound ops on [tokens, hidden] bf16 activations.
    T, Hd = 16384, 4096
    x = torch.randn(T, Hd, device=dev, dtype=torch.bfloat16, requires_grad=True)
    w = torch.ones(Hd, device=dev, dtype=torch.bfloat16, requires_grad=True)
    bytes_io = 2 * T * Hd * 2
    ms = bench(lambda: F.rms_norm(x, (Hd,), w, 1e-6), iters=iters)
    out["rmsnorm_fwd_GBps"] = bytes_io / ms / 1e6
    gate = torch.randn(T, Hd, device=dev, dtype=torch.bfloat16)
    up = torch.randn_like(gate)
    ms = bench(lambda: F.silu(gate) * up, iters=iters)
    out["swiglu_fwd_GBps"] = 3 * T * Hd * 2 / ms / 1e6
    f32 = torch.randn(T, Hd, device=dev)
    ms = bench(lambda: f32.to(torch.bfloat16), iters=iters)
    out["cast_f32_bf16_GBps"] = T * Hd * 6 / ms / 1e6
    logits = torch.randn(8192, 32768, device=dev, dtype=torch.bfloat16)
    tgt = torch.randint(0, 32768, (8192,), device=dev)
    ms = bench(lambda: F.cross_entropy(logits.float(), tgt), iters=iters)
    out["cross_entropy_fwd_GBps"] = logits.numel() * 2 / ms / 1e6
    params = [torch.randn(4096, 4096, device=dev, requires_grad=True) for _ in range(8)]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
    ms = bench(opt.step, iters=iters)
    # fused AdamW reads param, grad, m, v and writes param, m, v: 7 x 4 bytes per element.
    out["adamw_fused_GBps"] = sum(p.numel() for p in params) * 28 / ms / 1e6
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
