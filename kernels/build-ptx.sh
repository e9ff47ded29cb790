#!/usr/bin/env bash
# Compiles kernels/cuda/*.cu to PTX: a generic compute_80 target for every kernel, plus an sm_90a
# variant for sources that use Hopper-only instructions (marked by a line `// panomni: sm90a`).
# Usage: build-ptx.sh OUTDIR      (the build writes target/generated-ptx; the committed copies live
#                                  in src/main/resources/dev/panomni/kernels/ptx and a test compares)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:?usage: build-ptx.sh OUTDIR}"
NVCC="${NVCC:-$(command -v nvcc || true)}"
if [ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ]; then NVCC=/usr/local/cuda/bin/nvcc; fi
if [ -z "$NVCC" ]; then
  echo "build-ptx: nvcc not found; using the committed PTX" >&2
  exit 0
fi
mkdir -p "$OUT"
for cu in "$HERE"/cuda/*.cu; do
  name="$(basename "$cu" .cu)"
  "$NVCC" -ptx -O3 -std=c++17 -arch=compute_80 -I "$HERE/cuda" -o "$OUT/$name.ptx" "$cu"
  if grep -q '^// panomni: sm90a' "$cu"; then
    "$NVCC" -ptx -O3 -std=c++17 -gencode=arch=compute_90a,code=compute_90a -I "$HERE/cuda" \
      -o "$OUT/$name.sm90a.ptx" "$cu"
  fi
done
