package dev.panomni.kernels.launch;

import dev.panomni.kernels.CudaTestSupport;
import dev.panomni.kernels.runtime.CudaRuntime;
import dev.panomni.kernels.runtime.CudaStream;
import dev.panomni.tensor.DType;
import dev.panomni.tensor.Scope;
import dev.panomni.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.panomni.kernels.CudaTestSupport.CUDA;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Launch failures name the kernel and the op; the debug switch catches a kernel that faults at its launch. */
@Tag("gpu")
class KernelLaunchErrorsGpuTest {
    @BeforeEach
    void gpu() {
        CudaTestSupport.assumeGpu();
    }

    @Test
    void aLaunchWithABadShapeNamesTheKernel() {
        try (Scope s = Scope.open("bad launch")) {
            Tensor t = Tensor.empty(DType.F32, CUDA, 16);
            CudaStream stream = CudaRuntime.device(0).computeStream();
            KernelLauncher fill = new KernelLauncher("layout", "fill_strided");
            KernelLaunchException e = assertThrows(KernelLaunchException.class, () -> {
                try (KernelArgs a = KernelArgs.open()) {
                    StridedOperands it = StridedOperands.of(t.shape(), t.strides());
                    a.ptr(t).i32(DType.F32.ordinal()).strided(it, 0).i64(16).f64(1.0);
                    // 2048 threads per block is over every GPU's limit: the launch itself fails
                    fill.launch(stream, LaunchConfig.linear(1, 2048), a, "test.badShape");
                }
            });
            assertEquals("fill_strided", e.kernel());
            assertTrue(e.getMessage().contains("fill_strided") && e.getMessage().contains("test.badShape"),
                    e.getMessage());
            // the context is still usable: the error was not sticky
            CudaRuntime.device(0).synchronize();
        }
    }

    @Test
    void anUnknownKernelNameIsReportedWithIt() {
        KernelLauncher missing = new KernelLauncher("layout", "no_such_kernel");
        RuntimeException e = assertThrows(RuntimeException.class, () -> missing.function(CudaRuntime.device(0)));
        assertTrue(e.getMessage().contains("no_such_kernel"), e.getMessage());
    }

    /**
     * An illegal address poisons the whole context, so it runs in a child JVM: with
     * -Dpanomni.cuda.sync=true the fill that writes through a bogus pointer fails at its launch,
     * naming fill_strided and LayoutKernels.fill.
     */
    @Test
    void anIllegalAddressIsReportedAtTheOpWithTheDebugSwitch() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Dpanomni.cuda.sync=true",
                "-cp", childClassPath(), IllegalAddressProbe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "child JVM timed out");
        assertEquals(0, p.exitValue(), "child output:\n" + out);
        assertTrue(out.contains("KERNEL=fill_strided") && out.contains("OP=LayoutKernels.fill"), out);
        assertTrue(out.contains("ILLEGAL_ADDRESS") || out.contains("LAUNCH_FAILED"), out);
    }

    /**
     * The class path of this JVM plus where the probe, the tensor, kernels and bindings classes were
     * loaded from: under the JUnit console launcher the test classes are not on java.class.path.
     */
    private static String childClassPath() throws Exception {
        java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>();
        for (Class<?> c : new Class<?>[] {IllegalAddressProbe.class, Tensor.class, KernelLauncher.class,
                dev.panomni.bindings.cuda.CudaDriver.class}) {
            entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!e.isEmpty()) {
                entries.add(e);
            }
        }
        return String.join(java.io.File.pathSeparator, entries);
    }
}
