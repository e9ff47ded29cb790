package dev.panomni.bench.parallel;

import dev.panomni.parallel.engine.ParallelOptions;
import dev.panomni.parallel.ep.ExpertDispatch;
import dev.panomni.parallel.sp.SequenceParallelMode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The command line of {@link ScalingRunner}.
 *
 * @param model      qwen3, qwen3_moe (the benchmark shapes) or a small model of {@link ParallelThroughput#config}
 * @param gpus       rank counts to run, in order (each on cuda:0 .. cuda:n-1, or as CPU threads)
 * @param cuda       ranks on GPUs through NCCL (else CPU threads over the in-process communicator)
 * @param batch      documents per GPU and step (scaling mode)
 * @param seq        tokens per document (scaling mode)
 * @param ep         expert-parallel degree, or 0 for "as many as ranks" on MoE models and 1 on dense ones
 * @param dispatch   how expert-parallel layers move tokens (ep > 1)
 * @param steps      timed steps
 * @param warmup     untimed steps first
 * @param layers     decoder layers, or -1 for the model's own count
 * @param sp         the sequence-parallel mode of the long-context sweep
 * @param seqSweep   sequence lengths to try, ascending; empty for the scaling mode
 * @param timeoutSec how long one collective may take before NCCL's watchdog aborts it
 */
record ScalingOptions(String model, int[] gpus, boolean cuda, int batch, int seq, int ep, ExpertDispatch dispatch,
                      int steps, int warmup, int layers, SequenceParallelMode sp, int[] seqSweep, int timeoutSec) {
    static final String USAGE = "options: --model qwen3|qwen3_moe|tiny-dense|tiny-moe|small-dense|small-moe "
            + "--gpus N[,N...] --device cuda|cpu --batch B --seq S --ep E --ep-dispatch all-gather|all-to-all "
            + "--steps N --warmup N --layers L "
            + "--sp ulysses|ring --seq-sweep S1,S2,... --timeout-s SECONDS";

    ScalingOptions {
        if (gpus.length == 0) {
            throw new IllegalArgumentException("--gpus needs at least one rank count");
        }
        for (int g : gpus) {
            if (g < 1) {
                throw new IllegalArgumentException("--gpus counts must be >= 1, got " + g);
            }
        }
        if (batch < 1 || seq < 2 || steps < 1 || warmup < 0 || ep < 0 || timeoutSec < 1) {
            throw new IllegalArgumentException("need --batch >= 1, --seq >= 2, --steps >= 1, --warmup >= 0, --ep >= 0, "
                    + "--timeout-s >= 1; got batch " + batch + ", seq " + seq + ", steps " + steps + ", warmup "
                    + warmup + ", ep " + ep + ", timeout " + timeoutSec);
        }
        for (int i = 0; i < seqSweep.length; i++) {
            if (seqSweep[i] < 2 || i > 0 && seqSweep[i] <= seqSweep[i - 1]) {
                throw new IllegalArgumentException("--seq-sweep lengths must be >= 2 and ascending, got "
                        + java.util.Arrays.toString(seqSweep));
            }
        }
    }

    /** Whether this run is the long-context sweep rather than the scaling run. */
    boolean longContext() {
        return seqSweep.length > 0;
    }

    /** The engine's options for this run, apart from the compute dtype (which follows the device). */
    ParallelOptions engineOptions() {
        return ParallelOptions.defaults().withSequenceParallel(sp).withExpertDispatch(dispatch);
    }

    /** The expert-parallel degree on {@code ranks} ranks for a model with {@code experts} experts. */
    int epFor(int ranks, int experts) {
        if (experts == 0) {
            return 1;
        }
        return ep == 0 ? ranks : ep;
    }

    static ScalingOptions parse(String[] args) {
        String model = "qwen3";
        int[] gpus = {1};
        boolean cuda = true;
        int batch = 4;
        int seq = 4096;
        int ep = 0;
        ExpertDispatch dispatch = ParallelOptions.defaults().expertDispatch();
        int steps = 3;
        int warmup = 2;
        int layers = -1;
        SequenceParallelMode sp = SequenceParallelMode.ULYSSES;
        int[] sweep = {};
        int timeout = 180;
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value; " + USAGE);
            }
            String v = args[++i];
            switch (flag) {
                case "--model" -> model = v;
                case "--gpus", "--ranks" -> gpus = ints(flag, v);
                case "--device" -> cuda = switch (v) {
                    case "cuda" -> true;
                    case "cpu" -> false;
                    default -> throw new IllegalArgumentException("--device must be cuda or cpu, got " + v);
                };
                case "--batch" -> batch = integer(flag, v);
                case "--seq" -> seq = integer(flag, v);
                case "--ep" -> ep = integer(flag, v);
                case "--ep-dispatch" -> dispatch = switch (v.toLowerCase(Locale.ROOT)) {
                    case "all-gather" -> ExpertDispatch.ALL_GATHER;
                    case "all-to-all" -> ExpertDispatch.ALL_TO_ALL;
                    default -> throw new IllegalArgumentException("--ep-dispatch must be all-gather or all-to-all, got " + v);
                };
                case "--steps" -> steps = integer(flag, v);
                case "--warmup" -> warmup = integer(flag, v);
                case "--layers" -> layers = integer(flag, v);
                case "--sp" -> sp = switch (v.toLowerCase(Locale.ROOT)) {
                    case "ulysses" -> SequenceParallelMode.ULYSSES;
                    case "ring" -> SequenceParallelMode.RING;
                    default -> throw new IllegalArgumentException("--sp must be ulysses or ring, got " + v);
                };
                case "--seq-sweep" -> sweep = ints(flag, v);
                case "--timeout-s" -> timeout = integer(flag, v);
                default -> throw new IllegalArgumentException("unknown option " + flag + "; " + USAGE);
            }
        }
        return new ScalingOptions(model, gpus, cuda, batch, seq, ep, dispatch, steps, warmup, layers, sp, sweep, timeout);
    }

    private static int integer(String flag, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " takes an integer, got '" + v + "'");
        }
    }

    private static int[] ints(String flag, String v) {
        List<Integer> out = new ArrayList<>();
        for (String p : v.split(",")) {
            if (!p.isBlank()) {
                out.add(integer(flag, p));
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }
}
