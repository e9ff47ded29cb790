#!/usr/bin/env bash
# Builds the CPU emulation of kernels/cuda (see include/cuemu.h) into OUT/libpanomni_emu.so:
# each .cu is copied with its headers (ptx.cuh left out, so the emulator's version is used),
# `extern __shared__` arrays become the emulator's dynamic shared memory, and the kernels named
# by the committed PTX's .entry lines are registered for emu_launch.
# Usage: kernels/emu/build.sh OUT [file.cu ...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CUDA_DIR="$HERE/../cuda"
PTX_DIR="$HERE/../src/main/resources/dev/panomni/kernels/ptx"
OUT="${1:?usage: build.sh OUT [file.cu ...]}"
shift
mkdir -p "$OUT/src"
for h in "$CUDA_DIR"/*.cuh; do
  [ "$(basename "$h")" = ptx.cuh ] && continue
  cp "$h" "$OUT/src/"
done
FILES=("$@")
if [ ${#FILES[@]} -eq 0 ]; then
  FILES=(activation attention indexing loss norm reduction rotary selection softmax sort topk unary)
fi
objs=()
for name in "${FILES[@]}"; do
  name="${name%.cu}"
  src="$OUT/src/$name.cpp"
  sed -e 's/extern __shared__ uint4 smem_raw\[\];/uint4* smem_raw = reinterpret_cast<uint4*>(emu_dynamic_smem);/' \
      "$CUDA_DIR/$name.cu" > "$src"
  {
    echo '#include "emu_register.h"'
    grep -o '\.entry [A-Za-z0-9_]*' "$PTX_DIR/$name.ptx" | awk '{print "EMU_REGISTER(" $2 ")"}'
  } >> "$src"
  g++ -std=c++20 -O1 -g -fPIC -pthread -Wno-unknown-pragmas -include "$HERE/include/cuemu.h" \
      -I "$HERE/include" -I "$OUT/src" -c "$src" -o "$OUT/$name.o" &
  objs+=("$OUT/$name.o")
done
wait
g++ -std=c++20 -O1 -g -fPIC -pthread -I "$HERE/include" -c "$HERE/emu_runtime.cpp" -o "$OUT/emu_runtime.o"
g++ -shared -pthread -o "$OUT/libpanomni_emu.so" "${objs[@]}" "$OUT/emu_runtime.o"
echo "$OUT/libpanomni_emu.so"
