package dev.panomni.trainer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panomni launch} on the CPU: ranks as threads and as processes run {@code comm-check}
 * (every collective against known results); a rank that dies or never joins ends the job, named.
 */
class LaunchCommandTest {
    /** Exit code, then what the launch printed on stdout, then on stderr. */
    private record Run(int code, String out, String err, double seconds) {
        String all() {
            return out + err;
        }
    }

    private static Run launch(String... args) {
        LaunchCommand launch = new LaunchCommand();
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        launch.out = new PrintStream(o, true, StandardCharsets.UTF_8);
        launch.err = new PrintStream(e, true, StandardCharsets.UTF_8);
        long start = System.nanoTime();
        int code = new CommandLine(launch).execute(args);
        Run r = new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - start) / 1e9);
        System.out.println("$ panomni launch " + String.join(" ", args) + "\n" + r.all() + "exit " + code + " after "
                + String.format(java.util.Locale.ROOT, "%.1f", r.seconds()) + " s\n");
        return r;
    }

    @Test
    void threeRanksAsThreadsPassEveryCollective() {
        Run r = launch("--threads", "--nproc-per-node", "3", "--", "comm-check", "--device", "cpu");
        assertEquals(0, r.code(), r.all());
        for (int rank = 0; rank < 3; rank++) {
            assertTrue(r.out().contains("[rank " + rank + "] rank " + rank + " of 3 on cpu through InProcessCommunicator"),
                    r.all());
            assertTrue(r.out().contains("[rank " + rank + "] comm-check: ok (10 checks)"), r.all());
        }
        assertTrue(r.out().contains("[rank 1] allReduce(sum, F32)            ok (4099 x 6.0)"), r.all());
        assertTrue(r.out().contains("[rank 2] reduceScatter(sum)             ok (2 x 18.0)"), r.all());
    }

    @Test
    void twoRanksAsProcessesAllReduceThroughTheStore() {
        Run r = launch("--nproc-per-node", "2", "--", "comm-check", "--device", "cpu", "--elements", "5");
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("[rank 0] rank 0 of 2 on cpu through StoreCommunicator"), r.all());
        assertTrue(r.out().contains("[rank 1] allReduce(sum, F32)            ok (5 x 3.0)"), r.all());
        assertTrue(r.out().contains("[rank 0] comm-check: ok (10 checks)"), r.all());
        assertTrue(r.out().contains("[rank 1] comm-check: ok (10 checks)"), r.all());
    }

    @Test
    void aRankProcessThatDiesEndsTheJobNamingIt() {
        Run r = launch("--nproc-per-node", "2", "--timeout", "120", "--", "comm-check", "--device", "cpu",
                "--fail-rank", "1");
        assertEquals(3, r.code(), r.all());
        assertTrue(r.err().contains("panomni launch: rank 1 (local rank 1) exited with code 3; stopped the other ranks"),
                r.all());
        assertTrue(r.seconds() < 60, "stopped by the launcher, not the 120 s collective timeout: " + r.seconds());
    }

    @Test
    void aRankThatNeverJoinsIsNamedAfterTheRendezvousTimeout() {
        Run r = launch("--nproc-per-node", "2", "--rdzv-timeout", "3", "--", "comm-check", "--device", "cpu",
                "--delay-rank", "1", "--delay", "120");
        assertTrue(r.code() != 0, r.all());
        assertTrue(r.err().contains("rank 1 did not join within 3 s"), r.all());
        assertTrue(r.err().contains("panomni launch: rank 0 (local rank 0) exited with code 1"), r.all());
        assertTrue(r.seconds() < 60, "ended by the rendezvous timeout: " + r.seconds());
    }

    @Test
    void aRankThreadThatFailsEndsTheJobNamingIt() {
        Run r = launch("--threads", "--nproc-per-node", "3", "--", "comm-check", "--device", "cpu", "--fail-rank", "2");
        assertEquals(3, r.code(), r.all());
        assertTrue(r.err().contains("panomni launch: rank 2 exited with code 3; stopped the other ranks"), r.all());
    }

    @Test
    void invalidCombinationsAreRefused() {
        Run r = launch("--threads", "--nnodes", "2", "--nproc-per-node", "2", "--", "comm-check");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--threads runs every rank in this JVM"), r.all());
        Run nested = launch("--nproc-per-node", "2", "--", "launch", "--nproc-per-node", "2", "--", "comm-check");
        assertEquals(2, nested.code());
        assertTrue(nested.err().contains("cannot be another launch"), nested.all());
    }

    @Test
    void launchAndTheHiddenCommCheckAreSubcommands() {
        CommandLine cli = new CommandLine(new PanomniCommand());
        assertEquals(LaunchCommand.class, cli.getSubcommands().get("launch").getCommand().getClass());
        assertTrue(cli.getSubcommands().get("comm-check").getCommandSpec().usageMessage().hidden());
    }
}
