package dev.panomni.parallel.launch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where this process sits in a job, read from the environment the way torchrun sets it
 * ({@code RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT}) or, failing
 * that, Slurm ({@code SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE,
 * SLURM_JOB_NODELIST}; the master is the first node of the list).
 */
public record LaunchEnv(int rank, int worldSize, int localRank, int localWorldSize, String masterAddr, int masterPort) {
    public static final int DEFAULT_PORT = 29500;

    /**
     * This rank's place in its job: the rank thread's own under {@link ThreadLauncher} (threads mode),
     * else the process environment's ({@link #from}).
     */
    public static LaunchEnv current() {
        ThreadLauncher.RankContext ctx = ThreadLauncher.context();
        return ctx != null ? ctx.env() : from(System.getenv());
    }

    /** A single-process job. */
    public static LaunchEnv single() {
        return new LaunchEnv(0, 1, 0, 1, "127.0.0.1", DEFAULT_PORT);
    }

    /** Reads the environment; a single-process job when neither torchrun nor Slurm variables are set. */
    public static LaunchEnv from(Map<String, String> env) {
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            int world = intVar(env, "WORLD_SIZE", 1);
            int rank = intVar(env, "RANK", 0);
            int local = intVar(env, "LOCAL_RANK", rank);
            int localWorld = intVar(env, "LOCAL_WORLD_SIZE", world);
            String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
            int port = intVar(env, "MASTER_PORT", DEFAULT_PORT);
            return check(new LaunchEnv(rank, world, local, localWorld, addr, port), "RANK/WORLD_SIZE");
        }
        if (env.containsKey("SLURM_PROCID")) {
            int world = intVar(env, "SLURM_NTASKS", 1);
            int rank = intVar(env, "SLURM_PROCID", 0);
            int local = intVar(env, "SLURM_LOCALID", 0);
            String perNode = env.getOrDefault("SLURM_NTASKS_PER_NODE", String.valueOf(world));
            int localWorld = Integer.parseInt(perNode.replaceAll("\\(.*", "").split(",")[0]);
            String nodes = env.getOrDefault("SLURM_JOB_NODELIST", env.getOrDefault("SLURM_NODELIST", "127.0.0.1"));
            String addr = env.getOrDefault("MASTER_ADDR", expandHostList(nodes).get(0));
            int port = intVar(env, "MASTER_PORT", DEFAULT_PORT);
            return check(new LaunchEnv(rank, world, local, localWorld, addr, port), "SLURM_PROCID/SLURM_NTASKS");
        }
        return single();
    }

    private static LaunchEnv check(LaunchEnv e, String source) {
        if (e.worldSize < 1 || e.rank < 0 || e.rank >= e.worldSize) {
            throw new IllegalArgumentException("launch environment (" + source + "): rank " + e.rank
                    + " is not in [0, world size " + e.worldSize + ")");
        }
        if (e.localRank < 0 || e.localRank >= Math.max(1, e.localWorldSize)) {
            throw new IllegalArgumentException("launch environment (" + source + "): local rank " + e.localRank
                    + " is not in [0, local world size " + e.localWorldSize + ")");
        }
        return e;
    }

    private static int intVar(Map<String, String> env, String name, int dflt) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("environment variable " + name + "='" + v + "' is not an integer");
        }
    }

    /** Expands a Slurm host list such as {@code gpu[01-03,07],login1} into host names. */
    public static List<String> expandHostList(String list) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char ch : (list + ",").toCharArray()) {
            if (ch == '[') {
                depth++;
            } else if (ch == ']') {
                depth--;
            }
            if (ch == ',' && depth == 0) {
                if (!cur.isEmpty()) {
                    expandOne(cur.toString(), out);
                }
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        return out;
    }

    private static void expandOne(String item, List<String> out) {
        int lb = item.indexOf('[');
        if (lb < 0) {
            out.add(item);
            return;
        }
        String prefix = item.substring(0, lb);
        String suffix = item.substring(item.indexOf(']') + 1);
        for (String range : item.substring(lb + 1, item.indexOf(']')).split(",")) {
            String[] ab = range.split("-");
            int width = ab[0].length();
            int a = Integer.parseInt(ab[0]);
            int b = ab.length > 1 ? Integer.parseInt(ab[1]) : a;
            for (int i = a; i <= b; i++) {
                out.add(prefix + String.format("%0" + width + "d", i) + suffix);
            }
        }
    }
}
