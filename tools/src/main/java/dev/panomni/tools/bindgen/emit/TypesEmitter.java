package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.TypedefDecl;

import java.util.List;

/**
 * Writes one layout constant per typedef the bindings use ({@code CUcontext} is {@code ADDRESS}, {@code CUdeviceptr}
 * is {@code JAVA_LONG}), for allocating out-parameters and reading them back:
 * {@code arena.allocate(CudaTypes.CUcontext)}, {@code seg.get(CudaTypes.CUcontext, 0)}.
 */
final class TypesEmitter {
    private TypesEmitter() {}

    static String emit(AllowList allow, List<TypedefDecl> typedefs, JavaTypes types) {
        SourceWriter w = new SourceWriter(allow);
        w.line("import java.lang.foreign.*;").blank();
        w.line("import static java.lang.foreign.ValueLayout.*;").blank();
        w.javadoc(List.of("Layouts of the C typedefs the bindings of " + String.join(", ", allow.headers())
                + " use; opaque handles are addresses."), null);
        w.line("public final class " + allow.typesClass() + " {").in();
        w.line("private " + allow.typesClass() + "() {}");
        for (TypedefDecl t : typedefs) {
            w.blank();
            w.javadoc(List.of(), t.declaration());
            w.line("public static final " + types.layoutClass(t.target()) + " " + NameMangler.javaName(t.name())
                    + " = " + types.layout(t.target()) + ";");
        }
        w.out().line("}");
        return w.toString();
    }
}
