package dev.panomni.tools.bindgen;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The committed bindings under {@code bindings/src/main/java} are exactly what the generator makes from the installed
 * headers. cuda.h is installed with the CUDA toolkit (CI has it); the cuBLASLt, NVRTC and NCCL headers usually only
 * on GPU hosts or through {@code PANOMNI_BINDGEN_INCLUDE}: each library is skipped, with a notice, where its headers
 * are not found.
 */
class CommittedBindingsTest {
    private static final Path REPO = Path.of("..");

    @ParameterizedTest
    @ValueSource(strings = {"cuda", "cublas", "nvrtc", "nccl"})
    void regeneratesWithoutDifference(String id) throws Exception {
        LibClangAvailable.assumeLibClang();
        AllowList allow = AllowList.read(REPO.resolve("tools/bindgen/" + id + ".allow"));
        List<Path> includes = BindgenMain.environmentIncludes();
        Optional<List<Path>> headers = HeaderParser.locateHeaders(allow, includes);
        if (headers.isEmpty()) {
            String notice = "SKIPPED: " + allow.headers() + " not found in " + HeaderParser.includeFolders(allow, includes)
                    + ", /usr/local/include or /usr/include; set PANOMNI_BINDGEN_INCLUDE to check " + id + ".allow";
            System.err.println(notice);
            Assumptions.abort(notice);
        }
        Map<String, String> files = Bindgen.generate(allow, includes);
        List<String> diffs = new ArrayList<>(GeneratedSources.compare(REPO.resolve("bindings/src/main/java"), files,
                allow.id()));
        assertEquals(List.of(), diffs, "committed " + id + " bindings differ from " + headers.get()
                + "; regenerate with tools/scripts/bindgen.sh tools/bindgen/" + id + ".allow");
    }
}
