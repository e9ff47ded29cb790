package dev.panomni.trainer.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panomni.modalities.io.SafetensorsCheckpoint;
import dev.panomni.modalities.text.model.CausalLm;
import dev.panomni.modalities.text.model.HuggingFaceWeights;
import dev.panomni.modalities.text.model.TextModelConfig;
import dev.panomni.tensor.DType;
import dev.panomni.trainer.checkpoint.CheckpointException;
import dev.panomni.trainer.checkpoint.CheckpointManager;
import dev.panomni.trainer.checkpoint.Durable;
import dev.panomni.trainer.checkpoint.LoadedCheckpoint;
import dev.panomni.trainer.checkpoint.SafetensorsStore;
import dev.panomni.trainer.data.HfTokenizerAdapter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Writes a training checkpoint as a Hugging Face model folder: the parameters under their Hugging
 * Face names ({@link HuggingFaceWeights#save}: Qwen3-MoE experts split per expert again), the
 * architecture's {@code config.json} (kept in the checkpoint's state, so the original model folder
 * is not needed), and the tokenizer files when the run used a Hugging Face tokenizer.
 */
public final class HfExporter {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfExporter() {
    }

    /**
     * What an export wrote.
     *
     * @param checkpoint the checkpoint exported
     * @param step       its step
     * @param outDir     the model folder
     * @param files      the files written
     * @param note       something the user should know (a byte-level tokenizer has no files), or null
     */
    public record Result(Path checkpoint, long step, Path outDir, List<Path> files, String note) {
    }

    /** {@code fp32}, {@code bf16} or null (keep the checkpoint's format). */
    public static DType parseDtype(String text) {
        if (text == null) {
            return null;
        }
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "fp32", "float32", "f32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException("--dtype '" + text + "': use fp32 or bf16");
        };
    }

    /**
     * Exports {@code checkpoint} (a step directory, or a checkpoint folder whose latest is taken)
     * into {@code outDir}.
     *
     * @param dtype weight format, or null for the format the run held its parameters in
     * @throws CheckpointException when the checkpoint is incomplete or predates architecture records
     */
    public static Result export(Path checkpoint, Path outDir, DType dtype) {
        CheckpointManager manager = new CheckpointManager(checkpoint, 1, new SafetensorsStore());
        Path dir = manager.resolveResume(checkpoint.toString())
                .orElseThrow(() -> new CheckpointException(checkpoint + " holds no complete checkpoint"));
        LoadedCheckpoint ckpt = manager.open(dir);
        JsonNode extra = ckpt.state().extra();
        JsonNode archJson = extra == null ? null : extra.get("architecture");
        if (archJson == null || !archJson.isObject()) {
            throw new CheckpointException(dir + ": state.json records no model architecture (extra.architecture); "
                    + "it was not written by panomni train");
        }
        TextModelConfig arch = TextModelConfig.parse(archJson, dir + "/state.json");
        boolean storedBf16 = "bf16".equals(extra.path("precision").asText());
        DType weights = dtype != null ? dtype : storedBf16 ? DType.BF16 : DType.F32;
        List<Path> files = new ArrayList<>();
        String note = null;
        try (CausalLm model = new CausalLm(arch, 0)) {
            ckpt.restoreModel(model.namedParameters());
            Files.createDirectories(outDir);
            HuggingFaceWeights.save(model, outDir, weights);
            files.add(outDir.resolve(SafetensorsCheckpoint.SINGLE_FILE));
            ObjectNode config = ((ObjectNode) archJson).deepCopy();
            config.put("torch_dtype", weights == DType.BF16 ? "bfloat16" : "float32");
            Path configFile = outDir.resolve("config.json");
            Durable.writeAtomically(configFile, JSON.writeValueAsBytes(config));
            files.add(configFile);
            String tokenizer = extra.path("tokenizer").asText("byte");
            if ("byte".equals(tokenizer)) {
                note = "the run used the byte-level tokenizer (ids 0-255 are UTF-8 bytes, 256 <|pad|>, "
                        + "257 <|endoftext|>, 258 <|im_start|>, 259 <|im_end|>); it has no tokenizer files";
            } else {
                Path source = Path.of(tokenizer);
                for (String name : List.of(HfTokenizerAdapter.TOKENIZER_FILE, HfTokenizerAdapter.CONFIG_FILE)) {
                    Path f = source.resolveSibling(name);
                    if (Files.isRegularFile(f)) {
                        Path target = outDir.resolve(name);
                        Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                        files.add(target);
                    }
                }
                if (files.size() == 2) {
                    note = "the tokenizer files of the run (" + source + ") are gone; copy them in by hand";
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("exporting " + dir + " to " + outDir + " failed: " + e.getMessage(), e);
        }
        return new Result(dir, ckpt.state().step(), outDir, files, note);
    }
}
