package dev.panomni.modalities.text;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Rewrites Jinja2 template source into source Jinjava renders the same way. Jinjava differs from
 * Jinja2 in a few places chat templates touch, all handled here rather than by patching Jinjava:
 * <ul>
 *   <li>Jinja2 lexes with {@code \n} newlines and drops one trailing newline
 *       ({@code keep_trailing_newline=False}).</li>
 *   <li>{@code lstrip_blocks} (as transformers sets it): whitespace before a block or comment tag
 *       is removed only when nothing else precedes the tag on its line; Jinjava also strips it
 *       mid-line, so both this and {@code trim_blocks} (drop the newline after a block or comment
 *       tag) are applied here and Jinjava's own options stay off. {@code {%+} and {@code +%}}
 *       opt out, as in Jinja2.</li>
 *   <li>The slice {@code [::-1]} (reverse) becomes {@code |reverse}: Jinjava parses slices but not
 *       their step.</li>
 *   <li>Keyword argument values are parenthesized ({@code f(k=(a|length - 1))}): Jinjava binds
 *       {@code k=a|length} before the {@code - 1}.</li>
 * </ul>
 */
final class JinjaSource {
    private JinjaSource() {
    }

    static String prepare(String template) {
        String src = template.replace("\r\n", "\n").replace('\r', '\n');
        if (src.endsWith("\n")) {
            src = src.substring(0, src.length() - 1);
        }
        StringBuilder out = new StringBuilder(src.length() + 64);
        int i = 0;
        int n = src.length();
        while (i < n) {
            int open = nextTag(src, i);
            if (open < 0) {
                out.append(src, i, n);
                break;
            }
            char kind = src.charAt(open + 1);
            boolean block = kind == '%' || kind == '#';
            char modifier = open + 2 < n ? src.charAt(open + 2) : ' ';
            String text = src.substring(i, open);
            if (block && modifier != '+' && modifier != '-') {
                int lineStart = text.lastIndexOf('\n') + 1;
                if (text.substring(lineStart).chars().allMatch(c -> c == ' ' || c == '\t')) {
                    text = text.substring(0, lineStart);
                }
            }
            out.append(text);
            String closer = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int close = findClose(src, open + 2, closer, kind != '#');
            if (close < 0) {
                out.append(src, open, n); // unterminated: let Jinjava report it
                break;
            }
            String inner = src.substring(open + 2, close);
            boolean trailingPlus = inner.endsWith("+");
            boolean trailingMinus = inner.endsWith("-");
            if (modifier == '+') {
                inner = inner.substring(1);
            }
            if (trailingPlus) {
                inner = inner.substring(0, inner.length() - 1);
            }
            if (kind != '#') {
                inner = rewriteExpression(inner);
            }
            out.append('{').append(kind).append(inner).append(closer);
            i = close + 2;
            if (block && !trailingPlus && !trailingMinus && i < n && src.charAt(i) == '\n') {
                i++;
            }
        }
        return out.toString();
    }

    private static int nextTag(String src, int from) {
        int best = -1;
        for (String opener : new String[] {"{{", "{%", "{#"}) {
            int at = src.indexOf(opener, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        return best;
    }

    private static int findClose(String src, int from, String closer, boolean skipStrings) {
        char quote = 0;
        for (int i = from; i + 1 < src.length(); i++) {
            char c = src.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (skipStrings && (c == '\'' || c == '"')) {
                quote = c;
                continue;
            }
            if (src.startsWith(closer, i)) {
                return i;
            }
        }
        return -1;
    }

    /** Applies the expression rewrites to the inside of one tag, leaving string literals alone. */
    static String rewriteExpression(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        Deque<Character> brackets = new ArrayDeque<>();
        Deque<Integer> openKwargs = new ArrayDeque<>();
        char quote = 0;
        char lastSignificant = '(';
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                out.append(c);
                if (c == '\\' && i + 1 < s.length()) {
                    out.append(s.charAt(++i));
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
                out.append(c);
                lastSignificant = c;
                continue;
            }
            if (c == '[' && s.startsWith("::-1]", i + 1)) {
                out.append("|reverse");
                i += 5;
                lastSignificant = ']';
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                brackets.push(c);
                out.append(c);
                lastSignificant = c;
                continue;
            }
            if (c == ')' || c == ']' || c == '}' || c == ',') {
                if (!openKwargs.isEmpty() && openKwargs.peek() == brackets.size() && (c == ')' || c == ',')) {
                    out.append(')');
                    openKwargs.pop();
                }
                if (c != ',' && !brackets.isEmpty()) {
                    brackets.pop();
                }
                out.append(c);
                lastSignificant = c;
                continue;
            }
            if (Character.isJavaIdentifierStart(c) && !brackets.isEmpty() && brackets.peek() == '('
                    && (lastSignificant == '(' || lastSignificant == ',')) {
                int end = i;
                while (end < s.length() && Character.isJavaIdentifierPart(s.charAt(end))) {
                    end++;
                }
                int eq = end;
                while (eq < s.length() && s.charAt(eq) == ' ') {
                    eq++;
                }
                if (eq < s.length() && s.charAt(eq) == '=' && (eq + 1 >= s.length() || s.charAt(eq + 1) != '=')) {
                    out.append(s, i, end).append("=(");
                    openKwargs.push(brackets.size());
                    i = eq;
                    lastSignificant = '=';
                    continue;
                }
                out.append(s, i, end);
                i = end - 1;
                lastSignificant = 'a';
                continue;
            }
            out.append(c);
            if (!Character.isWhitespace(c)) {
                lastSignificant = c;
            }
        }
        return out.toString();
    }
}
