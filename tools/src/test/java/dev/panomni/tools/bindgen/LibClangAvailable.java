package dev.panomni.tools.bindgen;

import dev.panomni.tools.bindgen.clang.LibClang;
import org.junit.jupiter.api.Assumptions;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Test helpers: skip with a visible notice when libclang is missing; find the test headers. */
final class LibClangAvailable {
    private LibClangAvailable() {}

    static void assumeLibClang() {
        boolean available = LibClang.isAvailable();
        if (!available) {
            System.err.println("SKIPPED: libclang is not installed (run tools/scripts/install-libclang.sh); searched:\n  "
                    + String.join("\n  ", LibClang.LIBRARY.searchLog()));
        }
        Assumptions.assumeTrue(available,
                "libclang is not installed: run tools/scripts/install-libclang.sh to run the generator tests");
    }

    /** The folder holding the test headers and allow-lists. */
    static Path resources() {
        try {
            return Path.of(LibClangAvailable.class.getResource("/bindgen/sample.h").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
