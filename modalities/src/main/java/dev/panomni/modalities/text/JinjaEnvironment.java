package dev.panomni.modalities.text;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import jinjava.javax.el.CompositeELResolver;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Collection;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * A Jinjava engine set up to render Hugging Face chat templates as transformers does with Jinja2: Python string methods on strings ({@link PythonStringMethods}), {@code raise_exception(msg)},
 * {@code strftime_now(format)}, a {@code tojson} filter that writes JSON as Python's
 * {@code json.dumps} does (", " and ": " separators, non-ASCII kept), and the
 * {@code {% generation %}} block tag that transformers uses to mark assistant text.
 *
 * <p>Templates go through {@link JinjaSource#prepare} first, which makes the source mean in
 * Jinjava what it means in Jinja2.
 */
final class JinjaEnvironment {
    /** Marks the start and end of {@code {% generation %}} output; noncharacters never in real text. */
    static final char GENERATION_START = '\uFDD0';
    static final char GENERATION_END = '\uFDD1';

    private JinjaEnvironment() {
    }

    static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(false) // applied by JinjaSource, as Jinja2 does them
                .withLstripBlocks(false)
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true) // {{- x -}} trims, as in Jinja2
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaEnvironment.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                JinjaEnvironment.class, "strftimeNow", String.class));
        jinjava.getGlobalContext().registerFilter(new ToJson());
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        return jinjava;
    }

    /** Thrown by {@code raise_exception(msg)} in a template. */
    static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message);
        }
    }

    public static String raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** The current local date/time formatted with a C {@code strftime} pattern (the common subset). */
    public static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char f = format.charAt(++i);
            switch (f) {
                case 'd' -> sb.append(String.format("%02d", now.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", now.getMonthValue()));
                case 'Y' -> sb.append(now.getYear());
                case 'y' -> sb.append(String.format("%02d", now.getYear() % 100));
                case 'b' -> sb.append(now.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(now.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(now.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(now.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", now.getHour()));
                case 'M' -> sb.append(String.format("%02d", now.getMinute()));
                case 'S' -> sb.append(String.format("%02d", now.getSecond()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(f);
            }
        }
        return sb.toString();
    }

    /** {@code tojson} as transformers defines it: {@code json.dumps(x, ensure_ascii=False, indent=indent)}. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
            return PythonJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return PythonJson.dumps(var, indent == null ? null : ((Number) indent).intValue());
        }
    }

    /** {@code {% generation %}...{% endgeneration %}}: renders its body between two markers. */
    static final class GenerationTag implements Tag {
        @Override
        public String getName() {
            return "generation";
        }

        @Override
        public String getEndTagName() {
            return "endgeneration";
        }

        @Override
        public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
            StringBuilder sb = new StringBuilder().append(GENERATION_START);
            for (Node child : tagNode.getChildren()) {
                sb.append(child.render(interpreter).getValue());
            }
            return sb.append(GENERATION_END).toString();
        }
    }

    /** JSON as Python's {@code json.dumps(obj, ensure_ascii=False, indent=indent)} writes it. */
    static final class PythonJson {
        private PythonJson() {
        }

        static String dumps(Object value, Integer indent) {
            StringBuilder sb = new StringBuilder();
            write(sb, value, indent, 0);
            return sb.toString();
        }

        private static void newline(StringBuilder sb, Integer indent, int level) {
            sb.append('\n');
            sb.append(" ".repeat(indent * level));
        }

        private static void write(StringBuilder sb, Object v, Integer indent, int level) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof Boolean b) {
                sb.append(b ? "true" : "false");
            } else if (v instanceof Double || v instanceof Float) {
                double d = ((Number) v).doubleValue();
                sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                        : d == Math.rint(d) && Math.abs(d) < 1e16 ? String.format(Locale.ROOT, "%.1f", d) : Double.toString(d));
            } else if (v instanceof Number n) {
                sb.append(n);
            } else if (v instanceof Map<?, ?> m) {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                sb.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) {
                        sb.append(indent == null ? ", " : ",");
                    }
                    first = false;
                    if (indent != null) {
                        newline(sb, indent, level + 1);
                    }
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    write(sb, e.getValue(), indent, level + 1);
                }
                if (indent != null) {
                    newline(sb, indent, level);
                }
                sb.append('}');
            } else if (v instanceof Collection<?> || v instanceof Object[]) {
                Iterator<?> it = v instanceof Collection<?> c ? c.iterator() : java.util.Arrays.asList((Object[]) v).iterator();
                if (!it.hasNext()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                boolean first = true;
                while (it.hasNext()) {
                    if (!first) {
                        sb.append(indent == null ? ", " : ",");
                    }
                    first = false;
                    if (indent != null) {
                        newline(sb, indent, level + 1);
                    }
                    write(sb, it.next(), indent, level + 1);
                }
                if (indent != null) {
                    newline(sb, indent, level);
                }
                sb.append(']');
            } else {
                string(sb, v.toString());
            }
        }

        private static void string(StringBuilder sb, String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }
}
