package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.Bindings;
import dev.panomni.tools.bindgen.model.EnumDecl;
import dev.panomni.tools.bindgen.model.StructDecl;

import java.util.Map;
import java.util.TreeMap;

/** The emit stage: the Java sources of one library, by path relative to the source root. */
public final class Emitter {
    /** First line of every generated file (to tell generated files from hand-written ones in the same package). */
    public static final String MARKER = SourceWriter.MARKER;

    private Emitter() {}

    public static Map<String, String> emit(Bindings b, AllowList allow) {
        JavaTypes types = new JavaTypes(b, allow.packageName());
        String dir = allow.packageName().replace('.', '/') + "/";
        Map<String, String> files = new TreeMap<>();
        files.put(dir + allow.functionsClass() + ".java", FunctionsEmitter.emit(allow, b.functions(), types));
        if (!b.macros().isEmpty()) {
            files.put(dir + allow.constantsClass() + ".java", ConstantsEmitter.emit(allow, b.macros()));
        }
        if (!b.typedefs().isEmpty()) {
            files.put(dir + allow.typesClass() + ".java", TypesEmitter.emit(allow, b.typedefs(), types));
        }
        for (EnumDecl e : b.enums()) {
            files.put(dir + NameMangler.javaName(e.name()) + ".java", EnumEmitter.emit(allow, e));
        }
        for (StructDecl s : b.structs()) {
            files.put(dir + NameMangler.javaName(s.name()) + ".java", StructEmitter.emit(allow, s, types));
        }
        return files;
    }
}
