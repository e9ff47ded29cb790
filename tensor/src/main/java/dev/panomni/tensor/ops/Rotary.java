package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * Rotary position embedding (RoPE), rotate-half convention of Hugging Face Llama/Qwen, applied over
 * the whole head dim. Positions are always given explicitly, because packed sequences restart them
 * at every document. The backward is the inverse rotation; positions and frequencies are constants.
 */
public final class Rotary {
    private Rotary() {
    }

    static RotaryKernels kernels(Tensor t) {
        return t.backend().kernels(RotaryKernels.class);
    }

    /**
     * The default frequencies {@code invFreq[i] = theta^(-2i/D)} for {@code i < D/2}, computed in F32
     * as Hugging Face does ({@code 1 / theta ** (arange(0, D, 2) / D)}).
     *
     * @param headDim D, even
     * @param theta   the RoPE base (10000 for Llama 2, 1e6 for Qwen3)
     */
    public static float[] invFreq(int headDim, double theta) {
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new TensorOpException("rope", "head dim must be positive and even, got " + headDim);
        }
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            f[i] = 1.0f / (float) Math.pow((float) theta, exponent);
        }
        return f;
    }

    /**
     * Rotates queries or keys by their positions with the default frequencies for base {@code theta}.
     *
     * @param x         [T, H, D] (positions [T]) or [B, T, H, D] (positions [B, T] or [T]), floating, D even
     * @param positions I64 or I32 token positions, same device as x
     * @param theta     the RoPE base
     * @return x's shape and dtype
     */
    public static Tensor rope(Tensor x, Tensor positions, double theta) {
        x.checkLive();
        checkRank(x);
        return rope(x, positions, invFreq(Math.toIntExact(x.size(-1)), theta));
    }

    private static void checkRank(Tensor x) {
        if (x.rank() != 3 && x.rank() != 4) {
            throw new TensorOpException("rope", "x must be [T, H, D] or [B, T, H, D], got shape " + Shapes.str(x.shape()));
        }
        if (x.size(-1) % 2 != 0) {
            throw new TensorOpException("rope", "head dim must be even to rotate halves, got x " + Shapes.str(x.shape()));
        }
    }

    /**
     * Rotary embedding with given frequencies (for scaled variants such as Llama 3's). The array is
     * copied to x's device on every call; models on a GPU keep a tensor and use the overload below.
     *
     * @param invFreq [D/2] radians per position
     */
    public static Tensor rope(Tensor x, Tensor positions, float[] invFreq) {
        x.checkLive();
        try (Scope s = Scope.open("rope")) {
            Tensor f = GradMode.noGrad(() -> Layout.toDevice(Tensor.of(invFreq, invFreq.length), x.device()));
            return s.keep(rope(x, positions, f));
        }
    }

    /**
     * Rotary embedding with frequencies held in a tensor (a constant: it receives no gradient).
     *
     * @param invFreq [D/2] F32 on x's device
     */
    public static Tensor rope(Tensor x, Tensor positions, Tensor invFreq) {
        String op = "rope";
        OpChecks.sameDevice(op, x, positions, invFreq);
        OpChecks.floating(op, x);
        OpChecks.indexType(op, positions);
        checkRank(x);
        long[] shape = x.shape();
        int r = shape.length;
        long t = shape[r - 3];
        long h = shape[r - 2];
        long d = shape[r - 1];
        long b = r == 4 ? shape[0] : 1;
        long[] ps = positions.shape();
        boolean perToken = ps.length == 1 && ps[0] == t;
        boolean perBatch = r == 4 && ps.length == 2 && ps[0] == b && ps[1] == t;
        if (!perToken && !perBatch) {
            throw new TensorOpException(op, "positions must be [" + t + "]" + (r == 4 ? " or [" + b + ", " + t + "]" : "")
                    + " for x " + Shapes.str(shape) + ", got " + Shapes.str(ps));
        }
        if (invFreq.dtype() != DType.F32 || invFreq.rank() != 1 || invFreq.size(0) != d / 2) {
            throw new TensorOpException(op, "invFreq must be F32 [" + d / 2 + "] (half the head dim of x "
                    + Shapes.str(shape) + "), got " + invFreq.describe());
        }
        long n = b * t;
        DType dtype = x.dtype();
        boolean record = Autograd.needsRecord(x);
        Tensor[] res = GradMode.noGrad(() -> {
            try (Scope s = Scope.open(op)) {
                Tensor pos = WorkingCopies.contiguous(perToken && r == 4 ? Views.expand(positions, b, t) : positions)
                        .view(n);
                Tensor freq = WorkingCopies.contiguous(invFreq);
                Tensor xw = WorkingCopies.input(x);
                Tensor ow = WorkingCopies.output(xw, shape);
                kernels(x).rope(xw.view(n, h, d), pos, freq, false, ow.view(n, h, d));
                Tensor out = s.keep(WorkingCopies.finish(ow, dtype));
                return record ? new Tensor[] {out, s.keep(pos), s.keep(freq)} : new Tensor[] {out};
            }
        });
        Tensor out = res[0];
        if (record) {
            Autograd.record(new Node(op, x) {
                final Tensor savedPos = save(res[1]);
                final Tensor savedFreq = save(res[2]);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor gw = WorkingCopies.input(g[0]);
                    Tensor dx = WorkingCopies.output(gw, shape);
                    kernels(gw).rope(gw.view(n, h, d), savedPos, savedFreq, true, dx.view(n, h, d));
                    return new Tensor[] {WorkingCopies.finish(dx, dtype)};
                }
            }, out);
            WorkingCopies.close(res[1], res[2]);
        }
        return out;
    }
}
