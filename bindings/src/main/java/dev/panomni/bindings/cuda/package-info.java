/**
 * The CUDA driver API. Generated from cuda.h by tools/ (do not edit those files; see tools/README.md):
 * {@link dev.panomni.bindings.cuda.CudaDriver} (functions, named as documented; versioned symbols such as
 * {@code cuMemAlloc_v2} are resolved), {@link dev.panomni.bindings.cuda.CudaConstants} (macros),
 * {@link dev.panomni.bindings.cuda.CudaTypes} (typedef layouts), one class per enum ({@code CUresult}, ...) and
 * struct. Hand-written: {@link dev.panomni.bindings.cuda.CudaStatus} and {@link dev.panomni.bindings.cuda.CudaException}.
 */
package dev.panomni.bindings.cuda;
