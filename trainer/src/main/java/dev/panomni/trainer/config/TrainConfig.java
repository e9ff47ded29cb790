package dev.panomni.trainer.config;

import java.util.List;

/**
 * {@code train:} the optimization.
 *
 * @param steps                   optimizer steps to run
 * @param microBatchSize          sequences per micro-batch (when {@code data.max_tokens_per_batch} is null)
 * @param gradAccum               micro-batches accumulated into one optimizer step
 * @param lr                      peak learning rate
 * @param schedule                decay after warmup
 * @param warmupSteps             steps of linear warmup from 0 to {@code lr}
 * @param minLrRatio              the decayed learning rate's floor, as a fraction of {@code lr}
 * @param weightDecay             AdamW decoupled weight decay (never applied to norm weights and biases)
 * @param decayEmbeddings         whether the token embedding (and a tied output head) is decayed too
 * @param betas                   AdamW (beta1, beta2)
 * @param eps                     AdamW epsilon
 * @param clipGrad                global gradient-norm clip (0 disables clipping)
 * @param seed                    seed of initialization, dropout and (unless {@code data.seed}) data order
 * @param device                  cpu, cuda or auto (cuda when a GPU is present)
 * @param precision               compute format: auto (BF16 on CUDA, FP32 on the CPU), fp32, or bf16
 *                                with FP32 master weights in the optimizer
 * @param activationCheckpointing recompute each layer's activations in backward instead of keeping them
 * @param evalEvery               steps between validation-loss evaluations (0: never)
 * @param evalBatches             micro-batches of the validation split per evaluation
 * @param onNonFinite             a NaN or infinite loss or gradient stops the run or skips the step
 */
public record TrainConfig(
        int steps,
        int microBatchSize,
        int gradAccum,
        double lr,
        ScheduleKind schedule,
        int warmupSteps,
        double minLrRatio,
        double weightDecay,
        boolean decayEmbeddings,
        List<Double> betas,
        double eps,
        double clipGrad,
        long seed,
        DeviceChoice device,
        ComputePrecision precision,
        boolean activationCheckpointing,
        int evalEvery,
        int evalBatches,
        OnNonFinite onNonFinite) {

    public TrainConfig {
        betas = betas == null ? null : List.copyOf(betas);
    }

    public static TrainConfig defaults() {
        return new TrainConfig(1000, 8, 1, 3e-4, ScheduleKind.COSINE, 100, 0.1, 0.1, true, List.of(0.9, 0.95), 1e-8, 1.0,
                1234, DeviceChoice.AUTO, ComputePrecision.AUTO, false, 100, 20, OnNonFinite.STOP);
    }

    public double beta1() {
        return betas.get(0);
    }

    public double beta2() {
        return betas.get(1);
    }
}
