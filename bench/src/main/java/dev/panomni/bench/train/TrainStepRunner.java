package dev.panomni.bench.train;

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

import java.util.Locale;
import java.util.Random;

/**
 * One training step (forward, backward, AdamW) of the design brief's Qwen3-0.6B-shaped model on one
 * GPU, B4 S4096 packed as four documents, bf16 compute with fp32 optimizer state: tokens/s and peak
 * device memory. Compare with bench/scripts/torch_train_step.py run on the same GPU.
 *
 * <pre>java ... -cp panomni.jar:bench.jar dev.panomni.bench.train.TrainStepRunner [--batch 4] [--seq 4096]
 *     [--steps 6] [--warmup 2] [--layers 28]</pre>
 */
public final class TrainStepRunner {
    private TrainStepRunner() {
    }

    public static void main(String[] args) {
        int batch = 4;
        int seq = 4096;
        int steps = 6;
        int warmup = 2;
        int layers = 28;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (use --batch --seq --steps --warmup --layers)");
            }
        }
        if (!CudaRuntime.isAvailable()) {
            System.err.println("TrainStepRunner: no CUDA device: " + CudaRuntime.unavailableReason());
            System.exit(2);
        }
        boolean[] moe = new boolean[layers];
        TextModelConfig cfg = new TextModelConfig("qwen3", 151_936, 1024, layers, 16, 8, 128, 3072, 1_000_000.0, null,
                1e-6, true, false, true, 0, 0, 0, false, 0.0, moe);
        Device cuda = Device.cuda(0);
        CudaDevice dev = CudaRuntime.device(cuda);
        try (CausalLm model = new CausalLm(cfg, 0)) {
            model.to(cuda);
            model.to(DType.BF16);
            AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.1);
            Random rng = new Random(0);
            long tokens = (long) batch * seq;
            double total = 0;
            dev.synchronize();
            dev.resetPoolPeak();
            for (int s = 0; s < warmup + steps; s++) {
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
                    CausalLmOutput out = model.loss(b);
                    out.loss().backward();
                    opt.step();
                    opt.zeroGrad();
                    loss = out.loss().item();
                }
                dev.synchronize();
                double sec = (System.nanoTime() - t0) / 1e9;
                if (s >= warmup) {
                    total += sec;
                }
                System.out.printf(Locale.ROOT, "step %d: loss %.4f, %.3f s, %.0f tokens/s%n", s, loss, sec, tokens / sec);
            }
            System.out.printf(Locale.ROOT, "[train-step] panomni Qwen3-0.6B-shaped (%d layers) B%d S%d bf16 on %s: "
                            + "%.0f tokens/s, peak %.1f GiB%n", layers, batch, seq, dev.name(), tokens * steps / total,
                    dev.poolUsedPeakBytes() / (double) (1L << 30));
        }
    }
}
