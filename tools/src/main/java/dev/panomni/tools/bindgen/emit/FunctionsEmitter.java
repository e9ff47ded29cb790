package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.CType;
import dev.panomni.tools.bindgen.model.FunctionDecl;
import dev.panomni.tools.bindgen.model.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes the functions class, jextract style: per C function a private holder class whose static initializer
 * creates the downcall handle (so nothing is linked, and the library is not even loaded, before the first call), a
 * static method that calls it with {@code invokeExact}, and {@code $descriptor()}, {@code $handle()},
 * {@code $address()} accessors for callers that link their own handle (for example with
 * {@code Linker.Option.critical}).
 */
final class FunctionsEmitter {
    private FunctionsEmitter() {}

    static String emit(AllowList allow, List<FunctionDecl> functions, JavaTypes types) {
        SourceWriter w = new SourceWriter(allow);
        w.line("import dev.panomni.bindings.NativeLibrary;").blank();
        w.line("import java.lang.foreign.*;");
        w.line("import java.lang.invoke.MethodHandle;").blank();
        w.line("import static java.lang.foreign.ValueLayout.*;").blank();
        w.javadoc(List.of(
                "Downcalls into " + allow.headers().getFirst() + " through {@link NativeLibrary#" + allow.library()
                        + "}: one static method per C function, named as the C API documents it.",
                "<p>Each function's downcall handle is created the first time it is called; the library is loaded",
                "then. When the library or symbol is missing the call throws",
                "{@link dev.panomni.bindings.NativeLibraryException} naming what was searched. Status codes are",
                "returned as they come: check them (see the package's hand-written helpers)."), null);
        w.line("public final class " + allow.functionsClass() + " {").in();
        w.line("private " + allow.functionsClass() + "() {}").blank();
        w.javadoc("The library these functions are linked from.");
        w.line("public static final NativeLibrary LIBRARY = NativeLibrary." + allow.library() + ";");
        for (FunctionDecl f : functions) {
            w.blank();
            function(w, f, types);
        }
        w.out().line("}");
        return w.toString();
    }

    private static void function(SourceWriter w, FunctionDecl f, JavaTypes types) {
        String name = NameMangler.javaName(f.name());
        CType result = f.result();
        boolean isVoid = CType.resolve(result) instanceof CType.Primitive p && p.kind() == CType.Kind.VOID;
        boolean structReturn = types.isStruct(result);
        List<String> argLayouts = new ArrayList<>();
        for (Param p : f.params()) {
            argLayouts.add(types.parameterLayout(p.type()));
        }
        String descriptor = isVoid
                ? "FunctionDescriptor.ofVoid(" + String.join(", ", argLayouts) + ")"
                : "FunctionDescriptor.of(" + join(types.layout(result), argLayouts) + ")";

        w.line("private static final class " + name + " {").in();
        w.line("static final String SYMBOL = \"" + f.symbol() + "\";");
        w.line("static final FunctionDescriptor DESC = " + descriptor + ";");
        w.line("static final MethodHandle HANDLE = LIBRARY.downcall(SYMBOL, DESC);");
        w.out().line("}").blank();

        w.javadoc("The function descriptor of {@code " + f.symbol() + "}.");
        w.line("public static FunctionDescriptor " + name + "$descriptor() {").in()
                .line("return " + name + ".DESC;").out().line("}").blank();
        w.javadoc("The downcall handle of {@code " + f.symbol() + "} (linked on first use).");
        w.line("public static MethodHandle " + name + "$handle() {").in()
                .line("return " + name + ".HANDLE;").out().line("}").blank();
        w.javadoc("The address of {@code " + f.symbol() + "} in the library (loads it).");
        w.line("public static MemorySegment " + name + "$address() {").in()
                .line("return LIBRARY.symbol(" + name + ".SYMBOL);").out().line("}").blank();

        List<String> prose = new ArrayList<>();
        if (!f.symbol().equals(f.name())) {
            prose.add("Calls {@code " + f.symbol() + "}, which the header's versioning macros make of {@code "
                    + f.name() + "}.");
        }
        if (structReturn) {
            prose.add("The struct result is written to memory from {@code allocator}.");
        }
        w.javadoc(prose, f.declaration());
        List<String> params = new ArrayList<>();
        List<String> args = new ArrayList<>();
        if (structReturn) {
            params.add("SegmentAllocator allocator");
            args.add("allocator");
        }
        for (Param p : f.params()) {
            params.add(types.parameterCarrier(p.type()) + " " + p.name());
            args.add(p.name());
        }
        String returnType = isVoid ? "void" : types.carrier(result);
        w.line("public static " + returnType + " " + name + "(" + String.join(", ", params) + ") {").in();
        w.line("var mh$ = " + name + ".HANDLE;");
        w.line("try {").in();
        String call = "mh$.invokeExact(" + String.join(", ", args) + ");";
        w.line(isVoid ? call : "return (" + returnType + ") " + call);
        w.out().line("} catch (Error | RuntimeException ex$) {").in().line("throw ex$;");
        w.out().line("} catch (Throwable ex$) {").in()
                .line("throw new AssertionError(\"should not reach here\", ex$);");
        w.out().line("}");
        w.out().line("}");
    }

    private static String join(String first, List<String> rest) {
        List<String> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return String.join(", ", all);
    }
}
