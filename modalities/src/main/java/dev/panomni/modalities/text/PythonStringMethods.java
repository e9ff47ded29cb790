package dev.panomni.modalities.text;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Python's {@code str} methods for Jinjava, which otherwise resolves {@code s.strip('\n')} or
 * {@code s.startswith('x')} against {@link String}'s Java methods (and fails, or splits on a regex).
 * Chat templates are written for Python's Jinja2, where strings have Python's methods; this
 * resolver answers those method calls on strings before Jinjava's bean resolver sees them.
 */
final class PythonStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) {
            return null;
        }
        Object[] a = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), a);
        if (result != NOT_HANDLED) {
            context.setPropertyResolved(true);
            return result;
        }
        return null;
    }

    private static final Object NOT_HANDLED = new Object();

    static Object call(String s, String name, Object[] a) {
        switch (name) {
            case "strip":
                return rstrip(lstrip(s, chars(a)), chars(a));
            case "lstrip":
                return lstrip(s, chars(a));
            case "rstrip":
                return rstrip(s, chars(a));
            case "startswith":
                return matchesAffix(s, a, true);
            case "endswith":
                return matchesAffix(s, a, false);
            case "split":
                return split(s, a.length > 0 && a[0] != null ? a[0].toString() : null,
                        a.length > 1 ? ((Number) a[1]).intValue() : -1);
            case "upper":
                return s.toUpperCase(Locale.ROOT);
            case "lower":
                return s.toLowerCase(Locale.ROOT);
            case "title":
                return title(s);
            case "capitalize":
                return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace":
                if (a.length >= 2) {
                    return replace(s, a[0].toString(), a[1].toString(), a.length > 2 ? ((Number) a[2]).intValue() : -1);
                }
                return NOT_HANDLED;
            case "find":
                return a.length >= 1 ? s.indexOf(a[0].toString()) : NOT_HANDLED;
            case "count":
                return a.length >= 1 ? count(s, a[0].toString()) : NOT_HANDLED;
            case "join":
                if (a.length == 1 && a[0] instanceof Collection<?> items) {
                    List<String> parts = new ArrayList<>();
                    for (Object o : items) {
                        parts.add(String.valueOf(o));
                    }
                    return String.join(s, parts);
                }
                return NOT_HANDLED;
            case "isspace":
                return !s.isEmpty() && s.chars().allMatch(c -> isSpace((char) c));
            case "isdigit":
                return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha":
                return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "splitlines":
                return splitLines(s);
            default:
                return NOT_HANDLED;
        }
    }

    private static List<String> splitLines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(s.substring(start, i));
                if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    private static String chars(Object[] a) {
        return a.length > 0 && a[0] != null ? a[0].toString() : null;
    }

    /** Python's {@code str.isspace} per character. */
    static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    private static boolean strips(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && strips(s.charAt(i), chars)) {
            i++;
        }
        return s.substring(i);
    }

    static String rstrip(String s, String chars) {
        int j = s.length();
        while (j > 0 && strips(s.charAt(j - 1), chars)) {
            j--;
        }
        return s.substring(0, j);
    }

    private static boolean matchesAffix(String s, Object[] a, boolean prefix) {
        if (a.length == 0) {
            return false;
        }
        if (a[0] instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? s.startsWith(String.valueOf(o)) : s.endsWith(String.valueOf(o))) {
                    return true;
                }
            }
            return false;
        }
        String x = String.valueOf(a[0]);
        return prefix ? s.startsWith(x) : s.endsWith(x);
    }

    /** Python's {@code str.split}: on whitespace runs without {@code sep}, else on the literal {@code sep}. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(rstrip(s.substring(i), null));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("split(): empty separator");
        }
        int start = 0;
        while (maxSplit < 0 || out.size() < maxSplit) {
            int at = s.indexOf(sep, start);
            if (at < 0) {
                break;
            }
            out.add(s.substring(start, at));
            start = at + sep.length();
        }
        out.add(s.substring(start));
        return out;
    }

    private static String replace(String s, String old, String with, int count) {
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder sb = new StringBuilder();
        int start = 0;
        for (int done = 0; done < count; done++) {
            int at = s.indexOf(old, start);
            if (at < 0) {
                break;
            }
            sb.append(s, start, at).append(with);
            start = at + old.length();
        }
        return sb.append(s.substring(start)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ property access: not ours

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public java.util.Iterator<java.beans.FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
