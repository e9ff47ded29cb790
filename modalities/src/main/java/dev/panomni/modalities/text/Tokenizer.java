package dev.panomni.modalities.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face tokenizer read from its {@code tokenizer.json}: byte-level BPE as used by GPT-2,
 * Qwen2/Qwen3 and Llama 3, giving the same ids as the {@code tokenizers} library.
 *
 * <p>Encoding runs the library's pipeline: added tokens are split out of the raw text (longest
 * match first), the rest is normalized (NFC for Qwen), pre-tokenized (the {@code Split} regex of
 * the model, then {@code ByteLevel}), each piece is mapped byte by byte to GPT-2's printable
 * alphabet and merged by BPE, and the post-processor adds its special tokens (Llama 3's
 * {@code <|begin_of_text|>}; Qwen adds none). Decoding maps tokens back to bytes and decodes UTF-8,
 * replacing invalid sequences as the library does.
 *
 * <p>Supported components (anything else is refused on load with a message naming it):
 * model BPE (with or without {@code ignore_merges}, unknown token, subword prefix/suffix);
 * normalizers NFC, NFD, NFKC, NFKD and sequences of them; pre-tokenizers Split, ByteLevel and
 * Sequence; decoder ByteLevel; post-processors ByteLevel, TemplateProcessing and Sequence.
 *
 * <p>Instances are immutable apart from a bounded word cache and safe to share between threads.
 */
public final class Tokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BpeModel model;
    private final String[] idToToken;
    private final List<AddedToken> addedTokens;
    private final Set<Integer> specialIds;
    private final AddedVocabulary rawAdded;
    private final AddedVocabulary normalizedAdded;
    private final Normalization normalization;
    private final List<PreTokenizer> preTokenizers;
    private final boolean byteLevel;
    private final boolean byteLevelDecoder;
    private final int[] prefixIds;
    private final int[] suffixIds;

    private Tokenizer(BpeModel model, List<AddedToken> addedTokens, Normalization normalization,
                      List<PreTokenizer> preTokenizers, boolean byteLevel, boolean byteLevelDecoder,
                      int[] prefixIds, int[] suffixIds) {
        this.model = model;
        this.addedTokens = List.copyOf(addedTokens);
        this.normalization = normalization;
        this.preTokenizers = List.copyOf(preTokenizers);
        this.byteLevel = byteLevel;
        this.byteLevelDecoder = byteLevelDecoder;
        this.prefixIds = prefixIds;
        this.suffixIds = suffixIds;
        int max = -1;
        for (int id : model.vocab().values()) {
            max = Math.max(max, id);
        }
        for (AddedToken t : addedTokens) {
            max = Math.max(max, t.id());
        }
        idToToken = new String[max + 1];
        model.vocab().forEach((tok, id) -> idToToken[id] = tok);
        Set<Integer> special = new HashSet<>();
        for (AddedToken t : addedTokens) {
            idToToken[t.id()] = t.content();
            if (t.special()) {
                special.add(t.id());
            }
        }
        this.specialIds = Collections.unmodifiableSet(special);
        this.rawAdded = new AddedVocabulary(addedTokens.stream().filter(t -> !t.normalized()).toList(), AddedToken::content);
        this.normalizedAdded = new AddedVocabulary(addedTokens.stream().filter(AddedToken::normalized).toList(),
                t -> normalization.normalize(t.content()));
    }

    // ------------------------------------------------------------------ loading

    /** Reads a tokenizer.json file. */
    public static Tokenizer fromFile(Path tokenizerJson) throws IOException {
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return fromJson(JSON.readTree(in), tokenizerJson.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses tokenizer.json content. */
    public static Tokenizer fromJson(String json) throws IOException {
        return fromJson(JSON.readTree(json), "tokenizer.json");
    }

    private static Tokenizer fromJson(JsonNode root, String source) {
        JsonNode m = root.path("model");
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new IllegalArgumentException("model type '" + type + "' is not supported (only BPE)");
        }
        if (!m.path("dropout").isNull() && !m.path("dropout").isMissingNode() && m.path("dropout").asDouble() != 0) {
            throw new IllegalArgumentException("BPE dropout is not supported (it makes encoding random)");
        }
        if (m.path("byte_fallback").asBoolean(false)) {
            throw new IllegalArgumentException("BPE byte_fallback (SentencePiece-style vocabularies) is not supported");
        }
        Map<String, Integer> vocab = new HashMap<>(m.path("vocab").size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = m.path("vocab").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        if (vocab.isEmpty()) {
            throw new IllegalArgumentException(source + ": model.vocab is missing or empty");
        }
        String prefix = textOrNull(m.path("continuing_subword_prefix"));
        String suffix = textOrNull(m.path("end_of_word_suffix"));
        MergeTable merges = parseMerges(m.path("merges"), vocab, prefix == null ? 0 : prefix.length());
        Integer unkId = null;
        String unk = textOrNull(m.path("unk_token"));
        if (unk != null) {
            unkId = vocab.get(unk);
            if (unkId == null) {
                throw new IllegalArgumentException("unk_token '" + unk + "' is not in the vocabulary");
            }
        }
        BpeModel model = new BpeModel(vocab, merges, m.path("ignore_merges").asBoolean(false), unkId,
                m.path("fuse_unk").asBoolean(false), prefix, suffix);

        List<AddedToken> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            added.add(new AddedToken(a.path("id").asInt(), a.path("content").asText(), a.path("special").asBoolean(false),
                    a.path("lstrip").asBoolean(false), a.path("rstrip").asBoolean(false),
                    a.path("single_word").asBoolean(false), a.path("normalized").asBoolean(!a.path("special").asBoolean(false))));
        }

        Normalization normalization = parseNormalizer(root.path("normalizer"));
        List<PreTokenizer> pre = new ArrayList<>();
        boolean[] byteLevel = {false};
        parsePreTokenizer(root.path("pre_tokenizer"), pre, byteLevel);
        boolean byteLevelDecoder = parseDecoder(root.path("decoder"));
        List<Integer> prefixIds = new ArrayList<>();
        List<Integer> suffixIds = new ArrayList<>();
        parsePostProcessor(root.path("post_processor"), prefixIds, suffixIds);
        return new Tokenizer(model, added, normalization, pre, byteLevel[0], byteLevelDecoder,
                prefixIds.stream().mapToInt(Integer::intValue).toArray(), suffixIds.stream().mapToInt(Integer::intValue).toArray());
    }

    private static String textOrNull(JsonNode n) {
        return n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    }

    private static MergeTable parseMerges(JsonNode merges, Map<String, Integer> vocab, int prefixLength) {
        MergeTable table = new MergeTable(merges.size());
        int rank = 0;
        for (JsonNode merge : merges) {
            String a;
            String b;
            if (merge.isArray() && merge.size() == 2) {
                a = merge.get(0).asText();
                b = merge.get(1).asText();
            } else if (merge.isTextual()) {
                String[] parts = merge.asText().split(" ", -1);
                if (parts.length != 2) {
                    throw new IllegalArgumentException("merge #" + rank + " '" + merge.asText()
                            + "' is not two tokens separated by one space");
                }
                a = parts[0];
                b = parts[1];
            } else {
                throw new IllegalArgumentException("merge #" + rank + " " + merge + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
            Integer left = vocab.get(a);
            Integer right = vocab.get(b);
            String joined = a + b.substring(Math.min(prefixLength, b.length()));
            Integer merged = vocab.get(joined);
            if (left == null || right == null || merged == null) {
                String missing = left == null ? a : right == null ? b : joined;
                throw new IllegalArgumentException("merge #" + rank + " (" + a + ", " + b + "): token '" + missing
                        + "' is not in the vocabulary");
            }
            table.put(left, right, rank, merged);
            rank++;
        }
        return table;
    }

    private static Normalization parseNormalizer(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return Normalization.none();
        }
        List<Normalizer.Form> forms = new ArrayList<>();
        collectForms(n, forms);
        return new Normalization(forms);
    }

    private static void collectForms(JsonNode n, List<Normalizer.Form> forms) {
        String type = n.path("type").asText();
        if (type.equals("Sequence")) {
            for (JsonNode c : n.path("normalizers")) {
                collectForms(c, forms);
            }
            return;
        }
        Normalizer.Form f = Normalization.form(type);
        if (f == null) {
            throw new IllegalArgumentException("normalizer type '" + type + "' is not supported (supported: NFC, NFD, "
                    + "NFKC, NFKD, Sequence)");
        }
        forms.add(f);
    }

    private static void parsePreTokenizer(JsonNode n, List<PreTokenizer> out, boolean[] byteLevel) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                for (JsonNode c : n.path("pretokenizers")) {
                    parsePreTokenizer(c, out, byteLevel);
                }
            }
            case "Split" -> {
                JsonNode p = n.path("pattern");
                java.util.regex.Pattern pattern;
                if (p.has("Regex")) {
                    String regex = p.get("Regex").asText();
                    try {
                        pattern = SplitPreTokenizer.compileRegex(regex);
                    } catch (java.util.regex.PatternSyntaxException e) {
                        throw new IllegalArgumentException("Split regex does not compile in java.util.regex: " + e.getMessage());
                    }
                } else if (p.has("String")) {
                    pattern = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(p.get("String").asText()));
                } else {
                    throw new IllegalArgumentException("Split pattern must hold \"Regex\" or \"String\", got " + p);
                }
                out.add(new SplitPreTokenizer(pattern, SplitPreTokenizer.behavior(n.path("behavior").asText("Isolated")),
                        n.path("invert").asBoolean(false)));
            }
            case "ByteLevel" -> {
                byteLevel[0] = true;
                out.add(new ByteLevelPreTokenizer(n.path("add_prefix_space").asBoolean(true), n.path("use_regex").asBoolean(true)));
            }
            default -> throw new IllegalArgumentException("pre-tokenizer type '" + type
                    + "' is not supported (supported: Split, ByteLevel, Sequence)");
        }
    }

    private static boolean parseDecoder(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return false;
        }
        String type = n.path("type").asText();
        if (type.equals("ByteLevel")) {
            return true;
        }
        if (type.equals("Sequence")) {
            boolean any = false;
            for (JsonNode c : n.path("decoders")) {
                any |= parseDecoder(c);
            }
            return any;
        }
        throw new IllegalArgumentException("decoder type '" + type + "' is not supported (supported: ByteLevel)");
    }

    private static void parsePostProcessor(JsonNode n, List<Integer> prefix, List<Integer> suffix) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        String type = n.path("type").asText();
        switch (type) {
            case "ByteLevel" -> {
                // Only adjusts offsets (trim_offsets); ids are unchanged.
            }
            case "Sequence" -> {
                for (JsonNode c : n.path("processors")) {
                    parsePostProcessor(c, prefix, suffix);
                }
            }
            case "TemplateProcessing" -> {
                boolean seenSequence = false;
                for (JsonNode piece : n.path("single")) {
                    if (piece.has("Sequence")) {
                        seenSequence = true;
                    } else if (piece.has("SpecialToken")) {
                        String id = piece.get("SpecialToken").path("id").asText();
                        JsonNode ids = n.path("special_tokens").path(id).path("ids");
                        if (!ids.isArray() || ids.isEmpty()) {
                            throw new IllegalArgumentException("TemplateProcessing names special token '" + id
                                    + "' without ids in special_tokens");
                        }
                        for (JsonNode i : ids) {
                            (seenSequence ? suffix : prefix).add(i.asInt());
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("post-processor type '" + type
                    + "' is not supported (supported: ByteLevel, TemplateProcessing, Sequence)");
        }
    }

    // ------------------------------------------------------------------ encoding

    /** Token ids of {@code text} with the post-processor's special tokens (the library's default). */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /** Token ids of {@code text}; {@code addSpecialTokens} adds the post-processor's BOS/EOS. */
    public int[] encode(String text, boolean addSpecialTokens) {
        return encodeWithOffsets(text, addSpecialTokens).ids();
    }

    /** Token ids and, per token, the input character range it covers. */
    public Encoding encodeWithOffsets(String text, boolean addSpecialTokens) {
        IntList ids = new IntList();
        IntList starts = new IntList();
        IntList ends = new IntList();
        if (addSpecialTokens) {
            for (int id : prefixIds) {
                ids.add(id);
                starts.add(0);
                ends.add(0);
            }
        }
        for (AddedVocabulary.Segment seg : rawAdded.split(text)) {
            if (seg.token() != null) {
                ids.add(seg.token().id());
                starts.add(seg.start());
                ends.add(seg.end());
                continue;
            }
            encodePlain(text.substring(seg.start(), seg.end()), seg.start(), ids, starts, ends);
        }
        if (addSpecialTokens) {
            for (int id : suffixIds) {
                ids.add(id);
                starts.add(text.length());
                ends.add(text.length());
            }
        }
        return new Encoding(ids.toArray(), starts.toArray(), ends.toArray());
    }

    private void encodePlain(String raw, int base, IntList ids, IntList starts, IntList ends) {
        Normalization.Aligned norm = normalization.apply(raw);
        String text = norm.text();
        for (AddedVocabulary.Segment seg : normalizedAdded.split(text)) {
            if (seg.token() != null) {
                ids.add(seg.token().id());
                starts.add(base + norm.start()[seg.start()]);
                ends.add(base + norm.end()[seg.end() - 1]);
                continue;
            }
            List<Piece> pieces = new ArrayList<>();
            pieces.add(Piece.of(text, seg.start(), seg.end()));
            for (PreTokenizer p : preTokenizers) {
                List<Piece> next = new ArrayList<>();
                for (Piece piece : pieces) {
                    p.split(piece, next);
                }
                pieces = next;
            }
            for (Piece piece : pieces) {
                encodePiece(piece, norm, base, ids, starts, ends);
            }
        }
    }

    private void encodePiece(Piece piece, Normalization.Aligned norm, int base, IntList ids, IntList starts, IntList ends) {
        String text = piece.text();
        if (text.isEmpty()) {
            return;
        }
        // unitStart[k]: the piece char where word unit k (a byte, or a code point) begins.
        String word;
        int[] unitStart;
        if (byteLevel) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            word = ByteLevel.encode(bytes);
            unitStart = new int[bytes.length + 1];
            int b = 0;
            for (int c = 0; c < text.length(); ) {
                int cp = text.codePointAt(c);
                int n = utf8Length(cp);
                for (int k = 0; k < n; k++) {
                    unitStart[b++] = c;
                }
                c += Character.charCount(cp);
            }
            unitStart[bytes.length] = text.length();
        } else {
            word = text;
            int units = text.codePointCount(0, text.length());
            unitStart = new int[units + 1];
            for (int c = 0, u = 0; c < text.length(); u++) {
                unitStart[u] = c;
                c += Character.charCount(text.codePointAt(c));
            }
            unitStart[units] = text.length();
        }
        BpeModel.Word w = model.tokenize(word);
        int unit = 0;
        for (int i = 0; i < w.ids().length; i++) {
            int firstChar = unitStart[unit];
            unit += w.lengths()[i];
            int lastUnit = unit - 1;
            // The token ends after the char holding its last unit.
            int endChar = firstCharAfter(unitStart, lastUnit);
            int ns = piece.pos()[firstChar];
            int ne = piece.pos()[endChar];
            ids.add(w.ids()[i]);
            if (ne > ns) {
                starts.add(base + norm.start()[ns]);
                ends.add(base + norm.end()[ne - 1]);
            } else {
                int at = ns < norm.start().length ? norm.start()[ns] : (norm.end().length == 0 ? 0 : norm.end()[norm.end().length - 1]);
                starts.add(base + at);
                ends.add(base + at);
            }
        }
    }

    /** The piece char index just past the char that holds word unit {@code unit}. */
    private static int firstCharAfter(int[] unitStart, int unit) {
        int c = unitStart[unit];
        int u = unit + 1;
        while (unitStart[u] == c) {
            u++;
        }
        return unitStart[u];
    }

    private static int utf8Length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    // ------------------------------------------------------------------ decoding

    /** Text of {@code ids}, special tokens included (the library's default). */
    public String decode(int[] ids) {
        return decode(ids, false);
    }

    /** Text of {@code ids}; {@code skipSpecialTokens} drops added tokens marked special. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        if (!byteLevelDecoder) {
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                if (skipSpecialTokens && specialIds.contains(id)) {
                    continue;
                }
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                sb.append(token(id));
            }
            return sb.toString();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (skipSpecialTokens && specialIds.contains(id)) {
                continue;
            }
            ByteLevel.decodeInto(token(id), bytes);
        }
        return ByteLevel.decodeUtf8Lossy(bytes.toByteArray());
    }

    private String token(int id) {
        String t = id >= 0 && id < idToToken.length ? idToToken[id] : null;
        if (t == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + idToToken.length + ")");
        }
        return t;
    }

    // ------------------------------------------------------------------ vocabulary

    /** The id of a token string (vocabulary or added), or null. */
    public Integer tokenToId(String token) {
        for (AddedToken t : addedTokens) {
            if (t.content().equals(token)) {
                return t.id();
            }
        }
        return model.vocab().get(token);
    }

    /** The token string of {@code id} (byte-level form for vocabulary tokens), or null. */
    public String idToToken(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** One more than the largest id (vocabulary and added tokens). */
    public int vocabSize() {
        return idToToken.length;
    }

    /** The added tokens, in tokenizer.json order. */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** True when {@code id} is an added token marked special. */
    public boolean isSpecial(int id) {
        return specialIds.contains(id);
    }

    /** Growable int array for the encode loop. */
    private static final class IntList {
        private int[] a = new int[64];
        private int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
