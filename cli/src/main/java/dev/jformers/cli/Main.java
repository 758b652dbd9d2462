package dev.jformers.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code jformers} command. Every subcommand has {@code --help}; any error ends with one
 * line on stderr ("jformers: …") and a non-zero exit code, never a stack trace (set
 * {@code JFORMERS_DEBUG=1} to see one).
 */
@Command(name = "jformers", mixinStandardHelpOptions = true, version = "jformers 0.1.0-SNAPSHOT",
        description = "Run BERT-family encoders and GPT-2 in pure Java, with Hugging Face's outputs.",
        subcommands = {
                FillMaskCommand.class,
                TextClassificationCommand.class,
                TokenClassificationCommand.class,
                QuestionAnsweringCommand.class,
                TextGenerationCommand.class,
                FeatureExtractionCommand.class,
                ForwardCommand.class,
                GenerateCommand.class,
                InspectCommand.class,
                ConvertCommand.class,
                DevicesCommand.class,
                ExplainCommand.class,
                TokenizeCommand.class,
                DownloadCommand.class, CacheCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    public static void main(String[] args) {
        // Library warnings (e.g. unused checkpoint weights) as one line each.
        System.setProperty("java.util.logging.SimpleFormatter.format", "jformers: %4$s: %5$s%n");
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit code (used by tests too). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (System.getenv("JFORMERS_DEBUG") != null) {
                e.printStackTrace(cmd.getErr());
            }
            cmd.getErr().println("jformers: " + oneLine(e));
            cmd.getErr().flush();
            return 1;
        });
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("jformers: " + e.getMessage() + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            cmd.getErr().flush();
            return 2;
        });
        return cli.execute(args);
    }

    /** The exception's message, or its type when it has none; causes of wrappers unwrapped. */
    static String oneLine(Throwable e) {
        Throwable t = e;
        while ((t.getMessage() == null || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (t instanceof java.nio.file.NoSuchFileException) {
            msg = "no such file: " + msg;
        } else if (t instanceof OutOfMemoryError) {
            msg = "out of memory (" + msg + "); give the JVM more with JAVA_OPTS=-Xmx…";
        }
        return msg.replace('\n', ' ');
    }
}
