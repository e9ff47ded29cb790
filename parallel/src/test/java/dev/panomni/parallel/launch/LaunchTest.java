package dev.panomni.parallel.launch;

import org.junit.jupiter.api.Test;

import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchTest {
    @Test
    void torchrunAndSlurmVariablesAreRead() {
        LaunchEnv e = LaunchEnv.from(Map.of("RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4",
                "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234"));
        assertEquals(new LaunchEnv(3, 8, 1, 4, "10.0.0.1", 1234), e);
        LaunchEnv s = LaunchEnv.from(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "16", "SLURM_LOCALID", "1",
                "SLURM_NTASKS_PER_NODE", "4(x4)", "SLURM_JOB_NODELIST", "gpu[07-10],login1"));
        assertEquals(new LaunchEnv(5, 16, 1, 4, "gpu07", LaunchEnv.DEFAULT_PORT), s);
        assertEquals(List.of("gpu07", "gpu08", "gpu09", "gpu10", "login1"), LaunchEnv.expandHostList("gpu[07-10],login1"));
        assertEquals(LaunchEnv.single(), LaunchEnv.from(Map.of()));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> LaunchEnv.from(Map.of("RANK", "8", "WORLD_SIZE", "8")));
        assertTrue(ex.getMessage().contains("rank 8"), ex.getMessage());
        ex = assertThrows(IllegalArgumentException.class, () -> LaunchEnv.from(Map.of("RANK", "x", "WORLD_SIZE", "2")));
        assertTrue(ex.getMessage().contains("RANK='x'"), ex.getMessage());
    }

    @Test
    void storeExchangesValuesAndTimesOutClearly() throws Exception {
        try (KeyValueStore server = KeyValueStore.serve("127.0.0.1", 0);
             KeyValueStore client = KeyValueStore.connect("127.0.0.1", server.port(), Duration.ofSeconds(5))) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(100);
                    server.set("nccl-id", "abc".getBytes(StandardCharsets.UTF_8));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            assertArrayEquals("abc".getBytes(StandardCharsets.UTF_8), client.get("nccl-id", Duration.ofSeconds(5)));
            assertEquals(1, client.add("arrived", 1));
            assertEquals(2, server.add("arrived", 1));
            SocketTimeoutException e = assertThrows(SocketTimeoutException.class, () -> client.get("never", Duration.ofMillis(200)));
            assertTrue(e.getMessage().contains("'never'"));
            t.join();
        }
    }

    @Test
    void aFailingRankEndsTheJobAndIsNamed() throws Exception {
        // Rank 1 fails at once; rank 0 would sleep for a minute: the launcher must stop it.
        List<String> cmd = List.of("bash", "-c", "if [ \"$RANK\" = 1 ]; then exit 3; else sleep 60; fi");
        long start = System.nanoTime();
        ProcessLauncher.Outcome o = ProcessLauncher.run(cmd, 2, 0, 1, "127.0.0.1", 29500, Path.of("."));
        assertTrue((System.nanoTime() - start) / 1e9 < 30);
        assertEquals(3, o.exitCode());
        assertEquals(1, o.failedRank());
        assertTrue(o.message().contains("rank 1"), o.message());
        ProcessLauncher.Outcome ok = ProcessLauncher.run(List.of("bash", "-c", "test \"$WORLD_SIZE\" = 2"), 2, 0, 1,
                "127.0.0.1", 29500, Path.of("."));
        assertEquals(0, ok.exitCode());
    }
}
