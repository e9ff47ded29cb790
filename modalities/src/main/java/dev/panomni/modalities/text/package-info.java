/**
 * Text processing: the byte-level BPE {@link dev.panomni.modalities.text.Tokenizer} read from a
 * Hugging Face tokenizer.json (GPT-2, Qwen2/Qwen3, Llama 3), chat templates rendered with Jinjava
 * ({@link dev.panomni.modalities.text.ChatTemplate}), and the assistant-token masks that supervised
 * fine-tuning needs ({@link dev.panomni.modalities.text.TokenizedChat}).
 */
package dev.panomni.modalities.text;
