package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.GradMode;

import java.util.Arrays;

/**
 * Stable counting sort of small integer keys on the keys' device: a mixture-of-experts layer lists
 * its (token, slot) choices by expert with it. The sort runs where the keys are, and only the
 * per-bucket counts come back to the host (they size the grouped GEMM and the expert-parallel
 * exchange), so the GPU never waits for a host sort. No gradient: the result is a permutation.
 */
public final class CountingSort {
    private CountingSort() {
    }

    /**
     * The sorted entries of a key matrix.
     *
     * @param counts [buckets] entries per bucket (host values)
     * @param flat   [sum(counts)] I64 on the keys' device: each listed entry's flat index
     *               {@code row * cols + col}, bucket by bucket, ascending inside a bucket
     * @param row    [sum(counts)] I64 on the keys' device: each listed entry's row
     * @param slot   [rows, cols] I64 on the keys' device: each entry's place in the list, or
     *               {@code sum(counts)} for an entry outside the key range (the reverse map)
     */
    public record Result(long[] counts, Tensor flat, Tensor row, Tensor slot) {
        /** Total entries listed. */
        public long listed() {
            return Arrays.stream(counts).sum();
        }
    }

    private static CountingSortKernels kernels(Tensor t) {
        return t.backend().kernels(CountingSortKernels.class);
    }

    /**
     * The entries of {@code keys} per key in {@code [lo, lo + buckets)}, left on the device: nothing
     * waits for it (a router's statistics).
     *
     * @param keys [rows, cols] I64
     * @return [buckets] I64 on the keys' device
     */
    public static Tensor counts(Tensor keys, long lo, int buckets) {
        check(keys, buckets);
        return GradMode.noGrad(() -> {
            Tensor c = Tensor.zeros(DType.I64, keys.device(), buckets);
            if (buckets > 0) {
                try (Scope s = Scope.open("countingSort.counts")) {
                    kernels(keys).count(keys.contiguous(), lo, c);
                }
            }
            return c;
        });
    }

    private static void check(Tensor keys, int buckets) {
        String op = "countingSort";
        if (keys.dtype() != DType.I64 || keys.rank() != 2) {
            throw new TensorOpException(op, "keys must be I64 [rows, cols], got " + keys.describe());
        }
        if (buckets < 0) {
            throw new TensorOpException(op, "bucket count must be non-negative, got " + buckets);
        }
    }

    /**
     * Sorts the entries of {@code keys} whose key lies in {@code [lo, lo + buckets)} by key; other
     * entries are left out. Waits for the device once, to read the counts.
     *
     * @param keys    [rows, cols] I64 (e.g. each token's k chosen experts)
     * @param lo      the first key kept
     * @param buckets how many consecutive keys are kept (each one bucket)
     */
    public static Result sort(Tensor keys, long lo, int buckets) {
        String op = "countingSort";
        check(keys, buckets);
        long n = keys.numel();
        return GradMode.noGrad(() -> {
            Tensor flat = Tensor.empty(DType.I64, keys.device(), n);
            Tensor row = Tensor.empty(DType.I64, keys.device(), n);
            // No buckets: nothing is listed and every entry's slot is 0 (one past the empty list).
            Tensor slot = buckets == 0 ? Tensor.zeros(DType.I64, keys.device(), keys.shape())
                    : Tensor.empty(DType.I64, keys.device(), keys.shape());
            long[] counts;
            try (Scope s = Scope.open(op)) {
                Tensor c = Tensor.zeros(DType.I64, keys.device(), buckets);
                if (buckets > 0) {
                    kernels(keys).sort(keys.contiguous(), lo, c, flat, row, slot);
                }
                counts = c.toLongArray();
            }
            long m = Arrays.stream(counts).sum();
            if (m > n) {
                throw new TensorOpException(op, "the kernel counted " + m + " entries of " + Shapes.str(keys.shape()));
            }
            return new Result(counts, flat.narrow(0, 0, m), row.narrow(0, 0, m), slot);
        });
    }
}
