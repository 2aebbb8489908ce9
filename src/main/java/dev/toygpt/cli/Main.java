package dev.toygpt.cli;

import dev.toygpt.io.ModelWeights;
import dev.toygpt.io.SaveFailedException;
import dev.toygpt.io.SafeTensors;
import dev.toygpt.text.DataException;
import dev.toygpt.train.CheckpointException;
import dev.toygpt.train.RunLockedException;
import dev.toygpt.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;

/** The {@code toygpt} command line. Generated text goes to stdout; messages and progress to stderr. */
@Command(name = "toygpt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Train, sample from and inspect character-level GPT language models, from scratch in Java.",
        subcommands = {TrainCommand.class, SampleCommand.class, ChatCommand.class, EvalCommand.class,
                ImportCommand.class, ExportCommand.class, BenchCommand.class, TourCommand.class,
                PlotCommand.class, ExperimentCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    // Exit codes: 0 done; 1 internal error (a bug: the stack trace is printed); 2 bad input (a usage error, a
    // bad file, an impossible setting, a run directory another run holds); 3 an I/O failure (disk full, a
    // directory that became read-only...); 130 stopped by Ctrl-C (a checkpoint was saved).

    /** Exit code for bad input: a usage error, a bad file, an impossible setting, a locked run directory. */
    public static final int BAD_INPUT = 2;
    /** Exit code for a failure to write (or read) files for reasons outside the program: a full disk, say. */
    public static final int IO_FAILURE = 3;

    @CommandLine.Option(names = "--debug", scope = CommandLine.ScopeType.INHERIT,
            description = "print the stack trace with an error message (for bug reports)")
    boolean debug; // read from the parse result, wherever on the command line it was given

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a command: train, sample, chat, serve, eval, plot, experiment, tour, bench, import or export");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cli = commandLine();
        return cli.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setOut(new PrintWriter(Console.out(), true));
        cli.setErr(new PrintWriter(Console.err(), true));
        cli.setParameterExceptionHandler((e, args) -> {
            // picocli's default leaves the usage out when it has a suggestion ("Did you mean"); always show both
            CommandLine command = e.getCommandLine();
            command.getErr().println(command.getColorScheme().errorText(e.getMessage()));
            CommandLine.UnmatchedArgumentException.printSuggestions(e, command.getErr());
            command.usage(command.getErr(), command.getColorScheme());
            return command.getCommandSpec().exitCodeOnInvalidInput();
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (isUserError(e)) {
                commandLine.getErr().println("error: " + e.getMessage());
                if (debug(parseResult)) e.printStackTrace(commandLine.getErr());
                return BAD_INPUT;
            }
            if (e instanceof Trainer.DivergedException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return BAD_INPUT;
            }
            if (e instanceof SaveFailedException || e instanceof IOException) {
                commandLine.getErr().println("error: " + (e instanceof SaveFailedException ? "" : "I/O failure: ") + e.getMessage());
                if (debug(parseResult)) e.printStackTrace(commandLine.getErr());
                return IO_FAILURE;
            }
            commandLine.getErr().println("internal error: " + e);
            e.printStackTrace(commandLine.getErr());
            return 1;
        });
        return cli;
    }

    /** Whether --debug was given, before the command's name or after it. */
    private static boolean debug(CommandLine.ParseResult result) {
        for (CommandLine.ParseResult r = result; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--debug")) return true;
        }
        return false;
    }

    static boolean isUserError(Throwable e) {
        return e instanceof DataException || e instanceof CheckpointException || e instanceof IllegalArgumentException
                || e instanceof SafeTensors.SafeTensorsException || e instanceof ModelWeights.MismatchException
                || e instanceof NoSuchFileException || e instanceof UserInputException || e instanceof RunLockedException;
    }

    /** Reports the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"toygpt " + (v == null ? "(development build)" : v)
                    + " on Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
