package dev.panomni.tools.bindgen.clang;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * A parsed C source and everything derived from it. Cursors and types live in this unit's arena, so they are valid
 * until {@link #close()}; all calls must come from the thread that parsed it.
 */
public final class TranslationUnit implements AutoCloseable {
    /** Parse option {@code CXTranslationUnit_SkipFunctionBodies}: inline function bodies are not needed. */
    private static final int SKIP_FUNCTION_BODIES = 0x40;
    private static final int CHILD_VISIT_BREAK = 0;
    private static final int CHILD_VISIT_CONTINUE = 1;

    private final LibClang clang;
    private final Arena arena;
    private final MemorySegment index;
    private final MemorySegment unit;
    private final MemorySegment visitor;
    private List<Cursor> sink;
    private Throwable visitFailure;

    private TranslationUnit(LibClang clang, Arena arena, MemorySegment index, MemorySegment unit) {
        this.clang = clang;
        this.arena = arena;
        this.index = index;
        this.unit = unit;
        try {
            MethodHandle visit = MethodHandles.lookup().findVirtual(TranslationUnit.class, "visit",
                    MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, MemorySegment.class));
            this.visitor = java.lang.foreign.Linker.nativeLinker()
                    .upcallStub(visit.bindTo(this), LibClang.VISITOR, arena);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Parses {@code contents} as the C file {@code fileName} (it need not exist on disk) with the given compiler
     * arguments ({@code -I}, {@code -D}, ...). Compiler messages do not fail the parse: see {@link #diagnostics()}.
     */
    public static TranslationUnit parse(LibClang clang, String fileName, String contents, List<String> args) {
        Arena arena = Arena.ofConfined();
        try {
            MemorySegment index = (MemorySegment) clang.createIndex.invokeExact(0, 0);
            // Belt and braces with LIBCLANG_DISABLE_CRASH_RECOVERY (see LibClang): no LLVM signal handlers.
            clang.toggleCrashRecovery.invokeExact(0);
            MemorySegment argv = arena.allocate(ADDRESS, Math.max(1, args.size()));
            for (int i = 0; i < args.size(); i++) {
                argv.setAtIndex(ADDRESS, i, arena.allocateFrom(args.get(i)));
            }
            MemorySegment unsaved = arena.allocate(LibClang.CX_UNSAVED_FILE);
            MemorySegment name = arena.allocateFrom(fileName);
            MemorySegment text = arena.allocateFrom(contents);
            unsaved.set(ADDRESS, 0, name);
            unsaved.set(ADDRESS, 8, text);
            unsaved.set(java.lang.foreign.ValueLayout.JAVA_LONG, 16, text.byteSize() - 1);
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) clang.parseTranslationUnit2.invokeExact(index, name, argv, args.size(), unsaved, 1,
                    SKIP_FUNCTION_BODIES, out);
            MemorySegment tu = out.get(ADDRESS, 0);
            if (rc != 0 || tu.equals(MemorySegment.NULL)) {
                clang.disposeIndex.invokeExact(index);
                arena.close();
                throw new IllegalStateException("libclang could not parse " + fileName + " (CXErrorCode " + rc
                        + ") with arguments " + args);
            }
            return new TranslationUnit(clang, arena, index, tu);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** libclang's version string, e.g. {@code Debian clang version 14.0.6}. */
    public static String clangVersion(LibClang clang) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = (MemorySegment) clang.getClangVersion.invokeExact((java.lang.foreign.SegmentAllocator) a);
            return takeString(clang, s);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The compiler's messages (errors, warnings, notes), formatted with file and line. */
    public List<Diagnostic> diagnostics() {
        try {
            int n = (int) clang.getNumDiagnostics.invokeExact(unit);
            List<Diagnostic> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                MemorySegment d = (MemorySegment) clang.getDiagnostic.invokeExact(unit, i);
                int severity = (int) clang.getDiagnosticSeverity.invokeExact(d);
                // CXDiagnostic_DisplaySourceLocation | DisplayColumn = 0x1 | 0x2
                MemorySegment s = (MemorySegment) clang.formatDiagnostic.invokeExact(alloc(), d, 3);
                out.add(new Diagnostic(severity, takeString(clang, s)));
                clang.disposeDiagnostic.invokeExact(d);
            }
            return out;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The cursor of the whole unit; its children are the top-level declarations. */
    public Cursor root() {
        try {
            return new Cursor((MemorySegment) clang.getTranslationUnitCursor.invokeExact(alloc(), unit));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The direct children of {@code parent}, in source order. */
    public List<Cursor> children(Cursor parent) {
        List<Cursor> out = new ArrayList<>();
        sink = out;
        visitFailure = null;
        try {
            int ignored = (int) clang.visitChildren.invokeExact(parent.segment(), visitor, MemorySegment.NULL);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            sink = null;
        }
        if (visitFailure != null) {
            throw new IllegalStateException("visiting cursor children failed", visitFailure);
        }
        return out;
    }

    /** Every descendant of {@code parent} (depth first, pre-order). */
    public List<Cursor> descendants(Cursor parent) {
        List<Cursor> out = new ArrayList<>();
        for (Cursor c : children(parent)) {
            out.add(c);
            out.addAll(descendants(c));
        }
        return out;
    }

    // Called by libclang for each child: copies the cursor (only valid during the call) and continues.
    // Must not throw: an exception escaping an upcall ends the JVM.
    @SuppressWarnings("unused")
    private int visit(MemorySegment cursor, MemorySegment parent, MemorySegment data) {
        try {
            MemorySegment copy = arena.allocate(LibClang.CX_CURSOR);
            copy.copyFrom(cursor);
            sink.add(new Cursor(copy));
            return CHILD_VISIT_CONTINUE;
        } catch (Throwable t) {
            visitFailure = t;
            return CHILD_VISIT_BREAK;
        }
    }

    public String spelling(Cursor c) {
        try {
            return takeString(clang, (MemorySegment) clang.getCursorSpelling.invokeExact(alloc(), c.segment()));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public String spelling(ClangType t) {
        try {
            return takeString(clang, (MemorySegment) clang.getTypeSpelling.invokeExact(alloc(), t.segment()));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    public ClangType type(Cursor c) {
        return typeCall(clang.getCursorType, c.segment());
    }

    public ClangType typedefUnderlying(Cursor c) {
        return typeCall(clang.getTypedefDeclUnderlyingType, c.segment());
    }

    public ClangType enumIntegerType(Cursor c) {
        return typeCall(clang.getEnumDeclIntegerType, c.segment());
    }

    /** An enumerator's value; {@code unsigned} for enums whose integer type is unsigned (bits, not sign, kept). */
    public long enumConstantValue(Cursor c, boolean unsigned) {
        try {
            return unsigned ? (long) clang.getEnumConstantDeclUnsignedValue.invokeExact(c.segment())
                    : (long) clang.getEnumConstantDeclValue.invokeExact(c.segment());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public ClangType resultType(ClangType fn) {
        return typeCall(clang.getResultType, fn.segment());
    }

    public int argCount(ClangType fn) {
        try {
            return (int) clang.getNumArgTypes.invokeExact(fn.segment());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public ClangType argType(ClangType fn, int i) {
        try {
            return new ClangType((MemorySegment) clang.getArgType.invokeExact(alloc(), fn.segment(), i));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public boolean isVariadic(ClangType fn) {
        try {
            return (int) clang.isFunctionTypeVariadic.invokeExact(fn.segment()) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The parameter declarations of a function cursor (for their names). */
    public List<Cursor> arguments(Cursor fn) {
        try {
            int n = (int) clang.cursorGetNumArguments.invokeExact(fn.segment());
            List<Cursor> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                out.add(new Cursor((MemorySegment) clang.cursorGetArgument.invokeExact(alloc(), fn.segment(), i)));
            }
            return out;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public ClangType canonical(ClangType t) {
        return typeCall(clang.getCanonicalType, t.segment());
    }

    public ClangType pointee(ClangType t) {
        return typeCall(clang.getPointeeType, t.segment());
    }

    public ClangType namedType(ClangType elaborated) {
        return typeCall(clang.typeGetNamedType, elaborated.segment());
    }

    public ClangType modifiedType(ClangType attributed) {
        return typeCall(clang.typeGetModifiedType, attributed.segment());
    }

    public ClangType arrayElement(ClangType t) {
        return typeCall(clang.getArrayElementType, t.segment());
    }

    public long arraySize(ClangType t) {
        return longCall(clang.getArraySize, t.segment());
    }

    /** {@code sizeof} in bytes, or a negative {@code CXTypeLayoutError} for incomplete or dependent types. */
    public long sizeOf(ClangType t) {
        return longCall(clang.typeGetSizeOf, t.segment());
    }

    public long alignOf(ClangType t) {
        return longCall(clang.typeGetAlignOf, t.segment());
    }

    public Cursor declaration(ClangType t) {
        return cursorCall(clang.getTypeDeclaration, t.segment());
    }

    /** The definition of a declaration (a struct's body), or empty for opaque forward declarations. */
    public java.util.Optional<Cursor> definition(Cursor c) {
        Cursor d = cursorCall(clang.getCursorDefinition, c.segment());
        return isNull(d) ? java.util.Optional.empty() : java.util.Optional.of(d);
    }

    /** The declaration an expression refers to. */
    public java.util.Optional<Cursor> referenced(Cursor c) {
        Cursor d = cursorCall(clang.getCursorReferenced, c.segment());
        return isNull(d) ? java.util.Optional.empty() : java.util.Optional.of(d);
    }

    /** A field's offset in bits from the start of its record, negative when unknown. */
    public long fieldOffsetBits(Cursor field) {
        return longCall(clang.cursorGetOffsetOfField, field.segment());
    }

    public boolean isBitField(Cursor field) {
        return intCall(clang.cursorIsBitField, field.segment()) != 0;
    }

    public boolean isAnonymous(Cursor c) {
        return intCall(clang.cursorIsAnonymous, c.segment()) != 0;
    }

    public boolean isNull(Cursor c) {
        return intCall(clang.cursorIsNull, c.segment()) != 0;
    }

    /**
     * Evaluates the initializer of a variable declaration (constant folding with clang's own rules). A string
     * initializer is reached through its implicit array-to-pointer conversion.
     */
    public EvalResult evaluate(Cursor varDecl) {
        Cursor init = null;
        for (Cursor c : children(varDecl)) {
            if (c.kind() >= 100 && c.kind() < 200) { // CXCursor_FirstExpr .. CXCursor_LastExpr
                init = c;
            }
        }
        if (init == null) {
            return EvalResult.NONE;
        }
        EvalResult r = evaluateExpression(init);
        if (!r.isPresent()) {
            for (Cursor d : descendants(init)) {
                if (d.kind() == 109) { // CXCursor_StringLiteral
                    return evaluateExpression(d);
                }
            }
        }
        return r;
    }

    private EvalResult evaluateExpression(Cursor init) {
        try {
            MemorySegment r = (MemorySegment) clang.cursorEvaluate.invokeExact(init.segment());
            if (r.equals(MemorySegment.NULL)) {
                return EvalResult.NONE;
            }
            try {
                int kind = (int) clang.evalResultGetKind.invokeExact(r);
                return switch (kind) {
                    case 1 -> { // CXEval_Int
                        boolean unsigned = (int) clang.evalResultIsUnsignedInt.invokeExact(r) != 0;
                        long v = unsigned ? (long) clang.evalResultGetAsUnsigned.invokeExact(r)
                                : (long) clang.evalResultGetAsLongLong.invokeExact(r);
                        yield new EvalResult(v, unsigned);
                    }
                    case 2 -> new EvalResult((double) clang.evalResultGetAsDouble.invokeExact(r), false); // Float
                    case 4 -> { // CXEval_StrLiteral
                        MemorySegment s = (MemorySegment) clang.evalResultGetAsStr.invokeExact(r);
                        yield new EvalResult(s.reinterpret(Long.MAX_VALUE).getString(0), false);
                    }
                    default -> EvalResult.NONE;
                };
            } finally {
                clang.evalResultDispose.invokeExact(r);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void close() {
        try {
            clang.disposeTranslationUnit.invokeExact(unit);
            clang.disposeIndex.invokeExact(index);
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }

    private java.lang.foreign.SegmentAllocator alloc() {
        return arena;
    }

    private ClangType typeCall(MethodHandle h, MemorySegment arg) {
        try {
            return new ClangType((MemorySegment) h.invokeExact(alloc(), arg));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private Cursor cursorCall(MethodHandle h, MemorySegment arg) {
        try {
            return new Cursor((MemorySegment) h.invokeExact(alloc(), arg));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long longCall(MethodHandle h, MemorySegment arg) {
        try {
            return (long) h.invokeExact(arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int intCall(MethodHandle h, MemorySegment arg) {
        try {
            return (int) h.invokeExact(arg);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads a {@code CXString} and disposes it. */
    private static String takeString(LibClang clang, MemorySegment cxString) throws Throwable {
        MemorySegment chars = (MemorySegment) clang.getCString.invokeExact(cxString);
        String s = chars.equals(MemorySegment.NULL) ? "" : chars.reinterpret(Long.MAX_VALUE).getString(0);
        clang.disposeString.invokeExact(cxString);
        return s;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
