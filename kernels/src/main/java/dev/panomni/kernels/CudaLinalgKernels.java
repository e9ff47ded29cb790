package dev.panomni.kernels;

import dev.panomni.bindings.cublas.cublasComputeType_t;
import dev.panomni.bindings.cublas.cublasOperation_t;
import dev.panomni.kernels.gemm.CublasLtGemm;
import dev.panomni.kernels.gemm.GemmShape;
import dev.panomni.kernels.gemm.NoGemmAlgorithmException;
import dev.panomni.kernels.launch.ArithLaunchers;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.kernels.runtime.CudaTensors;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.ops.LinalgKernels;

/**
 * GEMM through cuBLASLt: F32, F16 and BF16 operands with F32 accumulation
 * ({@code CUBLAS_COMPUTE_32F}), results in the operands' dtype or, for 16-bit operands, in F32, transposes read from strides, strided batches (batch stride 0
 * repeats one matrix), and a bias epilogue ({@link #gemmBias}). The algorithm is chosen once per
 * shape, dtype, transposition and alignment and cached ({@link CublasLtGemm}): the first product of a
 * shape times cuBLASLt's heuristic candidates on the actual operands and keeps the fastest
 * ({@code -Dpanomni.cuda.gemmAutotune=false}: the heuristic's first choice). The workspace (32 MiB
 * per stream, what cuBLAS itself uses on Hopper) comes from the device pool.
 *
 * <p>F32 products run in full fp32 by default. {@code -Dpanomni.cuda.tf32=true} lets them use TF32
 * tensor cores ({@code CUBLAS_COMPUTE_32F_FAST_TF32}: ~10-bit mantissa products, relative error near
 * 3e-4 instead of 1e-6), as PyTorch's {@code allow_tf32} does; off by default because the CPU
 * backend, the reference, is exact fp32.
 *
 * <p>Layout mapping: tensors are row-major and cuBLAS is column-major, so {@code out = a b} is run as
 * {@code out^T = b^T a^T}: a row-major matrix read column-major is its transpose, which costs nothing.
 */
public final class CudaLinalgKernels implements LinalgKernels {
    /** Whether F32 products may use TF32 tensor cores (system property {@code panomni.cuda.tf32}). */
    public static final boolean ALLOW_TF32 = Boolean.getBoolean("panomni.cuda.tf32");
    private static final CudaLayoutKernels LAYOUT = new CudaLayoutKernels();

    CudaLinalgKernels() {
    }

    @Override
    public void gemm(Tensor a, Tensor b, Tensor out, float alpha, float beta) {
        run(a, b, null, out, alpha, beta, true);
    }

    /**
     * {@link #gemm} for products whose shape changes from call to call (an expert's row count): a
     * shape's first product takes cuBLASLt's heuristic choice rather than timing candidates, which
     * would synchronize the stream for every new row count.
     */
    void gemmUntuned(Tensor a, Tensor b, Tensor out, float alpha, float beta) {
        run(a, b, null, out, alpha, beta, false);
    }

    /** BF16 and F16 products may be stored in F32 (cuBLASLt's C/D type CUDA_R_32F beside 16-bit A/B). */
    @Override
    public boolean storesF32(DType operands) {
        return operands == DType.F32 || operands == DType.BF16 || operands == DType.F16;
    }

    /**
     * {@code out[i] = a[i] @ b[i] + bias} for every batch index, the bias added to every row by
     * cuBLASLt's epilogue (what {@code Linalg.linear} computes, without a separate pass).
     *
     * @param a    [batch, M, K], row- or column-major matrices as for {@link #gemm}
     * @param b    [batch, K, N]
     * @param bias [N], contiguous, the dtype of {@code out}
     * @param out  [batch, M, N], contiguous
     */
    public void gemmBias(Tensor a, Tensor b, Tensor bias, Tensor out) {
        if (bias.rank() != 1 || bias.size(0) != out.size(2) || !bias.isContiguous() || bias.dtype() != out.dtype()) {
            throw new TensorOpException("gemmBias", "bias must be a contiguous [" + out.size(2) + "] " + out.dtype()
                    + " tensor for out " + Shapes.str(out.shape()) + ", got " + bias.describe());
        }
        run(a, b, bias, out, 1f, 0f, true);
    }

    private void run(Tensor a, Tensor b, Tensor bias, Tensor out, float alpha, float beta, boolean tune) {
        check(a, b, out);
        long batch = out.size(0);
        long m = out.size(1);
        long n = out.size(2);
        long k = a.size(2);
        if (batch * m * n == 0) {
            return;
        }
        CudaDevice device = CudaTensors.device(out);
        CudaStream stream = device.computeStream();
        if (k == 0) {
            // an empty sum: out = beta * out (+ bias)
            if (beta == 0f) {
                device.memsetBytes(CudaTensors.address(out), (byte) 0, out.numel() * out.dtype().byteSize(), stream);
            } else if (beta != 1f) {
                ArithLaunchers.affine(stream, out, beta, 0, out);
            }
            if (bias != null) {
                try (Scope s = Scope.open("gemmBias k=0")) {
                    ArithLaunchers.binaryStrided(stream, dev.panomni.tensor.ops.ArithKernels.BinaryOp.ADD, out,
                            bias.restrided(out.shape(), new long[] {0, 0, 1}, bias.offset()), out);
                }
            }
            return;
        }
        try {
            launch(stream, a, b, bias, out, alpha, beta, tune);
        } catch (NoGemmAlgorithmException e) {
            // Operands at an odd alignment (views at element offsets): run on aligned contiguous copies.
            try (Scope s = Scope.open("gemm realign")) {
                Tensor ca = fresh(a);
                Tensor cb = fresh(b);
                if (GemmShape.alignmentOf(CudaTensors.address(out)) >= 16) {
                    launch(stream, ca, cb, bias == null ? null : fresh(bias), out, alpha, beta, tune);
                } else {
                    Tensor co = fresh(out);
                    launch(stream, ca, cb, bias == null ? null : fresh(bias), co, alpha, beta, tune);
                    device.copyDeviceToDevice(CudaTensors.address(out), CudaTensors.address(co),
                            out.numel() * out.dtype().byteSize(), stream);
                }
            }
        }
    }

    private static void launch(CudaStream stream, Tensor a, Tensor b, Tensor bias, Tensor out, float alpha, float beta,
                               boolean tune) {
        long batch = out.size(0);
        long m = out.size(1);
        long n = out.size(2);
        long k = a.size(2);
        DType dt = a.dtype();
        // cuBLAS computes D (n x m, column-major, ld n) = op(A) op(B) with A := b and B := a.
        Matrix mb = Matrix.of("b", b);
        Matrix ma = Matrix.of("a", a);
        int computeType = dt == DType.F32 && ALLOW_TF32
                ? cublasComputeType_t.CUBLAS_COMPUTE_32F_FAST_TF32 : cublasComputeType_t.CUBLAS_COMPUTE_32F;
        long strideA = batch > 1 ? b.stride(0) : 0;
        long strideB = batch > 1 ? a.stride(0) : 0;
        long addrA = CudaTensors.address(b);
        long addrB = CudaTensors.address(a);
        long addrC = CudaTensors.address(out);
        GemmShape shape = new GemmShape(dataType(dt), dataType(out.dtype()), computeType,
                mb.rowMajor ? cublasOperation_t.CUBLAS_OP_N : cublasOperation_t.CUBLAS_OP_T,
                ma.rowMajor ? cublasOperation_t.CUBLAS_OP_N : cublasOperation_t.CUBLAS_OP_T,
                n, m, k, mb.ld, ma.ld, n, Math.toIntExact(batch), strideA, strideB, m * n, bias != null,
                GemmShape.alignmentOf(addrA), GemmShape.alignmentOf(addrB), GemmShape.alignmentOf(addrC));
        CublasLtGemm.of(stream.device()).matmul(stream, shape, addrA, addrB, addrC,
                bias == null ? 0 : CudaTensors.address(bias), alpha, beta, tune);
    }

    /** A contiguous copy in fresh (256-byte aligned) memory. */
    private static Tensor fresh(Tensor t) {
        Tensor c = Tensor.empty(t.dtype(), t.device(), t.shape());
        LAYOUT.copy(t, c);
        return c;
    }

    private static int dataType(DType dt) {
        return switch (dt) {
            case F32 -> dev.panomni.bindings.cublas.cudaDataType.CUDA_R_32F;
            case F16 -> dev.panomni.bindings.cublas.cudaDataType.CUDA_R_16F;
            case BF16 -> dev.panomni.bindings.cublas.cudaDataType.CUDA_R_16BF;
            default -> throw new TensorOpException("gemm", "the CUDA GEMM takes F32, F16 or BF16, got " + dt);
        };
    }

    private static void check(Tensor a, Tensor b, Tensor out) {
        if (a.rank() != 3 || b.rank() != 3 || out.rank() != 3) {
            throw new TensorOpException("gemm", "needs a [batch, M, K], b [batch, K, N], out [batch, M, N]; got a "
                    + Shapes.str(a.shape()) + ", b " + Shapes.str(b.shape()) + ", out " + Shapes.str(out.shape()));
        }
        if (a.size(0) != out.size(0) || b.size(0) != out.size(0) || a.size(1) != out.size(1)
                || b.size(2) != out.size(2) || a.size(2) != b.size(1)) {
            throw new TensorOpException("gemm", "shapes do not chain: a " + Shapes.str(a.shape()) + ", b "
                    + Shapes.str(b.shape()) + ", out " + Shapes.str(out.shape()));
        }
        if (a.dtype() != b.dtype() || (out.dtype() != a.dtype() && !(out.dtype() == DType.F32 && (a.dtype() == DType.BF16
                || a.dtype() == DType.F16)))) {
            throw new TensorOpException("gemm", "operands must share one dtype, and out have it too (or F32 for BF16 and "
                    + "F16 operands), got a " + a.dtype() + ", b " + b.dtype() + ", out " + out.dtype());
        }
        if (!out.isContiguous()) {
            throw new TensorOpException("gemm", "out must be contiguous, got " + out.describe());
        }
    }

    /**
     * One operand's matrices in BLAS form: row-major (unit column stride) or column-major (unit row
     * stride), with the leading dimension cuBLAS needs.
     */
    private record Matrix(boolean rowMajor, long ld) {
        static Matrix of(String name, Tensor t) {
            long rows = t.size(1);
            long cols = t.size(2);
            long rs = t.stride(1);
            long cs = t.stride(2);
            if (cs == 1 || cols == 1) {
                long ld = rows == 1 ? Math.max(Math.max(1, cols), rs) : rs;
                if (ld >= Math.max(1, cols) && (cs == 1 || cols == 1)) {
                    return new Matrix(true, ld);
                }
            }
            if (rs == 1 || rows == 1) {
                long ld = cols == 1 ? Math.max(Math.max(1, rows), cs) : cs;
                if (ld >= Math.max(1, rows)) {
                    return new Matrix(false, ld);
                }
            }
            throw new TensorOpException("gemm", "operand " + name + " " + t.describe() + " with strides "
                    + java.util.Arrays.toString(t.strides()) + " is neither row- nor column-major: make it contiguous");
        }
    }
}
