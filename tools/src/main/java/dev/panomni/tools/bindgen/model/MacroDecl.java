package dev.panomni.tools.bindgen.model;

/**
 * An object-like macro with a constant value, as clang evaluates it.
 *
 * @param value a {@link Long} (integer bits), {@link Double} or {@link String}
 * @param type the value's C type for numbers ({@code INT} for {@code 13000}, {@code ULONGLONG} for {@code 1ull}),
 *             null for strings
 */
public record MacroDecl(String name, Object value, CType.Kind type) {}
