package dev.panomni.trainer.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Checks a bound, resolved {@link RunConfig} for impossible values: each problem names the dotted
 * key, the value and what is allowed. Types were already checked by {@link ConfigSchema}.
 */
final class ConfigValidator {
    private final List<ConfigError> errors = new ArrayList<>();

    static List<ConfigError> validate(RunConfig c) {
        ConfigValidator v = new ConfigValidator();
        v.model(c.model());
        v.data(c.data(), c.model());
        v.train(c.train());
        v.parallel(c.parallel(), c.model(), c.data());
        v.checkpoint(c.checkpoint());
        v.logging(c.logging());
        return v.errors;
    }

    private void model(ModelConfig m) {
        positive("model.vocab_size", m.vocabSize());
        positive("model.hidden_size", m.hiddenSize());
        positive("model.num_layers", m.numLayers());
        positive("model.num_heads", m.numHeads());
        positive("model.num_kv_heads", m.numKvHeads());
        positive("model.head_dim", m.headDim());
        positive("model.intermediate_size", m.intermediateSize());
        positive("model.max_seq_len", m.maxSeqLen());
        if (m.ropeTheta() != null && !(m.ropeTheta() > 0)) {
            add("model.rope_theta", m.ropeTheta(), "must be > 0");
        }
        if (m.normEps() != null && !(m.normEps() > 0)) {
            add("model.norm_eps", m.normEps(), "must be > 0");
        }
        if (m.numHeads() != null && m.numKvHeads() != null && m.numKvHeads() > 0 && m.numHeads() > 0
                && m.numHeads() % m.numKvHeads() != 0) {
            add("model.num_kv_heads", m.numKvHeads(), "must divide model.num_heads = " + m.numHeads()
                    + " (each key/value head serves a whole group of query heads)");
        }
        if (m.family().isMoe()) {
            if (m.numExperts() != null && m.numExperts() < 1) {
                add("model.num_experts", m.numExperts(), "must be >= 1 for the " + familyName(m) + " family");
            }
            if (m.expertsPerToken() != null && m.expertsPerToken() < 1) {
                add("model.experts_per_token", m.expertsPerToken(), "must be >= 1 for the " + familyName(m) + " family");
            }
            if (m.moeIntermediateSize() != null && m.moeIntermediateSize() < 1) {
                add("model.moe_intermediate_size", m.moeIntermediateSize(), "must be >= 1 for the " + familyName(m)
                        + " family");
            }
            if (m.numExperts() != null && m.expertsPerToken() != null && m.expertsPerToken() > m.numExperts()) {
                add("model.experts_per_token", m.expertsPerToken(), "must be <= model.num_experts = " + m.numExperts());
            }
        } else {
            for (var e : new Object[][] {{"model.num_experts", m.numExperts()},
                    {"model.experts_per_token", m.expertsPerToken()},
                    {"model.moe_intermediate_size", m.moeIntermediateSize()}}) {
                if (e[1] != null && (Integer) e[1] != 0) {
                    add((String) e[0], e[1], "must be 0: the " + familyName(m)
                            + " family is dense (use family qwen3_moe for experts)");
                }
            }
        }
    }

    private void data(DataConfig d, ModelConfig m) {
        for (int i = 0; i < d.files().size(); i++) {
            DataFile f = d.files().get(i);
            if (f.path() == null || f.path().isBlank()) {
                add("data.files[" + i + "].path", f.path() == null ? "null" : "'" + f.path() + "'",
                        "must name a JSONL file");
            }
            if (!(f.weight() > 0) || Double.isInfinite(f.weight())) {
                add("data.files[" + i + "].weight", f.weight(), "must be a finite number > 0 (weights are relative shares)");
            }
        }
        if (d.seqLen() < 2) {
            add("data.seq_len", d.seqLen(), "must be >= 2 (a sequence needs an input and a next-token target)");
        } else if (m.maxSeqLen() != null && d.seqLen() > m.maxSeqLen()) {
            add("data.seq_len", d.seqLen(), "must be <= model.max_seq_len = " + m.maxSeqLen());
        }
        if (d.maxTokensPerBatch() != null && d.maxTokensPerBatch() < d.seqLen()) {
            add("data.max_tokens_per_batch", d.maxTokensPerBatch(), "must be >= data.seq_len = " + d.seqLen()
                    + " (one full sequence must fit), or null for a fixed train.micro_batch_size");
        }
        if (d.shuffleBuffer() < 1) {
            add("data.shuffle_buffer", d.shuffleBuffer(), "must be >= 1 (1 disables shuffling)");
        }
        if (!(d.valFraction() >= 0 && d.valFraction() < 1)) {
            add("data.val_fraction", d.valFraction(), "must be in [0, 1) (0 disables validation)");
        }
        if (d.tokenizer() != null && d.tokenizer().isBlank()) {
            add("data.tokenizer", "''", "must be 'byte', a tokenizer.json path, or null for the model's own");
        }
    }

    private void train(TrainConfig t) {
        atLeast("train.steps", t.steps(), 1);
        atLeast("train.micro_batch_size", t.microBatchSize(), 1);
        atLeast("train.grad_accum", t.gradAccum(), 1);
        if (!(t.lr() > 0) || Double.isInfinite(t.lr())) {
            add("train.lr", t.lr(), "must be a finite number > 0");
        }
        if (t.warmupSteps() < 0) {
            add("train.warmup_steps", t.warmupSteps(), "must be >= 0");
        } else if (t.steps() >= 1 && t.warmupSteps() > t.steps()) {
            add("train.warmup_steps", t.warmupSteps(), "must be <= train.steps = " + t.steps());
        }
        if (!(t.minLrRatio() >= 0 && t.minLrRatio() <= 1)) {
            add("train.min_lr_ratio", t.minLrRatio(), "must be in [0, 1] (a fraction of train.lr)");
        }
        if (!(t.weightDecay() >= 0) || Double.isInfinite(t.weightDecay())) {
            add("train.weight_decay", t.weightDecay(), "must be a finite number >= 0");
        }
        if (t.betas().size() != 2) {
            add("train.betas", t.betas(), "must be two numbers [beta1, beta2]");
        } else {
            for (int i = 0; i < 2; i++) {
                double b = t.betas().get(i);
                if (!(b >= 0 && b < 1)) {
                    add("train.betas[" + i + "]", b, "must be in [0, 1)");
                }
            }
        }
        if (!(t.eps() > 0) || Double.isInfinite(t.eps())) {
            add("train.eps", t.eps(), "must be a finite number > 0");
        }
        if (!(t.clipGrad() >= 0) || Double.isInfinite(t.clipGrad())) {
            add("train.clip_grad", t.clipGrad(), "must be a finite number >= 0 (0 disables clipping)");
        }
        atLeast("train.eval_every", t.evalEvery(), 0);
        atLeast("train.eval_batches", t.evalBatches(), 1);
    }

    private void parallel(ParallelConfig p, ModelConfig m, DataConfig d) {
        boolean degreesOk = atLeast("parallel.dp_shard", p.dpShard(), 1)
                & atLeast("parallel.dp_replicate", p.dpReplicate(), 1)
                & atLeast("parallel.sp", p.sp(), 1)
                & atLeast("parallel.ep", p.ep(), 1);
        if (!degreesOk) {
            return;
        }
        if (p.worldSize() != null) {
            if (p.worldSize() < 1) {
                add("parallel.world_size", p.worldSize(), "must be >= 1, or null to take it from the launcher");
            } else if (p.meshSize() != p.worldSize()) {
                add("parallel.world_size", p.worldSize(), "must equal dp_replicate x dp_shard x sp = "
                        + p.dpReplicate() + " x " + p.dpShard() + " x " + p.sp() + " = " + p.meshSize());
            }
        }
        if (p.ep() > 1) {
            if (!m.family().isMoe()) {
                add("parallel.ep", p.ep(), "must be 1: the " + familyName(m) + " family has no experts");
            } else {
                long shardRanks = (long) p.dpShard() * p.sp();
                if (shardRanks % p.ep() != 0) {
                    add("parallel.ep", p.ep(), "must divide dp_shard x sp = " + shardRanks
                            + " (experts are sharded over the ranks that shard the parameters)");
                }
                if (m.numExperts() != null && m.numExperts() % p.ep() != 0) {
                    add("parallel.ep", p.ep(), "must divide model.num_experts = " + m.numExperts());
                }
            }
        }
        if (p.sp() > 1) {
            if (p.spMode() == SpMode.ULYSSES && m.numHeads() != null && m.numHeads() % p.sp() != 0) {
                add("parallel.sp", p.sp(), "must divide model.num_heads = " + m.numHeads()
                        + " for Ulysses attention (or use parallel.sp_mode: ring)");
            }
            int multiple = p.spMode() == SpMode.RING ? 2 * p.sp() : p.sp();
            if (d.seqLen() % multiple != 0) {
                add("data.seq_len", d.seqLen(), "must be a multiple of " + multiple + " with parallel.sp = " + p.sp()
                        + " (" + p.spMode().name().toLowerCase() + " attention splits each sequence evenly)");
            }
        }
    }

    private void checkpoint(CheckpointConfig c) {
        if (c.dir() == null || c.dir().isBlank()) {
            add("checkpoint.dir", c.dir() == null ? "null" : "''", "must name a directory");
        }
        atLeast("checkpoint.every", c.every(), 0);
        atLeast("checkpoint.keep_last", c.keepLast(), 1);
        if (c.resume() == null || c.resume().isBlank()) {
            add("checkpoint.resume", c.resume() == null ? "null" : "''",
                    "must be 'auto', 'never' or the path of a checkpoint directory");
        }
    }

    private void logging(LoggingConfig l) {
        if (l.dir() == null || l.dir().isBlank()) {
            add("logging.dir", l.dir() == null ? "null" : "''", "must name a directory");
        }
        atLeast("logging.every", l.every(), 1);
        atLeast("logging.sample_tokens", l.sampleTokens(), 1);
        for (int i = 0; i < l.samplePrompts().size(); i++) {
            String p = l.samplePrompts().get(i);
            if (p == null || p.isEmpty()) {
                add("logging.sample_prompts[" + i + "]", p == null ? "null" : "''", "must be non-empty text "
                        + "(the model needs at least one token to continue)");
            }
        }
    }

    private void positive(String key, Integer value) {
        if (value != null && value < 1) {
            add(key, value, "must be >= 1");
        }
    }

    private boolean atLeast(String key, long value, long min) {
        if (value < min) {
            add(key, value, "must be >= " + min);
            return false;
        }
        return true;
    }

    private void add(String key, Object value, String problem) {
        errors.add(new ConfigError(key, String.valueOf(value), problem));
    }

    private static String familyName(ModelConfig m) {
        return m.family().name().toLowerCase();
    }
}
