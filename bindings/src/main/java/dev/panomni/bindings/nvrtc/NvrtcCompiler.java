package dev.panomni.bindings.nvrtc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** Compiles CUDA C++ source to PTX with NVRTC. */
public final class NvrtcCompiler {
    private NvrtcCompiler() {}

    /** PTX text and the compiler's log (warnings; usually empty). */
    public record Result(String ptx, String log) {}

    /**
     * Compiles {@code source} (named {@code name} in messages) with {@code options}, for example
     * {@code List.of("--gpu-architecture=compute_90", "-default-device")}.
     *
     * @throws NvrtcException with the compile log when compilation fails
     */
    public static Result compile(String source, String name, List<String> options) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment prog = arena.allocate(ADDRESS);
            NvrtcStatus.check(Nvrtc.nvrtcCreateProgram(prog, arena.allocateFrom(source), arena.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment program = prog.get(ADDRESS, 0);
            try {
                MemorySegment opts = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int rc = Nvrtc.nvrtcCompileProgram(program, options.size(), opts);
                String log = log(arena, program);
                if (rc != nvrtcResult.NVRTC_SUCCESS) {
                    throw NvrtcStatus.exception(rc, "nvrtcCompileProgram(" + name + ")", log);
                }
                MemorySegment size = arena.allocate(JAVA_LONG);
                NvrtcStatus.check(Nvrtc.nvrtcGetPTXSize(program, size), "nvrtcGetPTXSize");
                MemorySegment ptx = arena.allocate(size.get(JAVA_LONG, 0));
                NvrtcStatus.check(Nvrtc.nvrtcGetPTX(program, ptx), "nvrtcGetPTX");
                return new Result(ptx.getString(0, StandardCharsets.UTF_8), log);
            } finally {
                Nvrtc.nvrtcDestroyProgram(prog);
            }
        }
    }

    /** NVRTC's version as {@code {major, minor}}. */
    public static int[] version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            NvrtcStatus.check(Nvrtc.nvrtcVersion(major, minor), "nvrtcVersion");
            return new int[] {major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0)};
        }
    }

    private static String log(Arena arena, MemorySegment program) {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if (Nvrtc.nvrtcGetProgramLogSize(program, size) != nvrtcResult.NVRTC_SUCCESS) {
            return "";
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) {
            return "";
        }
        MemorySegment text = arena.allocate(n);
        return Nvrtc.nvrtcGetProgramLog(program, text) == nvrtcResult.NVRTC_SUCCESS
                ? text.getString(0, StandardCharsets.UTF_8) : "";
    }
}
