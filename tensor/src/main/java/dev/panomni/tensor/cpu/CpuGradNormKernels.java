package dev.panomni.tensor.cpu;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.HostElements;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.GradNormKernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * CPU gradient norms. Sums of squares run over fixed blocks, each accumulated in float lanes and
 * added to a double per block, and blocks are combined in block order: the result does not depend
 * on the number of threads.
 */
final class CpuGradNormKernels implements GradNormKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int BLOCK = 4096;
    private static final long GRAIN = 1 << 14;

    @Override
    public void sumOfSquares(Tensor[] tensors, Tensor partials) {
        MemorySegment out = partials.data();
        for (int i = 0; i < tensors.length; i++) {
            out.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) sumOfSquares(tensors[i]));
        }
    }

    private static double sumOfSquares(Tensor t) {
        MemorySegment seg = t.data();
        DType dt = t.dtype();
        long n = t.numel();
        int blocks = Math.toIntExact((n + BLOCK - 1) / BLOCK);
        double[] perBlock = new double[blocks];
        boolean vector = BFloat16Lanes.vectorizable(dt);
        CpuParallel.forRange(blocks, Math.max(1, GRAIN / BLOCK), (b0, b1) -> {
            for (long b = b0; b < b1; b++) {
                long s = b * BLOCK;
                long e = Math.min(n, s + BLOCK);
                long k = s;
                double acc = 0;
                if (vector) {
                    FloatVector lanes = FloatVector.zero(F);
                    long bound = s + (e - s) / F.length() * F.length();
                    for (; k < bound; k += F.length()) {
                        FloatVector x = BFloat16Lanes.load(seg, dt, k);
                        lanes = x.fma(x, lanes);
                    }
                    // In lane order: reduceLanes(ADD) may reorder the sum once the JIT compiles this loop,
                    // so the norm (and the clipping it drives) would change with JIT timing between runs.
                    for (int i = 0; i < F.length(); i++) {
                        acc += lanes.lane(i);
                    }
                }
                for (; k < e; k++) {
                    double x = HostElements.getFloat(seg, dt, k);
                    acc += x * x;
                }
                perBlock[(int) b] = acc;
            }
        });
        double total = 0;
        for (double d : perBlock) {
            total += d;
        }
        return total;
    }

    @Override
    public void combineNorm(Tensor partials, Tensor norm) {
        MemorySegment p = partials.data();
        double total = 0;
        for (long i = 0; i < partials.numel(); i++) {
            total += p.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        }
        norm.data().set(ValueLayout.JAVA_FLOAT, 0, (float) Math.sqrt(total));
    }

    @Override
    public void scaleToMaxNorm(Tensor[] tensors, Tensor norm, double maxNorm, double eps) {
        float total = norm.data().get(ValueLayout.JAVA_FLOAT, 0);
        if (!Float.isFinite(total)) {
            return;
        }
        double coef = maxNorm / (total + eps);
        if (coef >= 1.0) {
            return;
        }
        float c = (float) coef;
        for (Tensor t : tensors) {
            MemorySegment seg = t.data();
            DType dt = t.dtype();
            boolean vector = BFloat16Lanes.vectorizable(dt);
            CpuParallel.forRange(t.numel(), GRAIN, (s, e) -> {
                long k = s;
                if (vector) {
                    long bound = s + (e - s) / F.length() * F.length();
                    for (; k < bound; k += F.length()) {
                        BFloat16Lanes.store(BFloat16Lanes.load(seg, dt, k).mul(c), seg, dt, k);
                    }
                }
                for (; k < e; k++) {
                    HostElements.setFloat(seg, dt, k, HostElements.getFloat(seg, dt, k) * c);
                }
            });
        }
    }
}
