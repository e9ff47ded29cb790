package dev.panomni.tools.bindgen.model;

/** One enumerator and its value. */
public record EnumConstant(String name, long value) {}
