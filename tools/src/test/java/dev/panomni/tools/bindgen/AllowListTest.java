package dev.panomni.tools.bindgen;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllowListTest {
    private static final Path FILE = Path.of("x.allow");

    @Test
    void readsEveryKindOfLine() {
        AllowList a = AllowList.parse(FILE, List.of(
                "# comment", "library CUDA", "package dev.panomni.bindings.cuda", "class CudaDriver",
                "header cuda.h   # trailing comment", "include /usr/local/cuda/include", "define FOO=1",
                "function cuInit", "enum CUresult", "struct CUuuid", "typedef CUcontext", "macro CUDA_VERSION"));
        assertEquals("CUDA", a.library());
        assertEquals("CudaDriverConstants", a.constantsClass());
        assertEquals("CudaDriverTypes", a.typesClass());
        assertEquals(List.of("cuda.h"), a.headers());
        assertEquals(List.of("FOO=1"), a.defines());
        assertEquals(List.of("cuInit"), a.functions());
        assertEquals(List.of("CUresult"), a.enums());
        assertEquals(List.of("CUuuid"), a.structs());
        assertEquals(List.of("CUcontext"), a.typedefs());
        assertEquals(List.of("CUDA_VERSION"), a.macros());
        assertEquals("x", a.id());
    }

    @Test
    void errorsNameFileLineAndProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AllowList.parse(FILE,
                List.of("library C", "package p", "class K", "header h.h", "functoin cuInit")));
        assertTrue(e.getMessage().contains("x.allow:5") && e.getMessage().contains("unknown keyword 'functoin'"),
                e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> AllowList.parse(FILE,
                List.of("library C", "package p", "class K", "header h.h", "function a", "function a")));
        assertTrue(e.getMessage().contains("x.allow:6") && e.getMessage().contains("listed twice"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> AllowList.parse(FILE,
                List.of("package p", "class K", "header h.h")));
        assertTrue(e.getMessage().contains("missing 'library'"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> AllowList.parse(FILE,
                List.of("library C", "package p", "class K", "header h.h", "function 2bad")));
        assertTrue(e.getMessage().contains("not a C identifier"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> AllowList.parse(FILE,
                List.of("library C", "package Bad.Package", "class K", "header h.h")));
        assertTrue(e.getMessage().contains("not a Java package"), e.getMessage());
    }

    @Test
    void checkedInAllowListsParse() throws Exception {
        for (String id : List.of("cuda", "cublas", "nvrtc", "nccl")) {
            AllowList a = AllowList.read(Path.of("bindgen", id + ".allow"));
            assertTrue(a.size() > 0, id);
            assertTrue(a.packageName().startsWith("dev.panomni.bindings."), a.packageName());
        }
    }
}
