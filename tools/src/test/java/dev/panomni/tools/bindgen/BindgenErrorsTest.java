package dev.panomni.tools.bindgen;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the generator refuses, and that it reports every problem at once with a reason. */
class BindgenErrorsTest {
    private Path res;

    @BeforeEach
    void setUp() {
        LibClangAvailable.assumeLibClang();
        res = LibClangAvailable.resources();
    }

    @Test
    void namesTheHeadersDoNotDeclareAreListedTogether() throws Exception {
        BindgenException e = assertThrows(BindgenException.class,
                () -> Bindgen.generate(AllowList.read(res.resolve("missing.allow")), List.of(res)));
        String m = e.getMessage();
        assertTrue(m.contains("4 allow-listed name(s) cannot be bound"), m);
        assertTrue(m.contains("function no_such_function: ") && m.contains("undeclared identifier"), m);
        assertTrue(m.contains("struct no_such_struct: no struct or union of that name"), m);
        assertTrue(m.contains("enum no_such_enum: no enum of that name"), m);
        assertTrue(m.contains("macro NO_SUCH_MACRO: "), m);
        assertTrue(!m.contains("sample_length") && !m.contains("sample_ctx"), m);
    }

    @Test
    void unsupportedDeclarationsAreRejectedWithReasons() throws Exception {
        BindgenException e = assertThrows(BindgenException.class,
                () -> Bindgen.generate(AllowList.read(res.resolve("errors.allow")), List.of(res)));
        String m = e.getMessage();
        assertTrue(m.contains("function print_things: variadic functions are not supported"), m);
        assertTrue(m.contains("function take_opaque parameter value: struct opaque_st is used by value but has no body")
                || m.contains("take_opaque parameter value: struct opaque_t is used by value"), m);
        assertTrue(m.contains("take_bits parameter bits: struct packed_bits has a bit-field low"), m);
        assertTrue(m.contains("function precise result: C type 'long double' has no Java equivalent"), m);
    }

    @Test
    void missingHeaderSaysWhereItLooked(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path allow = dir.resolve("nohdr.allow");
        java.nio.file.Files.writeString(allow, "library C\npackage p\nclass K\nheader no_such_header.h\nfunction f\n");
        BindgenException e = assertThrows(BindgenException.class,
                () -> Bindgen.generate(AllowList.read(allow), List.of(dir)));
        assertTrue(e.getMessage().contains("'no_such_header.h' file not found"), e.getMessage());
        assertTrue(e.getMessage().contains("--include"), e.getMessage());
    }
}
