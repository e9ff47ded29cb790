package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.EmbeddingKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU embedding: the forward copies rows in parallel over tokens; the backward splits the D
 * columns over cores, and within its columns each thread walks the tokens in order, so every
 * weight-gradient element is summed in token order no matter how the columns are split.
 */
final class CpuEmbeddingKernels implements EmbeddingKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;

    @Override
    public void embeddingForward(Tensor weight, Tensor ids, Tensor out) {
        long v = weight.size(0);
        long d = weight.size(1);
        long n = ids.numel();
        long rowBytes = d * weight.dtype().byteSize();
        MemorySegment ws = weight.data();
        MemorySegment os = out.data();
        MemorySegment is = ids.data();
        DType it = ids.dtype();
        CpuParallel.forRange(n, Math.max(1, (1 << 16) / Math.max(rowBytes, 1)), (s, e) -> {
            for (long t = s; t < e; t++) {
                long id = id(is, it, t);
                if (id < 0 || id >= v) {
                    throw new TensorOpException("embedding", "id " + id + " at position " + t + " is out of range for a"
                            + " vocabulary of V=" + v + " (weight " + Shapes.str(weight.shape()) + "); ids must be in [0, "
                            + v + ")");
                }
                MemorySegment.copy(ws, id * rowBytes, os, t * rowBytes, rowBytes);
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight) {
        int d = (int) dout.size(1);
        long n = ids.numel();
        MemorySegment gs = dout.data();
        MemorySegment dws = dweight.data();
        MemorySegment is = ids.data();
        DType it = ids.dtype();
        // Column chunks of whole vectors; each thread owns its columns of every weight row.
        int chunk = Math.max(L, (d / Math.max(1, CpuParallel.threads() * 2) + L - 1) / L * L);
        int chunks = (d + chunk - 1) / chunk;
        long[] rowIds = new long[(int) n];
        for (int t = 0; t < n; t++) {
            rowIds[t] = id(is, it, t);
        }
        CpuParallel.forRange(chunks, 1, (c0, c1) -> {
            int from = (int) c0 * chunk;
            int to = (int) Math.min(d, c1 * chunk);
            for (int t = 0; t < n; t++) {
                long src = (long) t * d * 4;
                long dst = rowIds[t] * d * 4;
                int i = from;
                for (; i <= to - L; i += L) {
                    FloatVector.fromMemorySegment(F, dws, dst + i * 4L, LE)
                            .add(FloatVector.fromMemorySegment(F, gs, src + i * 4L, LE))
                            .intoMemorySegment(dws, dst + i * 4L, LE);
                }
                for (; i < to; i++) {
                    dws.set(FL, dst + i * 4L, dws.get(FL, dst + i * 4L) + gs.get(FL, src + i * 4L));
                }
            }
        });
    }

    private static long id(MemorySegment s, DType dtype, long i) {
        return dtype == DType.I64 ? s.getAtIndex(ValueLayout.JAVA_LONG, i) : s.getAtIndex(ValueLayout.JAVA_INT, i);
    }
}
