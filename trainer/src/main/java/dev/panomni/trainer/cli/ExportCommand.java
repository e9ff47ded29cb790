package dev.panomni.trainer.cli;

import dev.panomni.trainer.export.HfExporter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code panomni export}: a training checkpoint as a Hugging Face model folder. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a checkpoint's model as a Hugging Face folder: model.safetensors, config.json, and the "
                + "tokenizer files when the run used a Hugging Face tokenizer. transformers' from_pretrained loads it."},
        footer = {"", "Example: panomni export --checkpoint runs/demo/checkpoints --out runs/demo/hf"})
public final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
            description = "a checkpoint (step-NNNNNN) or a checkpoint folder (its latest checkpoint is exported)")
    Path checkpoint;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the folder to write (created)")
    Path outDir;

    @Option(names = "--dtype", paramLabel = "fp32|bf16",
            description = "weight format (default: the format the run held its parameters in)")
    String dtype;

    PrintStream out = System.out;
    PrintStream err = System.err;

    @Override
    public Integer call() {
        try {
            HfExporter.Result r = HfExporter.export(checkpoint, outDir, HfExporter.parseDtype(dtype));
            out.println("exported step " + r.step() + " of " + r.checkpoint() + " to " + r.outDir());
            for (Path f : r.files()) {
                out.println("  wrote " + f);
            }
            if (r.note() != null) {
                out.println("  note: " + r.note());
            }
            return 0;
        } catch (IllegalArgumentException e) {
            err.println("panomni export: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("panomni export: " + e.getMessage());
            return 1;
        }
    }
}
