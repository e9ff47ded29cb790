# Sourced by the comparison scripts (scaling_compare.sh, train_step_compare.sh, multi_gpu_validation.sh):
# require_runtime_image RUNTIME stops the script unless RUNTIME is an image of
# `./panomni package --with-bench` (it has runtime/bin/java).
require_runtime_image() {
    if [ -z "${1:-}" ] || [ ! -x "$1/runtime/bin/java" ]; then
        echo "usage: $0 RUNTIME [options]: RUNTIME must be a runtime image with runtime/bin/java" \
             "(./panomni package --with-bench)" >&2
        exit 2
    fi
}
