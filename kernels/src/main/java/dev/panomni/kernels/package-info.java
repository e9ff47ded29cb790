/** The CUDA backend: device memory and streams, PTX kernels with typed launchers, cuBLASLt GEMM. */
package dev.panomni.kernels;
