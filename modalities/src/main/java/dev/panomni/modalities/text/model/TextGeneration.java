package dev.panomni.modalities.text.model;

import dev.panomni.nn.RMSNorm;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import dev.panomni.tensor.autograd.GradMode;
import dev.panomni.tensor.ops.Arith;
import dev.panomni.tensor.ops.Linalg;
import dev.panomni.tensor.ops.Softmax;
import dev.panomni.tensor.random.Generator;

import java.util.ArrayList;
import java.util.List;

/**
 * Autoregressive generation with a {@link KvCache}: the prompt is run once (prefill), then each
 * step feeds only the newest token and attends to the cached keys and values. Greedy or sampled
 * (temperature, top-k) from a seeded Philox stream, so a seed reproduces a sample.
 */
public final class TextGeneration {
    /**
     * @param maxNewTokens tokens to generate at most
     * @param temperature  0 for greedy decoding
     * @param topK         sample among the k most likely tokens (0: all)
     * @param seed         sampling stream
     * @param stopToken    generation ends after this id (-1: none)
     */
    public record Options(int maxNewTokens, double temperature, int topK, long seed, long stopToken) {
        public static Options greedy(int maxNewTokens) {
            return new Options(maxNewTokens, 0.0, 0, 0, -1);
        }
    }

    private TextGeneration() {
    }

    /** The generated ids (without the prompt). */
    public static long[] generate(CausalLm model, long[] prompt, Options opts) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("generate: the prompt needs at least one token");
        }
        TextModelConfig cfg = model.config();
        List<Long> out = new ArrayList<>();
        Generator rng = new Generator(opts.seed());
        try (KvCache cache = new KvCache(cfg.layers()); Scope s = Scope.open("generate")) {
            GradMode.noGrad(() -> {
                long[] feed = prompt;
                for (int step = 0; step < opts.maxNewTokens(); step++) {
                    long next;
                    try (Scope st = Scope.open("step")) {
                        Tensor logits = stepLogits(model, feed, cache);               // [vocab] of the last token
                        next = pick(logits, opts, rng);
                    }
                    out.add(next);
                    if (next == opts.stopToken()) {
                        break;
                    }
                    feed = new long[] {next};
                }
            });
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** Runs {@code ids} after the cached tokens; returns the logits of the last one. */
    static Tensor stepLogits(CausalLm model, long[] ids, KvCache cache) {
        DecoderBackbone bb = model.backbone();
        long start = cache.length();
        long[] pos = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            pos[i] = start + i;
        }
        dev.panomni.tensor.Device dev = bb.embedTokens().weight().device();
        Tensor positions = Tensor.ofLongs(pos, pos.length).to(dev);
        Tensor x = bb.embedTokens().forward(Tensor.ofLongs(ids, ids.length).to(dev));
        for (int i = 0; i < bb.layers().size(); i++) {
            x = bb.layers().get(i).forwardCached(x, positions, cache, i, start);
        }
        Tensor last = x.narrow(0, ids.length - 1, 1);
        Tensor h = ((RMSNorm) bb.module("norm")).forward(last);
        return Linalg.matmul(h, model.headWeight().t()).reshape(-1);
    }

    private static long pick(Tensor logits, Options opts, Generator rng) {
        float[] l = logits.to(DType.F32).toFloatArray();
        if (opts.temperature() <= 0) {
            int best = 0;
            for (int i = 1; i < l.length; i++) {
                if (l[i] > l[best]) {
                    best = i;
                }
            }
            return best;
        }
        Integer[] order = new Integer[l.length];
        for (int i = 0; i < l.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        int k = opts.topK() > 0 ? Math.min(opts.topK(), l.length) : l.length;
        double[] p = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            p[i] = Math.exp((l[order[i]] - l[order[0]]) / opts.temperature());
            sum += p[i];
        }
        double u = rng.uniform(new long[] {1}, 0, 1).item() * sum;
        for (int i = 0; i < k; i++) {
            u -= p[i];
            if (u <= 0) {
                return order[i];
            }
        }
        return order[k - 1];
    }

    /** Causal attention of new queries q [n, Hq, D] (positions start..start+n-1) over keys/values [t, Hkv, D]. */
    static Tensor cachedAttention(Tensor q, Tensor k, Tensor v, long start) {
        long n = q.size(0);
        long hq = q.size(1);
        long d = q.size(2);
        long t = k.size(0);
        long hkv = k.size(1);
        long group = hq / hkv;
        Tensor qh = q.permute(1, 0, 2);                                                     // [Hq, n, D]
        Tensor kh = k.permute(1, 0, 2).unsqueeze(1).expand(hkv, group, t, d).reshape(hq, t, d);
        Tensor vh = v.permute(1, 0, 2).unsqueeze(1).expand(hkv, group, t, d).reshape(hq, t, d);
        Tensor scores = Arith.mulScalar(Linalg.matmul(qh, kh.transpose(1, 2)), 1.0 / Math.sqrt(d)); // [Hq, n, t]
        float[] mask = new float[(int) (n * t)];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t; j++) {
                mask[(int) (i * t + j)] = j > start + i ? Float.NEGATIVE_INFINITY : 0f;
            }
        }
        Tensor masked = Arith.add(scores, Tensor.of(mask, n, t).to(scores.device()).to(scores.dtype()));
        Tensor probs = Softmax.softmax(masked, -1);
        return Linalg.matmul(probs, vh).permute(1, 0, 2);                                  // [n, Hq, D]
    }
}
