package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Matrix products, forward and backward side by side, on the backend's {@link LinalgKernels#gemm}.
 * Transposed views ({@code w.t()}, {@code Views.transpose}) are read in place: the kernel takes the
 * layout from the strides, so no operand is copied unless its last two dims have neither unit
 * stride (an expanded or sliced-with-step view). BF16 and F16 inputs are widened to F32 where the
 * backend does not compute them natively, and the result has the input dtype.
 */
public final class Linalg {
    private Linalg() {
    }

    static LinalgKernels kernels(Tensor t) {
        return t.backend().kernels(LinalgKernels.class);
    }

    /**
     * The matrix product with the rules of {@code torch.matmul}: a [..., M, K] x b [..., K, N] ->
     * [..., M, N], the batch dims (all but the last two) broadcast numpy-style. A rank-1 {@code a}
     * [K] is a row [1, K] and a rank-1 {@code b} [K] a column [K, 1]; the added dim is dropped from
     * the result ([K] x [K] gives a scalar). Either operand may be a transposed view. Backward:
     * dA = dC B^T and dB = A^T dC, summed over the dims where the operand was broadcast.
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        OpChecks.sameDeviceAndDtype("matmul", a, b);
        OpChecks.floating("matmul", a);
        if (a.rank() == 0 || b.rank() == 0) {
            throw new TensorOpException("matmul", "needs operands of rank >= 1, got a " + Shapes.str(a.shape())
                    + " and b " + Shapes.str(b.shape()));
        }
        long ka = a.size(-1);
        long kb = b.rank() == 1 ? b.size(0) : b.size(-2);
        if (ka != kb) {
            throw new TensorOpException("matmul", "inner dimensions differ: a " + Shapes.str(a.shape()) + " has K = "
                    + ka + " but b " + Shapes.str(b.shape()) + " has K = " + kb + " (a [..., M, K] x b [..., K, N])");
        }
        if (a.rank() >= 2 && b.rank() >= 2) {
            return matmulNd(a, b);
        }
        Tensor out;
        try (Scope s = Scope.open("matmul")) {
            Tensor a2 = a.rank() == 1 ? Views.unsqueeze(a, 0) : a;
            Tensor b2 = b.rank() == 1 ? Views.unsqueeze(b, 1) : b;
            Tensor r = matmulNd(a2, b2);
            long[] rs = r.shape();
            int keep = rs.length - 2 + (a.rank() == 1 ? 0 : 1) + (b.rank() == 1 ? 0 : 1);
            long[] target = new long[keep];
            System.arraycopy(rs, 0, target, 0, rs.length - 2);
            int at = rs.length - 2;
            if (a.rank() != 1) {
                target[at++] = rs[rs.length - 2];
            }
            if (b.rank() != 1) {
                target[at] = rs[rs.length - 1];
            }
            out = s.keep(Views.view(r, target));
        }
        return out;
    }

    /** {@link #matmul} for operands of rank >= 2. */
    private static Tensor matmulNd(Tensor a, Tensor b) {
        long[] as = a.shape();
        long[] bs = b.shape();
        long m = as[as.length - 2];
        long n = bs[bs.length - 1];
        long[] batch = broadcastBatch("matmul", as, bs);
        long[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out;
        try (Scope s = Scope.open("matmul")) {
            out = s.keep(Precision.compute(a.backend(), a.dtype(), outShape,
                    (wa, wb, o) -> gemmInto(wa, wb, o, 1f, 0f), a, b));
        }
        if (Autograd.needsRecord(a, b)) {
            Autograd.record(new Node("matmul", a, b) {
                final Tensor savedA = needsGrad(1) ? save(a) : null;
                final Tensor savedB = needsGrad(0) ? save(b) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor ga = needsGrad(0) ? gradA(g[0], savedB, as) : null;
                    Tensor gb = needsGrad(1) ? gradB(savedA, g[0], bs) : null;
                    return new Tensor[] {ga, gb};
                }
            }, out);
        }
        return out;
    }

    /** dA = dC B^T, summed down to a's shape where a was broadcast. */
    private static Tensor gradA(Tensor g, Tensor b, long[] aShape) {
        Tensor full = matmulNd(g, Views.transpose(b, -2, -1));
        return Arith.sumTo(full, aShape);
    }

    /** dB = A^T dC, summed down to b's shape where b was broadcast. */
    private static Tensor gradB(Tensor a, Tensor g, long[] bShape) {
        int ra = a.rank();
        long k = a.size(-1);
        long n = g.size(-1);
        if (ra > 2 && Shapes.numel(bShape) == k * n) {
            // b is one matrix shared by every batch entry: sum_i A_i^T dC_i is a single product of
            // the stacked rows, [K, rows] x [rows, N], with no per-batch partial products.
            Tensor rowsA = Views.reshape(a, -1, k);
            Tensor rowsG = Views.reshape(g, -1, n);
            return Views.reshape(matmulNd(Views.transpose(rowsA, 0, 1), rowsG), bShape);
        }
        Tensor full = matmulNd(Views.transpose(a, -2, -1), g);
        return Arith.sumTo(full, bShape);
    }

    /**
     * The fully connected layer {@code x W^T + bias}: x [..., in], weight [out, in], bias [out] or
     * null -> [..., out]. One product over all rows of x, with the weight read transposed in place.
     * Backward: dx = dy W, dW = dy^T x (over all rows), dbias = dy summed over rows.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        OpChecks.sameDeviceAndDtype("linear", x, weight, bias);
        OpChecks.floating("linear", x);
        if (weight.rank() != 2) {
            throw new TensorOpException("linear", "weight must be [out, in], got " + Shapes.str(weight.shape()));
        }
        if (x.rank() < 1) {
            throw new TensorOpException("linear", "input must be [..., in], got a scalar " + Shapes.str(x.shape()));
        }
        long in = weight.size(1);
        long outF = weight.size(0);
        if (x.size(-1) != in) {
            throw new TensorOpException("linear", "input " + Shapes.str(x.shape()) + " has " + x.size(-1)
                    + " features but weight " + Shapes.str(weight.shape()) + " expects " + in
                    + " (x [..., in], weight [out, in])");
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != outF)) {
            throw new TensorOpException("linear", "bias must have shape [" + outF + "] for weight "
                    + Shapes.str(weight.shape()) + ", got " + Shapes.str(bias.shape()));
        }
        long[] xs = x.shape();
        long rows = Shapes.numel(Arrays.copyOf(xs, xs.length - 1));
        long[] outShape = xs.clone();
        outShape[xs.length - 1] = outF;
        Tensor out;
        try (Scope s = Scope.open("linear")) {
            out = s.keep(Precision.compute(x.backend(), x.dtype(), outShape, (wx, ww, o) -> {
                Tensor o2 = Views.view(o, rows, outF);
                float beta = 0f;
                if (bias != null) {
                    Layout.copyInto(Views.expand(Precision.widen(bias), rows, outF), o2);
                    beta = 1f;
                }
                gemmInto(Views.reshape(wx, rows, in), Views.transpose(ww, 0, 1), o2, 1f, beta);
            }, x, weight));
        }
        if (Autograd.needsRecord(x, weight, bias)) {
            Autograd.record(new Node("linear", x, weight, bias) {
                final Tensor savedX = needsGrad(1) ? save(x) : null;
                final Tensor savedW = needsGrad(0) ? save(weight) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dy = Views.reshape(g[0], rows, outF);
                    Tensor dx = needsGrad(0) ? Views.reshape(matmulNd(dy, savedW), xs) : null;
                    Tensor dw = needsGrad(1)
                            ? matmulNd(Views.transpose(dy, 0, 1), Views.reshape(savedX, rows, in)) : null;
                    Tensor db = needsGrad(2) ? sumRows(dy) : null;
                    return new Tensor[] {dx, dw, db};
                }
            }, out);
        }
        return out;
    }

    /**
     * Whether {@link #productF32Into} multiplies operands of {@code t}'s dtype as they are (F32, or
     * 16-bit on a backend whose GEMM keeps fp32 results): callers that reuse an operand across many
     * products widen it once themselves when this is false.
     */
    public static boolean multipliesIntoF32(Tensor t) {
        return t.dtype() == DType.F32
                || (t.backend().computesNatively(t.dtype()) && kernels(t).storesF32(t.dtype()));
    }

    /**
     * {@code out = alpha * a @ b + beta * out} with an F32 {@code out} whatever the operands' floating
     * dtype, so 16-bit products are summed without rounding the result (the LM head's logits and
     * its gradients). Operands are widened to F32 where {@link #multipliesIntoF32} is false. Not
     * recorded by autograd.
     *
     * @param a   [..., M, K], any layout (transposed views are read in place)
     * @param b   [..., K, N], a's dtype and device
     * @param out contiguous F32 [..., M, N], batch dims the broadcast of a's and b's
     */
    public static void productF32Into(Tensor a, Tensor b, Tensor out, float alpha, float beta) {
        OpChecks.sameDeviceAndDtype("productF32Into", a, b);
        OpChecks.sameDevice("productF32Into", a, out);
        OpChecks.floating("productF32Into", a);
        if (out.dtype() != DType.F32 || !out.isContiguous() || a.rank() < 2 || b.rank() < 2
                || a.size(-1) != b.size(-2) || out.rank() < 2 || out.size(-2) != a.size(-2)
                || out.size(-1) != b.size(-1)) {
            throw new TensorOpException("productF32Into", "expected a [..., M, K], b [..., K, N] and a contiguous F32 "
                    + "out [..., M, N], got a " + a.describe() + ", b " + b.describe() + ", out " + out.describe());
        }
        if (multipliesIntoF32(a)) {
            gemmInto(a, b, out, alpha, beta);
            return;
        }
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open("productF32Into widen")) {
                gemmInto(Layout.cast(a, DType.F32), Layout.cast(b, DType.F32), out, alpha, beta);
            }
        });
    }

    /**
     * Column sums of {@code t} [rows, cols] -> [cols], as the product ones[1, rows] x t, so every
     * backend reduces with its GEMM (deterministic, and parallel on the CPU). Not recorded.
     */
    static Tensor sumRows(Tensor t) {
        long rows = t.size(0);
        Tensor ones = Tensor.ones(t.dtype(), t.device(), 1, rows);
        return Views.reshape(GradMode.noGrad(() -> matmulNd(ones, t)), t.size(1));
    }

    // ------------------------------------------------------------------ dispatch to the kernel

    /**
     * {@code out = alpha * a @ b + beta * out} for a [..., M, K] and b [..., K, N] whose batch dims
     * broadcast to those of {@code out} [..., M, N] (contiguous, of a dtype the backend computes).
     * Not recorded. Batch dims are merged where the strides allow, so most calls are one kernel
     * launch; when b is one matrix shared by the whole batch and a's rows are evenly strided, the
     * batch is folded into M and the call is one large product.
     */
    static void gemmInto(Tensor a, Tensor b, Tensor out, float alpha, float beta) {
        if (out.numel() == 0) {
            return;
        }
        GradMode.noGrad(() -> {
            try (Scope s = Scope.open("gemm")) {
                Tensor ma = blasForm(a);
                Tensor mb = blasForm(b);
                long[] os = out.shape();
                int r = os.length;
                long m = os[r - 2];
                long n = os[r - 1];
                long k = ma.size(-1);
                LinalgKernels kernels = kernels(out);
                long[] aShape = ma.shape();
                long[] bShape = mb.shape();
                long[] ast = ma.strides();
                long[] bst = mb.strides();
                long rowsA = Shapes.numel(aShape) / Math.max(1, k);
                boolean bShared = Shapes.numel(bShape) == k * n;
                if (bShared && rowsA == Shapes.numel(os) / n && k > 0) {
                    long[] rowStrides = Shapes.viewStrides(aShape, ast, new long[] {rowsA, k});
                    if (rowStrides != null) {
                        Tensor a3 = ma.restrided(new long[] {1, rowsA, k}, new long[] {0, rowStrides[0], rowStrides[1]},
                                ma.offset());
                        Tensor b3 = mb.restrided(new long[] {1, k, n}, new long[] {0, bst[bst.length - 2],
                                bst[bst.length - 1]}, mb.offset());
                        Tensor o3 = out.restrided(new long[] {1, rowsA, n}, new long[] {rowsA * n, n, 1}, out.offset());
                        kernels.gemm(a3, b3, o3, alpha, beta);
                        return;
                    }
                }
                long[] batch = Arrays.copyOf(os, r - 2);
                long[] sa = Shapes.broadcastStrides(Arrays.copyOf(aShape, aShape.length - 2),
                        Arrays.copyOf(ast, ast.length - 2), batch);
                long[] sb = Shapes.broadcastStrides(Arrays.copyOf(bShape, bShape.length - 2),
                        Arrays.copyOf(bst, bst.length - 2), batch);
                long[] so = Arrays.copyOf(Shapes.contiguousStrides(os), r - 2);
                List<long[]> dims = mergeBatchDims(batch, sa, sb, so);
                int outer = dims.size() - 1;
                long[] last = dims.get(outer);
                long[] idx = new long[outer];
                while (true) {
                    long offA = ma.offset();
                    long offB = mb.offset();
                    long offO = out.offset();
                    for (int d = 0; d < outer; d++) {
                        offA += idx[d] * dims.get(d)[1];
                        offB += idx[d] * dims.get(d)[2];
                        offO += idx[d] * dims.get(d)[3];
                    }
                    Tensor a3 = ma.restrided(new long[] {last[0], m, k}, new long[] {last[1], ast[ast.length - 2],
                            ast[ast.length - 1]}, offA);
                    Tensor b3 = mb.restrided(new long[] {last[0], k, n}, new long[] {last[2], bst[bst.length - 2],
                            bst[bst.length - 1]}, offB);
                    Tensor o3 = out.restrided(new long[] {last[0], m, n}, new long[] {m * n, n, 1}, offO);
                    kernels.gemm(a3, b3, o3, alpha, beta);
                    a3.close();
                    b3.close();
                    o3.close();
                    int d = outer - 1;
                    while (d >= 0 && ++idx[d] == dims.get(d)[0]) {
                        idx[d] = 0;
                        d--;
                    }
                    if (d < 0) {
                        return;
                    }
                }
            }
        });
    }

    /**
     * Batch dims as rows {extent, strideA, strideB, strideOut}, with size-1 dims dropped and
     * neighbours merged where all three operands step evenly across them; never empty (a single
     * {1, 0, 0, 0} stands for no batch).
     */
    private static List<long[]> mergeBatchDims(long[] batch, long[] sa, long[] sb, long[] so) {
        List<long[]> dims = new ArrayList<>();
        for (int d = 0; d < batch.length; d++) {
            if (batch[d] == 1) {
                continue;
            }
            long[] cur = {batch[d], sa[d], sb[d], so[d]};
            if (!dims.isEmpty()) {
                long[] prev = dims.get(dims.size() - 1);
                if (prev[1] == cur[1] * cur[0] && prev[2] == cur[2] * cur[0] && prev[3] == cur[3] * cur[0]) {
                    prev[0] *= cur[0];
                    prev[1] = cur[1];
                    prev[2] = cur[2];
                    prev[3] = cur[3];
                    continue;
                }
            }
            dims.add(cur);
        }
        if (dims.isEmpty()) {
            dims.add(new long[] {1, 0, 0, 0});
        }
        return dims;
    }

    /**
     * {@code t} with its last two dims in one of the two layouts {@link LinalgKernels} accepts
     * (row-major or column-major; strides of size-1 dims are rewritten to fit), or a contiguous copy
     * when the layout is neither.
     */
    private static Tensor blasForm(Tensor t) {
        int r = t.rank();
        long[] st = t.strides();
        long[] inner = blasStrides(t.size(-2), t.size(-1), st[r - 2], st[r - 1]);
        if (inner == null) {
            t = Views.contiguous(t);
            st = t.strides();
            inner = blasStrides(t.size(-2), t.size(-1), st[r - 2], st[r - 1]);
        }
        if (inner[0] == st[r - 2] && inner[1] == st[r - 1]) {
            return t;
        }
        st[r - 2] = inner[0];
        st[r - 1] = inner[1];
        return t.restrided(t.shape(), st, t.offset());
    }

    /** {rowStride, colStride} of a rows x cols matrix in row- or column-major form, or null if neither. */
    static long[] blasStrides(long rows, long cols, long rs, long cs) {
        long rowMajorCs = cols == 1 ? 1 : cs;
        long rowMajorRs = rows == 1 ? Math.max(1, cols) : rs;
        if (rowMajorCs == 1 && rowMajorRs >= Math.max(1, cols)) {
            return new long[] {rowMajorRs, 1};
        }
        long colMajorRs = rows == 1 ? 1 : rs;
        long colMajorCs = cols == 1 ? Math.max(1, rows) : cs;
        if (colMajorRs == 1 && colMajorCs >= Math.max(1, rows)) {
            return new long[] {1, colMajorCs};
        }
        return null;
    }

    /** The broadcast of the batch dims of two matrix operands; errors name both full shapes. */
    static long[] broadcastBatch(String op, long[] as, long[] bs) {
        long[] ba = Arrays.copyOf(as, as.length - 2);
        long[] bb = Arrays.copyOf(bs, bs.length - 2);
        try {
            return Shapes.broadcast(op, ba, bb);
        } catch (TensorOpException e) {
            throw new TensorOpException(op, "batch dims of a " + Shapes.str(as) + " and b " + Shapes.str(bs)
                    + " do not broadcast: " + Shapes.str(ba) + " vs " + Shapes.str(bb));
        }
    }
}
