package dev.panomni.trainer.cli;

import dev.panomni.trainer.config.ConfigLoader;
import dev.panomni.trainer.config.ConfigOverride;
import dev.panomni.trainer.config.RunConfig;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** The options every config-reading command shares: {@code --config FILE} and {@code --section.key=value}. */
final class ConfigOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "run configuration (YAML)")
    Path config;

    /**
     * The resolved config, with {@code overrides} (the command's unmatched arguments: picocli honours
     * {@code @Unmatched} only on the command itself, not in a mixin).
     *
     * @throws dev.panomni.trainer.config.ConfigException listing every problem
     */
    RunConfig load(List<String> overrides) {
        return ConfigLoader.load(config, ConfigOverride.parse(overrides));
    }
}
