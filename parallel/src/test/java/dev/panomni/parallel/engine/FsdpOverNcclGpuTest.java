package dev.panomni.parallel.engine;

import dev.panomni.nn.optim.GradClip;
import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.comm.nccl.NcclTestSupport;
import dev.panomni.parallel.mesh.DeviceMesh;
import dev.panomni.parallel.mesh.MeshShape;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Layout;
import dev.panomni.tensor.testing.GradCheck;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's FSDP path on CUDA tensors through NCCL with one rank (every mesh group a real NCCL
 * communicator of one): gathers, recompute-on-backward, reduce-scatters and the clipping
 * all-reduce run on device buffers, and the gradients match the CPU single-device ones.
 */
@Tag("gpu")
class FsdpOverNcclGpuTest {
    /** fp32 on the GPU vs the CPU: GEMMs may sum in another order (and cuBLASLt may use TF32). */
    private static final double TOLERANCE = 2e-3;

    @Test
    void fsdpWithOneNcclRankMatchesTheCpuGradients() {
        NcclTestSupport.assumeNccl();
        Device cuda = Device.cuda(0);
        Map<String, float[]> ref = new LinkedHashMap<>();
        float refLoss;
        double refNorm;
        try (Scope s = Scope.open(); TinyStack m = new TinyStack(4)) {
            Tensor loss = m.loss(ParallelModelTest.input(0), TinyStack.Layer::forward);
            refLoss = loss.item();
            loss.backward();
            refNorm = GradClip.clipGradNorm(m.parameters(), 0.05);
            m.namedParameters().forEach((k, v) -> ref.put(k, v.grad().toFloatArray()));
        }
        try (Scope s = Scope.open();
             NcclCommunicator world = NcclCommunicator.create(0, 1, cuda, null, false, NcclOptions.defaults());
             DeviceMesh mesh = new DeviceMesh(new MeshShape(1, 1, 1, 1), world);
             TinyStack model = new TinyStack(4)) {
            model.to(cuda);
            try (ParallelModel engine = new ParallelModel(model, ParallelModelTest.PLAN, mesh, ParallelOptions.defaults())) {
                for (Tensor p : engine.parameters().values()) {
                    assertEquals(cuda, p.device(), "shards live on the GPU");
                }
                engine.beginStep();
                Tensor x = GradMode.noGrad(() -> Layout.toDevice(ParallelModelTest.input(0), cuda));
                Tensor loss = model.loss(x, ParallelModelTest.runner(engine));
                assertEquals(refLoss, loss.item(), TOLERANCE * Math.abs(refLoss));
                engine.backward(loss);
                double norm = engine.clipGradNorm(0.05);
                assertEquals(refNorm, norm, TOLERANCE * refNorm);
                Map<String, Tensor> grads = engine.gatherFullGradients();
                for (Map.Entry<String, float[]> e : ref.entrySet()) {
                    Tensor g = grads.get(e.getKey());
                    assertEquals(cuda, g.device());
                    float[] got = GradMode.noGrad(() -> Layout.toDevice(g, Device.CPU)).toFloatArray();
                    double err = GradCheck.relError(got, e.getValue());
                    System.err.println("FSDP over NCCL, " + e.getKey() + ": relative error " + err);
                    assertTrue(err < TOLERANCE, e.getKey() + " relative error " + err);
                }
            }
        }
    }
}
