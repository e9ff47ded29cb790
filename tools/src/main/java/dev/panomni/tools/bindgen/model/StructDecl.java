package dev.panomni.tools.bindgen.model;

import java.util.List;

/**
 * A struct or union with a body.
 *
 * @param name its typedef name when a typedef names it directly, else its tag
 * @param size {@code sizeof} in bytes
 * @param align {@code _Alignof} in bytes
 * @param unsupported why the generator cannot lay it out (bit-fields, anonymous members), or null
 * @param declaration the C definition, for the documentation
 */
public record StructDecl(String name, boolean union, long size, long align, List<Field> fields, String unsupported,
                         String declaration) {
    public StructDecl withFields(List<Field> newFields) {
        return new StructDecl(name, union, size, align, newFields, unsupported, declaration);
    }
}
