package dev.panomni.tools.bindgen.clang;

import dev.panomni.bindings.NativeLibrary;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few functions of libclang's C API the binding generator uses, bound by hand: this is what bootstraps the
 * generator, so it cannot be generated itself. Handles are created once, on {@link #load()}.
 *
 * <p>Struct layouts follow {@code clang-c/Index.h} (stable across libclang 3.x to 20): {@code CXCursor} is
 * {@code {kind, xdata, data[3]}}, {@code CXType} {@code {kind, data[2]}}, {@code CXString} {@code {data, flags}}.
 */
public final class LibClang {
    /** libclang from the distribution's packages ({@code tools/scripts/install-libclang.sh} installs it). */
    public static final NativeLibrary LIBRARY = libraryWithVersions();

    static final StructLayout CX_CURSOR = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"), JAVA_INT.withName("xdata"),
            MemoryLayout.sequenceLayout(3, ADDRESS).withName("data")).withName("CXCursor");
    static final StructLayout CX_TYPE = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"), MemoryLayout.paddingLayout(4),
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("data")).withName("CXType");
    static final StructLayout CX_STRING = MemoryLayout.structLayout(
            ADDRESS.withName("data"), JAVA_INT.withName("private_flags"), MemoryLayout.paddingLayout(4))
            .withName("CXString");
    static final StructLayout CX_UNSAVED_FILE = MemoryLayout.structLayout(
            ADDRESS.withName("Filename"), ADDRESS.withName("Contents"), JAVA_LONG.withName("Length"))
            .withName("CXUnsavedFile");

    /** {@code enum CXChildVisitResult (*)(CXCursor cursor, CXCursor parent, CXClientData data)}. */
    static final FunctionDescriptor VISITOR = FunctionDescriptor.of(JAVA_INT, CX_CURSOR, CX_CURSOR, ADDRESS);

    final MethodHandle createIndex = handle("clang_createIndex", ADDRESS, JAVA_INT, JAVA_INT);
    final MethodHandle disposeIndex = voidHandle("clang_disposeIndex", ADDRESS);
    final MethodHandle parseTranslationUnit2 = handle("clang_parseTranslationUnit2", JAVA_INT,
            ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
    final MethodHandle disposeTranslationUnit = voidHandle("clang_disposeTranslationUnit", ADDRESS);
    final MethodHandle getNumDiagnostics = handle("clang_getNumDiagnostics", JAVA_INT, ADDRESS);
    final MethodHandle getDiagnostic = handle("clang_getDiagnostic", ADDRESS, ADDRESS, JAVA_INT);
    final MethodHandle getDiagnosticSeverity = handle("clang_getDiagnosticSeverity", JAVA_INT, ADDRESS);
    final MethodHandle formatDiagnostic = handle("clang_formatDiagnostic", CX_STRING, ADDRESS, JAVA_INT);
    final MethodHandle disposeDiagnostic = voidHandle("clang_disposeDiagnostic", ADDRESS);
    final MethodHandle getTranslationUnitCursor = handle("clang_getTranslationUnitCursor", CX_CURSOR, ADDRESS);
    final MethodHandle visitChildren = handle("clang_visitChildren", JAVA_INT, CX_CURSOR, ADDRESS, ADDRESS);
    final MethodHandle getCursorKind = handle("clang_getCursorKind", JAVA_INT, CX_CURSOR);
    final MethodHandle getCursorSpelling = handle("clang_getCursorSpelling", CX_STRING, CX_CURSOR);
    final MethodHandle getCString = handle("clang_getCString", ADDRESS, CX_STRING);
    final MethodHandle disposeString = voidHandle("clang_disposeString", CX_STRING);
    final MethodHandle getCursorType = handle("clang_getCursorType", CX_TYPE, CX_CURSOR);
    final MethodHandle getTypedefDeclUnderlyingType = handle("clang_getTypedefDeclUnderlyingType", CX_TYPE, CX_CURSOR);
    final MethodHandle getEnumConstantDeclValue = handle("clang_getEnumConstantDeclValue", JAVA_LONG, CX_CURSOR);
    final MethodHandle getEnumConstantDeclUnsignedValue = handle("clang_getEnumConstantDeclUnsignedValue", JAVA_LONG,
            CX_CURSOR);
    final MethodHandle getEnumDeclIntegerType = handle("clang_getEnumDeclIntegerType", CX_TYPE, CX_CURSOR);
    final MethodHandle getResultType = handle("clang_getResultType", CX_TYPE, CX_TYPE);
    final MethodHandle getNumArgTypes = handle("clang_getNumArgTypes", JAVA_INT, CX_TYPE);
    final MethodHandle getArgType = handle("clang_getArgType", CX_TYPE, CX_TYPE, JAVA_INT);
    final MethodHandle isFunctionTypeVariadic = handle("clang_isFunctionTypeVariadic", JAVA_INT, CX_TYPE);
    final MethodHandle cursorGetNumArguments = handle("clang_Cursor_getNumArguments", JAVA_INT, CX_CURSOR);
    final MethodHandle cursorGetArgument = handle("clang_Cursor_getArgument", CX_CURSOR, CX_CURSOR, JAVA_INT);
    final MethodHandle getCanonicalType = handle("clang_getCanonicalType", CX_TYPE, CX_TYPE);
    final MethodHandle getPointeeType = handle("clang_getPointeeType", CX_TYPE, CX_TYPE);
    final MethodHandle getTypeDeclaration = handle("clang_getTypeDeclaration", CX_CURSOR, CX_TYPE);
    final MethodHandle getTypeSpelling = handle("clang_getTypeSpelling", CX_STRING, CX_TYPE);
    final MethodHandle typeGetSizeOf = handle("clang_Type_getSizeOf", JAVA_LONG, CX_TYPE);
    final MethodHandle typeGetAlignOf = handle("clang_Type_getAlignOf", JAVA_LONG, CX_TYPE);
    final MethodHandle typeGetNamedType = handle("clang_Type_getNamedType", CX_TYPE, CX_TYPE);
    final MethodHandle typeGetModifiedType = handle("clang_Type_getModifiedType", CX_TYPE, CX_TYPE);
    final MethodHandle getArrayElementType = handle("clang_getArrayElementType", CX_TYPE, CX_TYPE);
    final MethodHandle getArraySize = handle("clang_getArraySize", JAVA_LONG, CX_TYPE);
    final MethodHandle cursorGetOffsetOfField = handle("clang_Cursor_getOffsetOfField", JAVA_LONG, CX_CURSOR);
    final MethodHandle cursorIsBitField = handle("clang_Cursor_isBitField", JAVA_INT, CX_CURSOR);
    final MethodHandle cursorIsAnonymous = handle("clang_Cursor_isAnonymous", JAVA_INT, CX_CURSOR);
    final MethodHandle cursorIsNull = handle("clang_Cursor_isNull", JAVA_INT, CX_CURSOR);
    final MethodHandle getCursorDefinition = handle("clang_getCursorDefinition", CX_CURSOR, CX_CURSOR);
    final MethodHandle getCursorReferenced = handle("clang_getCursorReferenced", CX_CURSOR, CX_CURSOR);
    final MethodHandle cursorEvaluate = handle("clang_Cursor_Evaluate", ADDRESS, CX_CURSOR);
    final MethodHandle evalResultGetKind = handle("clang_EvalResult_getKind", JAVA_INT, ADDRESS);
    final MethodHandle evalResultGetAsLongLong = handle("clang_EvalResult_getAsLongLong", JAVA_LONG, ADDRESS);
    final MethodHandle evalResultIsUnsignedInt = handle("clang_EvalResult_isUnsignedInt", JAVA_INT, ADDRESS);
    final MethodHandle evalResultGetAsUnsigned = handle("clang_EvalResult_getAsUnsigned", JAVA_LONG, ADDRESS);
    final MethodHandle evalResultGetAsDouble = handle("clang_EvalResult_getAsDouble", JAVA_DOUBLE, ADDRESS);
    final MethodHandle evalResultGetAsStr = handle("clang_EvalResult_getAsStr", ADDRESS, ADDRESS);
    final MethodHandle evalResultDispose = voidHandle("clang_EvalResult_dispose", ADDRESS);
    final MethodHandle getClangVersion = handle("clang_getClangVersion", CX_STRING);
    final MethodHandle toggleCrashRecovery = voidHandle("clang_toggleCrashRecovery", JAVA_INT);

    private static volatile LibClang instance;

    private LibClang() {}

    /** True when a libclang shared library can be loaded (tests skip with a notice otherwise). */
    public static boolean isAvailable() {
        return LIBRARY.isAvailable();
    }

    /**
     * The bound functions.
     *
     * @throws dev.panomni.bindings.NativeLibraryNotFoundException when libclang is not installed
     */
    public static LibClang load() {
        LibClang l = instance;
        if (l == null) {
            synchronized (LibClang.class) {
                if (instance == null) {
                    LIBRARY.lookup(); // fail here, with the search report, rather than in a handle
                    disableCrashRecovery();
                    instance = new LibClang();
                }
                l = instance;
            }
        }
        return l;
    }

    /**
     * libclang's crash recovery installs LLVM signal handlers for SIGSEGV and friends when an index is created. The
     * JVM raises SIGSEGV on purpose (implicit null checks, safepoint polls); LLVM's handler would turn those into a
     * crash of the whole JVM. libclang skips the handlers when {@code LIBCLANG_DISABLE_CRASH_RECOVERY} is set, so
     * set it in this process's environment (through libc's {@code setenv}) before the first index is created.
     */
    private static void disableCrashRecovery() {
        MethodHandle setenv = dev.panomni.bindings.NativeLibrary.C.downcall("setenv",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(arena.allocateFrom("LIBCLANG_DISABLE_CRASH_RECOVERY"),
                    arena.allocateFrom("1"), 1);
            if (rc != 0) {
                throw new IllegalStateException("setenv(LIBCLANG_DISABLE_CRASH_RECOVERY) failed: " + rc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MethodHandle handle(String name, MemoryLayout result, MemoryLayout... args) {
        return LIBRARY.downcall(name, FunctionDescriptor.of(result, args));
    }

    private static MethodHandle voidHandle(String name, MemoryLayout... args) {
        return LIBRARY.downcall(name, FunctionDescriptor.ofVoid(args));
    }

    private static NativeLibrary libraryWithVersions() {
        List<String> files = new ArrayList<>(List.of("libclang.so.1", "libclang.so"));
        for (int v = 21; v >= 11; v--) {
            files.add("libclang-" + v + ".so.1");
            files.add("libclang-" + v + ".so");
        }
        return NativeLibrary.builder("libclang", "libclang")
                .files(files.toArray(String[]::new))
                .folders("/usr/lib/llvm-*/lib", "/usr/local/opt/llvm/lib")
                .hint("Install it with tools/scripts/install-libclang.sh (Debian/Ubuntu package libclang1-14 or newer).")
                .build();
    }
}
