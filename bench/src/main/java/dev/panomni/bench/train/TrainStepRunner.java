package dev.panomni.bench.train;

import dev.panomni.kernels.runtime.CudaDevice;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.KernelProfile;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.CausalLmOutput;
import dev.panomni.modalities.text.model.PackedBatch;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.nn.optim.AdamW;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import dev.panomni.tensor.Scope;

import java.util.Locale;
import java.util.Random;

/**
 * One training step (forward, backward, AdamW) of one of the design brief's benchmark models on one
 * GPU, B4 S4096 packed as four documents, bf16 compute with fp32 optimizer state: tokens/s and peak
 * device memory. {@code --model qwen3} is the Qwen3-0.6B shape (28 layers, tied embeddings);
 * {@code --model qwen3_moe} the Qwen3-MoE shape (12 layers, 64 experts of 512, top-8 renormalized,
 * load-balancing loss 0.001, untied head). {@code --phases} also reports the mean device time of
 * forward, backward and optimizer (each phase ended by a synchronization, so the step is slightly
 * slower than without). With {@code -Dpanomni.cuda.profile=true} the timed steps also print device
 * time per kernel ({@link KernelProfile}). Compare with bench/scripts/torch_train_step.py run on the same GPU.
 *
 * <pre>java ... -cp panomni.jar:bench.jar dev.panomni.bench.train.TrainStepRunner [--model qwen3]
 *     [--batch 4] [--seq 4096] [--steps 6] [--warmup 2] [--layers N] [--phases]</pre>
 */
public final class TrainStepRunner {
    private TrainStepRunner() {
    }

    public static void main(String[] args) {
        int batch = 4;
        int seq = 4096;
        int steps = 6;
        int warmup = 2;
        int layers = -1;
        String family = "qwen3";
        boolean phases = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> family = args[++i];
                case "--phases" -> phases = true;
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (use --model --batch --seq --steps --warmup --layers --phases)");
            }
        }
        if (!CudaRuntime.isAvailable()) {
            System.err.println("TrainStepRunner: no CUDA device: " + CudaRuntime.unavailableReason());
            System.exit(2);
        }
        TextModelConfig cfg = BenchmarkModels.config(family, layers);
        layers = cfg.layers();
        Device cuda = Device.cuda(0);
        CudaDevice dev = CudaRuntime.device(cuda);
        try (CausalLm model = new CausalLm(cfg, 0)) {
            model.to(cuda);
            model.to(DType.BF16);
            AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.1);
            Random rng = new Random(0);
            long tokens = (long) batch * seq;
            double total = 0;
            double[] phaseTotal = new double[3];
            dev.synchronize();
            dev.resetPoolPeak();
            for (int s = 0; s < warmup + steps; s++) {
                if (s == warmup && KernelProfile.ENABLED) {
                    KernelProfile.reset();
                }
                long[][] docs = new long[batch][seq];
                for (long[] d : docs) {
                    for (int t = 0; t < seq; t++) {
                        d[t] = rng.nextInt(cfg.vocabSize());
                    }
                }
                long t0 = System.nanoTime();
                float loss;
                try (Scope step = Scope.open("step")) {
                    PackedBatch b = PackedBatch.of(docs).to(cuda);
                    long p0 = System.nanoTime();
                    CausalLmOutput out = model.loss(b);
                    long p1 = phases ? synced(dev) : 0;
                    out.loss().backward();
                    long p2 = phases ? synced(dev) : 0;
                    opt.step();
                    opt.zeroGrad();
                    long p3 = phases ? synced(dev) : 0;
                    if (phases && s >= warmup) {
                        phaseTotal[0] += (p1 - p0) / 1e9;
                        phaseTotal[1] += (p2 - p1) / 1e9;
                        phaseTotal[2] += (p3 - p2) / 1e9;
                    }
                    loss = out.loss().item();
                }
                dev.synchronize();
                double sec = (System.nanoTime() - t0) / 1e9;
                if (s >= warmup) {
                    total += sec;
                }
                System.out.printf(Locale.ROOT, "step %d: loss %.4f, %.3f s, %.0f tokens/s%n", s, loss, sec, tokens / sec);
            }
            if (phases) {
                System.out.printf(Locale.ROOT, "[train-step] phases (mean per step): forward %.1f ms, backward %.1f ms, "
                        + "optimizer %.1f ms%n", phaseTotal[0] * 1e3 / steps, phaseTotal[1] * 1e3 / steps,
                        phaseTotal[2] * 1e3 / steps);
            }
            if (KernelProfile.ENABLED) {
                KernelProfile.report(System.out, steps, 45);
            }
            System.out.printf(Locale.ROOT, "[train-step] panomni %s (%d layers, %.0fM parameters) B%d S%d bf16 on %s: "
                            + "%.0f tokens/s, peak %.1f GiB%n", family, layers, model.parameterCount() / 1e6, batch, seq,
                    dev.name(), tokens * steps / total, dev.poolUsedPeakBytes() / (double) (1L << 30));
        }
    }

    private static long synced(CudaDevice dev) {
        dev.synchronize();
        return System.nanoTime();
    }
}
