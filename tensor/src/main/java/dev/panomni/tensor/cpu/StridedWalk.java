package dev.panomni.tensor.cpu;

/**
 * Walks the elements of an n-dimensional shape in row-major order, yielding for each innermost run
 * the element offsets of up to three strided operands. Kernels loop over the run themselves, so the
 * per-element work stays a tight loop.
 */
public final class StridedWalk {
    private StridedWalk() {
    }

    /** Called for each innermost run of {@code length} elements. */
    @FunctionalInterface
    public interface Run {
        void run(long outIndex, long offA, long offB, long length);
    }

    /**
     * Visits elements [from, to) of {@code shape} (row-major linear indices) for operands with
     * element strides {@code sa} and {@code sb} (may be null) and base offsets {@code baseA}/{@code baseB};
     * the run callback gets the linear output index, operand offsets and the run length, with
     * innermost strides {@code sa[last]}, {@code sb[last]}.
     */
    public static void walk(long[] shape, long[] sa, long baseA, long[] sb, long baseB, long from, long to, Run run) {
        int r = shape.length;
        if (r == 0) {
            if (from < to) {
                run.run(0, baseA, baseB, 1);
            }
            return;
        }
        if (from >= to) {
            return;
        }
        for (long d : shape) {
            if (d == 0) {
                return;                 // no elements: the index arithmetic below would divide by zero
            }
        }
        long inner = shape[r - 1];
        long[] idx = new long[r];
        long rem = from;
        for (int i = r - 1; i >= 0; i--) {
            idx[i] = rem % shape[i];
            rem /= shape[i];
        }
        long linear = from;
        while (linear < to) {
            long oa = baseA;
            long ob = baseB;
            for (int i = 0; i < r; i++) {
                oa += idx[i] * sa[i];
                if (sb != null) {
                    ob += idx[i] * sb[i];
                }
            }
            long len = Math.min(inner - idx[r - 1], to - linear);
            run.run(linear, oa, ob, len);
            linear += len;
            idx[r - 1] += len;
            for (int i = r - 1; i > 0 && idx[i] >= shape[i]; i--) {
                idx[i] = 0;
                idx[i - 1]++;
            }
        }
    }
}
