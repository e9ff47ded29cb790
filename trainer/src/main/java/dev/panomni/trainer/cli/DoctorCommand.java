package dev.panomni.trainer.cli;

import dev.panomni.bindings.GpuEnvironment;
import dev.panomni.bindings.NativeLibrary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code panomni doctor}: what this machine offers for GPU training. Exit status 0 only when everything GPU training
 * needs is present: the CUDA driver, at least one GPU, cuBLASLt and NVRTC, and NCCL when there is more than one GPU
 * (a single GPU trains without NCCL; multi-GPU runs need it).
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check the JDK, CUDA driver, GPUs and GPU libraries (cuBLASLt, NVRTC, NCCL).",
                "Exit status 0 when GPU training can run here: driver, a GPU, cuBLASLt, NVRTC, and NCCL if there "
                        + "is more than one GPU."})
public final class DoctorCommand implements Callable<Integer> {
    @Option(names = {"-v", "--verbose"}, description = "list every place searched for each library")
    boolean verbose;

    PrintStream out = System.out;

    @Override
    public Integer call() {
        GpuEnvironment.Report r = GpuEnvironment.probe();
        out.println("Panomni doctor");
        row("JDK", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + "), "
                + System.getProperty("java.home") + vectorApi());

        GpuEnvironment.Library driver = r.driver();
        if (!driver.usable()) {
            row("CUDA driver", "NOT FOUND");
            missingDetails(driver);
        } else {
            String version = r.driverVersion() > 0
                    ? "CUDA " + GpuEnvironment.cudaVersion(r.driverVersion()) + " (" + r.driverVersion() + ")"
                    : "version unknown";
            row("CUDA driver", version + ", " + driver.location());
            if (r.driverVersion() > 0 && r.driverVersion() < r.headersVersion()) {
                row("", "warning: the bindings were generated from CUDA " + GpuEnvironment.cudaVersion(
                        r.headersVersion()) + " headers; functions newer than this driver fail when called");
            }
            if (r.driverProblem() != null) {
                row("", "UNUSABLE: " + r.driverProblem());
            }
        }
        if (r.gpus().isEmpty()) {
            row("GPUs", driver.usable() && r.driverProblem() == null ? "none (the driver reports 0 devices)"
                    : "none visible (no working driver)");
        }
        for (GpuEnvironment.Gpu g : r.gpus()) {
            row("GPU " + g.ordinal(), String.format(Locale.ROOT, "%s, %.1f GiB, compute capability %d.%d, %d SMs%s",
                    g.name(), g.totalMemory() / (double) (1L << 30), g.computeMajor(), g.computeMinor(),
                    g.multiprocessors(), g.uuid() == null ? "" : ", " + g.uuid()));
        }
        library("cuBLASLt", r.cublasLt(), "required");
        library("NVRTC", r.nvrtc(), "required");
        library("NCCL", r.nccl(), r.gpus().size() > 1 ? "required with " + r.gpus().size() + " GPUs"
                : "needed only for more than one GPU");
        out.println();
        List<String> missing = r.missing();
        if (missing.isEmpty()) {
            out.println("Ready for GPU training" + (r.gpus().size() > 1 && r.nccl().usable()
                    ? " (multi-GPU: NCCL present)" : "") + ".");
            return 0;
        }
        out.println("NOT ready for GPU training: missing " + String.join(", ", missing)
                + ". Training still runs on the CPU backend.");
        if (!verbose) {
            out.println("Run `panomni doctor --verbose` to see every place each library was looked for.");
        }
        return 1;
    }

    private void library(String label, GpuEnvironment.Library lib, String need) {
        if (lib.usable()) {
            row(label, (lib.version() == null ? "version unknown" : lib.version()) + ", " + lib.location());
        } else if (lib.location() != null) {
            row(label, "UNUSABLE (" + need + "): " + lib.location() + ": " + lib.problem());
        } else {
            row(label, "NOT FOUND (" + need + ")");
            missingDetails(lib);
        }
    }

    private void missingDetails(GpuEnvironment.Library lib) {
        NativeLibrary n = lib.library();
        row("", "looked for " + String.join(", ", n.fileNames()) + " in " + lib.searched().size() + " places"
                + (verbose ? ":" : ""));
        if (verbose) {
            for (String s : lib.searched()) {
                row("", "  " + s);
            }
        }
        if (!n.hint().isEmpty()) {
            row("", n.hint());
        }
        row("", "or point Panomni at it: -D" + n.systemProperty() + "=PATH or " + n.environmentVariable()
                + "=PATH (the file or its folder)");
    }

    private void row(String label, String text) {
        out.printf(Locale.ROOT, "  %-12s %s%n", label, text);
    }

    private static String vectorApi() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() ? "; Vector API enabled"
                : "; Vector API NOT enabled (add --add-modules jdk.incubator.vector)";
    }
}
