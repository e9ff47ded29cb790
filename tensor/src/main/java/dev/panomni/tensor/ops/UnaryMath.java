package dev.panomni.tensor.ops;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.Node;
import dev.panomni.tensor.ops.UnaryKernels.UnaryOp;

/**
 * Elementwise math functions of floating tensors, forward and backward side by side. Each returns a
 * new contiguous tensor of the input's shape and dtype (BF16 and F16 are computed in F32 where the
 * backend does not compute them natively, and rounded once). The backward of each is one fused
 * kernel call, {@code gradIn = gradOut * f'(...)}, reading the input or the output as noted.
 */
public final class UnaryMath {
    private UnaryMath() {
    }

    static UnaryKernels kernels(Tensor t) {
        return t.backend().kernels(UnaryKernels.class);
    }

    /** e^x. */
    public static Tensor exp(Tensor t) {
        return apply("exp", UnaryOp.EXP, 0, t);
    }

    /** Natural logarithm: log 0 = -inf, log of a negative number is NaN. */
    public static Tensor log(Tensor t) {
        return apply("log", UnaryOp.LOG, 0, t);
    }

    /** Square root (NaN for negative numbers). */
    public static Tensor sqrt(Tensor t) {
        return apply("sqrt", UnaryOp.SQRT, 0, t);
    }

    /** 1 / sqrt(x). */
    public static Tensor rsqrt(Tensor t) {
        return apply("rsqrt", UnaryOp.RSQRT, 0, t);
    }

    public static Tensor tanh(Tensor t) {
        return apply("tanh", UnaryOp.TANH, 0, t);
    }

    /** 1 / (1 + e^-x). */
    public static Tensor sigmoid(Tensor t) {
        return apply("sigmoid", UnaryOp.SIGMOID, 0, t);
    }

    /** x * sigmoid(x) (also called swish). */
    public static Tensor silu(Tensor t) {
        return apply("silu", UnaryOp.SILU, 0, t);
    }

    /** GELU with the tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2, "gelu_pytorch_tanh"). */
    public static Tensor geluTanh(Tensor t) {
        return apply("geluTanh", UnaryOp.GELU_TANH, 0, t);
    }

    /** Exact GELU: x Phi(x) = x/2 (1 + erf(x / sqrt 2)) (BERT, ViT, Whisper, "gelu"). */
    public static Tensor geluErf(Tensor t) {
        return apply("geluErf", UnaryOp.GELU_ERF, 0, t);
    }

    /** x^2. */
    public static Tensor square(Tensor t) {
        return apply("square", UnaryOp.SQUARE, 0, t);
    }

    /**
     * x^p for a finite exponent p, with Math.pow's rules (negative x with a non-integer p gives
     * NaN; x^0 = 1). The gradient p x^(p-1) is infinite at 0 for p < 1, and 0 everywhere for p = 0.
     */
    public static Tensor pow(Tensor t, double p) {
        if (!Double.isFinite(p)) {
            throw new TensorOpException("pow", "exponent must be finite, got " + p + " (tensor " + t.describe() + ")");
        }
        return apply("pow", UnaryOp.POW, p, t);
    }

    /** |x|; its gradient is sign(x), taken as 0 at 0. */
    public static Tensor abs(Tensor t) {
        return apply("abs", UnaryOp.ABS, 0, t);
    }

    private static Tensor apply(String name, UnaryOp op, double exponent, Tensor x) {
        x.checkLive();
        OpChecks.floating(name, x);
        Tensor y = Precision.compute(x.backend(), x.dtype(), x.shape(), (wx, o) -> {
            try (Scope s = Scope.open(name)) {
                kernels(o).forward(op, exponent, Views.contiguous(wx), o);
            }
        }, x);
        if (Autograd.needsRecord(x)) {
            Tensor keep = op.backwardReadsOutput() ? y : x;
            DType dtype = x.dtype();
            long[] shape = x.shape();
            Autograd.record(new Node(name, x) {
                final Tensor saved = save(keep);

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor go = g[0].dtype() == dtype ? g[0] : Layout.cast(g[0], dtype);
                    Tensor gi = Precision.compute(saved.backend(), dtype, shape, (ws, wg, o) -> {
                        try (Scope s = Scope.open(name + "Backward")) {
                            kernels(o).backward(op, exponent, Views.contiguous(ws), Views.contiguous(wg), o);
                        }
                    }, saved, go);
                    return new Tensor[] {gi};
                }
            }, y);
        }
        return y;
    }
}
