#!/usr/bin/env bash
# Multi-GPU scaling and long context, Panomni beside PyTorch FSDP2 on the same GPUs, in one go:
#   1. per model (qwen3, qwen3_moe): TrainStepRunner on one GPU (the no-engine baseline), ScalingRunner on
#      1, 2, 4, ... N GPUs (FSDP over each count, and ep = ranks for the MoE, then the MoE with FSDP alone
#      on N), then torch_fsdp_train_step.py (FSDP2) on the same counts;
#   2. long context on N GPUs, qwen3 shape, one document per step: ScalingRunner --sp ulysses, then --sp ring.
# Every line starting with "[scaling]" or "[train-step]" is a result; they are repeated at the end.
#
# Usage: bench/scripts/scaling_compare.sh RUNTIME [--gpus N] [--models "qwen3 qwen3_moe"] [--steps 3]
#            [--warmup 2] [--sweep 8192,16384,...] [--ring-sweep 8192,...] [--torch-ac] [--no-baseline]
#            [--no-scaling] [--no-long] [--limit SECONDS] [--torch-gpus "1 4"]
#   RUNTIME: the image of `./panomni package --with-bench` (runtime/, lib/, bench-lib/, and test-lib/ for
#            the parallel module's test jar, which holds the text-model adapter of the engine).
#   --gpus: the largest rank count (default: every GPU nvidia-smi lists). --torch-ac: also run FSDP2 with
#   activation checkpointing (Panomni's engine always recomputes each layer). --limit: cap of each scaling
#   or PyTorch run (default 240 s); the sweeps get their own caps (--long-limit, default 300 s, for
#   Ulysses; --ring-limit, default 180 s, for ring). --torch-gpus: the counts PyTorch runs at (default: the
#   same as Panomni's); each FSDP2 run starts its own processes and costs about a minute.
# NVLink multicast stays off: NCCL_NVLS_ENABLE=0 unless the environment sets it.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/runtime_image.sh"
require_runtime_image "$@"
runtime=$1
shift
gpus=""
models="qwen3 qwen3_moe"
steps=3
warmup=2
sweep="8192,16384,32768,65536,131072"
ring_sweep="8192,16384,32768,65536"
torch_ac=0
baseline=1
scaling=1
long=1
limit=240
long_limit=300
ring_limit=180
torch_counts=""
while [ $# -gt 0 ]; do
    case "$1" in
        --gpus) gpus=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --sweep) sweep=$2; shift 2 ;;
        --ring-sweep) ring_sweep=$2; shift 2 ;;
        --torch-ac) torch_ac=1; shift ;;
        --no-baseline) baseline=0; shift ;;
        --no-scaling) scaling=0; shift ;;
        --no-long) long=0; shift ;;
        --limit) limit=$2; shift 2 ;;
        --long-limit) long_limit=$2; shift 2 ;;
        --ring-limit) ring_limit=$2; shift 2 ;;
        --torch-gpus) torch_counts=$2; shift 2 ;;
        *) echo "unknown option $1 (use --gpus --models --steps --warmup --sweep --ring-sweep --torch-ac" \
               "--no-baseline --no-scaling --no-long --limit --long-limit --ring-limit --torch-gpus)" >&2; exit 2 ;;
    esac
done
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
parallel_tests=$(ls "$runtime"/test-lib/panomni-parallel-*-tests.jar 2>/dev/null | head -1)
if [ -z "$parallel_tests" ]; then
    echo "$0: $runtime/test-lib has no panomni-parallel-*-tests.jar (ScalingRunner needs its TextModelParallel):" \
         "build with tests compiled (-DskipTests, not -Dmaven.test.skip) before packaging" >&2
    exit 2
fi
cp="$runtime/lib/*:$runtime/bench-lib/*:$parallel_tests"
java=("$runtime/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g -cp "$cp")
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader || true
if [ -z "$gpus" ]; then
    # grep -c prints the count (0 too) and fails on 0: keep its output, not a second number.
    gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
    [ "${gpus:-0}" -ge 1 ] || gpus=1
fi
# 1, 2, 4, ... up to the largest count, and that count itself.
counts=1
c=1
while [ $((c * 2)) -le "$gpus" ]; do
    c=$((c * 2))
    counts="$counts $c"
done
[ "$c" -ne "$gpus" ] && counts="$counts $gpus"
torch_counts=${torch_counts:-$counts}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "NCCL_NVLS_ENABLE=$NCCL_NVLS_ENABLE, GPUs used: $gpus, models: $models, steps $steps after $warmup warmup"

# A stopped run's GPU memory is released after its process is gone: the next run, started at once, failed
# creating its context (CUDA_ERROR_OUT_OF_MEMORY) on a 4-GPU host. Waits up to 60 s for every GPU to
# hold under 1 GiB.
wait_for_idle_gpus() {
    local i used
    for i in $(seq 60); do
        used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | sort -n | tail -1)
        [ "${used:-0}" -lt 1024 ] 2>/dev/null && return
        sleep 1
    done
    echo "note: a GPU still holds ${used} MiB 60 s after the stopped run; the next run may fail" | tee -a "$log"
}

# run LIMIT TAG CMD...: runs CMD under a wall-clock cap, its output (stdout and stderr) to stdout and the log.
run() {
    local cap=$1 tag=$2
    shift 2
    echo "== $*" | tee -a "$log"
    local t0=$SECONDS
    timeout -k 30 "$cap" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "[$tag] run exceeded ${cap}s and was stopped: $*" | tee -a "$log"
        wait_for_idle_gpus
    elif [ "$rc" -ne 0 ]; then
        echo "[$tag] run failed with exit status $rc: $*" | tee -a "$log"
    fi
    echo "== $((SECONDS - t0)) s" | tee -a "$log"
}

# torchrun as a module (no PATH assumption); --standalone picks a free rendezvous port per run.
torch_fsdp=(python3 -m torch.distributed.run --standalone --nproc-per-node)

if [ $scaling -eq 1 ]; then
    for m in $models; do
        if [ $baseline -eq 1 ]; then
            run "$limit" train-step "${java[@]}" dev.panomni.bench.train.TrainStepRunner --model "$m" \
                --steps "$steps" --warmup "$warmup"
        fi
        run $((limit * 2)) scaling "${java[@]}" dev.panomni.bench.parallel.ScalingRunner --model "$m" \
            --gpus "${counts// /,}" --steps "$steps" --warmup "$warmup"
        if [ "$m" = qwen3_moe ] && [ "$gpus" -gt 1 ]; then
            # FSDP alone (the layout FSDP2 runs), beside the default ep = ranks above.
            run "$limit" scaling "${java[@]}" dev.panomni.bench.parallel.ScalingRunner --model "$m" \
                --gpus "$gpus" --ep 1 --steps "$steps" --warmup "$warmup"
        fi
        for n in $torch_counts; do
            run "$limit" scaling "${torch_fsdp[@]}" "$n" "$here/torch_fsdp_train_step.py" --model "$m" \
                --steps "$steps" --warmup "$warmup"
            if [ $torch_ac -eq 1 ]; then
                run "$limit" scaling "${torch_fsdp[@]}" "$n" "$here/torch_fsdp_train_step.py" --model "$m" \
                    --steps "$steps" --warmup "$warmup" --ac
            fi
        done
    done
fi

if [ $long -eq 1 ]; then
    run "$long_limit" scaling "${java[@]}" dev.panomni.bench.parallel.ScalingRunner --model qwen3 --gpus "$gpus" \
        --sp ulysses --seq-sweep "$sweep" --steps 1 --warmup 1
    run "$ring_limit" scaling "${java[@]}" dev.panomni.bench.parallel.ScalingRunner --model qwen3 --gpus "$gpus" \
        --sp ring --seq-sweep "$ring_sweep" --steps 1 --warmup 1
fi

echo
echo "== results"
grep -E '^\[(scaling|train-step)\]' "$log" | grep -v '\] note:'
