package dev.panomni.tensor.ops;

import dev.panomni.tensor.BFloat16;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Shapes;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.TensorOpException;
import dev.panomni.tensor.cpu.CpuParallel;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReductionsTest {
    /** Naive float64 sum (or mean) of x (row-major, shape) over the flagged dims; output in row-major order. */
    static double[] naiveSum(double[] x, long[] shape, boolean[] reduce, boolean mean) {
        long[] outShape = shape.clone();
        long count = 1;
        for (int d = 0; d < shape.length; d++) {
            if (reduce[d]) {
                outShape[d] = 1;
                count *= shape[d];
            }
        }
        double[] out = new double[(int) Shapes.numel(outShape)];
        long[] idx = new long[shape.length];
        for (int i = 0; i < x.length; i++) {
            long rem = i;
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            long o = 0;
            for (int d = 0; d < shape.length; d++) {
                o = o * outShape[d] + (reduce[d] ? 0 : idx[d]);
            }
            out[(int) o] += x[i];
        }
        if (mean) {
            for (int i = 0; i < out.length; i++) {
                out[i] /= count;
            }
        }
        return out;
    }

    static boolean[] flags(int rank, int... dims) {
        boolean[] f = new boolean[rank];
        for (int d : dims) {
            f[d < 0 ? d + rank : d] = true;
        }
        return f;
    }

    @Test
    void sumAndMeanOverAnyDimsMatchReferenceAndFiniteDifferences() {
        Object[][] cases = {
            {new long[] {3, 5, 7}, new int[] {0}},
            {new long[] {3, 5, 7}, new int[] {1}},
            {new long[] {3, 5, 7}, new int[] {-1}},
            {new long[] {3, 5, 7}, new int[] {0, 2}},
            {new long[] {3, 5, 7}, new int[] {1, 2}},
            {new long[] {3, 5, 7}, new int[] {2, 0, 1}},
            {new long[] {3, 5, 7}, new int[] {}},
            {new long[] {2, 3, 4, 5}, new int[] {1, 3}},
            {new long[] {2, 3, 4, 5}, new int[] {0, 2}},
            {new long[] {3, 1, 5}, new int[] {1}},
            {new long[] {1, 19}, new int[] {0}},
            {new long[] {37}, new int[] {0}},
        };
        int seed = 10;
        for (Object[] c : cases) {
            long[] shape = (long[]) c[0];
            int[] dims = (int[]) c[1];
            boolean[] red = flags(shape.length, dims);
            for (boolean keep : new boolean[] {false, true}) {
                String what = Arrays.toString(shape) + " dims " + Arrays.toString(dims) + " keepDim " + keep;
                GradCheck.check("sum " + what, t -> {
                    Tensor y = Reductions.sum(t[0], dims, keep);
                    assertArrayEquals(expectedShape(shape, red, keep), y.shape(), what);
                    return y;
                }, in -> naiveSum(in[0], shape, red, false), new long[][] {shape}, seed++);
                GradCheck.check("mean " + what, t -> Reductions.mean(t[0], dims, keep),
                        in -> naiveSum(in[0], shape, red, true), new long[][] {shape}, seed++);
            }
        }
    }

    private static long[] expectedShape(long[] shape, boolean[] red, boolean keep) {
        return keep ? java.util.stream.IntStream.range(0, shape.length).mapToLong(d -> red[d] ? 1 : shape[d]).toArray()
                : java.util.stream.IntStream.range(0, shape.length).filter(d -> !red[d]).mapToLong(d -> shape[d]).toArray();
    }

    @Test
    void sumAllAndMeanAllGiveZeroDimResults() {
        long[] shape = {5, 7};
        GradCheck.check("sumAll", t -> {
            Tensor y = Reductions.sumAll(t[0]);
            assertEquals(0, y.rank());
            return y;
        }, in -> naiveSum(in[0], shape, flags(2, 0, 1), false), new long[][] {shape}, 1);
        GradCheck.check("meanAll", t -> Reductions.meanAll(t[0].transpose(0, 1)),
                in -> naiveSum(in[0], shape, flags(2, 0, 1), true), new long[][] {shape}, 2);
        GradCheck.check("sumAll of a scalar", t -> Reductions.sumAll(t[0]), in -> new double[] {in[0][0]},
                new long[][] {{}}, 3);
    }

    @Test
    void longReductionsAreAccurateAndSplitIndependently() {
        // Sizes that make the kernel cut each reduction into several pieces (more than 2^15 elements each).
        Object[][] cases = {
            {new long[] {100_003}, new int[] {0}},
            {new long[] {3, 70_001}, new int[] {1}},
            {new long[] {40_001, 3}, new int[] {0}},
            {new long[] {301, 5, 303}, new int[] {0, 2}},
            {new long[] {2, 20_011, 5}, new int[] {1}},
        };
        Random rng = new Random(42);
        for (Object[] c : cases) {
            long[] shape = (long[]) c[0];
            int[] dims = (int[]) c[1];
            String what = Arrays.toString(shape) + " dims " + Arrays.toString(dims);
            try (Scope s = Scope.open()) {
                float[] v = new float[(int) Shapes.numel(shape)];
                double[] dv = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    // a large common offset: float accumulation would lose ~1e-3 relative here
                    v[i] = 100f + rng.nextFloat();
                    dv[i] = v[i];
                }
                Tensor x = Tensor.of(v, shape);
                float[] got = Reductions.sum(x, dims, false).toFloatArray();
                double[] ref = naiveSum(dv, shape, flags(shape.length, dims), false);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(ref[i], got[i], Math.abs(ref[i]) * 1.2e-7, what + " element " + i);
                }
                assertArrayEquals(got, Reductions.sum(x, dims, false).toFloatArray(), what + ": second run differs");
                assertArrayEquals(got, singleThreaded(() -> Reductions.sum(x, dims, false).toFloatArray()),
                        what + ": single-threaded run differs");
            }
        }
    }

    /** Runs {@code body} on a worker of the CPU pool, where nested kernels run inline on one thread. */
    static float[] singleThreaded(java.util.function.Supplier<float[]> body) {
        AtomicReference<float[]> out = new AtomicReference<>();
        AtomicReference<RuntimeException> error = new AtomicReference<>();
        CpuParallel.forRange(CpuParallel.threads() == 1 ? 1 : 2, 1, (s, e) -> {
            if (s != 0) {
                return;
            }
            try (Scope scope = Scope.open("singleThreaded")) {
                out.set(body.get());
            } catch (RuntimeException ex) {
                error.set(ex);
            }
        });
        if (error.get() != null) {
            throw error.get();
        }
        return out.get();
    }

    @Test
    void emptyReductions() {
        try (Scope s = Scope.open()) {
            Tensor empty = Tensor.zeros(3, 0);
            assertArrayEquals(new float[] {0, 0, 0}, Reductions.sum(empty, new int[] {1}, false).toFloatArray());
            float[] mean = Reductions.mean(empty, new int[] {1}, false).toFloatArray();
            assertTrue(Float.isNaN(mean[0]), "mean over no elements is NaN");
            assertEquals(0f, Reductions.sumAll(empty).item());
            assertArrayEquals(new long[] {0}, Reductions.sum(empty, new int[] {0}, false).shape());
        }
    }

    @Test
    void maxAndArgmaxMatchReferenceAndRouteGradientToTheMaximum() {
        long[] shape = {5, 7, 9};
        for (int dim : new int[] {0, 1, 2, -1}) {
            int d = dim < 0 ? dim + 3 : dim;
            for (boolean keep : new boolean[] {false, true}) {
                GradCheck.check("max dim " + dim + " keep " + keep, t -> Reductions.max(t[0], dim, keep),
                        in -> naiveMax(in[0], shape, d, false), new long[][] {shape}, 20 + d);
                try (Scope s = Scope.open()) {
                    Random rng = new Random(30 + d);
                    float[] v = GradCheck.random(rng, Shapes.numel(shape));
                    double[] dv = new double[v.length];
                    for (int i = 0; i < v.length; i++) {
                        dv[i] = v[i];
                    }
                    Tensor idx = Reductions.argmax(Tensor.of(v, shape), dim, keep);
                    assertEquals(DType.I64, idx.dtype());
                    assertEquals(keep ? 3 : 2, idx.rank());
                    double[] ref = naiveMax(dv, shape, d, true);
                    long[] got = idx.toLongArray();
                    for (int i = 0; i < got.length; i++) {
                        assertEquals((long) ref[i], got[i], "argmax dim " + dim + " at " + i);
                    }
                }
            }
        }
    }

    /** Max (or, with {@code index}, argmax) over dim d, first occurrence. */
    static double[] naiveMax(double[] x, long[] shape, int d, boolean index) {
        long inner = 1;
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        long n = shape[d];
        long outer = x.length / (n * inner);
        double[] out = new double[(int) (outer * inner)];
        for (long o = 0; o < outer; o++) {
            for (long i = 0; i < inner; i++) {
                double best = Double.NEGATIVE_INFINITY;
                long at = -1;
                for (long r = 0; r < n; r++) {
                    double v = x[(int) ((o * n + r) * inner + i)];
                    if (v > best) {
                        best = v;
                        at = r;
                    }
                }
                out[(int) (o * inner + i)] = index ? at : best;
            }
        }
        return out;
    }

    @Test
    void tiesGoToTheFirstMaximumAndNaNIsTheMaximum() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 3, 3, 2, /* */ 4, 4, 0, 4}, 2, 4).requiresGrad(true);
            Tensor m = Reductions.max(x, 1, false);
            assertArrayEquals(new float[] {3, 4}, m.toFloatArray());
            assertArrayEquals(new long[] {1, 0}, Reductions.argmax(x, 1, false).toLongArray());
            m.backward(Tensor.of(new float[] {10, 20}, 2));
            assertArrayEquals(new float[] {0, 10, 0, 0, 20, 0, 0, 0}, x.grad().toFloatArray());
            // the strided kernel (reduced dim not last) follows the same rules
            Tensor xt = Tensor.of(new float[] {1, 4, 3, 4, 3, 0, 2, 4}, 4, 2);
            assertArrayEquals(new long[] {1, 0}, Reductions.argmax(xt, 0, false).toLongArray());

            Tensor withNaN = Tensor.of(new float[] {1, Float.NaN, 5, Float.NaN}, 4);
            assertTrue(Float.isNaN(Reductions.max(withNaN, 0, false).item()));
            assertArrayEquals(new long[] {1}, Reductions.argmax(withNaN, 0, true).toLongArray());
            Tensor nanCols = Tensor.of(new float[] {1, 2, Float.NaN, 0, 5, Float.NaN}, 3, 2);
            assertArrayEquals(new long[] {1, 2}, Reductions.argmax(nanCols, 0, false).toLongArray());
            assertFalse(Reductions.argmax(x, 1, false).requiresGrad());
        }
    }

    @Test
    void bf16InputsComputeInF32AndRoundOnce() {
        try (Scope s = Scope.open()) {
            Random rng = new Random(8);
            Tensor x = Tensor.of(GradCheck.random(rng, 3 * 41), 3, 41).to(DType.BF16);
            float[] wide = x.toFloatArray();
            Tensor sum = Reductions.sum(x, new int[] {1}, false);
            Tensor mean = Reductions.mean(x, new int[] {1}, true);
            Tensor max = Reductions.max(x, 1, false);
            assertEquals(DType.BF16, sum.dtype());
            assertEquals(DType.BF16, mean.dtype());
            assertEquals(DType.BF16, max.dtype());
            float[] s1 = sum.toFloatArray();
            float[] m1 = mean.toFloatArray();
            float[] x1 = max.toFloatArray();
            for (int r = 0; r < 3; r++) {
                double acc = 0;
                float best = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < 41; c++) {
                    acc += wide[r * 41 + c];
                    best = Math.max(best, wide[r * 41 + c]);
                }
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat((float) acc)), s1[r], 0f);
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat((float) (acc / 41))), m1[r], 0f);
                assertEquals(best, x1[r], 0f);
            }
            Tensor xg = x.detach().requiresGrad(true);
            Reductions.sum(xg, new int[] {0}, false).backward(Tensor.ones(DType.BF16, xg.device(), 41));
            assertEquals(DType.BF16, xg.grad().dtype());
            assertArrayEquals(Tensor.ones(3, 41).toFloatArray(), xg.grad().toFloatArray());
        }
    }

    @Test
    void badInputsNameTheOpAndShape() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(2, 3);
            TensorOpException e = assertThrows(TensorOpException.class, () -> Reductions.sum(x, new int[] {2}, false));
            assertTrue(e.getMessage().startsWith("sum:") && e.getMessage().contains("dim 2")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Reductions.mean(x, new int[] {1, -1}, false));
            assertTrue(e.getMessage().startsWith("mean:") && e.getMessage().contains("twice")
                    && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Reductions.max(x, -3, false));
            assertTrue(e.getMessage().startsWith("max:") && e.getMessage().contains("[2, 3]"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Reductions.argmax(Tensor.zeros(4, 0), 1, false));
            assertTrue(e.getMessage().startsWith("argmax:") && e.getMessage().contains("[4, 0]")
                    && e.getMessage().contains("empty"), e.getMessage());
            e = assertThrows(TensorOpException.class, () -> Reductions.sum(x, null, false));
            assertTrue(e.getMessage().startsWith("sum:") && e.getMessage().contains("[2, 3]"), e.getMessage());
            Tensor ids = Tensor.ofLongs(new long[] {1, 2}, 2);
            e = assertThrows(TensorOpException.class, () -> Reductions.sumAll(ids));
            assertTrue(e.getMessage().startsWith("sumAll:") && e.getMessage().contains("I64"), e.getMessage());
        }
    }
}
