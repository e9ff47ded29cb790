package dev.panomni.tensor.ops;

import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * A permutation of the leading (row) dim of tensors {@code [n, ...]}, checked once on the host and
 * held on the device in both directions, so that applying it and back-propagating through it are
 * both plain row gathers: no device-side index check (and the synchronization that reports it) and
 * no scatter-add. What a mixture-of-experts layer uses to sort token copies by expert and to put the
 * expert outputs back in token order. Both index vectors are uploaded together, in one copy.
 */
public final class RowPermutation {
    private final long size;
    /** {@code [n]} on the device: row i of the result is row {@code order[i]} of the input. */
    private final Tensor order;
    /** {@code [n]} on the device: the inverse, {@code inverse[order[i]] = i}. */
    private final Tensor inverse;

    private RowPermutation(long size, Tensor order, Tensor inverse) {
        this.size = size;
        this.order = order;
        this.inverse = inverse;
    }

    /**
     * The permutation taking row {@code order[i]} of its input to row i, on {@code device}; its
     * index tensors belong to the current scope.
     *
     * @throws TensorOpException when {@code order} is not a permutation of {@code 0 .. n-1}
     */
    public static RowPermutation of(long[] order, Device device) {
        int n = order.length;
        int[] both = new int[2 * n];
        boolean[] seen = new boolean[n];
        for (int i = 0; i < n; i++) {
            long o = order[i];
            if (o < 0 || o >= n || seen[(int) o]) {
                throw new TensorOpException("RowPermutation", "entry " + i + " is " + o + ": the order must hold each of 0 .. "
                        + (n - 1) + " exactly once");
            }
            seen[(int) o] = true;
            both[i] = (int) o;
            both[n + (int) o] = i;
        }
        Tensor onDevice = GradMode.noGrad(() -> Tensor.ofInts(both, 2L * n).to(device));
        return new RowPermutation(n, onDevice.narrow(0, 0, n), onDevice.narrow(0, n, n));
    }

    /** Rows of the tensors this permutes. */
    public long size() {
        return size;
    }

    /** {@code out[i] = x[order[i]]} for x {@code [n, ...]}; backward gathers with the inverse. */
    public Tensor apply(Tensor x) {
        return permute(x, order, inverse);
    }

    /** {@code out[order[i]] = y[i]} (undoes {@link #apply}); backward gathers with the order. */
    public Tensor applyInverse(Tensor y) {
        return permute(y, inverse, order);
    }

    private Tensor permute(Tensor x, Tensor index, Tensor backIndex) {
        String op = "RowPermutation";
        if (x.rank() < 1 || x.size(0) != size) {
            throw new TensorOpException(op, "permutes tensors of " + size + " rows, got " + x.describe());
        }
        OpChecks.sameDevice(op, x, index);
        Tensor out = gather(x, index);
        if (Autograd.needsRecord(x)) {
            Autograd.record(new Node(op, x) {
                final Tensor back = save(backIndex);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    return new Tensor[] {gather(g[0], back)};
                }
            }, out);
        }
        return out;
    }

    private static Tensor gather(Tensor x, Tensor index) {
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        GradMode.noGrad(() -> {
            if (out.numel() == 0) {
                return;
            }
            try (Scope s = Scope.open("RowPermutation")) {
                x.backend().kernels(IndexingKernels.class).selectValidatedRows(Views.contiguous(x), index, out);
            }
        });
        return out;
    }
}
