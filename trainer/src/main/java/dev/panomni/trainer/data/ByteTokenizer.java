package dev.panomni.trainer.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Byte-level tokenizer: ids 0-255 are the UTF-8 bytes of the text, then four special tokens.
 * Any text round-trips; no vocabulary file is needed. The chat template is ChatML, as Qwen's:
 * {@code <|im_start|>role\ncontent<|im_end|>\n} per message.
 */
public final class ByteTokenizer implements TokenizerAdapter {
    public static final int PAD = 256;
    public static final int EOS = 257;
    public static final int IM_START = 258;
    public static final int IM_END = 259;
    public static final int VOCAB_SIZE = 260;

    private static final String[] SPECIAL_NAMES = {"<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"};

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public int[] encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = bytes[i] & 0xff;
        }
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id >= 0 && id < 256) {
                run.write(id);
                continue;
            }
            sb.append(run.toString(StandardCharsets.UTF_8));
            run.reset();
            sb.append(id >= 256 && id < VOCAB_SIZE ? SPECIAL_NAMES[id - 256] : "<|unk:" + id + "|>");
        }
        sb.append(run.toString(StandardCharsets.UTF_8));
        return sb.toString();
    }

    @Override
    public ChatEncoding applyChatTemplate(List<ChatMessage> messages) {
        IntList ids = new IntList();
        BoolList mask = new BoolList();
        for (ChatMessage m : messages) {
            ids.add(IM_START);
            mask.add(false);
            for (int id : encode(m.role() + "\n")) {
                ids.add(id);
                mask.add(false);
            }
            boolean train = m.isAssistant();
            for (int id : encode(m.content())) {
                ids.add(id);
                mask.add(train);
            }
            ids.add(IM_END);
            mask.add(train); // the model learns to end its turn
            ids.add('\n');
            mask.add(false);
        }
        return new ChatEncoding(ids.toArray(), mask.toArray());
    }

    @Override
    public int[] encodeChatPrompt(List<ChatMessage> messages) {
        int[] conversation = applyChatTemplate(messages).ids();
        int[] header = encode("assistant\n");
        int[] ids = Arrays.copyOf(conversation, conversation.length + 1 + header.length);
        ids[conversation.length] = IM_START;
        System.arraycopy(header, 0, ids, conversation.length + 1, header.length);
        return ids;
    }

    @Override
    public int endOfTurnId() {
        return IM_END;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public int padId() {
        return PAD;
    }

    private static final class IntList {
        int[] a = new int[64];
        int n;

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

    private static final class BoolList {
        boolean[] a = new boolean[64];
        int n;

        void add(boolean v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        boolean[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
