package dev.panomni.kernels.launch;

import java.util.Arrays;

/**
 * One iteration space walked by several operands, each with its own element strides: the host side
 * of {@code struct Strided} in {@code common.cuh}. Dims of extent 1 are dropped and neighbouring
 * dims merged where every operand steps evenly across them, so a contiguous tensor becomes one dim
 * and the kernel's index arithmetic (a division per dim) is as short as the layout allows.
 */
final class StridedOperands {
    /** {@code PANOMNI_MAX_RANK} of common.cuh. */
    static final int MAX_RANK = 8;

    private final long[] shape;
    private final long[][] strides;

    private StridedOperands(long[] shape, long[][] strides) {
        this.shape = shape;
        this.strides = strides;
    }

    /**
     * The coalesced form of {@code shape} walked by operands with {@code strides} (one array of
     * shape's rank per operand; broadcast dims have stride 0).
     *
     * @throws IllegalArgumentException when more than {@link #MAX_RANK} dims remain
     */
    static StridedOperands of(long[] shape, long[]... strides) {
        int r = shape.length;
        int ops = strides.length;
        long[] outShape = new long[r];
        long[][] outStrides = new long[ops][r];
        int n = 0;
        // Inner to outer; out arrays are filled from their end.
        for (int d = r - 1; d >= 0; d--) {
            if (shape[d] == 1) {
                continue;
            }
            if (n > 0) {
                int inner = r - n;
                boolean merge = true;
                for (int o = 0; o < ops; o++) {
                    if (strides[o][d] != outStrides[o][inner] * outShape[inner]) {
                        merge = false;
                        break;
                    }
                }
                if (merge) {
                    outShape[inner] *= shape[d];
                    continue;
                }
            }
            n++;
            outShape[r - n] = shape[d];
            for (int o = 0; o < ops; o++) {
                outStrides[o][r - n] = strides[o][d];
            }
        }
        if (n > MAX_RANK) {
            throw new IllegalArgumentException("the CUDA kernels take up to " + MAX_RANK + " dims after merging "
                    + "contiguous ones; shape " + Arrays.toString(shape) + " with strides "
                    + Arrays.deepToString(strides) + " keeps " + n + ": make the tensor contiguous first");
        }
        long[] s = Arrays.copyOfRange(outShape, r - n, r);
        long[][] st = new long[ops][];
        for (int o = 0; o < ops; o++) {
            st[o] = Arrays.copyOfRange(outStrides[o], r - n, r);
        }
        return new StridedOperands(s, st);
    }

    int rank() {
        return shape.length;
    }

    long[] shape() {
        return shape.clone();
    }

    long[] strides(int operand) {
        return strides[operand].clone();
    }

    /** Whether operand {@code o} walks memory contiguously (one dim of stride 1, or none). */
    boolean isContiguous(int operand) {
        return shape.length == 0 || (shape.length == 1 && strides[operand][0] == 1);
    }
}
