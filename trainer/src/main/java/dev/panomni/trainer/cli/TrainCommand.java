package dev.panomni.trainer.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code panomni train}: runs a training recipe. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model from a YAML config (no arguments: the built-in demonstration job).")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", description = "run configuration (YAML)")
    Path config;

    @Override
    public Integer call() {
        System.err.println("panomni train: no training recipe exists yet. The tensor library and CPU backend are in "
                + "place; the trainer (configs, recipes, the built-in job) is the next milestone.");
        return 2;
    }
}
