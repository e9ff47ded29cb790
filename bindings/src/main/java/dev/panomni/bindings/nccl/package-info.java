/**
 * NCCL. Generated from nccl.h by tools/ (see tools/README.md): {@link dev.panomni.bindings.nccl.Nccl},
 * {@link dev.panomni.bindings.nccl.NcclConstants}, {@link dev.panomni.bindings.nccl.NcclTypes}, the enums and
 * {@link dev.panomni.bindings.nccl.ncclUniqueId} (passed by value to {@code ncclCommInitRank}). Hand-written:
 * {@link dev.panomni.bindings.nccl.NcclStatus} and {@link dev.panomni.bindings.nccl.NcclException}.
 */
package dev.panomni.bindings.nccl;
