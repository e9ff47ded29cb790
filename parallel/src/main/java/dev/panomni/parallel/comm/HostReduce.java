package dev.panomni.parallel.comm;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Element-wise reduction of host buffers in rank order, shared by the host backends (in-process, store):
 * floating dtypes accumulate in float (bit-identical on every rank and every run), integers in
 * long; AVG divides the sum by the number of ranks.
 */
final class HostReduce {
    private HostReduce() {
    }

    /**
     * Writes into {@code dst} (elements 0 .. count-1) the reduction of elements
     * {@code [first, first + count)} of each of {@code inputs}, taken in list order.
     */
    static void reduce(DType dt, ReduceOp op, List<MemorySegment> inputs, long first, int count, MemorySegment dst) {
        int n = inputs.size();
        if (dt.isFloating()) {
            float[] acc = new float[count];
            float[] in = new float[count];
            for (int i = 0; i < n; i++) {
                read(inputs.get(i), dt, first, in);
                if (i == 0) {
                    System.arraycopy(in, 0, acc, 0, count);
                    continue;
                }
                for (int k = 0; k < count; k++) {
                    acc[k] = switch (op) {
                        case SUM, AVG -> acc[k] + in[k];
                        case MAX -> Math.max(acc[k], in[k]);
                        case MIN -> Math.min(acc[k], in[k]);
                    };
                }
            }
            if (op == ReduceOp.AVG) {
                for (int k = 0; k < count; k++) {
                    acc[k] /= n;
                }
            }
            if (dt == DType.F32) {
                MemorySegment.copy(acc, 0, dst, ValueLayout.JAVA_FLOAT, 0, count);
            } else {
                for (int k = 0; k < count; k++) {
                    HostElements.setFloat(dst, dt, k, acc[k]);
                }
            }
            return;
        }
        long[] acc = new long[count];
        for (int i = 0; i < n; i++) {
            MemorySegment s = inputs.get(i);
            for (int k = 0; k < count; k++) {
                long v = HostElements.getLong(s, dt, first + k);
                acc[k] = i == 0 ? v : switch (op) {
                    case SUM, AVG -> acc[k] + v;
                    case MAX -> Math.max(acc[k], v);
                    case MIN -> Math.min(acc[k], v);
                };
            }
        }
        for (int k = 0; k < count; k++) {
            HostElements.setLong(dst, dt, k, op == ReduceOp.AVG ? acc[k] / n : acc[k]);
        }
    }

    private static void read(MemorySegment s, DType dt, long first, float[] out) {
        if (dt == DType.F32) {
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, first * Float.BYTES, out, 0, out.length);
        } else {
            for (int k = 0; k < out.length; k++) {
                out[k] = HostElements.getFloat(s, dt, first + k);
            }
        }
    }
}
