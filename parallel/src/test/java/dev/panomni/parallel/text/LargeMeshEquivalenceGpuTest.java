package dev.panomni.parallel.text;

import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.parallel.comm.nccl.NcclTestSupport;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Device;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The equivalence suite's configurations of 4 and 8 ranks ({@link LargeMeshes}) on as many GPUs through
 * NCCL, rank r on {@code cuda:r}, against a one-GPU run on {@code cuda:0}: the same harness, runs and
 * tolerances as {@link TwoGpuEquivalenceGpuTest} (see there; the CPU suite exercises the BF16 bounds on
 * these meshes too). A configuration needs one GPU per rank, since NCCL refuses two ranks of one
 * communicator on one GPU ("Duplicate GPU detected"); on a host with fewer it skips and says how many
 * it needs. Run on a 4- or 8-GPU host: {@code NCCL_NVLS_ENABLE=0 bin/panomni-gpu-tests
 * --include-classname '.*LargeMeshEquivalenceGpuTest'}.
 */
@Tag("gpu")
@Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LargeMeshEquivalenceGpuTest {
    private static final Device REFERENCE = Device.cuda(0);
    private static final SupervisedRanks GPUS = NcclRanks.create(
            Duration.ofSeconds(TwoGpuEquivalenceGpuTest.COLLECTIVE_TIMEOUT_S),
            Duration.ofSeconds(TwoGpuEquivalenceGpuTest.RUN_DEADLINE_S),
            Duration.ofSeconds(TwoGpuEquivalenceGpuTest.ABORT_GRACE_S));
    private static final Set<Integer> WARM = new HashSet<>();

    static Stream<EquivalenceCase> cases() {
        return Stream.concat(LargeMeshes.cases(DType.F32).stream(), LargeMeshes.cases(DType.BF16).stream());
    }

    /** Loads the kernels into every GPU a run uses before any rank waits on another in a collective. */
    private static synchronized void warmUp(int gpus) {
        long t0 = System.nanoTime();
        for (int gpu = 0; gpu < gpus; gpu++) {
            if (!WARM.add(gpu)) {
                continue;
            }
            for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
                for (String model : new String[] {TinyTextModels.DENSE, TinyTextModels.MOE}) {
                    try {
                        TrainingEquivalence.warmUp(model, Device.cuda(gpu), dtype);
                    } catch (RuntimeException | Error e) {
                        // Not fatal here: a run that needs this path fails on its own.
                        System.err.println("LargeMeshEquivalenceGpuTest: warm-up of the " + model + " model in " + dtype
                                + " on cuda:" + gpu + " failed: " + e);
                    }
                }
            }
        }
        System.err.printf(Locale.ROOT, "LargeMeshEquivalenceGpuTest: kernels loaded on %d GPUs in %.1f s%n", gpus,
                (System.nanoTime() - t0) / 1e9);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void agreesWithOneGpu(EquivalenceCase c) throws Exception {
        NcclTestSupport.assumeNccl();
        int ranks = c.shape().worldSize();
        int gpus = CudaRuntime.deviceCount();
        if (gpus < ranks) {
            String reason = c + " needs " + ranks + " GPUs (one per rank), found " + gpus
                    + "; the CPU suite runs it (ParallelEquivalenceTest)";
            System.err.println("SKIPPED GPU test: " + reason);
            Assumptions.abort(reason);
        }
        NcclTestSupport.keepMulticastOff();
        warmUp(ranks);
        String unusable = GPUS.unusableReason();
        if (unusable != null) {
            System.err.println("SKIPPED GPU test: " + unusable);
            Assumptions.abort(unusable);
        }
        TrainingEquivalence.compare(c, GPUS, REFERENCE, c.dtype() == DType.F32 ? TwoGpuEquivalenceGpuTest.F32
                : TwoGpuEquivalenceGpuTest.BF16).assertAgrees();
    }
}
