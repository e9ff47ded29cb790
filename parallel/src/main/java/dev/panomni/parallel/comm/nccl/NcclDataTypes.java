package dev.panomni.parallel.comm.nccl;

import dev.panomni.bindings.nccl.ncclDataType_t;
import dev.panomni.bindings.nccl.ncclRedOp_t;
import dev.panomni.parallel.comm.ReduceOp;
import dev.panomni.tensor.DType;

/** Tensor dtypes and reduce operations as NCCL names them. */
final class NcclDataTypes {
    private NcclDataTypes() {
    }

    /** The {@code ncclDataType_t} of {@code dtype}; BOOL travels as bytes (reductions treat it as uint8). */
    static int of(DType dtype) {
        return switch (dtype) {
            case F32 -> ncclDataType_t.ncclFloat32;
            case F16 -> ncclDataType_t.ncclFloat16;
            case BF16 -> ncclDataType_t.ncclBfloat16;
            case I32 -> ncclDataType_t.ncclInt32;
            case I64 -> ncclDataType_t.ncclInt64;
            case U8, BOOL -> ncclDataType_t.ncclUint8;
        };
    }

    /** The {@code ncclRedOp_t} of {@code op} (AVG is NCCL's own average, sum divided by the group size). */
    static int of(ReduceOp op) {
        return switch (op) {
            case SUM -> ncclRedOp_t.ncclSum;
            case AVG -> ncclRedOp_t.ncclAvg;
            case MAX -> ncclRedOp_t.ncclMax;
            case MIN -> ncclRedOp_t.ncclMin;
        };
    }
}
