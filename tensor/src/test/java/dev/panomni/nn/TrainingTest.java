package dev.panomni.nn;

import dev.panomni.nn.optim.AdamW;
import dev.panomni.nn.optim.GradClip;
import dev.panomni.nn.optim.LrSchedule;
import dev.panomni.nn.optim.ParamGroup;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.Checkpoint;
import dev.panomni.tensor.ops.Activations;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Attention;
import dev.panomni.tensor.ops.AttentionOptions;
import dev.panomni.tensor.ops.Losses;
import dev.panomni.tensor.ops.Reduction;
import dev.panomni.tensor.ops.Reductions;
import dev.panomni.tensor.ops.Rotary;
import dev.panomni.tensor.ops.UnaryMath;
import dev.panomni.tensor.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End-to-end training on the CPU backend: modules, autograd through every op family, clipping,
 * schedules and AdamW together. Each model must bring its loss under a stated threshold within a
 * fixed number of steps (a few seconds of CPU time).
 */
class TrainingTest {
    /** Two-layer perceptron: Linear, SiLU, Linear. */
    static final class Mlp extends Module {
        final Linear fc1;
        final Linear fc2;

        Mlp(long in, long hidden, long out, Generator gen) {
            fc1 = registerModule("fc1", new Linear(in, hidden, true, gen));
            fc2 = registerModule("fc2", new Linear(hidden, out, true, gen));
        }

        Tensor forward(Tensor x) {
            return fc2.forward(UnaryMath.silu(fc1.forward(x)));
        }
    }

    /** 256 points of y = 0.5 sin(2a) + b^2 - 0.3 on [-1, 1]^2 (variance about 0.24): {xs [n, 2], ys [n]}. */
    static float[][] regressionData(int n) {
        Random rng = new Random(1);
        float[] xs = new float[n * 2];
        float[] ys = new float[n];
        for (int i = 0; i < n; i++) {
            float a = rng.nextFloat() * 2 - 1;
            float b = rng.nextFloat() * 2 - 1;
            xs[2 * i] = a;
            xs[2 * i + 1] = b;
            ys[i] = (float) (Math.sin(2 * a) * 0.5 + b * b - 0.3);
        }
        return new float[][] {xs, ys};
    }

    static Tensor mse(Mlp mlp, Tensor x, Tensor y) {
        return Reductions.meanAll(UnaryMath.square(Arith.sub(mlp.forward(x), y)));
    }

    @Test
    void mlpRegressesASmoothFunction() {
        int n = 256;
        float[][] data = regressionData(n);
        int steps = 300;
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 10, steps, 0.1);
        try (Mlp mlp = new Mlp(2, 64, 1, new Generator(7)); Scope run = Scope.open("run")) {
            Tensor x = Tensor.of(data[0], n, 2);
            Tensor y = Tensor.of(data[1], n, 1);
            try (AdamW opt = new AdamW(ParamGroup.decayMatricesOnly(mlp.namedParameters(), 1e-2, 1e-4), 0.9, 0.99, 1e-8)) {
                float first = Float.NaN;
                float last = Float.NaN;
                for (int step = 0; step < steps; step++) {
                    try (Scope s = Scope.open("step")) {
                        Tensor loss = mse(mlp, x, y);
                        loss.backward();
                        double norm = GradClip.clipGradNorm(mlp.parameters(), 1.0);
                        assertTrue(Double.isFinite(norm));
                        opt.setLrMultiplier(schedule.multiplierAt(step));
                        opt.step();
                        opt.zeroGrad();
                        last = loss.item();
                        if (step == 0) {
                            first = last;
                        }
                    }
                }
                System.out.printf("mlp regression: MSE %.5f -> %.5f in %d steps%n", first, last, steps);
                assertTrue(first > 0.1, "initial MSE " + first);
                // Below 0.01 the net explains over 95% of the target's variance.
                assertTrue(last < 0.01, "MSE after " + steps + " steps: " + last + " (started at " + first + ")");
            }
        }
    }

    /**
     * The whole stack (Linear, silu, sub, square, meanAll, their backwards, AdamW) follows a plain
     * float64 implementation of the same network and optimizer, step by step.
     */
    @Test
    void mlpTrainingFollowsAFloat64Reference() {
        int n = 64;
        int hidden = 16;
        int steps = 60;
        float[][] data = regressionData(n);
        float[] xs = data[0];
        float[] ys = data[1];
        try (Mlp mlp = new Mlp(2, hidden, 1, new Generator(7)); Scope run = Scope.open("run")) {
            double[][] p = new double[4][];
            List<Tensor> params = mlp.parameters();
            for (int k = 0; k < 4; k++) {
                float[] f = params.get(k).toFloatArray();
                p[k] = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    p[k][i] = f[i];
                }
            }
            double[][] m = new double[4][];
            double[][] v = new double[4][];
            for (int k = 0; k < 4; k++) {
                m[k] = new double[p[k].length];
                v[k] = new double[p[k].length];
            }
            Tensor x = Tensor.of(xs, n, 2);
            Tensor y = Tensor.of(ys, n, 1);
            double lr = 1e-2;
            try (AdamW opt = new AdamW(List.of(ParamGroup.of(mlp.namedParameters(), lr, 0.0)), 0.9, 0.99, 1e-8)) {
                for (int step = 1; step <= steps; step++) {
                    // Reference: parameters p = {fc1.weight [h, 2], fc1.bias [h], fc2.weight [1, h], fc2.bias [1]}.
                    double[][] g = new double[4][];
                    for (int k = 0; k < 4; k++) {
                        g[k] = new double[p[k].length];
                    }
                    double loss = 0;
                    for (int r = 0; r < n; r++) {
                        double[] pre = new double[hidden];
                        double out = p[3][0];
                        for (int j = 0; j < hidden; j++) {
                            pre[j] = p[1][j] + p[0][2 * j] * xs[2 * r] + p[0][2 * j + 1] * xs[2 * r + 1];
                            out += p[2][j] * pre[j] / (1 + Math.exp(-pre[j]));
                        }
                        double dOut = 2 * (out - ys[r]) / n;
                        loss += (out - ys[r]) * (out - ys[r]) / n;
                        g[3][0] += dOut;
                        for (int j = 0; j < hidden; j++) {
                            double sg = 1 / (1 + Math.exp(-pre[j]));
                            g[2][j] += dOut * pre[j] * sg;
                            double dPre = dOut * p[2][j] * (sg + pre[j] * sg * (1 - sg));
                            g[1][j] += dPre;
                            g[0][2 * j] += dPre * xs[2 * r];
                            g[0][2 * j + 1] += dPre * xs[2 * r + 1];
                        }
                    }
                    for (int k = 0; k < 4; k++) {
                        for (int i = 0; i < p[k].length; i++) {
                            m[k][i] = 0.9 * m[k][i] + 0.1 * g[k][i];
                            v[k][i] = 0.99 * v[k][i] + 0.01 * g[k][i] * g[k][i];
                            p[k][i] -= lr / (1 - Math.pow(0.9, step)) * m[k][i]
                                    / (Math.sqrt(v[k][i]) / Math.sqrt(1 - Math.pow(0.99, step)) + 1e-8);
                        }
                    }
                    float ours;
                    try (Scope s = Scope.open("step")) {
                        Tensor l = mse(mlp, x, y);
                        l.backward();
                        opt.step();
                        opt.zeroGrad();
                        ours = l.item();
                    }
                    assertEquals(loss, ours, 1e-4 * loss, "loss at step " + step);
                }
                for (int k = 0; k < 4; k++) {
                    float[] got = params.get(k).toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(p[k][i], got[i], 1e-3 * Math.max(1, Math.abs(p[k][i])), "parameter " + k + "[" + i + "]");
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ a tiny transformer

    /** Pre-norm block: RMSNorm, causal attention with RoPE, residual; RMSNorm, SwiGLU MLP, residual. */
    static final class Block extends Module {
        final RMSNorm attnNorm;
        final Linear q;
        final Linear k;
        final Linear v;
        final Linear o;
        final RMSNorm mlpNorm;
        final Linear gate;
        final Linear up;
        final Linear down;
        final int heads;
        final long headDim;

        Block(long dim, int heads, long hidden, Generator gen) {
            this.heads = heads;
            this.headDim = dim / heads;
            attnNorm = registerModule("input_layernorm", new RMSNorm(dim, 1e-6));
            q = registerModule("q_proj", new Linear(dim, dim, false, gen, 0.1));
            k = registerModule("k_proj", new Linear(dim, dim, false, gen, 0.1));
            v = registerModule("v_proj", new Linear(dim, dim, false, gen, 0.1));
            o = registerModule("o_proj", new Linear(dim, dim, false, gen, 0.1));
            mlpNorm = registerModule("post_attention_layernorm", new RMSNorm(dim, 1e-6));
            gate = registerModule("gate_proj", new Linear(dim, hidden, false, gen, 0.1));
            up = registerModule("up_proj", new Linear(dim, hidden, false, gen, 0.1));
            down = registerModule("down_proj", new Linear(hidden, dim, false, gen, 0.1));
        }

        /** x [B, T, dim], positions I64 [T]. */
        Tensor forward(Tensor x, Tensor positions) {
            long b = x.size(0);
            long t = x.size(1);
            long dim = x.size(2);
            Tensor h = attnNorm.forward(x);
            Tensor qh = Rotary.rope(q.forward(h).view(b, t, heads, headDim), positions, 10000.0);
            Tensor kh = Rotary.rope(k.forward(h).view(b, t, heads, headDim), positions, 10000.0);
            Tensor vh = v.forward(h).view(b, t, heads, headDim);
            Tensor a = Attention.sdpa(qh, kh, vh, AttentionOptions.causalMask()).reshape(b, t, dim);
            x = Arith.add(x, o.forward(a));
            Tensor m = mlpNorm.forward(x);
            return Arith.add(x, down.forward(Activations.swiglu(gate.forward(m), up.forward(m))));
        }
    }

    static final class TinyLm extends Module {
        final Embedding embed;
        final ModuleList<Block> layers;
        final RMSNorm norm;
        final Linear head;
        boolean checkpointBlocks;

        TinyLm(long vocab, long dim, int heads, int depth, long seed) {
            Generator gen = new Generator(seed);
            embed = registerModule("embed_tokens", new Embedding(vocab, dim, gen, 0.5));
            layers = registerModule("layers", new ModuleList<>());
            for (int i = 0; i < depth; i++) {
                layers.add(new Block(dim, heads, 2 * dim, gen));
            }
            norm = registerModule("norm", new RMSNorm(dim, 1e-6));
            head = registerModule("lm_head", new Linear(dim, vocab, false, gen, 0.1));
        }

        /** ids I64 [B, T] -> logits [B * T, vocab]. */
        Tensor forward(Tensor ids, Tensor positions) {
            Tensor x = embed.forward(ids);
            for (Block blk : layers) {
                x = checkpointBlocks ? Checkpoint.run(in -> blk.forward(in[0], in[1]), x, positions)
                        : blk.forward(x, positions);
            }
            Tensor logits = head.forward(norm.forward(x));
            return logits.reshape(-1, logits.size(-1));
        }
    }

    /**
     * Batches for "say the previous token": random tokens, the target at position t is the token
     * at t - 1 (ignored at t = 0). Only attention to the previous position can solve it.
     */
    static long[][] previousTokenBatch(Random rng, int batch, int seq, int vocab) {
        long[] ids = new long[batch * seq];
        long[] targets = new long[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextInt(vocab);
        }
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                targets[b * seq + t] = t == 0 ? -100 : ids[b * seq + t - 1];
            }
        }
        return new long[][] {ids, targets};
    }

    static float trainStep(TinyLm lm, AdamW opt, long[][] batch, int b, int t, Tensor positions, double lrMult) {
        try (Scope s = Scope.open("step")) {
            Tensor ids = Tensor.ofLongs(batch[0], b, t);
            Tensor targets = Tensor.ofLongs(batch[1], b * t);
            Tensor loss = Losses.crossEntropy(lm.forward(ids, positions), targets, -100, Reduction.MEAN);
            loss.backward();
            GradClip.clipGradNorm(lm.parameters(), 1.0);
            opt.setLrMultiplier(lrMult);
            opt.step();
            opt.zeroGrad();
            return loss.item();
        }
    }

    @Test
    void tinyTransformerLearnsToCopyThePreviousToken() {
        int vocab = 12;
        int b = 16;
        int t = 10;
        int steps = 250;
        Random rng = new Random(3);
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 20, steps, 0.1);
        try (TinyLm lm = new TinyLm(vocab, 32, 2, 1, 5); Scope run = Scope.open("run")) {
            Tensor positions = Tensor.arange(t);
            try (AdamW opt = new AdamW(ParamGroup.decayMatricesOnly(lm.namedParameters(), 1e-2, 0.01), 0.9, 0.98, 1e-8)) {
                float first = Float.NaN;
                float tail = 0;
                for (int step = 0; step < steps; step++) {
                    float loss = trainStep(lm, opt, previousTokenBatch(rng, b, t, vocab), b, t, positions,
                            schedule.multiplierAt(step));
                    if (step == 0) {
                        first = loss;
                    }
                    if (step >= steps - 10) {
                        tail += loss / 10;
                    }
                }
                System.out.printf("tiny transformer: cross-entropy %.4f -> %.4f (mean of last 10 of %d steps)%n", first,
                        tail, steps);
                assertEquals(Math.log(vocab), first, 0.5, "an untrained model is near uniform");
                assertTrue(tail < 0.2, "cross-entropy over the last 10 steps: " + tail + " (started at " + first + ")");
            }
        }
    }

    @Test
    void checkpointedBlocksTrainIdentically() {
        int vocab = 12;
        int b = 4;
        int t = 8;
        float[][] losses = new float[2][];
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            Random rng = new Random(8);
            try (TinyLm lm = new TinyLm(vocab, 16, 2, 2, 9); Scope s = Scope.open("run")) {
                lm.checkpointBlocks = run == 1;
                Tensor positions = Tensor.arange(t);
                try (AdamW opt = new AdamW(lm.namedParameters(), 1e-2, 0.0)) {
                    losses[run] = new float[3];
                    for (int step = 0; step < 3; step++) {
                        losses[run][step] = trainStep(lm, opt, previousTokenBatch(rng, b, t, vocab), b, t, positions, 1.0);
                    }
                }
                weights[run] = lm.namedParameters().get("layers.0.q_proj.weight").toFloatArray();
            }
        }
        assertArrayEquals(losses[0], losses[1]);
        assertArrayEquals(weights[0], weights[1]);
    }
}
