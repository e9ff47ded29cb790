package dev.panomni.modalities.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face chat template ({@code chat_template} of tokenizer_config.json) rendered with
 * Jinjava as transformers' {@code apply_chat_template} renders it with Jinja2: the template sees
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and any
 * extra variables ({@code tools}, {@code enable_thinking}, ...). See {@link JinjaEnvironment} for
 * the Jinja2 behaviors reproduced.
 *
 * <p>Assistant spans for loss masks ({@link #renderWithAssistantSpans}): a template with
 * {@code {% generation %}} blocks marks them itself, as transformers'
 * {@code return_assistant_tokens_mask} expects. Templates without them (Qwen3, Llama 3) are
 * handled by locating each assistant turn from its header: the text that
 * {@code add_generation_prompt} appends (for Qwen3 {@code <|im_start|>assistant\n}) is found once
 * per assistant message, and the span runs from its end through the next end-of-turn token
 * (the config's {@code eos_token} unless given). When the header count does not match the
 * assistant messages, rendering fails with a message instead of guessing.
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;

    /**
     * @param template the Jinja source
     * @param bosToken the {@code bos_token} variable (null renders as empty)
     * @param eosToken the {@code eos_token} variable, also the default end-of-turn marker
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.template = JinjaSource.prepare(template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.jinjava = JinjaEnvironment.create();
    }

    /** Reads {@code chat_template}, {@code bos_token} and {@code eos_token} from a tokenizer_config.json. */
    public static ChatTemplate fromTokenizerConfig(Path tokenizerConfigJson) throws IOException {
        try {
            return fromTokenizerConfigJson(Files.readString(tokenizerConfigJson));
        } catch (IllegalArgumentException e) {
            throw new IOException(tokenizerConfigJson + ": " + e.getMessage(), e);
        }
    }

    /** Same as {@link #fromTokenizerConfig} from the file's content. */
    public static ChatTemplate fromTokenizerConfigJson(String json) throws IOException {
        JsonNode root = JSON.readTree(json);
        JsonNode t = root.path("chat_template");
        String template = null;
        if (t.isTextual()) {
            template = t.asText();
        } else if (t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText())) {
                    template = named.path("template").asText();
                }
            }
        }
        if (template == null) {
            throw new IllegalArgumentException("no chat_template (a string, or a list with a \"default\" entry)");
        }
        return new ChatTemplate(template, tokenText(root.path("bos_token")), tokenText(root.path("eos_token")));
    }

    private static String tokenText(JsonNode n) {
        if (n.isTextual()) {
            return n.asText();
        }
        if (n.isObject() && n.path("content").isTextual()) {
            return n.path("content").asText();
        }
        return null;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** Renders {@code messages}; {@code addGenerationPrompt} appends the assistant header. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders {@code messages} with extra template variables ({@code tools},
     * {@code enable_thinking}, {@code date_string}, ...).
     *
     * @throws ChatTemplateException when the template raises or fails
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        String out = renderRaw(messages, addGenerationPrompt, variables);
        return out.replace(String.valueOf(JinjaEnvironment.GENERATION_START), "")
                .replace(String.valueOf(JinjaEnvironment.GENERATION_END), "");
    }

    /** Renders a training conversation and locates its assistant turns, ending at {@link #eosToken()}. */
    public RenderedChat renderWithAssistantSpans(List<ChatMessage> messages, Map<String, Object> variables) {
        return renderWithAssistantSpans(messages, variables, eosToken);
    }

    /**
     * Renders a training conversation (no generation prompt) and locates its assistant turns.
     *
     * @param endOfTurn the text that closes an assistant turn (included in its span), for templates
     *                  without {@code {% generation %}} blocks
     */
    public RenderedChat renderWithAssistantSpans(List<ChatMessage> messages, Map<String, Object> variables, String endOfTurn) {
        for (ChatMessage m : messages) {
            if (m.content() != null && (m.content().indexOf(JinjaEnvironment.GENERATION_START) >= 0
                    || m.content().indexOf(JinjaEnvironment.GENERATION_END) >= 0)) {
                throw new ChatTemplateException("message content holds U+FDD0/U+FDD1, which mark generation blocks");
            }
        }
        String raw = renderRaw(messages, false, variables);
        if (raw.indexOf(JinjaEnvironment.GENERATION_START) >= 0) {
            return fromGenerationMarkers(raw);
        }
        return fromHeaders(messages, variables, raw, endOfTurn);
    }

    private static RenderedChat fromGenerationMarkers(String raw) {
        StringBuilder text = new StringBuilder(raw.length());
        List<RenderedChat.Span> spans = new ArrayList<>();
        int open = -1;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == JinjaEnvironment.GENERATION_START) {
                open = text.length();
            } else if (c == JinjaEnvironment.GENERATION_END) {
                if (open >= 0 && text.length() > open) {
                    spans.add(new RenderedChat.Span(open, text.length()));
                }
                open = -1;
            } else {
                text.append(c);
            }
        }
        return new RenderedChat(text.toString(), spans);
    }

    private RenderedChat fromHeaders(List<ChatMessage> messages, Map<String, Object> variables, String raw, String endOfTurn) {
        int firstAssistant = -1;
        int assistants = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).role().equals("assistant")) {
                assistants++;
                if (firstAssistant < 0) {
                    firstAssistant = i;
                }
            }
        }
        if (assistants == 0) {
            return new RenderedChat(raw, List.of());
        }
        if (endOfTurn == null || endOfTurn.isEmpty()) {
            throw new ChatTemplateException("cannot locate assistant turns: no end-of-turn token (eos_token) is known");
        }
        List<ChatMessage> prompt = messages.subList(0, firstAssistant);
        String without = render(prompt, false, variables);
        String with = render(prompt, true, variables);
        if (!with.startsWith(without) || with.length() == without.length()) {
            throw new ChatTemplateException("cannot locate assistant turns: the template has no {% generation %} blocks and "
                    + "add_generation_prompt does not append a header to the prompt");
        }
        String header = with.substring(without.length());
        List<RenderedChat.Span> spans = new ArrayList<>();
        int from = 0;
        while (true) {
            int h = raw.indexOf(header, from);
            if (h < 0) {
                break;
            }
            int start = h + header.length();
            int end = raw.indexOf(endOfTurn, start);
            if (end < 0) {
                throw new ChatTemplateException("assistant turn at character " + start + " has no closing " + endOfTurn);
            }
            spans.add(new RenderedChat.Span(start, end + endOfTurn.length()));
            from = end + endOfTurn.length();
        }
        if (spans.size() != assistants) {
            throw new ChatTemplateException("found " + spans.size() + " assistant headers " + JSON.valueToTree(header)
                    + " for " + assistants + " assistant messages; add {% generation %} blocks to the template");
        }
        return new RenderedChat(raw, spans);
    }

    private String renderRaw(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> variables) {
        Map<String, Object> context = new HashMap<>(variables);
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (ChatMessage m : messages) {
            msgs.add(m.toTemplateValue());
        }
        context.put("messages", msgs);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.putIfAbsent("bos_token", bosToken == null ? "" : bosToken);
        context.putIfAbsent("eos_token", eosToken == null ? "" : eosToken);
        RenderResult result;
        try {
            result = jinjava.renderForResult(template, context);
        } catch (FatalTemplateErrorsException e) {
            throw new ChatTemplateException("chat template failed: " + e.getMessage(), e);
        }
        List<String> fatal = new ArrayList<>();
        for (TemplateError e : result.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = e.getException();
                while (cause != null && !(cause instanceof JinjaEnvironment.TemplateRaised)) {
                    cause = cause.getCause();
                }
                if (cause != null) {
                    throw new ChatTemplateException("chat template raised: " + cause.getMessage());
                }
                fatal.add("line " + e.getLineno() + ": " + e.getMessage());
            }
        }
        if (!fatal.isEmpty()) {
            throw new ChatTemplateException("chat template failed: " + String.join("; ", fatal));
        }
        return result.getOutput();
    }
}
