package dev.panomni.tensor.random;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.cpu.CpuParallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Seeded random tensors from {@link Philox}. Each draw takes a range of the stream's counters:
 * element {@code i} of a draw at offset {@code o} depends only on (seed, o + i, distribution), so a
 * tensor drawn whole or as shards ({@link #normalRange}) holds the same values, and a backend that
 * runs the same function on its device reproduces them.
 *
 * <p>Counter layout per element n (the element's position in the stream): uniform uses counter
 * (n / 4, stream 0) lane n % 4; normal uses (n / 2, stream 1), Box-Muller on lanes 0 and 1, the
 * cosine branch for even n and the sine branch for odd n; truncated normal uses (n, stream 2,
 * attempt) and rejects draws outside the bounds.
 */
public final class Generator {
    private static final long GRAIN = 1 << 14;
    private final long seed;
    private long offset;

    public Generator(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Counter offset of the next draw. */
    public long offset() {
        return offset;
    }

    /** Moves the stream to {@code offset} (checkpoints restore it). */
    public void setOffset(long offset) {
        this.offset = offset;
    }

    /** F32 host tensor uniform in [lo, hi). */
    public Tensor uniform(long[] shape, double lo, double hi) {
        Tensor t = uniformRange(offset, shape, lo, hi);
        offset += Shapes.numel(shape);
        return t;
    }

    /** F32 host tensor of normal(mean, std) values. */
    public Tensor normal(long[] shape, double mean, double std) {
        Tensor t = normalRange(offset, shape, mean, std);
        offset += Shapes.numel(shape);
        return t;
    }

    /** F32 host tensor of normal(mean, std) values redrawn until inside [lo, hi] (absolute bounds). */
    public Tensor truncatedNormal(long[] shape, double mean, double std, double lo, double hi) {
        Tensor t = truncatedNormalRange(offset, shape, mean, std, lo, hi);
        offset += Shapes.numel(shape);
        return t;
    }

    /** Elements [first, first + numel(shape)) of this seed's uniform stream; the offset is unchanged. */
    public Tensor uniformRange(long first, long[] shape, double lo, double hi) {
        return fill(shape, (n, tmp) -> {
            Philox.block((int) (n >>> 2), (int) (n >>> 34), 0, 0, (int) seed, (int) (seed >>> 32), tmp);
            return (float) (lo + (hi - lo) * Philox.toUnitFloat(tmp[(int) (n & 3)]));
        }, first);
    }

    /** Elements [first, first + numel(shape)) of this seed's normal stream; the offset is unchanged. */
    public Tensor normalRange(long first, long[] shape, double mean, double std) {
        return fill(shape, (n, tmp) -> (float) (mean + std * standardNormal(n >>> 1, (n & 1) == 1, 1, 0, tmp)), first);
    }

    /** Elements [first, first + numel(shape)) of the truncated normal stream; the offset is unchanged. */
    public Tensor truncatedNormalRange(long first, long[] shape, double mean, double std, double lo, double hi) {
        if (!(lo < hi) || std <= 0) {
            throw new TensorOpException("truncatedNormal", "needs lo < hi and std > 0, got lo=" + lo + " hi=" + hi
                    + " std=" + std);
        }
        return fill(shape, (n, tmp) -> {
            for (int attempt = 0; attempt < 1 << 20; attempt++) {
                double v = mean + std * standardNormal(n, false, 2, attempt, tmp);
                if (v >= lo && v <= hi) {
                    return (float) v;
                }
            }
            throw new TensorOpException("truncatedNormal", "bounds [" + lo + ", " + hi + "] hold almost no mass of "
                    + "normal(" + mean + ", " + std + ")");
        }, first);
    }

    private double standardNormal(long block, boolean sine, int stream, int attempt, int[] tmp) {
        Philox.block((int) block, (int) (block >>> 32), stream, attempt, (int) seed, (int) (seed >>> 32), tmp);
        double u1 = Philox.toOpenUnitDouble(tmp[0]);
        double u2 = Philox.toUnitFloat(tmp[1]);
        double r = Math.sqrt(-2.0 * Math.log(u1));
        double angle = 2.0 * Math.PI * u2;
        return sine ? r * Math.sin(angle) : r * Math.cos(angle);
    }

    @FunctionalInterface
    private interface Element {
        float at(long n, int[] tmp);
    }

    private static Tensor fill(long[] shape, Element f, long first) {
        Tensor t = Tensor.empty(DType.F32, Device.CPU, shape);
        MemorySegment seg = t.data();
        CpuParallel.forRange(t.numel(), GRAIN, (s, e) -> {
            int[] tmp = new int[4];
            for (long i = s; i < e; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, f.at(first + i, tmp));
            }
        });
        return t;
    }
}
