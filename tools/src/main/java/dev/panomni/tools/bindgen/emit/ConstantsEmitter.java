package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.MacroDecl;

import java.util.List;

/** Writes the allow-listed macros as constants, with the value and C type clang computed for each. */
final class ConstantsEmitter {
    private ConstantsEmitter() {}

    static String emit(AllowList allow, List<MacroDecl> macros) {
        SourceWriter w = new SourceWriter(allow);
        w.javadoc(List.of("Macros of " + String.join(", ", allow.headers()) + ", as the C compiler evaluates them."),
                null);
        w.line("public final class " + allow.constantsClass() + " {").in();
        w.line("private " + allow.constantsClass() + "() {}");
        for (MacroDecl m : macros) {
            String name = NameMangler.javaName(m.name());
            w.blank();
            switch (m.value()) {
                case String s -> {
                    w.javadoc("{@code #define " + m.name() + "}: a string.");
                    w.line("public static final String " + name + " = " + Literals.string(s) + ";");
                }
                case Double d -> {
                    String type = m.type() == dev.panomni.tools.bindgen.model.CType.Kind.FLOAT ? "float" : "double";
                    w.javadoc("{@code #define " + m.name() + "}: " + type + " " + d + ".");
                    w.line("public static final " + type + " " + name + " = " + Literals.floating(d, m.type()) + ";");
                }
                case Long l -> {
                    w.javadoc("{@code #define " + m.name() + "}: C " + m.type().name().toLowerCase() + " " + l + ".");
                    w.line("public static final " + Literals.integerType(m.type()) + " " + name + " = "
                            + Literals.integer(l, m.type()) + ";");
                }
                default -> throw new IllegalStateException("macro value " + m.value());
            }
        }
        w.out().line("}");
        return w.toString();
    }
}
