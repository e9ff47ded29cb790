package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.EnumConstant;
import dev.panomni.tools.bindgen.model.EnumDecl;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes one C enum as a class of {@code int} (or {@code long}) constants named as in C, plus {@code nameOf(value)}
 * for messages. Constants rather than a Java enum: C code passes and returns these as plain integers, including
 * values this header version does not know.
 */
final class EnumEmitter {
    private EnumEmitter() {}

    static String emit(AllowList allow, EnumDecl e) {
        String cls = NameMangler.javaName(e.name());
        String type = Literals.integerType(e.integerType());
        SourceWriter w = new SourceWriter(allow);
        w.javadoc(List.of("Constants of the C enum (" + e.constants().size() + " values, C type "
                + e.integerType().name().toLowerCase() + ")."), e.declaration());
        w.line("public final class " + cls + " {").in();
        w.line("private " + cls + "() {}");
        Map<Long, String> firstName = new LinkedHashMap<>();
        for (EnumConstant c : e.constants()) {
            String name = NameMangler.javaName(c.name());
            w.blank();
            w.javadoc("{@code " + c.name() + " = " + c.value() + "}");
            w.line("public static final " + type + " " + name + " = " + Literals.integer(c.value(), e.integerType())
                    + ";");
            firstName.putIfAbsent(c.value(), c.name());
        }
        w.blank();
        w.javadoc("The C name of {@code value} (the first one declared when several share it), or null.");
        w.line("public static String nameOf(" + type + " value) {").in();
        if (type.equals("long")) {
            // No switch on long before Java 25's primitive patterns: compare in order.
            for (Map.Entry<Long, String> entry : firstName.entrySet()) {
                w.line("if (value == " + Literals.integer(entry.getKey(), e.integerType()) + ") {").in()
                        .line("return \"" + entry.getValue() + "\";").out().line("}");
            }
            w.line("return null;");
        } else if (firstName.isEmpty()) {
            w.line("return null;");
        } else {
            w.line("return switch (value) {").in();
            for (Map.Entry<Long, String> entry : firstName.entrySet()) {
                w.line("case " + Literals.integer(entry.getKey(), e.integerType()) + " -> \"" + entry.getValue()
                        + "\";");
            }
            w.line("default -> null;");
            w.out().line("};");
        }
        w.out().line("}");
        w.out().line("}");
        return w.toString();
    }
}
