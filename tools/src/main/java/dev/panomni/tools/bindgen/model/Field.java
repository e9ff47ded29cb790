package dev.panomni.tools.bindgen.model;

/**
 * A struct or union member.
 *
 * @param offset byte offset from the start of the record
 * @param declaration the member as C writes it ({@code uint64_t data[8]})
 */
public record Field(String name, CType type, long offset, String declaration) {
    public Field withName(String newName) {
        return new Field(newName, type, offset, declaration);
    }
}
