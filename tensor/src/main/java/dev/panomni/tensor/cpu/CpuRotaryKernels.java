package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.RotaryKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * CPU rotary embedding on F32: tokens in parallel; per token the D/2 cosines and sines are computed
 * once and applied to every head, vectorized over the half dim.
 */
final class CpuRotaryKernels implements RotaryKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder LE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT;

    @Override
    public void rope(Tensor x, Tensor positions, Tensor invFreq, boolean inverse, Tensor out) {
        long n = x.size(0);
        int h = (int) x.size(1);
        int d = (int) x.size(2);
        int half = d / 2;
        MemorySegment xs = x.data();
        MemorySegment os = out.data();
        MemorySegment ps = positions.data();
        DType pt = positions.dtype();
        float[] freq = new float[half];
        MemorySegment.copy(invFreq.data(), FL, 0, freq, 0, half);
        long grain = Math.max(1, (1 << 14) / Math.max(1, (long) h * d));
        CpuParallel.forRange(n, grain, (t0, t1) -> {
            float[] cos = new float[half];
            float[] sin = new float[half];
            for (long t = t0; t < t1; t++) {
                long p = pt == DType.I64 ? ps.getAtIndex(ValueLayout.JAVA_LONG, t) : ps.getAtIndex(ValueLayout.JAVA_INT, t);
                float pf = (float) p;
                for (int i = 0; i < half; i++) {
                    float a = pf * freq[i];
                    cos[i] = (float) Math.cos(a);
                    sin[i] = inverse ? -(float) Math.sin(a) : (float) Math.sin(a);
                }
                for (int head = 0; head < h; head++) {
                    long lo = ((t * h + head) * d) * 4;
                    long hi = lo + half * 4L;
                    int i = 0;
                    for (; i <= half - L; i += L) {
                        FloatVector x1 = FloatVector.fromMemorySegment(F, xs, lo + i * 4L, LE);
                        FloatVector x2 = FloatVector.fromMemorySegment(F, xs, hi + i * 4L, LE);
                        FloatVector c = FloatVector.fromArray(F, cos, i);
                        FloatVector s = FloatVector.fromArray(F, sin, i);
                        x1.mul(c).sub(x2.mul(s)).intoMemorySegment(os, lo + i * 4L, LE);
                        x2.mul(c).add(x1.mul(s)).intoMemorySegment(os, hi + i * 4L, LE);
                    }
                    for (; i < half; i++) {
                        float x1 = xs.get(FL, lo + i * 4L);
                        float x2 = xs.get(FL, hi + i * 4L);
                        os.set(FL, lo + i * 4L, x1 * cos[i] - x2 * sin[i]);
                        os.set(FL, hi + i * 4L, x2 * cos[i] + x1 * sin[i]);
                    }
                }
            }
        });
    }
}
