package dev.panomni.trainer.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {
    private static RunConfig load(String yaml, String... overrides) {
        return ConfigLoader.fromYaml(yaml, "run.yaml", ConfigOverride.parse(Arrays.asList(overrides)));
    }

    private static ConfigException fail(String yaml, String... overrides) {
        return assertThrows(ConfigException.class, () -> load(yaml, overrides));
    }

    private static ConfigError only(ConfigException e) {
        assertEquals(1, e.errors().size(), e.getMessage());
        return e.errors().get(0);
    }

    @Test
    void defaultsResolveToTheDemoModel() {
        RunConfig c = load(null);
        assertEquals(ModelFamily.TINY, c.model().family());
        assertEquals("demo", c.model().size());
        ModelDims d = c.model().dims();
        assertEquals(260, d.vocabSize());
        assertEquals(128, d.hiddenSize());
        assertEquals(1234L, c.data().seed(), "data.seed inherits train.seed");
        assertEquals(ScheduleKind.COSINE, c.train().schedule());
        assertEquals(List.of(0.9, 0.95), c.train().betas());
    }

    @Test
    void aDataFileWithoutAWeightWeighsOne() {
        RunConfig c = load("""
                data:
                  files:
                    - {path: a.jsonl}
                    - {path: b.jsonl, weight: 2.5}
                """);
        assertEquals(1.0, c.data().files().get(0).weight());
        assertEquals(2.5, c.data().files().get(1).weight());
    }

    @Test
    void yamlSectionsBindAndKeepDefaultsElsewhere() {
        RunConfig c = load("""
                model:
                  family: qwen3
                  size: 0.6b
                  dtype: bf16
                data:
                  files:
                    - {path: a.jsonl, weight: 3}
                    - {path: b.jsonl, weight: 1.5}
                  format: chat
                  seq_len: 4096
                  overlong: truncate
                train:
                  lr: 3e-4
                  steps: 1e4
                  schedule: LINEAR
                  precision: bf16
                parallel:
                  dp_shard: 4
                  sp: 2
                  world_size: 8
                checkpoint:
                  resume: never
                """);
        assertEquals(ModelFamily.QWEN3, c.model().family());
        assertEquals(1024, c.model().hiddenSize());
        assertEquals(151_936, c.model().vocabSize());
        assertEquals(Precision.BF16, c.model().dtype());
        assertEquals(2, c.data().files().size());
        assertEquals(new DataFile("b.jsonl", 1.5), c.data().files().get(1));
        assertEquals(DataFormat.CHAT, c.data().format());
        assertEquals(Overlong.TRUNCATE, c.data().overlong());
        assertEquals(3e-4, c.train().lr());
        assertEquals(10_000, c.train().steps(), "a whole float is accepted for an integer key");
        assertEquals(ScheduleKind.LINEAR, c.train().schedule(), "enum values are case-insensitive");
        assertEquals(8, c.train().microBatchSize(), "untouched keys keep their defaults");
        assertEquals(4, c.parallel().dpShard());
        assertEquals("never", c.checkpoint().resume());
    }

    @Test
    void explicitDimensionsOverrideThePreset() {
        RunConfig c = load("model: {family: qwen3, size: 0.6b, num_layers: 2}");
        assertEquals(2, c.model().numLayers());
        assertEquals(1024, c.model().hiddenSize());
    }

    @Test
    void dottedOverridesWinOverTheFile() {
        RunConfig c = load("train: {micro_batch_size: 2}\ndata: {files: [{path: a.jsonl, weight: 1}]}",
                "--train.micro_batch_size=4", "--data.files[0].weight=2.5", "--train.lr", "0.01",
                "--logging.plots=false", "--data.files.1={path: b.jsonl, weight: 1}", "train.seed=7");
        assertEquals(4, c.train().microBatchSize());
        assertEquals(2.5, c.data().files().get(0).weight());
        assertEquals("b.jsonl", c.data().files().get(1).path());
        assertEquals(0.01, c.train().lr());
        assertFalse(c.logging().plots());
        assertEquals(7, c.train().seed());
        assertEquals(7L, c.data().seed());
    }

    @Test
    void overrideCanReplaceAWholeList() {
        RunConfig c = load(null, "--data.files=[{path: x.jsonl, weight: 1}, {path: y.jsonl, weight: 4}]",
                "--train.betas=[0.8, 0.99]");
        assertEquals(List.of(new DataFile("x.jsonl", 1), new DataFile("y.jsonl", 4)), c.data().files());
        assertEquals(0.99, c.train().beta2());
    }

    @Test
    void unknownKeySuggestsTheNearestKeyOfItsSection() {
        ConfigError e = only(fail(null, "--train.stpes=4"));
        assertEquals("train.stpes", e.key());
        assertTrue(e.problem().contains("unknown key"), e.problem());
        assertTrue(e.problem().contains("did you mean 'train.steps'?"), e.problem());
        assertTrue(e.problem().contains("from --train.stpes=4"), e.problem());
    }

    @Test
    void unknownKeyInTheFileSuggestsToo() {
        ConfigError e = only(fail("train:\n  micro_bach_size: 4\n"));
        assertEquals("train.micro_bach_size", e.key());
        assertTrue(e.problem().contains("did you mean 'train.micro_batch_size'?"), e.problem());
    }

    @Test
    void keyOfAnotherSectionIsPointedTo() {
        ConfigError e = only(fail("train: {seq_len: 512}"));
        assertEquals("train.seq_len", e.key());
        assertTrue(e.problem().contains("did you mean 'data.seq_len'?"), e.problem());
    }

    @Test
    void unknownSectionSuggestsASection() {
        ConfigError e = only(fail("trian: {steps: 5}"));
        assertEquals("trian", e.key());
        assertTrue(e.problem().contains("did you mean 'train'?"), e.problem());
    }

    @Test
    void farOffKeyGetsNoSuggestionButTheKnownKeys() {
        ConfigError e = only(fail("logging: {colour: red}"));
        assertFalse(e.problem().contains("did you mean"), e.problem());
        assertTrue(e.problem().contains("known keys of 'logging': dir, every, plots, sample_prompts, sample_tokens"), e.problem());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "--train.steps=abc       | train.steps            | 'abc' | expected an integer",
        "--train.steps=1.5       | train.steps            | 1.5   | expected an integer",
        "--train.steps='100'     | train.steps            | '100' | expected an integer",
        "--train.lr=fast         | train.lr               | 'fast'| expected a number",
        "--data.pack=maybe       | data.pack              | 'maybe'| expected true or false",
        "--train.schedule=cosin  | train.schedule         | 'cosin'| expected one of constant, cosine, linear (did you mean 'cosine'?)",
        "--train.device=gpu      | train.device           | 'gpu' | expected one of cpu, cuda, auto",
        "--model.family=qwen4    | model.family           | 'qwen4'| did you mean 'qwen3'?",
        "--train.betas=0.9       | train.betas            | 0.9   | expected a list of numbers",
        "--data.files.0=x        | data.files[0]          | 'x'   | expected a section",
        "--train.micro_batch_size=99999999999 | train.micro_batch_size | 99999999999 | out of range for an integer",
        "--train.steps=null      | train.steps            | null  | a value is required: an integer",
    })
    void wrongTypesNameKeyValueAndWhatIsAllowed(String override, String key, String value, String expected) {
        ConfigError e = only(fail("data: {files: [{path: a.jsonl, weight: 1}]}", override));
        assertEquals(key, e.key());
        assertEquals(value, e.value());
        assertTrue(e.problem().contains(expected), e.problem());
    }

    @Test
    void scalarWhereASectionBelongs() {
        ConfigError e = only(fail("train: 5"));
        assertEquals("train", e.key());
        assertTrue(e.problem().contains("expected a section"), e.problem());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "--train.lr=-0.001                 | train.lr                 | -0.001 | must be a finite number > 0",
        "--train.steps=0                   | train.steps              | 0      | must be >= 1",
        "--train.micro_batch_size=0        | train.micro_batch_size   | 0      | must be >= 1",
        "--train.grad_accum=-1             | train.grad_accum         | -1     | must be >= 1",
        "--train.warmup_steps=2000         | train.warmup_steps       | 2000   | must be <= train.steps = 1000",
        "--train.warmup_steps=-5           | train.warmup_steps       | -5     | must be >= 0",
        "--train.min_lr_ratio=1.5          | train.min_lr_ratio       | 1.5    | must be in [0, 1]",
        "--train.weight_decay=-0.1         | train.weight_decay       | -0.1   | must be a finite number >= 0",
        "--train.betas=[0.9, 1.0]          | train.betas[1]           | 1.0    | must be in [0, 1)",
        "--train.betas=[0.9]               | train.betas              | [0.9]  | must be two numbers",
        "--train.eps=0                     | train.eps                | 0.0    | must be a finite number > 0",
        "--train.clip_grad=-1              | train.clip_grad          | -1.0   | must be a finite number >= 0",
        "--train.eval_every=-1             | train.eval_every         | -1     | must be >= 0",
        "--train.eval_batches=0            | train.eval_batches       | 0      | must be >= 1",
        "--data.seq_len=1                  | data.seq_len             | 1      | must be >= 2",
        "--data.seq_len=1024               | data.seq_len             | 1024   | must be <= model.max_seq_len = 512",
        "--data.max_tokens_per_batch=100   | data.max_tokens_per_batch| 100    | must be >= data.seq_len = 256",
        "--data.shuffle_buffer=0           | data.shuffle_buffer      | 0      | must be >= 1",
        "--data.val_fraction=1             | data.val_fraction        | 1.0    | must be in [0, 1)",
        "--data.files=[{path: a.jsonl, weight: 0}]   | data.files[0].weight | 0.0  | must be a finite number > 0",
        "--data.files=[{path: a.jsonl, weight: -2}]  | data.files[0].weight | -2.0 | must be a finite number > 0",
        "--data.files=[{path: '', weight: 1}]        | data.files[0].path   | ''   | must name a JSONL file",
        "--data.tokenizer=''               | data.tokenizer           | ''     | must be 'byte', a tokenizer.json path",
        "--parallel.dp_shard=0             | parallel.dp_shard        | 0      | must be >= 1",
        "--parallel.world_size=8           | parallel.world_size      | 8      | must equal dp_replicate x dp_shard x sp = 1 x 1 x 1 = 1",
        "--parallel.ep=2                   | parallel.ep              | 2      | must be 1: the tiny family has no experts",
        "--parallel.sp=8                   | parallel.sp              | 8      | must divide model.num_heads = 4 for Ulysses attention",
        "--model.num_kv_heads=3            | model.num_kv_heads       | 3      | must divide model.num_heads = 4",
        "--model.num_experts=8             | model.num_experts        | 8      | must be 0: the tiny family is dense",
        "--model.hidden_size=0             | model.hidden_size        | 0      | must be >= 1",
        "--checkpoint.keep_last=0          | checkpoint.keep_last     | 0      | must be >= 1",
        "--checkpoint.every=-1             | checkpoint.every         | -1     | must be >= 0",
        "--checkpoint.dir=''               | checkpoint.dir           | ''     | must name a directory",
        "--checkpoint.resume=''            | checkpoint.resume        | ''     | must be 'auto', 'never' or the path",
        "--logging.every=0                 | logging.every            | 0      | must be >= 1",
        "--model.size=0.5b                 | model.size               | '0.5b' | not a preset of family tiny",
    })
    void impossibleValuesNameKeyValueAndWhatIsAllowed(String override, String key, String value, String expected) {
        ConfigError e = only(fail(null, override));
        assertEquals(key, e.key());
        assertEquals(value, e.value());
        assertTrue(e.problem().contains(expected), e.problem());
        assertTrue(new ConfigException(List.of(e)).getMessage().contains(key), "the message names the key");
    }

    @Test
    void ringAttentionNeedsSequencesDivisibleByTwiceTheDegree() {
        ConfigError e = only(fail(null, "--parallel.sp=4", "--parallel.sp_mode=ring", "--data.seq_len=260"));
        assertEquals("data.seq_len", e.key());
        assertTrue(e.problem().contains("must be a multiple of 8 with parallel.sp = 4"), e.problem());
    }

    @Test
    void expertParallelismMustDivideExpertsAndShardRanks() {
        ConfigException ex = fail("model: {family: qwen3_moe, size: 30b-a3b}\nparallel: {dp_shard: 4, ep: 3}");
        assertEquals(2, ex.errors().size(), ex.getMessage());
        assertTrue(ex.getMessage().contains("parallel.ep = 3: must divide dp_shard x sp = 4"), ex.getMessage());
        assertTrue(ex.getMessage().contains("parallel.ep = 3: must divide model.num_experts = 128"), ex.getMessage());
        RunConfig ok = load("model: {family: qwen3_moe, size: 30b-a3b}\nparallel: {dp_shard: 8, ep: 8}");
        assertEquals(8, ok.parallel().ep());
    }

    @Test
    void unknownPresetSuggestsTheNearestOne() {
        ConfigError e = only(fail("model: {family: qwen3, size: 0.6B5}"));
        assertEquals("model.size", e.key());
        assertTrue(e.problem().contains("presets: tiny, 0.6b, 1.7b, 4b, 8b, 14b, 32b"), e.problem());
        assertTrue(e.problem().contains("did you mean '0.6b'?"), e.problem());
    }

    @Test
    void familyWithoutSizeOrDimensionsIsAnError() {
        ConfigError e = only(fail("model: {family: llama}"));
        assertEquals("model", e.key());
        assertTrue(e.problem().contains("set model.size (presets of llama: tiny, 3.2-1b, 3.2-3b, 3.1-8b)"), e.problem());
        assertTrue(e.problem().contains("missing: model.vocab_size"), e.problem());
    }

    @Test
    void hfPathAloneLeavesDimensionsToTheCheckpoint() {
        RunConfig c = load("model: {family: qwen3, hf_path: /models/Qwen3-0.6B}");
        assertFalse(c.model().hasDims());
        assertNull(c.model().hiddenSize());
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        ConfigException e = fail("train: {stpes: 4, lr: abc}\nlogging: {plot: true}");
        assertEquals(3, e.errors().size(), e.getMessage());
        assertTrue(e.getMessage().startsWith("invalid configuration (3 problems):"), e.getMessage());
        ConfigException v = fail(null, "--train.lr=-1", "--checkpoint.keep_last=0", "--train.steps=0");
        assertEquals(3, v.errors().size(), v.getMessage());
    }

    @Test
    void badOverrideSyntaxIsExplained() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigOverride.parse(List.of("--steps=4")));
        assertTrue(e.getMessage().contains("an override names a key inside a section"), e.getMessage());
        ConfigException e2 = assertThrows(ConfigException.class, () -> ConfigOverride.parse(List.of("--train.steps")));
        assertTrue(e2.getMessage().contains("write --section.key=value"), e2.getMessage());
        ConfigError e3 = only(fail(null, "--train.steps.x=1"));
        assertTrue(e3.problem().contains("is a value, not a section"), e3.problem());
        ConfigError e4 = only(fail(null, "--data.files.3.weight=1"));
        assertEquals("data.files[3]", e4.key());
    }

    @Test
    void yamlSyntaxErrorsGiveTheLine() {
        ConfigException e = fail("train:\n  steps: 4\n   lr: [1\n");
        assertTrue(e.getMessage().contains("run.yaml"), e.getMessage());
        assertTrue(e.getMessage().contains("line"), e.getMessage());
        ConfigException dup = fail("train:\n  steps: 4\n  steps: 5\n");
        assertTrue(dup.getMessage().contains("steps"), dup.getMessage());
        ConfigException notMap = fail("- a\n- b\n");
        assertTrue(notMap.getMessage().contains("must be a mapping"), notMap.getMessage());
    }

    @Test
    void printedYamlLoadsBackToTheSameConfig(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        RunConfig c = load("model: {family: qwen3_moe, size: 30b-a3b}\ndata: {files: [{path: '123', weight: 2}]}",
                "--train.micro_batch_size=4", "--checkpoint.resume=runs/x/step-000100");
        String yaml = ConfigLoader.toYaml(c);
        assertTrue(yaml.contains("micro_batch_size: 4"), yaml);
        assertTrue(yaml.contains("family: qwen3_moe"), yaml);
        Path f = dir.resolve("resolved.yaml");
        Files.writeString(f, yaml);
        assertEquals(c, ConfigLoader.load(f, List.of()));
    }

    @Test
    void missingConfigFileIsNamed() {
        ConfigError e = only(assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Path.of("/nonexistent/run.yaml"), List.of())));
        assertEquals("--config", e.key());
        assertTrue(e.problem().contains("no such file"));
    }

    @Test
    void didYouMeanDistance() {
        assertEquals(2, DidYouMean.distance("stpes", "steps"));
        assertEquals(3, DidYouMean.distance("kitten", "sitting"));
        assertEquals("steps", DidYouMean.suggest("step", List.of("steps", "seed", "lr")));
        assertNull(DidYouMean.suggest("qqqqqq", List.of("steps", "seed", "lr")));
    }
}
