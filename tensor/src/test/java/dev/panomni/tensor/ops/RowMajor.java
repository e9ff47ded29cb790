package dev.panomni.tensor.ops;

/** Row-major index arithmetic for the naive references in op tests. */
final class RowMajor {
    private RowMajor() {
    }

    /** The coordinates of linear position {@code lin} in {@code shape}. */
    static int[] unravel(long lin, long[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = (int) (lin % shape[d]);
            lin /= shape[d];
        }
        return idx;
    }

    /** The linear position of {@code idx} in {@code shape}. */
    static int ravel(int[] idx, long[] shape) {
        long lin = 0;
        for (int d = 0; d < shape.length; d++) {
            lin = lin * shape[d] + idx[d];
        }
        return (int) lin;
    }

    static int numel(long[] shape) {
        return (int) dev.panomni.tensor.Shapes.numel(shape);
    }
}
