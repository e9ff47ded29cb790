package dev.panomni.tools.bindgen.model;

/** {@code typedef <target> <name>;} with the C text for the documentation. */
public record TypedefDecl(String name, CType target, String declaration) {}
