package dev.panomni.tensor.ops;

import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.autograd.Autograd;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.autograd.Node;

/**
 * The patch embedding of a vision transformer: a convolution whose stride equals its kernel size,
 * so the patches do not overlap. It is computed as a rearrangement (im2col, here a permuted copy)
 * followed by one matrix product, and its backward as two products followed by the inverse
 * rearrangement (col2im).
 */
public final class PatchConv {
    private PatchConv() {
    }

    /**
     * Non-overlapping patch convolution.
     *
     * @param x      images [B, C, H, W]; H and W must be multiples of {@code patch}
     * @param weight filters [O, C, P, P] with P = {@code patch}
     * @param bias   [O] or null
     * @param patch  patch side P in pixels, also the stride
     * @return [B, (H/P) * (W/P), O], patches in row-major order (patch row, then patch column)
     */
    public static Tensor patchConv(Tensor x, Tensor weight, Tensor bias, int patch) {
        OpChecks.sameDeviceAndDtype("patchConv", x, weight, bias);
        OpChecks.floating("patchConv", x);
        if (x.rank() != 4) {
            throw new TensorOpException("patchConv", "input must be [B, C, H, W], got " + Shapes.str(x.shape()));
        }
        if (weight.rank() != 4) {
            throw new TensorOpException("patchConv", "weight must be [O, C, P, P], got " + Shapes.str(weight.shape()));
        }
        if (patch <= 0) {
            throw new TensorOpException("patchConv", "patch size must be positive, got " + patch);
        }
        long[] xs = x.shape();
        long[] ws = weight.shape();
        long batch = xs[0];
        long c = xs[1];
        long h = xs[2];
        long w = xs[3];
        long o = ws[0];
        if (ws[1] != c) {
            throw new TensorOpException("patchConv", "weight " + Shapes.str(ws) + " has " + ws[1]
                    + " input channels but input " + Shapes.str(xs) + " has " + c);
        }
        if (ws[2] != patch || ws[3] != patch) {
            throw new TensorOpException("patchConv", "weight " + Shapes.str(ws) + " must have " + patch + " x " + patch
                    + " kernels for patch size " + patch);
        }
        if (h % patch != 0 || w % patch != 0) {
            throw new TensorOpException("patchConv", "image size " + h + " x " + w + " of input " + Shapes.str(xs)
                    + " is not divisible by patch size " + patch + "; crop or pad the image first");
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != o)) {
            throw new TensorOpException("patchConv", "bias must have shape [" + o + "] for weight " + Shapes.str(ws)
                    + ", got " + Shapes.str(bias.shape()));
        }
        long nh = h / patch;
        long nw = w / patch;
        long patches = nh * nw;
        long features = c * patch * patch;
        Tensor out;
        try (Scope s = Scope.open("patchConv")) {
            out = s.keep(GradMode.noGrad(() -> {
                Tensor cols = im2col(x, patch);
                Tensor flat = Linalg.linear(cols, Views.reshape(weight, o, features), bias);
                return Views.view(flat, batch, patches, o);
            }));
        }
        if (Autograd.needsRecord(x, weight, bias)) {
            Autograd.record(new Node("patchConv", x, weight, bias) {
                // The patch matrix is as large as x, so keep x and rebuild the patches in backward.
                final Tensor savedX = needsGrad(1) ? save(x) : null;
                final Tensor savedW = needsGrad(0) ? save(weight) : null;

                @Override
                protected Tensor[] backward(Tensor[] g) {
                    Tensor dy = Views.reshape(g[0], batch * patches, o);
                    Tensor dx = null;
                    if (needsGrad(0)) {
                        Tensor dcols = Linalg.matmul(dy, Views.reshape(savedW, o, features));
                        dx = col2im(dcols, xs, patch);
                    }
                    Tensor dw = needsGrad(1)
                            ? Views.reshape(Linalg.matmul(Views.transpose(dy, 0, 1), im2col(savedX, patch)), ws)
                            : null;
                    Tensor db = needsGrad(2) ? Linalg.sumRows(dy) : null;
                    return new Tensor[] {dx, dw, db};
                }
            }, out);
        }
        return out;
    }

    /** [B, C, H, W] -> patch rows [B * nh * nw, C * P * P], each row ordered (c, dy, dx) like the weight. */
    static Tensor im2col(Tensor x, int p) {
        long[] xs = x.shape();
        long nh = xs[2] / p;
        long nw = xs[3] / p;
        Tensor split = Views.reshape(x, xs[0], xs[1], nh, p, nw, p);
        Tensor patches = Views.contiguous(Views.permute(split, 0, 2, 4, 1, 3, 5));
        return Views.view(patches, xs[0] * nh * nw, xs[1] * p * p);
    }

    /** Inverse of {@link #im2col}: patch rows [B * nh * nw, C * P * P] -> [B, C, H, W]. */
    static Tensor col2im(Tensor cols, long[] xs, int p) {
        long nh = xs[2] / p;
        long nw = xs[3] / p;
        Tensor split = Views.reshape(cols, xs[0], nh, nw, xs[1], p, p);
        Tensor image = Views.contiguous(Views.permute(split, 0, 3, 1, 4, 2, 5));
        return Views.view(image, xs);
    }
}
