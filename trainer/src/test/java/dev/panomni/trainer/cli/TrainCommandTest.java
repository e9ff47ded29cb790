package dev.panomni.trainer.cli;

import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.trainer.config.ParallelConfig;
import dev.panomni.trainer.config.SpMode;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panomni train} runs one process on one device: a config asking for a mesh, or a launch of
 * several ranks, is refused with a message saying what to do, instead of training once per rank.
 */
class TrainCommandTest {
    @Test
    void aMeshOrExpertParallelDegreeIsRefusedNamingTheDegrees() {
        String mesh = TrainCommand.multiRankRefusal(new ParallelConfig(8, 1, 1, 8, SpMode.ULYSSES, null),
                LaunchEnv.single());
        assertTrue(mesh.contains("dp_shard=8") && mesh.contains("ep=8") && mesh.contains("asks for 8 ranks")
                && mesh.contains("--parallel.dp_shard=1"), mesh);
        String ep = TrainCommand.multiRankRefusal(new ParallelConfig(1, 1, 1, 2, SpMode.ULYSSES, null),
                LaunchEnv.single());
        assertTrue(ep.contains("ep=2"), ep);
        assertNull(TrainCommand.multiRankRefusal(ParallelConfig.defaults(), LaunchEnv.single()));
    }

    @Test
    void aMultiRankLaunchIsRefused() {
        LaunchEnv rank1 = LaunchEnv.from(Map.of("RANK", "1", "WORLD_SIZE", "2", "MASTER_ADDR", "127.0.0.1",
                "MASTER_PORT", "29500"));
        String msg = TrainCommand.multiRankRefusal(ParallelConfig.defaults(), rank1);
        assertTrue(msg.contains("rank 1 of 2") && msg.contains("--nproc-per-node 1"), msg);
    }

    @Test
    void theCommandExitsWithTwoBeforeTraining() throws Exception {
        Path dir = Files.createTempDirectory("train-refusal");
        Path cfg = dir.resolve("run.yaml");
        Files.writeString(cfg, """
                model: {family: tiny, size: micro}
                data:
                  files: [{path: data.jsonl}]
                  seq_len: 32
                train: {steps: 2, warmup_steps: 1, device: cpu}
                parallel: {dp_shard: 2}
                checkpoint: {dir: ckpt}
                logging: {dir: logs}
                """);
        Files.writeString(dir.resolve("data.jsonl"), "{\"text\": \"hello\"}\n");
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        TrainCommand cmd = new TrainCommand();
        cmd.out = new PrintStream(sink, true, StandardCharsets.UTF_8);
        cmd.err = cmd.out;
        int code = new picocli.CommandLine(cmd).execute("--config", cfg.toString());
        String out = sink.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, out);
        assertTrue(out.contains("dp_shard=2") && out.contains("one process on one device"), out);
        assertTrue(!Files.exists(dir.resolve("logs/metrics.jsonl")), "nothing trained");
    }
}
