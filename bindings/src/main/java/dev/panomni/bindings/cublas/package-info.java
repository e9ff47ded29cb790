/**
 * cuBLASLt. Generated from cublasLt.h by tools/ (see tools/README.md): {@link dev.panomni.bindings.cublas.CublasLt},
 * {@link dev.panomni.bindings.cublas.CublasTypes}, the enums and structs. Hand-written:
 * {@link dev.panomni.bindings.cublas.CublasStatus} and {@link dev.panomni.bindings.cublas.CublasException}.
 */
package dev.panomni.bindings.cublas;
