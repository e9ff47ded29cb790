package dev.panomni.bindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeLibraryTest {
    /** The C library this JVM has loaded, found through /proc/self/maps (a real file to point overrides at). */
    private static Path libc() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash >= 0 && line.substring(slash).matches(".*/libc[.-][^/]*so.*")) {
                return Path.of(line.substring(slash).trim());
            }
        }
        throw new IllegalStateException("libc not in /proc/self/maps");
    }

    private static NativeLibrary.Builder isolated(String name, Map<String, String> env, Map<String, String> props) {
        return NativeLibrary.builder(name, "Test library " + name)
                .environment(env::get)
                .systemProperties(props::get);
    }

    @Test
    void missingLibraryListsEverySearchedPlaceAndHowToFixIt() {
        NativeLibrary lib = isolated("fake", Map.of("LD_LIBRARY_PATH", "/nowhere/lib"), Map.of())
                .files("libpanomni-missing.so.7").hint("Install the fake library.").build();
        assertFalse(lib.isAvailable());
        assertTrue(lib.location().isEmpty());
        NativeLibraryNotFoundException e = assertThrows(NativeLibraryNotFoundException.class, lib::lookup);
        String m = e.getMessage();
        assertTrue(m.startsWith("Test library fake library (libpanomni-missing.so.7) not found. Searched:"), m);
        assertTrue(m.contains("-Dpanomni.fake.lib: not set"), m);
        assertTrue(m.contains("PANOMNI_FAKE_LIB: not set"), m);
        assertTrue(m.contains("/usr/local/cuda/lib64 (CUDA install)"), m);
        assertTrue(m.contains("/nowhere/lib (LD_LIBRARY_PATH): no such folder"), m);
        assertTrue(m.contains("dlopen(libpanomni-missing.so.7) through the system linker path"), m);
        assertTrue(m.contains("Install the fake library."), m);
        assertTrue(m.contains("-Dpanomni.fake.lib=/path/to/libpanomni-missing.so.7 or PANOMNI_FAKE_LIB="), m);
        assertEquals(e.searched(), lib.searchLog());
        assertEquals("fake", e.library());
    }

    @Test
    void systemPropertyOverrideWinsAndAcceptsAFile() throws Exception {
        Path libc = libc();
        NativeLibrary lib = isolated("mylibc", Map.of(), Map.of("panomni.mylibc.lib", libc.toString()))
                .files("libnothing.so").build();
        assertTrue(lib.isAvailable(), String.join("\n", lib.searchLog()));
        assertEquals(libc.toString(), lib.location().orElseThrow());
        assertTrue(lib.find("strlen").isPresent());
        MethodHandle strlen = lib.downcall("strlen", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(7L, (long) strlen.invokeExact(arena.allocateFrom("panomni")));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Test
    void environmentOverrideAcceptsTheFolder() throws Exception {
        Path libc = libc();
        NativeLibrary lib = isolated("envlibc", Map.of("PANOMNI_ENVLIBC_LIB", libc.getParent().toString()), Map.of())
                .files(libc.getFileName().toString()).build();
        assertTrue(lib.isAvailable(), String.join("\n", lib.searchLog()));
        assertEquals(libc.toString(), lib.location().orElseThrow());
        assertTrue(lib.searchLog().getFirst().contains("-Dpanomni.envlibc.lib: not set"));
        assertTrue(lib.searchLog().getLast().endsWith("(PANOMNI_ENVLIBC_LIB): loaded"), lib.searchLog().toString());
    }

    @Test
    void aBrokenOverrideIsReportedAndTheSearchGoesOn(@TempDir Path dir) throws Exception {
        // An executable is a real ELF file that dlopen refuses ("cannot dynamically load position-independent
        // executable"); a text file would do too but makes the JVM warn about stack guards.
        Path bogus = dir.resolve("libbogus.so");
        Path executable = Path.of("/usr/bin/true");
        if (Files.isRegularFile(executable)) {
            Files.copy(executable, bogus);
        } else {
            Files.writeString(bogus, "not an ELF file");
        }
        NativeLibrary lib = isolated("bogus", Map.of(), Map.of("panomni.bogus.lib", bogus.toString()))
                .files("libpanomni-missing.so.3").build();
        NativeLibraryNotFoundException e = assertThrows(NativeLibraryNotFoundException.class, lib::lookup);
        assertTrue(e.getMessage().contains("could not be loaded from the override"), e.getMessage());
        assertTrue(e.getMessage().contains(bogus + " (-Dpanomni.bogus.lib): present but failed to load"),
                e.getMessage());
    }

    @Test
    void handlesOfMissingSymbolsKeepTheirTypeAndThrowWhenCalled() {
        MethodHandle missing = NativeLibrary.C.downcall("panomni_no_such_symbol",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        assertEquals(java.lang.invoke.MethodType.methodType(int.class, MemorySegment.class, long.class),
                missing.type());
        NativeSymbolNotFoundException e = assertThrows(NativeSymbolNotFoundException.class,
                () -> { int ignored = (int) missing.invokeExact(MemorySegment.NULL, 1L); });
        assertTrue(e.getMessage().contains("does not export panomni_no_such_symbol"), e.getMessage());

        NativeLibrary absent = isolated("absent", Map.of(), Map.of()).files("libpanomni-absent.so").build();
        MemoryLayout struct = MemoryLayout.structLayout(JAVA_INT, JAVA_INT);
        MethodHandle structReturn = absent.downcall("f", FunctionDescriptor.of(struct, JAVA_INT));
        assertEquals(java.lang.invoke.MethodType.methodType(MemorySegment.class, SegmentAllocator.class, int.class),
                structReturn.type());
        assertThrows(NativeLibraryNotFoundException.class,
                () -> { MemorySegment ignored = (MemorySegment) structReturn.invokeExact((SegmentAllocator) Arena.ofAuto(), 3); });
        MethodHandle voidReturn = absent.downcall("g", FunctionDescriptor.ofVoid());
        assertThrows(NativeLibraryNotFoundException.class, () -> {
            voidReturn.invokeExact();
        });
    }

    @Test
    void cudaFoldersComeNewestFirst(@TempDir Path dir) throws Exception {
        for (String v : List.of("cuda-12.8", "cuda-13.0", "cuda-12.10", "cuda-12.9", "other")) {
            Files.createDirectories(dir.resolve(v).resolve("lib64"));
        }
        List<Path> found = LibrarySearchPath.expandGlob(dir + "/cuda-*/lib64");
        List<String> names = new ArrayList<>();
        for (Path p : found) {
            names.add(p.getParent().getFileName().toString());
        }
        assertEquals(List.of("cuda-13.0", "cuda-12.10", "cuda-12.9", "cuda-12.8"), names);
    }

    @Test
    void linkerConfigurationFollowsIncludes(@TempDir Path dir) throws Exception {
        Path confD = Files.createDirectories(dir.resolve("ld.so.conf.d"));
        Files.writeString(dir.resolve("ld.so.conf"), "# comment\ninclude ld.so.conf.d/*.conf\n/opt/first\n");
        Files.writeString(confD.resolve("cuda.conf"), "/usr/local/cuda-13.0/targets/x86_64-linux/lib\n");
        Files.writeString(confD.resolve("nvidia.conf"), "/usr/lib/nvidia # driver\n");
        List<Path> folders = LibrarySearchPath.linkerConfigFolders(dir.resolve("ld.so.conf"), new LinkedHashSet<>());
        assertEquals(List.of(Path.of("/usr/local/cuda-13.0/targets/x86_64-linux/lib"), Path.of("/usr/lib/nvidia"),
                Path.of("/opt/first")), folders);
    }

    @Test
    void pythonWheelFoldersAreFound(@TempDir Path home) throws Exception {
        Path lib = Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages/nvidia/nccl/lib"));
        Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages/nvidia/cublas/include"));
        List<Path> wheels = new LibrarySearchPath(Map.of("HOME", home.toString())::get).pythonWheelLibFolders();
        assertTrue(wheels.contains(lib), wheels.toString());
        assertFalse(wheels.stream().anyMatch(p -> p.toString().contains("cublas")), wheels.toString());
    }

    @Test
    void overrideNamesFollowTheLibraryName() {
        assertEquals("panomni.cuda.lib", NativeLibrary.CUDA.systemProperty());
        assertEquals("PANOMNI_CUDA_LIB", NativeLibrary.CUDA.environmentVariable());
        assertEquals("PANOMNI_CUBLASLT_LIB", NativeLibrary.CUBLASLT.environmentVariable());
        assertEquals("panomni.nccl.lib", NativeLibrary.NCCL.systemProperty());
        assertEquals("PANOMNI_NVRTC_LIB", NativeLibrary.NVRTC.environmentVariable());
    }
}
