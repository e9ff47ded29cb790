package dev.panomni.tools.bindgen.emit;

import dev.panomni.tools.bindgen.AllowList;
import dev.panomni.tools.bindgen.BindgenException;
import dev.panomni.tools.bindgen.NameMangler;
import dev.panomni.tools.bindgen.model.CType;
import dev.panomni.tools.bindgen.model.Field;
import dev.panomni.tools.bindgen.model.StructDecl;

import java.util.ArrayList;
import java.util.List;

/**
 * Writes one struct or union as a layout class: {@code LAYOUT} (offsets and padding exactly as clang laid the record
 * out), allocation helpers, and per member static accessors over a {@code MemorySegment} holding the record (getter
 * and setter for scalars; a slice for nested records and arrays, plus indexed accessors for arrays of scalars).
 */
final class StructEmitter {
    private StructEmitter() {}

    static String emit(AllowList allow, StructDecl s, JavaTypes types) {
        String cls = NameMangler.javaName(s.name());
        SourceWriter w = new SourceWriter(allow);
        w.line("import java.lang.foreign.*;").blank();
        w.line("import static java.lang.foreign.ValueLayout.*;").blank();
        w.javadoc(List.of("Layout and member accessors of the C " + (s.union() ? "union" : "struct") + " ("
                + s.size() + " bytes, aligned to " + s.align() + ")."), s.declaration());
        w.line("public final class " + cls + " {").in();
        w.line("private " + cls + "() {}").blank();
        w.javadoc("The C layout, member offsets as the C compiler places them.");
        w.line("public static final GroupLayout LAYOUT = " + (s.union() ? "MemoryLayout.unionLayout("
                : "MemoryLayout.structLayout(")).in().in();
        List<String> members = members(s, types);
        for (int i = 0; i < members.size(); i++) {
            w.line(members.get(i) + (i + 1 < members.size() ? "," : ""));
        }
        w.out().line(").withName(\"" + s.name() + "\");").out().blank();

        w.javadoc("{@code sizeof}, in bytes.");
        w.line("public static long sizeof() {").in().line("return LAYOUT.byteSize();").out().line("}").blank();
        w.javadoc("Allocates one zero-filled record.");
        w.line("public static MemorySegment allocate(SegmentAllocator allocator) {").in()
                .line("return allocator.allocate(LAYOUT);").out().line("}").blank();
        w.javadoc("Allocates an array of {@code count} zero-filled records.");
        w.line("public static MemorySegment allocateArray(long count, SegmentAllocator allocator) {").in()
                .line("return allocator.allocate(LAYOUT, count);").out().line("}").blank();
        w.javadoc("Record {@code index} of an array of records.");
        w.line("public static MemorySegment asSlice(MemorySegment array, long index) {").in()
                .line("return array.asSlice(index * LAYOUT.byteSize(), LAYOUT);").out().line("}");

        for (Field f : s.fields()) {
            w.blank();
            accessors(w, f, types);
        }
        w.out().line("}");
        return w.toString();
    }

    /** Member layouts with explicit padding so every offset matches clang's. */
    private static List<String> members(StructDecl s, JavaTypes types) {
        List<String> out = new ArrayList<>();
        long pos = 0;
        long maxSize = 0;
        for (Field f : s.fields()) {
            long size = types.size(f.type());
            long align = types.align(f.type());
            String layout = types.layout(f.type());
            if (!s.union()) {
                if (f.offset() < pos) {
                    throw new BindgenException("struct " + s.name() + ": member " + f.name() + " overlaps the one "
                            + "before it (offset " + f.offset() + " < " + pos + ")");
                }
                if (f.offset() > pos) {
                    out.add("MemoryLayout.paddingLayout(" + (f.offset() - pos) + ")");
                }
                if (align > 1 && f.offset() % align != 0) {
                    if (!types.isScalar(f.type())) {
                        throw new BindgenException("struct " + s.name() + ": member " + f.name()
                                + " is a packed (misaligned) record or array, which the generator does not support");
                    }
                    layout = layout + ".withByteAlignment(" + Long.lowestOneBit(f.offset()) + ")";
                }
                pos = f.offset() + size;
            }
            maxSize = Math.max(maxSize, size);
            out.add(layout + ".withName(\"" + f.name() + "\")");
        }
        long end = s.union() ? maxSize : pos;
        if (s.size() > end) {
            out.add("MemoryLayout.paddingLayout(" + (s.union() ? s.size() : s.size() - end) + ")");
        }
        return out;
    }

    private static void accessors(SourceWriter w, Field f, JavaTypes types) {
        String n = f.name();
        String off = n + "$OFFSET";
        w.javadoc("Byte offset of {@code " + n + "}.");
        w.line("public static final long " + off + " = " + f.offset() + ";").blank();
        CType t = CType.resolve(f.type());
        if (types.isScalar(f.type())) {
            String carrier = types.carrier(f.type());
            String layout = scalarLayout(f, types);
            w.javadoc(List.of("Reads {@code " + n + "}."), f.declaration());
            w.line("public static " + carrier + " " + n + "(MemorySegment struct) {").in()
                    .line("return struct.get(" + layout + ", " + off + ");").out().line("}").blank();
            w.javadoc(List.of("Writes {@code " + n + "}."), f.declaration());
            w.line("public static void " + n + "(MemorySegment struct, " + carrier + " value) {").in()
                    .line("struct.set(" + layout + ", " + off + ", value);").out().line("}");
            return;
        }
        long size = types.size(f.type());
        w.javadoc(List.of("The bytes of {@code " + n + "} inside {@code struct} (a view, not a copy)."),
                f.declaration());
        w.line("public static MemorySegment " + n + "(MemorySegment struct) {").in()
                .line("return struct.asSlice(" + off + ", " + size + ");").out().line("}").blank();
        w.javadoc(List.of("Copies {@code value} (" + size + " bytes) into {@code " + n + "}."), f.declaration());
        w.line("public static void " + n + "(MemorySegment struct, MemorySegment value) {").in()
                .line("MemorySegment.copy(value, 0L, struct, " + off + ", " + size + ");").out().line("}");
        if (t instanceof CType.Array a && a.length() > 0 && types.isScalar(a.element())) {
            String carrier = types.carrier(a.element());
            String layout = types.layout(a.element());
            long elem = types.size(a.element());
            w.blank();
            w.javadoc(List.of("Reads element {@code index} of {@code " + n + "}."), f.declaration());
            w.line("public static " + carrier + " " + n + "(MemorySegment struct, long index) {").in()
                    .line("return struct.get(" + layout + ", " + off + " + java.util.Objects.checkIndex(index, "
                            + a.length() + "L) * " + elem + ");").out().line("}").blank();
            w.javadoc(List.of("Writes element {@code index} of {@code " + n + "}."), f.declaration());
            w.line("public static void " + n + "(MemorySegment struct, long index, " + carrier + " value) {").in()
                    .line("struct.set(" + layout + ", " + off + " + java.util.Objects.checkIndex(index, "
                            + a.length() + "L) * " + elem + ", value);").out().line("}");
        }
    }

    private static String scalarLayout(Field f, JavaTypes types) {
        String layout = types.layout(f.type());
        long align = types.align(f.type());
        return align > 1 && f.offset() % align != 0 ? layout + "_UNALIGNED" : layout;
    }
}
