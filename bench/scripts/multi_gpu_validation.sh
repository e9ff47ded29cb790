#!/usr/bin/env bash
# Issue 8 on one multi-GPU host, in one call:
#   1. the parallel engine's GPU tests: the NCCL communicator, equivalence with one GPU on 2 ranks
#      (TwoGpuEquivalenceGpuTest) and on 4 and 8 ranks as the host allows (LargeMeshEquivalenceGpuTest);
#   2. NCCL collectives through Panomni (CollectiveBenchmark, backend nccl, ranks = GPUs) beside
#      torch.distributed (torch_collectives.py) at 1 MiB - 1 GiB;
#   3. scaling at 1, 2, 4, ... GPUs and long context beside PyTorch FSDP2 (scaling_compare.sh).
# Every result line is repeated at the end.
#
# Usage: bench/scripts/multi_gpu_validation.sh RUNTIME [--gpus N] [--no-tests] [--no-collectives]
#            [--no-scaling] [-- scaling_compare.sh options]
#   RUNTIME: the image of `./panomni package --with-bench` (tests compiled in: test-lib/).
# NVLink multicast stays off: NCCL_NVLS_ENABLE=0 unless the environment sets it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/runtime_image.sh"
require_runtime_image "$@"
runtime=$1
shift
gpus=""
tests=1
collectives=1
scaling=1
while [ $# -gt 0 ]; do
    case "$1" in
        --gpus) gpus=$2; shift 2 ;;
        --no-tests) tests=0; shift ;;
        --no-collectives) collectives=0; shift ;;
        --no-scaling) scaling=0; shift ;;
        --) shift; break ;;
        *) echo "unknown option $1 (use --gpus --no-tests --no-collectives --no-scaling, then -- and" \
               "scaling_compare.sh's options)" >&2; exit 2 ;;
    esac
done
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
if [ -z "$gpus" ]; then
    # grep -c prints the count (0 too) and fails on 0: keep its output, not a second number.
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
fi
if ! [ "${gpus:-0}" -ge 2 ] 2>/dev/null; then
    echo "$0: needs a host of 2 or more GPUs, found $gpus" >&2
    exit 2
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader || true
echo "NCCL_NVLS_ENABLE=$NCCL_NVLS_ENABLE, GPUs: $gpus"

if [ $tests -eq 1 ]; then
    echo "== GPU tests of the parallel engine" | tee -a "$log"
    timeout -k 30 1500 "$runtime/bin/panomni-gpu-tests" \
        --include-classname '.*(NcclCommunicatorGpuTest|FsdpTwoGpusGpuTest|TwoGpuEquivalenceGpuTest|LargeMeshEquivalenceGpuTest)' \
        2>&1 | tee -a "$log" | grep -E "✘|SKIPPED|panomni GPU tests|equivalence "
fi

if [ $collectives -eq 1 ]; then
    sizes=1048576,16777216,67108864,268435456,1073741824
    echo "== collectives, Panomni then torch.distributed, $gpus ranks" | tee -a "$log"
    timeout -k 30 900 "$runtime/bin/panomni-bench" CollectiveBenchmark -p backend=nccl -p ranks="$gpus" \
        -p bytes="$sizes" -f 1 -wi 1 -i 2 -w 1s -r 1s 2>&1 | tee -a "$log" | grep -E "^CollectiveBenchmark|^Benchmark"
    timeout -k 30 300 python3 -m torch.distributed.run --standalone --nproc-per-node "$gpus" \
        "$here/torch_collectives.py" --sizes "$sizes" 2>&1 | tee -a "$log" | tail -n 25
fi

if [ $scaling -eq 1 ]; then
    "$here/scaling_compare.sh" "$runtime" --gpus "$gpus" "$@" 2>&1 | tee -a "$log" | grep -E '^\[(scaling|train-step)\]' \
        | grep -v '\] note:'
fi

echo
echo "== results"
grep -E '^\[(scaling|train-step)\]|^CollectiveBenchmark|panomni GPU tests' "$log" | grep -v '\] note:'
