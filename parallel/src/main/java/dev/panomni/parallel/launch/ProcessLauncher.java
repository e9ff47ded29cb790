package dev.panomni.parallel.launch;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts one JVM per local rank (what {@code panomni launch --nproc-per-node N} does) with the
 * torchrun variables set, forwards their output, and ends the whole job as soon as any rank exits
 * with an error, naming it, so a dead rank never leaves the others hanging in a collective.
 *
 * <p>Every rank gets {@code NCCL_NVLS_ENABLE=0} unless the environment sets it: NVLink SHARP
 * (multicast) must stay off on the shared GPU hosts.
 */
public final class ProcessLauncher {
    /** Exit code and the rank that decided it (-1 when all ranks succeeded). */
    public record Outcome(int exitCode, int failedRank, String message) {
    }

    private ProcessLauncher() {
    }

    /**
     * @param command     the per-rank command (typically java ... -jar panomni.jar train ...)
     * @param nproc       processes on this node
     * @param nodeRank    this node's index
     * @param nnodes      number of nodes
     * @param masterAddr  address of rank 0's node
     * @param masterPort  port of the rendezvous store
     * @param workDir     working directory for the ranks
     */
    public static Outcome run(List<String> command, int nproc, int nodeRank, int nnodes, String masterAddr,
                              int masterPort, Path workDir) throws IOException, InterruptedException {
        return run(command, nproc, nodeRank, nnodes, masterAddr, masterPort, workDir, Map.of(), null, null);
    }

    /**
     * As {@link #run(List, int, int, int, String, int, Path)}, with {@code extraEnv} added to every
     * rank's environment and, when {@code out} and {@code err} are given, each rank's output
     * forwarded to them line by line with a {@code [rank N] } prefix (otherwise the ranks inherit
     * this process's standard streams).
     */
    public static Outcome run(List<String> command, int nproc, int nodeRank, int nnodes, String masterAddr,
                              int masterPort, Path workDir, Map<String, String> extraEnv, PrintStream out,
                              PrintStream err) throws IOException, InterruptedException {
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nproc);
        }
        List<Process> procs = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        int world = nproc * nnodes;
        for (int local = 0; local < nproc; local++) {
            int rank = nodeRank * nproc + local;
            ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile());
            if (out == null || err == null) {
                pb.inheritIO();
            }
            Map<String, String> env = pb.environment();
            env.putAll(extraEnv);
            env.put("RANK", Integer.toString(rank));
            env.put("WORLD_SIZE", Integer.toString(world));
            env.put("LOCAL_RANK", Integer.toString(local));
            env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
            env.put("MASTER_ADDR", masterAddr);
            env.put("MASTER_PORT", Integer.toString(masterPort));
            env.put("NCCL_NVLS_ENABLE", env.getOrDefault("NCCL_NVLS_ENABLE", "0"));
            Process p = pb.start();
            procs.add(p);
            if (out != null && err != null) {
                pumps.add(pump(p.getInputStream(), out, "[rank " + rank + "] "));
                pumps.add(pump(p.getErrorStream(), err, "[rank " + rank + "] "));
            }
        }
        Thread hook = new Thread(() -> procs.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return watch(procs, pumps, nproc, nodeRank);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down: the hook runs
            }
        }
    }

    private static Outcome watch(List<Process> procs, List<Thread> pumps, int nproc, int nodeRank)
            throws InterruptedException {
        boolean[] done = new boolean[nproc];
        int remaining = nproc;
        while (remaining > 0) {
            for (int i = 0; i < nproc; i++) {
                if (done[i]) {
                    continue;
                }
                Process p = procs.get(i);
                if (p.waitFor(100, TimeUnit.MILLISECONDS)) {
                    done[i] = true;
                    remaining--;
                    int code = p.exitValue();
                    if (code != 0) {
                        int rank = nodeRank * nproc + i;
                        terminate(procs);
                        drain(pumps);
                        return new Outcome(code, rank, "rank " + rank + " (local rank " + i + ") exited with code "
                                + code + "; stopped the other ranks");
                    }
                }
            }
        }
        drain(pumps);
        return new Outcome(0, -1, "all " + nproc + " ranks finished");
    }

    private static Thread pump(InputStream in, PrintStream to, String prefix) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    to.println(prefix + line);
                }
            } catch (IOException e) {
                // the rank's stream closed
            }
        }, "launch-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Lets the forwarders print what the ranks wrote before they exited. */
    private static void drain(List<Thread> pumps) throws InterruptedException {
        for (Thread t : pumps) {
            t.join(5_000);
        }
    }

    private static void terminate(List<Process> procs) throws InterruptedException {
        for (Process p : procs) {
            p.destroy();
        }
        for (Process p : procs) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
