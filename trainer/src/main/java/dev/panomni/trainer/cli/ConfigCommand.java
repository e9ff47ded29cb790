package dev.panomni.trainer.cli;

import dev.panomni.trainer.config.ConfigException;
import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.RunConfig;
import dev.panomni.trainer.demo.DemoJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code panomni config}: checks a run configuration and prints it resolved. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = {"Check a run configuration (defaults < --config FILE < --section.key=value overrides).",
                "Exit code 0 when it is valid, 2 with every problem listed when not."},
        footer = {"", "Example: panomni config --print --config run.yaml --train.micro_batch_size=4"})
public final class ConfigCommand implements Callable<Integer> {
    @Mixin
    final ConfigOptions options = new ConfigOptions();

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Option(names = "--print", description = "print the resolved configuration as YAML")
    boolean print;

    @Option(names = "--demo", description = "start from the built-in demo job's settings (what `panomni train` "
            + "runs without --config) instead of the defaults")
    boolean demo;

    PrintStream out = System.out;
    PrintStream err = System.err;

    @Override
    public Integer call() {
        RunConfig config;
        try {
            if (demo && options.config != null) {
                err.println("--demo and --config exclude each other: --demo shows the built-in job's settings");
                return 2;
            }
            config = demo ? DemoJob.config(ConfigOverride.parse(overrides)) : options.load(overrides);
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 2;
        }
        if (print) {
            out.print(ConfigLoader.toYaml(config));
        } else {
            out.println("configuration is valid (--print shows it resolved)");
        }
        return 0;
    }
}
