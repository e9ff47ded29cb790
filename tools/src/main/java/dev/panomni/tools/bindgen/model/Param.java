package dev.panomni.tools.bindgen.model;

/** A function parameter: its name (possibly empty in the header) and type. */
public record Param(String name, CType type) {}
