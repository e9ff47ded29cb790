package dev.panomni.tools.bindgen.clang;

/** One compiler message from parsing; {@code severity} is {@code CXDiagnosticSeverity} (3 error, 4 fatal). */
public record Diagnostic(int severity, String text) {
    public boolean isError() {
        return severity >= 3;
    }
}
