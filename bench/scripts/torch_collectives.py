#!/usr/bin/env python3
"""torch.distributed (NCCL) collective bandwidth, the PyTorch side of Panomni's CollectiveBenchmark.

Bus bandwidth as nccl-tests defines it: algbw = S / t, busbw = algbw * 2(n-1)/n for all-reduce and
* (n-1)/n for all-gather (S = gathered output), reduce-scatter (S = scattered input) and all-to-all
(S = one rank's send buffer). Each figure is the median of timed calls, each followed by a host
synchronization, as Panomni's benchmark waits for every call on the host.
Usage: torchrun --nproc-per-node N bench/scripts/torch_collectives.py [--sizes 1048576,...] > torch_collectives.json
NVLink multicast stays off (NCCL_NVLS_ENABLE=0), as on Panomni's runs.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
import torch
import torch.distributed as dist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1048576,16777216,67108864,268435456,1073741824")
    ap.add_argument("--iters", type=int, default=20)
    a = ap.parse_args()
    dist.init_process_group("nccl")
    rank, n = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank)
    out = []
    for size in (int(s) for s in a.sizes.split(",")):
        elems = size // 4
        for op in ("all_reduce", "all_gather", "reduce_scatter", "all_to_all"):
            if op == "all_reduce":
                x = torch.randn(elems, device="cuda")
                fn = lambda: dist.all_reduce(x)
                factor = 2 * (n - 1) / n
            elif op == "all_gather":
                o = torch.empty(elems, device="cuda")
                x = torch.randn(elems // n, device="cuda")
                fn = lambda: dist.all_gather_into_tensor(o, x)
                factor = (n - 1) / n
            elif op == "reduce_scatter":
                x = torch.randn(elems, device="cuda")
                o = torch.empty(elems // n, device="cuda")
                fn = lambda: dist.reduce_scatter_tensor(o, x)
                factor = (n - 1) / n
            else:
                x = torch.randn(elems, device="cuda")
                o = torch.empty_like(x)
                fn = lambda: dist.all_to_all_single(o, x)
                factor = (n - 1) / n
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            times = []
            for _ in range(a.iters):
                t0 = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            out.append({"op": op, "bytes": size, "ranks": n, "algbw_GBps": size / t / 1e9,
                        "busbw_GBps": size / t / 1e9 * factor, "latency_us": t * 1e6})
            del x
    if rank == 0:
        print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
                          "nccl": ".".join(map(str, torch.cuda.nccl.version())), "results": out}, indent=1))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
