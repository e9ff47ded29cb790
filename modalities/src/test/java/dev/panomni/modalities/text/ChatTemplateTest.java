package dev.panomni.modalities.text;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatTemplateTest {
    private static ChatTemplate qwen3;

    @BeforeAll
    static void load() throws IOException {
        qwen3 = ChatTemplate.fromTokenizerConfigJson(Qwen3TokenizerTest.resource("/tokenizer/qwen3_tokenizer_config.json"));
    }

    static final List<ChatMessage> CONVERSATION = List.of(
            ChatMessage.system("You are a helpful assistant."),
            ChatMessage.user("What is 2+2?"),
            ChatMessage.assistant("2+2 equals 4."),
            ChatMessage.user("And times 3?"),
            ChatMessage.assistant("<think>\nMultiply 4 by 3.\n</think>\n\n4 times 3 is 12."),
            ChatMessage.user("Thanks! One more: 12 minus 5?"),
            ChatMessage.assistant("<think>\nSubtract.\n</think>\n\n12 minus 5 is 7."));

    /**
     * Worked out from the Qwen3 template: the system message opens; earlier assistant turns lose
     * their reasoning (they precede the last user query); the last one keeps it in a think block.
     */
    static final String EXPECTED = """
            <|im_start|>system
            You are a helpful assistant.<|im_end|>
            <|im_start|>user
            What is 2+2?<|im_end|>
            <|im_start|>assistant
            2+2 equals 4.<|im_end|>
            <|im_start|>user
            And times 3?<|im_end|>
            <|im_start|>assistant
            4 times 3 is 12.<|im_end|>
            <|im_start|>user
            Thanks! One more: 12 minus 5?<|im_end|>
            <|im_start|>assistant
            <think>
            Subtract.
            </think>

            12 minus 5 is 7.<|im_end|>
            """;

    @Test
    void qwen3ThreeTurnConversation() {
        assertEquals("<|im_end|>", qwen3.eosToken());
        assertEquals(EXPECTED, qwen3.render(CONVERSATION, false));
    }

    @Test
    void qwen3GenerationPrompt() {
        List<ChatMessage> prompt = CONVERSATION.subList(0, 6);
        String head = EXPECTED.substring(0, EXPECTED.indexOf("<|im_start|>assistant\n<think>"));
        assertEquals(head + "<|im_start|>assistant\n", qwen3.render(prompt, true));
        assertEquals(head + "<|im_start|>assistant\n<think>\n\n</think>\n\n",
                qwen3.render(prompt, true, Map.of("enable_thinking", false)));
        assertEquals(head, qwen3.render(prompt, false));
    }

    @Test
    void qwen3ToolsUseTojsonLikePython() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("type", "object");
        params.put("properties", Map.of("city", Map.of("type", "string")));
        params.put("required", List.of("city"));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Weather in a city, e.g. Zürich");
        function.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("name", "get_weather");
        call.put("arguments", Map.of("city", "Paris"));
        List<ChatMessage> messages = List.of(
                ChatMessage.user("Weather in Paris?"),
                new ChatMessage("assistant", "", Map.of("tool_calls", List.of(Map.of("function", call)))),
                new ChatMessage("tool", "{\"temp\": 21}"));
        String out = qwen3.render(messages, true, Map.of("tools", List.of(tool)));
        assertEquals("""
                <|im_start|>system
                # Tools

                You may call one or more functions to assist with the user query.

                You are provided with function signatures within <tools></tools> XML tags:
                <tools>
                {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city, e.g. Zürich", \
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                </tools>

                For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
                <tool_call>
                {"name": <function-name>, "arguments": <args-json-object>}
                </tool_call><|im_end|>
                <|im_start|>user
                Weather in Paris?<|im_end|>
                <|im_start|>assistant
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris"}}
                </tool_call><|im_end|>
                <|im_start|>user
                <tool_response>
                {"temp": 21}
                </tool_response><|im_end|>
                <|im_start|>assistant
                """, out);
    }

    @Test
    void qwen3AssistantSpans() {
        RenderedChat chat = qwen3.renderWithAssistantSpans(CONVERSATION, Map.of());
        assertEquals(EXPECTED, chat.text());
        assertEquals(List.of("2+2 equals 4.<|im_end|>", "4 times 3 is 12.<|im_end|>",
                "<think>\nSubtract.\n</think>\n\n12 minus 5 is 7.<|im_end|>"), chat.assistantTexts());
    }

    @Test
    void assistantTokensMaskTheReplies() throws IOException {
        Tokenizer tok = TinyTokenizerTest.tiny();
        ChatTemplate t = new ChatTemplate(qwen3Like(), null, "<|im_end|>");
        RenderedChat chat = t.renderWithAssistantSpans(List.of(ChatMessage.user("hi"), ChatMessage.assistant("hello")), Map.of());
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n", chat.text());
        TokenizedChat tc = TokenizedChat.of(tok, chat);
        // <|im_start|> u s e r \n h i <|im_end|> \n <|im_start|> a s s i s t a n t \n hello <|im_end|> \n
        int n = tc.ids().length;
        assertEquals(259, tc.ids()[n - 3], "'hello' is one token");
        boolean[] want = new boolean[n];
        want[n - 3] = true;
        want[n - 2] = true;
        assertArrayEquals(want, tc.assistant(), "only 'hello' and its <|im_end|> are trained on");
        assertEquals(2, tc.assistantCount());
    }

    private static String qwen3Like() {
        return "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    }

    @Test
    void generationBlocksMarkSpansExactly() {
        ChatTemplate t = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}A: {% generation %}"
                + "{{ m.content }}!{% endgeneration %}\n{% else %}U: {{ m.content }}\n{% endif %}{% endfor %}", null, null);
        RenderedChat chat = t.renderWithAssistantSpans(List.of(ChatMessage.user("q"), ChatMessage.assistant("a1"),
                ChatMessage.user("q2"), ChatMessage.assistant("a2")), Map.of());
        // trim_blocks drops the newline after {% endgeneration %}; lstrip_blocks keeps "A: " (not at line start).
        assertEquals("U: q\nA: a1!U: q2\nA: a2!", chat.text());
        assertEquals(List.of("a1!", "a2!"), chat.assistantTexts());
    }

    /** Meta's Llama 3 Instruct template (8B/70B), and the text it must give. */
    @Test
    void llama3Template() {
        String template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                + "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
                + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        ChatTemplate t = new ChatTemplate(template, "<|begin_of_text|>", "<|eot_id|>");
        List<ChatMessage> m = List.of(ChatMessage.system("Be brief."), ChatMessage.user("  Hi!  "), ChatMessage.assistant("Hello.\n"));
        String expected = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>";
        assertEquals(expected, t.render(m, false));
        assertEquals(expected + "<|start_header_id|>assistant<|end_header_id|>\n\n", t.render(m, true));
        assertEquals(List.of("Hello.<|eot_id|>"), t.renderWithAssistantSpans(m, Map.of()).assistantTexts());
    }

    @Test
    void pythonIdiomsWork() {
        String template = "{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '\\n\\nb'.lstrip('\\n') }}|{{ 'a.b.c'.split('.')[-1] }}"
                + "|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}"
                + "|{% for x in [1, 2, 3][::-1] %}{{ x }}{% if loop.last %}.{% endif %}{% endfor %}"
                + "|{% set ns = namespace(n=0) %}{% for i in range(5) %}{% if i == 3 %}{% break %}{% endif %}"
                + "{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"
                + "|{{ {'k': 'v', 'n': [1, none, true]} | tojson }}|{{ ['a'] | tojson(indent=2) }}";
        String out = new ChatTemplate(template, null, null).render(List.of(), false);
        assertEquals("x|a|b|c|true|true|HIhi|321.|3|{\"k\": \"v\", \"n\": [1, null, true]}|[\n  \"a\"\n]", out);
    }

    @Test
    void whitespaceControlFollowsJinja2() {
        assertEquals("  y\nz", render("  {% if true %}\n  y\n  {% endif %}\nz"), "lstrip_blocks + trim_blocks");
        assertEquals("A: x|", render("A: {% if true %}x{% endif %}|"), "lstrip_blocks only strips at line start");
        assertEquals("  \nx\n", render("  {%+ if true +%}\nx\n{% endif %}"), "+ disables both");
        assertEquals("ab", render("a{# note #}\nb"), "comments are blocks for trim_blocks");
        assertEquals("a-b", render("a   {{- '-' -}}   b"));
        assertEquals("x", render("x\n"), "one trailing newline is dropped");
    }

    private static String render(String template) {
        return new ChatTemplate(template, null, null).render(List.of(), false);
    }

    @Test
    void raiseExceptionBecomesAClearError() {
        ChatTemplate t = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start "
                + "with a user message') }}{% endif %}ok", null, null);
        assertEquals("ok", t.render(List.of(ChatMessage.user("x")), false));
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> t.render(List.of(ChatMessage.assistant("x")), false));
        assertTrue(e.getMessage().contains("Conversations must start with a user message"), e.getMessage());
    }
}
