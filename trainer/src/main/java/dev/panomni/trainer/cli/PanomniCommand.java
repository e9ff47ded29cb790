package dev.panomni.trainer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.InputStream;
import java.util.Properties;

/** The {@code panomni} command line: one subcommand per capability. */
@Command(name = "panomni",
        mixinStandardHelpOptions = true,
        versionProvider = PanomniCommand.Version.class,
        description = "Train omni-modal models (text, images, audio; dense and MoE) on the JVM.",
        subcommands = {TrainCommand.class, LaunchCommand.class, ExportCommand.class, ConfigCommand.class,
                DoctorCommand.class, CommCheckCommand.class, CommandLine.HelpCommand.class})
public final class PanomniCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PanomniCommand()).execute(args));
    }

    /** Reports the build's version and the running JDK. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws Exception {
            Properties p = new Properties();
            try (InputStream in = PanomniCommand.class.getResourceAsStream("/panomni-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {
                "panomni " + p.getProperty("version", "unknown"),
                "JDK " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
            };
        }
    }
}
