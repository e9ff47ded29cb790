/**
 * NVRTC, the runtime CUDA C++ compiler. Generated from nvrtc.h by tools/ (see tools/README.md):
 * {@link dev.panomni.bindings.nvrtc.Nvrtc}, {@link dev.panomni.bindings.nvrtc.NvrtcTypes},
 * {@link dev.panomni.bindings.nvrtc.nvrtcResult}. Hand-written: {@link dev.panomni.bindings.nvrtc.NvrtcCompiler}
 * (source to PTX), {@link dev.panomni.bindings.nvrtc.NvrtcStatus}, {@link dev.panomni.bindings.nvrtc.NvrtcException}.
 */
package dev.panomni.bindings.nvrtc;
