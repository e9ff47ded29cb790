package dev.panomni.trainer.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panomni.modalities.text.ChatTemplate;
import dev.panomni.modalities.text.ChatTemplateException;
import dev.panomni.modalities.text.RenderedChat;
import dev.panomni.modalities.text.TokenizedChat;
import dev.panomni.modalities.text.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face tokenizer ({@code tokenizer.json}) with the model's chat template
 * ({@code tokenizer_config.json}), as the data pipeline needs it. Plain-text documents get the
 * post-processor's special tokens (Llama 3's BOS) and the end-of-sequence token; conversations are
 * rendered through the chat template, and the loss mask covers each assistant reply through the
 * token that ends its turn.
 */
public final class HfTokenizerAdapter implements TokenizerAdapter {
    public static final String TOKENIZER_FILE = "tokenizer.json";
    public static final String CONFIG_FILE = "tokenizer_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path source;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final int eosId;
    private final int padId;

    private HfTokenizerAdapter(Path source, Tokenizer tokenizer, ChatTemplate template, int eosId, int padId) {
        this.source = source;
        this.tokenizer = tokenizer;
        this.template = template;
        this.eosId = eosId;
        this.padId = padId;
    }

    /**
     * Loads a tokenizer from a model folder (tokenizer.json, and tokenizer_config.json when present)
     * or from the path of a tokenizer.json (its folder's tokenizer_config.json is used when present).
     *
     * @throws DataException when the files are missing or unreadable, or no end-of-sequence token is known
     */
    public static HfTokenizerAdapter load(Path path) {
        Path json = Files.isDirectory(path) ? path.resolve(TOKENIZER_FILE) : path;
        if (!Files.isRegularFile(json)) {
            throw new DataException("no tokenizer at " + json + ": data.tokenizer must be 'byte', a tokenizer.json "
                    + "file, or a folder holding one");
        }
        Path folder = json.toAbsolutePath().getParent();
        Path config = folder.resolve(CONFIG_FILE);
        try {
            Tokenizer tok = Tokenizer.fromFile(json);
            ChatTemplate template = null;
            String eosText = null;
            String padText = null;
            if (Files.isRegularFile(config)) {
                JsonNode root = JSON.readTree(config.toFile());
                eosText = tokenText(root.get("eos_token"));
                padText = tokenText(root.get("pad_token"));
                if (root.has("chat_template")) {
                    template = ChatTemplate.fromTokenizerConfig(config);
                }
            }
            Integer eos = eosText != null ? tok.tokenToId(eosText) : null;
            if (eos == null) {
                for (String name : List.of("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>")) {
                    eos = tok.tokenToId(name);
                    if (eos != null) {
                        break;
                    }
                }
            }
            if (eos == null) {
                throw new DataException(json + ": no end-of-sequence token: " + CONFIG_FILE + " names none (eos_token) "
                        + "and the vocabulary has none of <|endoftext|>, <|end_of_text|>, </s>, <eos>");
            }
            Integer pad = padText != null ? tok.tokenToId(padText) : null;
            return new HfTokenizerAdapter(json, tok, template, eos, pad != null ? pad : eos);
        } catch (IOException e) {
            throw new DataException("cannot read the tokenizer at " + json + ": " + e.getMessage(), e);
        }
    }

    private static String tokenText(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (n.isTextual()) {
            return n.asText();
        }
        return n.path("content").isTextual() ? n.path("content").asText() : null;
    }

    /** The tokenizer.json this adapter was loaded from. */
    public Path source() {
        return source;
    }

    /** The tokenizer itself. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    @Override
    public int[] encode(String text) {
        return tokenizer.encode(text, false);
    }

    @Override
    public String decode(int[] ids) {
        return tokenizer.decode(ids, false);
    }

    @Override
    public ChatEncoding applyChatTemplate(List<ChatMessage> messages) {
        if (template == null) {
            throw new DataException("the tokenizer at " + source + " has no chat template (no chat_template in "
                    + CONFIG_FILE + "): chat data needs one; use data.format: text or a tokenizer with a template");
        }
        List<dev.panomni.modalities.text.ChatMessage> turns = new ArrayList<>();
        for (ChatMessage m : messages) {
            turns.add(new dev.panomni.modalities.text.ChatMessage(m.role(), m.content()));
        }
        try {
            RenderedChat rendered = template.renderWithAssistantSpans(turns, Map.of());
            TokenizedChat chat = TokenizedChat.of(tokenizer, rendered);
            return new ChatEncoding(chat.ids(), chat.assistant());
        } catch (ChatTemplateException e) {
            throw new DataException("chat template of " + source + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encodeChatPrompt(List<ChatMessage> messages) {
        if (template == null) {
            throw new DataException("the tokenizer at " + source + " has no chat template, so chat prompts cannot be "
                    + "rendered");
        }
        List<dev.panomni.modalities.text.ChatMessage> turns = new ArrayList<>();
        for (ChatMessage m : messages) {
            turns.add(new dev.panomni.modalities.text.ChatMessage(m.role(), m.content()));
        }
        return tokenizer.encode(template.render(turns, true), false);
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public int padId() {
        return padId;
    }

    /** The post-processor's special tokens (BOS where the model has one), the text, then EOS. */
    @Override
    public int[] encodeDocument(String text) {
        int[] body = tokenizer.encode(text, true);
        if (body.length > 0 && body[body.length - 1] == eosId) {
            return body;
        }
        int[] ids = Arrays.copyOf(body, body.length + 1);
        ids[body.length] = eosId;
        return ids;
    }

    @Override
    public int[] encodePrompt(String text) {
        int[] ids = tokenizer.encode(text, true);
        // A post-processor that appends EOS (rare for decoders) would end the prompt: drop it.
        return ids.length > 0 && ids[ids.length - 1] == eosId ? Arrays.copyOf(ids, ids.length - 1) : ids;
    }
}
