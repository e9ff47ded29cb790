#!/usr/bin/env bash
# One training step (forward, backward, AdamW) of the benchmark models, Panomni and PyTorch back to
# back on the same GPU: TrainStepRunner, then transformers eager, then torch.compile, per model.
# Each line starting with "[train-step]" is a result (tokens/s and peak device memory).
#
# Usage: bench/scripts/train_step_compare.sh RUNTIME [--models "qwen3 qwen3_moe"] [--steps 4]
#            [--warmup 2] [--no-compile] [--phases] [--limit SECONDS]
#   RUNTIME: the image of `./panomni package --with-bench` (its runtime/, lib/ and bench-lib/).
#   --limit: wall-clock cap of each single run (default 300 s); a run past it is reported and skipped.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/runtime_image.sh"
require_runtime_image "$@"
runtime=$1
shift
models="qwen3 qwen3_moe"
steps=4
warmup=2
compile=1
phases=""
limit=300
while [ $# -gt 0 ]; do
    case "$1" in
        --models) models=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --no-compile) compile=0; shift ;;
        --phases) phases="--phases"; shift ;;
        --limit) limit=$2; shift 2 ;;
        *) echo "unknown option $1 (use --models --steps --warmup --no-compile --phases --limit)" >&2; exit 2 ;;
    esac
done
cp="$runtime/lib/*:$runtime/bench-lib/*"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

run() {
    echo "== $*"
    timeout "$limit" "$@"
    local rc=$?
    if [ $rc -eq 124 ]; then
        echo "[train-step] run exceeded ${limit}s and was stopped: $*"
    elif [ $rc -ne 0 ]; then
        echo "[train-step] run failed with exit status $rc: $*"
    fi
}

for m in $models; do
    run "$runtime/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx48g \
        -cp "$cp" dev.panomni.bench.train.TrainStepRunner --model "$m" --steps "$steps" --warmup "$warmup" $phases
    run python3 "$here/torch_train_step.py" --model "$m" --steps "$steps" --warmup "$warmup"
    if [ $compile -eq 1 ]; then
        run python3 "$here/torch_train_step.py" --model "$m" --steps "$steps" --warmup "$warmup" --compile
    fi
done
