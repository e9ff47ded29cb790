package dev.panomni.parallel.launch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Starts one JVM per local rank (what {@code panomni launch --nproc-per-node N} does) with the
 * torchrun variables set, forwards their output, and ends the whole job as soon as any rank exits
 * with an error, naming it, so a dead rank never leaves the others hanging in a collective.
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
        if (nproc < 1) {
            throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nproc);
        }
        List<Process> procs = new ArrayList<>();
        int world = nproc * nnodes;
        for (int local = 0; local < nproc; local++) {
            int rank = nodeRank * nproc + local;
            ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).inheritIO();
            Map<String, String> env = pb.environment();
            env.put("RANK", Integer.toString(rank));
            env.put("WORLD_SIZE", Integer.toString(world));
            env.put("LOCAL_RANK", Integer.toString(local));
            env.put("LOCAL_WORLD_SIZE", Integer.toString(nproc));
            env.put("MASTER_ADDR", masterAddr);
            env.put("MASTER_PORT", Integer.toString(masterPort));
            env.put("NCCL_NVLS_ENABLE", env.getOrDefault("NCCL_NVLS_ENABLE", "0"));
            procs.add(pb.start());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> procs.forEach(Process::destroy)));
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
                        return new Outcome(code, rank, "rank " + rank + " (local rank " + i + ") exited with code "
                                + code + "; stopped the other ranks");
                    }
                }
            }
        }
        return new Outcome(0, -1, "all " + nproc + " ranks finished");
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
