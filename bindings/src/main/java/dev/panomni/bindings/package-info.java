/** Generated FFM bindings to the CUDA driver, cuBLASLt, NCCL and NVRTC, and native library discovery. */
package dev.panomni.bindings;
