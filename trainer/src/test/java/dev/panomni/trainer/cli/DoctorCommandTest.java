package dev.panomni.trainer.cli;

import dev.panomni.bindings.NativeLibrary;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class DoctorCommandTest {
    private static String run(DoctorCommand doctor, String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        doctor.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = new CommandLine(doctor).execute(args);
        return code + "\n" + bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void withoutADriverTheReportSaysWhatIsMissingAndExitsNonZero() {
        assumeFalse(NativeLibrary.CUDA.isAvailable(), "this machine has a CUDA driver: see the GPU host's report");
        String out = run(new DoctorCommand());
        assertTrue(out.startsWith("1\nPanomni doctor\n"), out);
        assertTrue(out.contains("  JDK          " + System.getProperty("java.version")), out);
        assertTrue(out.contains("  CUDA driver  NOT FOUND"), out);
        assertTrue(out.contains("Install the NVIDIA driver"), out);
        assertTrue(out.contains("-Dpanomni.cuda.lib=PATH or PANOMNI_CUDA_LIB=PATH"), out);
        assertTrue(out.contains("  GPUs         none visible (no working driver)"), out);
        assertTrue(out.contains("  NCCL         "), out);
        assertTrue(out.contains("NOT ready for GPU training: missing the CUDA driver"), out);
        assertTrue(!out.contains("/usr/local/cuda/lib64 (CUDA install)"), "search list only with --verbose");
    }

    @Test
    void verboseListsEveryPlaceSearched() {
        assumeFalse(NativeLibrary.CUDA.isAvailable(), "this machine has a CUDA driver");
        String out = run(new DoctorCommand(), "--verbose");
        assertTrue(out.contains("-Dpanomni.cuda.lib: not set"), out);
        assertTrue(out.contains("/usr/local/cuda/lib64 (CUDA install)"), out);
        assertTrue(out.contains("dlopen(libcuda.so.1) through the system linker path"), out);
    }

    @Test
    void isASubcommandOfPanomni() {
        CommandLine cli = new CommandLine(new PanomniCommand());
        assertTrue(cli.getSubcommands().containsKey("doctor"));
        assertEquals(DoctorCommand.class, cli.getSubcommands().get("doctor").getCommand().getClass());
    }
}
