package dev.jformers.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.Optional;

/**
 * The {@code jformers} command. Every subcommand has {@code --help}; any error, an
 * OutOfMemoryError or StackOverflowError included, ends with one line on stderr ("jformers: …")
 * and a non-zero exit code, never a stack trace ({@code --verbose} or {@code JFORMERS_DEBUG=1}
 * prints one).
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
                TrainCommand.class,
                EvaluateCommand.class,
                InspectCommand.class,
                ConvertCommand.class,
                DevicesCommand.class,
                ExplainCommand.class,
                TokenizeCommand.class,
                DownloadCommand.class, CacheCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, print the full stack trace after the one-line message.")
    boolean verbose;

    /** {@code jformers} alone: the usage on stderr, and exit code 2 (a usage error, as git and cargo do). */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    public static void main(String[] args) {
        Optional<Integer> relaunched = Relaunch.withVectorModule(args);
        if (relaunched.isPresent()) {
            System.exit(relaunched.get());
        }
        // Library warnings (e.g. unused checkpoint weights) as one line each.
        System.setProperty("java.util.logging.SimpleFormatter.format", "jformers: %4$s: %5$s%n");
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns the exit code (used by tests too). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        boolean verbose = System.getenv("JFORMERS_DEBUG") != null || java.util.Arrays.asList(args).contains("--verbose");
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> fail(e, cmd.getErr(), verbose));
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            String hint = "";
            if (cmd == cli && e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                // An unknown command: the nearest names picocli finds, and the tasks.
                hint = "; did you mean " + u.getSuggestions().getFirst() + "? Tasks: "
                        + String.join(", ", dev.jformers.pipelines.Pipelines.tasks());
            }
            cmd.getErr().println("jformers: " + e.getMessage() + hint + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            cmd.getErr().flush();
            return 2;
        });
        try {
            return cli.execute(args);
        } catch (Throwable t) { // Errors (out of memory, stack overflow) get past picocli's handler
            return fail(t, err, verbose);
        }
    }

    /** One line on stderr (the trace before it with --verbose); exit code 1. */
    private static int fail(Throwable e, PrintWriter err, boolean verbose) {
        if (verbose) {
            e.printStackTrace(err);
        }
        err.println("jformers: " + oneLine(e));
        err.flush();
        return 1;
    }

    /**
     * The message of one of our typed exceptions (or of an I/O error), causes of wrappers
     * unwrapped. Anything else is a bug or a resource limit: its raw text ("/ by zero", a bare
     * number, NullPointerException wording) says nothing to a user, so only its kind is named.
     */
    static String oneLine(Throwable e) {
        Throwable t = e;
        while ((t.getMessage() == null || t instanceof java.util.concurrent.ExecutionException
                || t instanceof CommandLine.ExecutionException || t instanceof java.lang.reflect.InvocationTargetException
                || t.getCause() != null && t.getMessage().equals(t.getCause().toString())) // new RuntimeException(cause)
                && t.getCause() != null) {
            t = t.getCause();
        }
        String msg;
        if (t instanceof java.nio.file.NoSuchFileException) {
            msg = "no such file: " + t.getMessage();
        } else if (t instanceof OutOfMemoryError) {
            msg = "out of memory; the input may claim sizes it does not hold, or give the JVM more with JAVA_OPTS=-Xmx…";
        } else if (t instanceof StackOverflowError) {
            msg = "input nested too deeply (stack overflow)";
        } else if (t.getMessage() != null && (t instanceof dev.jformers.core.JformersException
                || t instanceof dev.jformers.tokenizers.TokenizerException || t instanceof java.io.IOException
                || t instanceof java.io.UncheckedIOException || t instanceof CommandLine.PicocliException)) {
            msg = t.getMessage();
        } else {
            msg = "internal error (" + t.getClass().getSimpleName() + "); rerun with --verbose for the stack trace";
        }
        msg = msg.replace('\n', ' ').replace('\r', ' ');
        return msg.length() > 2000 ? msg.substring(0, 2000) + "…" : msg;
    }
}
