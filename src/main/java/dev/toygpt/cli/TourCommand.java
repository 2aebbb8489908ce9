package dev.toygpt.cli;

import dev.toygpt.tour.Tour;
import dev.toygpt.tour.TourRenderer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.util.concurrent.Callable;

@Command(name = "tour", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Walk through the course in order on a text, showing what the code computes.",
                "Steps: 1 text, 2 vocabulary, 3 split, 4 windows and batches, 5 untrained",
                "bigram, 6 averaging trick, 7 one attention head, 8 BatchNorm vs LayerNorm,",
                "9 the GPT's parameters, 10 two questions answered."})
final class TourCommand implements Callable<Integer> {
    @Option(names = "--data", paramLabel = "FILE", defaultValue = "shakespeare",
            description = "UTF-8 text to tour; 'shakespeare' (the default) is Tiny Shakespeare, downloaded once")
    String data;
    @Option(names = "--step", paramLabel = "N", description = "show only step N (1 to " + Tour.STEPS + "); default: all, in order")
    Integer step;
    @Option(names = "--seed", paramLabel = "N", defaultValue = "1337", description = "seed for the random numbers (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        // checked before loading, so a typo does not first cost a download
        if (step != null && (step < 1 || step > Tour.STEPS)) {
            throw new UserInputException("--step must be between 1 and " + Tour.STEPS + ", got " + step);
        }
        Tour tour = new Tour(DataOption.load(data), seed);
        PrintStream out = Console.out();
        TourRenderer renderer = new TourRenderer(tour, out);
        if (step != null) {
            renderer.render(step);
            return 0;
        }
        boolean paged = canPause();
        for (int s = 1; s <= Tour.STEPS; s++) {
            renderer.render(s);
            if (paged && s < Tour.STEPS && !waitForEnter(s + 1)) break;
        }
        return 0;
    }

    /**
     * Pause between steps only when a person is at a terminal: never when input or output is redirected
     * (a pipe, a file, a test), where waiting for Enter would hang or make no sense.
     */
    private static boolean canPause() {
        if (Console.in() != System.in || System.console() == null) return false;
        // Java 17's System.console() is null unless stdin and stdout are terminals; newer JDKs may return a
        // console anyway and say whether it is a terminal with isTerminal() (Java 22+).
        try {
            Method isTerminal = java.io.Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(System.console());
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    /** Returns false when the reader wants to stop (q, or end of input). */
    private static boolean waitForEnter(int next) {
        String answer = System.console().readLine("-- press Enter for step %d (%s), or q then Enter to stop -- ",
                next, Tour.title(next));
        return answer != null && !answer.trim().equalsIgnoreCase("q");
    }
}
