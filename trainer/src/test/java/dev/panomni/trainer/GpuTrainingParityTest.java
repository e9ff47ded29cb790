package dev.panomni.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tiny Qwen3-shaped transformer trains 50 AdamW steps on the GPU and on the CPU from the same
 * seed (the model is built on the CPU and copied to the GPU, so both start from the same weights)
 * on the same packed batches; the loss curves must agree step by step: within 2e-2 relative when
 * the GPU computes in BF16 (BF16 parameters, FP32 master weights and optimizer state), within 1e-3
 * for an FP32 GPU run (kernels differ from the CPU only in summation order; 50 steps of training
 * amplify that a little). Every step must also keep tensor data on the device: the host-device
 * traffic of a step (the batch upload excepted) is bounded by a few control values (label count,
 * index checks) and the optimizer's pointer tables, far below the smallest weight or activation.
 *
 * <p>Head dim 64, so BF16 attention runs the tensor-core flash kernels; four documents of unequal
 * length per batch, so attention sees packed variable-length sequences. The data are a noisy
 * cycle (next token = 5 * previous + 3 mod V with probability 3/4), so the loss falls but stays
 * well above zero, where a relative comparison means something.
 */
@Tag("gpu")
class GpuTrainingParityTest {
    private static final Device CUDA = Device.cuda(0);
    private static final int STEPS = 50;
    private static final int VOCAB = 128;
    private static final long SEED = 2026;
    private static final double LR = 3e-3;
    private static final double WEIGHT_DECAY = 0.1;
    private static final int[] DOC_LENGTHS = {61, 96, 47, 83};
    /** Bytes a step may move device-to-host: label check, index checks (a few words). */
    private static final long MAX_TO_HOST = 4096;
    /** Bytes a step may move host-to-device: pointer tables; the smallest weight matrix is 32 KiB in BF16. */
    private static final long MAX_TO_DEVICE = 16384;

    private static double[] cpuLosses;

    static TextModelConfig config() throws Exception {
        return TextModelConfig.parse(new ObjectMapper().readTree("""
                {"model_type":"qwen3","vocab_size":128,"hidden_size":128,"num_hidden_layers":2,
                 "num_attention_heads":4,"num_key_value_heads":2,"head_dim":64,"intermediate_size":256,
                 "rope_theta":10000,"rms_norm_eps":1e-6}"""), "gpu parity");
    }

    /** The packed batch of one step: the same on both devices. */
    static PackedBatch batch(int step) {
        SplittableRandom r = new SplittableRandom(1000 + step);
        long[][] docs = new long[DOC_LENGTHS.length][];
        for (int d = 0; d < docs.length; d++) {
            long[] doc = new long[DOC_LENGTHS[d]];
            doc[0] = r.nextInt(VOCAB);
            for (int i = 1; i < doc.length; i++) {
                doc[i] = r.nextDouble() < 0.75 ? (doc[i - 1] * 5 + 3) % VOCAB : r.nextInt(VOCAB);
            }
            docs[d] = doc;
        }
        return PackedBatch.of(docs);
    }

    @BeforeAll
    static void cpuCurve() throws Exception {
        if (!CudaRuntime.isAvailable()) {
            return;
        }
        cpuLosses = train(Device.CPU, DType.F32);
    }

    private static void requireGpu() {
        if (!CudaRuntime.isAvailable()) {
            String reason = "no usable GPU: " + CudaRuntime.unavailableReason();
            System.err.println("SKIPPED GPU test: " + reason);
            Assumptions.abort(reason);
        }
    }

    /** Loss of every step of a 50-step run on {@code device} with parameters of {@code dtype}. */
    private static double[] train(Device device, DType dtype) throws Exception {
        double[] losses = new double[STEPS];
        CudaDevice gpu = device.equals(Device.CPU) ? null : CudaRuntime.device(device);
        try (CausalLm model = new CausalLm(config(), SEED); Scope scope = Scope.open("parity run")) {
            if (gpu != null) {
                model.to(device);
            }
            if (dtype != DType.F32) {
                model.to(dtype);
            }
            try (AdamW opt = new AdamW(model.namedParameters(), LR, WEIGHT_DECAY)) {
                for (int step = 0; step < STEPS; step++) {
                    try (Scope st = Scope.open("step")) {
                        PackedBatch b = batch(step);
                        if (gpu != null) {
                            b = b.to(device);
                        }
                        long[] before = gpu == null ? null : gpu.hostTransfers();
                        CausalLmOutput out = model.loss(b);
                        out.loss().backward();
                        opt.step();
                        opt.zeroGrad();
                        if (gpu != null) {
                            long[] after = gpu.hostTransfers();
                            long toDevice = after[1] - before[1];
                            long toHost = after[3] - before[3];
                            if (step < 2) {
                                System.err.printf(Locale.ROOT, "parity %s step %d: %d copies / %d bytes to the device, "
                                        + "%d copies / %d bytes to the host%n", dtype, step, after[0] - before[0],
                                        toDevice, after[2] - before[2], toHost);
                            }
                            assertTrue(toHost <= MAX_TO_HOST, dtype + " step " + step + " moved " + toHost
                                    + " bytes to the host: some op copies tensor data through the host");
                            assertTrue(toDevice <= MAX_TO_DEVICE, dtype + " step " + step + " moved " + toDevice
                                    + " bytes to the device: some op copies tensor data through the host");
                        }
                        losses[step] = out.loss().item();
                    }
                }
            }
        }
        return losses;
    }

    private static void compare(DType dtype, double tolerance) throws Exception {
        requireGpu();
        double[] gpu = train(CUDA, dtype);
        double worst = 0;
        StringBuilder curve = new StringBuilder();
        for (int i = 0; i < STEPS; i++) {
            double rel = Math.abs(gpu[i] - cpuLosses[i]) / Math.abs(cpuLosses[i]);
            worst = Math.max(worst, rel);
            if (i % 10 == 0 || i == STEPS - 1) {
                curve.append(String.format(Locale.ROOT, " %d: %.5f/%.5f", i, gpu[i], cpuLosses[i]));
            }
        }
        System.err.printf(Locale.ROOT, "parity %s: worst relative loss difference %.3e over %d steps; gpu/cpu%s%n",
                dtype, worst, STEPS, curve);
        for (int i = 0; i < STEPS; i++) {
            double rel = Math.abs(gpu[i] - cpuLosses[i]) / Math.abs(cpuLosses[i]);
            assertTrue(rel < tolerance, String.format(Locale.ROOT, "%s step %d: GPU loss %.6f vs CPU %.6f, relative "
                    + "difference %.3e exceeds %.0e", dtype, i, gpu[i], cpuLosses[i], rel, tolerance));
        }
        // It learned: the curves are not merely equal but falling.
        assertTrue(cpuLosses[STEPS - 1] < cpuLosses[0] - 0.5, "CPU loss fell from " + cpuLosses[0] + " to "
                + cpuLosses[STEPS - 1]);
        assertEquals(Math.log(VOCAB), cpuLosses[0], 0.5, "starts near ln(V)");
    }

    @Test
    void bf16GpuLossCurveFollowsTheCpu() throws Exception {
        compare(DType.BF16, 2e-2);
    }

    @Test
    void fp32GpuLossCurveFollowsTheCpu() throws Exception {
        compare(DType.F32, 1e-3);
    }
}
