package dev.panomni.parallel.comm;

import dev.panomni.parallel.comm.nccl.NcclCommunicator;
import dev.panomni.parallel.comm.nccl.NcclOptions;
import dev.panomni.parallel.launch.KeyValueStore;
import dev.panomni.parallel.launch.LaunchEnv;
import dev.panomni.parallel.launch.ThreadLauncher;
import dev.panomni.tensor.Device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;

/**
 * The world communicator of a rank, with the backend its device and launch mode call for:
 * <ul>
 *   <li>CPU, ranks as threads of one JVM ({@code panomni launch --threads}): the
 *       {@link InProcessCommunicator} of the launcher's group;</li>
 *   <li>CPU, a single process: an in-process group of one;</li>
 *   <li>CPU, one process per rank: the {@link StoreCommunicator} (correct, slow: for small CPU jobs);</li>
 *   <li>CUDA: {@link NcclCommunicator} on the given device, meeting through the rendezvous store
 *       (rank 0 serves it at MASTER_ADDR:MASTER_PORT; in threads mode the launcher does). Launched
 *       processes halt on a collective timeout or NCCL error, so that the launcher ends the job.</li>
 * </ul>
 * Timeouts come from the threads-mode context, else the environment variables
 * {@value #RENDEZVOUS_TIMEOUT_VAR} and {@value #COLLECTIVE_TIMEOUT_VAR} (seconds; {@code panomni
 * launch} sets them from its options), else 300 s to rendezvous and 600 s per collective.
 */
public final class Communicators {
    /** Seconds the ranks wait for each other to join a group. */
    public static final String RENDEZVOUS_TIMEOUT_VAR = "PANOMNI_RDZV_TIMEOUT_S";
    /** Seconds a collective may take before it fails (and, on GPUs, its communicator is aborted). */
    public static final String COLLECTIVE_TIMEOUT_VAR = "PANOMNI_COLLECTIVE_TIMEOUT_S";

    private static final Duration DEFAULT_RENDEZVOUS = Duration.ofSeconds(300);
    private static final Duration DEFAULT_COLLECTIVE = Duration.ofSeconds(600);

    private Communicators() {
    }

    /**
     * The world communicator for this rank's place in the job ({@link LaunchEnv#current()} gives it)
     * with buffers on {@code device}. Every rank calls it once, at the same point of its program.
     *
     * @throws CollectiveException when the ranks do not all join within the rendezvous timeout
     */
    public static Communicator fromEnvironment(LaunchEnv env, Device device) {
        ThreadLauncher.RankContext ctx = ThreadLauncher.context();
        Duration rendezvous = ctx != null ? ctx.rendezvousTimeout() : seconds(System.getenv(), RENDEZVOUS_TIMEOUT_VAR,
                DEFAULT_RENDEZVOUS);
        Duration collective = ctx != null ? ctx.collectiveTimeout() : seconds(System.getenv(), COLLECTIVE_TIMEOUT_VAR,
                DEFAULT_COLLECTIVE);
        return fromEnvironment(env, device, rendezvous, collective);
    }

    /** As {@link #fromEnvironment(LaunchEnv, Device)} with explicit timeouts. */
    public static Communicator fromEnvironment(LaunchEnv env, Device device, Duration rendezvousTimeout,
                                               Duration collectiveTimeout) {
        ThreadLauncher.RankContext ctx = ThreadLauncher.context();
        boolean threads = ctx != null && ctx.env().equals(env);
        try {
            if (device.type() == Device.Type.CPU) {
                if (threads) {
                    return ctx.group().communicator(env.rank());
                }
                if (env.worldSize() == 1) {
                    return new InProcessGroup(1, collectiveTimeout.toMillis()).communicator(0);
                }
                return StoreCommunicator.join(env, false, rendezvousTimeout, collectiveTimeout);
            }
            NcclOptions options = new NcclOptions(collectiveTimeout, rendezvousTimeout, !threads && env.worldSize() > 1);
            if (env.worldSize() == 1) {
                return NcclCommunicator.create(0, 1, device, null, false, options);
            }
            KeyValueStore store = env.rank() == 0 && !threads
                    ? KeyValueStore.serve(env.masterAddr(), env.masterPort())
                    : KeyValueStore.connect(env.masterAddr(), env.masterPort(), rendezvousTimeout);
            try {
                return NcclCommunicator.create(env.rank(), env.worldSize(), device, store, true, options);
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rank " + env.rank() + " could not reach the rendezvous store at "
                    + env.masterAddr() + ":" + env.masterPort() + ": " + e.getMessage(), e);
        }
    }

    /** The device a rank computes on by default: its local GPU when CUDA and NCCL are usable, else the CPU. */
    public static Device defaultDevice(LaunchEnv env) {
        return NcclCommunicator.isAvailable() ? Device.cuda(env.localRank()) : Device.CPU;
    }

    static Duration seconds(Map<String, String> env, String name, Duration dflt) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            double s = Double.parseDouble(v.trim());
            if (s > 0) {
                return Duration.ofMillis(Math.round(s * 1000));
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("environment variable " + name + "='" + v + "' must be a positive number "
                + "of seconds");
    }
}
