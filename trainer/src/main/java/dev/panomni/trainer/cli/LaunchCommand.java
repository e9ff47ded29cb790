package dev.panomni.trainer.cli;

import dev.panomni.parallel.comm.Communicators;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.parallel.launch.ProcessLauncher;
import dev.panomni.parallel.launch.ThreadLauncher;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code panomni launch}: runs a panomni command as a multi-rank job, one JVM per rank (the
 * default) or one thread per rank ({@code --threads}), with the torchrun variables each rank reads
 * through {@link LaunchEnv}. The whole job ends, naming the rank, when a rank exits with an error;
 * a rank that never joins is named by the others after the rendezvous timeout.
 */
@Command(name = "launch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a panomni command on several ranks: one JVM per GPU (default) or one thread per rank",
                "(--threads). Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and",
                "MASTER_PORT (torchrun's variables); rank 0 serves the rendezvous store at MASTER_ADDR:MASTER_PORT.",
                "Ranks on CUDA talk through NCCL (with NCCL_NVLS_ENABLE=0: NVLink multicast stays off); CPU ranks",
                "through the in-process backend (--threads) or the rendezvous store (processes, slow).",
                "When a rank exits with an error the others are stopped and the rank is named."},
        footer = {"", "Examples:",
                "  panomni launch --nproc-per-node 8 -- train --config run.yaml",
                "  panomni launch --threads --nproc-per-node 4 -- train --config tiny.yaml   (4 CPU ranks, one JVM)",
                "  panomni launch --nnodes 2 --node-rank 0 --master-addr gpu01 --nproc-per-node 8 -- train ...",
                "", "Exit status: 0 when every rank succeeded, else the failing rank's (1 for a thread that threw)."})
public final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc-per-node", required = true, paramLabel = "N",
            description = "ranks on this node (one per GPU)")
    int nprocPerNode;

    @Option(names = "--nnodes", defaultValue = "1", paramLabel = "M", description = "nodes in the job (default 1)")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", paramLabel = "R", description = "this node's index, 0 .. M-1")
    int nodeRank;

    @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "address of node 0, where rank 0 serves the rendezvous store (default 127.0.0.1)")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT",
            description = "port of the rendezvous store (default: a free port on one node, 29500 on several)")
    Integer masterPort;

    @Option(names = "--threads", description = "run the ranks as threads of this JVM instead of one JVM each")
    boolean threads;

    @Option(names = "--rdzv-timeout", defaultValue = "300", paramLabel = "SECONDS",
            description = "how long ranks wait for each other to join (default ${DEFAULT-VALUE} s)")
    double rendezvousTimeout;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "how long one collective may take before the job fails (default ${DEFAULT-VALUE} s)")
    double collectiveTimeout;

    @Parameters(arity = "1..*", paramLabel = "COMMAND",
            description = "the panomni command every rank runs, after --, e.g. -- train --config run.yaml")
    List<String> command = new ArrayList<>();

    PrintStream out = System.out;
    PrintStream err = System.err;

    @Override
    public Integer call() throws IOException, InterruptedException {
        String problem = check();
        if (problem != null) {
            err.println("panomni launch: " + problem);
            return 2;
        }
        Duration rendezvous = Duration.ofMillis(Math.round(rendezvousTimeout * 1000));
        Duration collective = Duration.ofMillis(Math.round(collectiveTimeout * 1000));
        ProcessLauncher.Outcome o;
        if (threads) {
            String[] args = command.toArray(String[]::new);
            o = ThreadLauncher.run(nprocPerNode, rendezvous, collective, Duration.ofSeconds(10), rank -> {
                CommandLine cli = new CommandLine(new PanomniCommand());
                cli.setOut(new PrintWriter(new LinePrefixWriter(out, "[rank " + rank + "] "), true));
                cli.setErr(new PrintWriter(new LinePrefixWriter(err, "[rank " + rank + "] "), true));
                try {
                    return cli.execute(args);
                } finally {
                    cli.getOut().close();
                    cli.getErr().close();
                }
            });
        } else {
            int port = masterPort != null ? masterPort : nnodes == 1 ? freePort() : LaunchEnv.DEFAULT_PORT;
            Map<String, String> env = Map.of(
                    Communicators.RENDEZVOUS_TIMEOUT_VAR, Double.toString(rendezvousTimeout),
                    Communicators.COLLECTIVE_TIMEOUT_VAR, Double.toString(collectiveTimeout));
            o = ProcessLauncher.run(rankCommand(command), nprocPerNode, nodeRank, nnodes, masterAddr, port,
                    Path.of("").toAbsolutePath(), env, out, err);
        }
        if (o.exitCode() != 0) {
            err.println("panomni launch: " + o.message());
        }
        return o.exitCode();
    }

    private String check() {
        if (nprocPerNode < 1) {
            return "--nproc-per-node must be at least 1, got " + nprocPerNode;
        }
        if (nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes) {
            return "--node-rank " + nodeRank + " is not in [0, --nnodes " + nnodes + ")";
        }
        if (threads && nnodes > 1) {
            return "--threads runs every rank in this JVM: it needs --nnodes 1 (start one launch per node without "
                    + "--threads for several nodes)";
        }
        if (command.get(0).equals("launch")) {
            return "the command after -- is what each rank runs; it cannot be another launch";
        }
        if (rendezvousTimeout <= 0 || collectiveTimeout <= 0) {
            return "--rdzv-timeout and --timeout must be positive";
        }
        return null;
    }

    /** This JVM again (same executable and JVM options, same class path), running {@code args}. */
    static List<String> rankCommand(List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PanomniCommand.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
