package dev.panomni.kernels;

import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.CountingSort;
import dev.panomni.tensor.ops.GroupedRows;
import dev.panomni.tensor.ops.Reductions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.panomni.kernels.CudaTestSupport.CUDA;

/**
 * The grouped-rows pair on the GPU (grouped_rows.cu and index-select) against the CPU backend, forward
 * and backward, on a routing with missing choices, in F32 and BF16, with vector and odd widths.
 */
@Tag("gpu")
class CudaGroupedRowsGpuTest {

    @BeforeEach
    void requireGpu() {
        CudaTestSupport.assumeGpu();
    }

    @Test
    void matchesTheCpuForwardAndBackward() {
        Random rnd = new Random(9);
        int tokens = 1000;
        int k = 4;
        for (int width : new int[] {256, 37}) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                long[] keys = new long[tokens * k];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = rnd.nextInt(16);
                }
                float[] x = new float[tokens * width];
                float[] up = new float[tokens * width];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                    up[i] = (float) rnd.nextGaussian();
                }
                float[][] outs = new float[2][];
                float[][] grads = new float[2][];
                for (Device dev : new Device[] {Device.CPU, CUDA}) {
                    try (Scope s = Scope.open("grouped rows gpu")) {
                        CountingSort.Result r = CountingSort.sort(Tensor.ofLongs(keys, tokens, k).to(dev), 4, 8);
                        Tensor a = Tensor.of(x, tokens, width).to(dev).to(dt).requiresGrad(true);
                        Tensor rows = GroupedRows.select(a, r.row(), r.slot());
                        Tensor y = GroupedRows.sum(Arith.mulScalar(rows, 0.5), r.slot(), r.row());
                        Reductions.sumAll(Arith.mul(y.to(DType.F32), Tensor.of(up, tokens, width).to(dev))).backward();
                        int i = dev == Device.CPU ? 0 : 1;
                        outs[i] = y.to(DType.F32).to(Device.CPU).toFloatArray();
                        grads[i] = a.grad().to(DType.F32).to(Device.CPU).toFloatArray();
                    }
                }
                double tol = dt == DType.F32 ? 1e-5 : 2e-2;
                String what = dt + " width " + width;
                CudaTestSupport.assertClose(Tensor.of(outs[1], outs[1].length), Tensor.of(outs[0], outs[0].length), tol,
                        what + " forward");
                CudaTestSupport.assertClose(Tensor.of(grads[1], grads[1].length), Tensor.of(grads[0], grads[0].length),
                        tol, what + " backward");
            }
        }
    }
}
