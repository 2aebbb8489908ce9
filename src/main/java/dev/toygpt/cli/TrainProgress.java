package dev.toygpt.cli;

import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * Shows training progress on stderr: a live bar (step, loss, tokens/s, time left) when a person watches
 * the terminal, plain lines at each evaluation otherwise (logs, CI).
 */
final class TrainProgress implements Trainer.Listener, AutoCloseable {
    private final TrainSettings settings;
    private final boolean interactive = Console.interactive();
    private ProgressBar bar;
    private double smoothedLoss = Double.NaN;
    private double smoothedTokensPerSecond = Double.NaN;
    private long lastPlainLine = System.nanoTime();

    TrainProgress(TrainSettings settings) {
        this.settings = settings;
    }

    @Override
    public void started(long fromStep, long maxIters) {
        if (!interactive) return;
        // a run whose budget is its time alone has no last step: the bar then counts steps without a percentage
        bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(settings.stepLimited() ? maxIters : -1).startsFrom(fromStep, Duration.ZERO)
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setMaxRenderedLength(110)
                .setConsumer(new ConsoleProgressBarConsumer(Console.err())).setUnit(" steps", 1).build();
    }

    @Override
    public void stepped(long step, float loss, float lr, double tokensPerSecond) {
        smoothedLoss = Double.isNaN(smoothedLoss) ? loss : 0.9 * smoothedLoss + 0.1 * loss;
        smoothedTokensPerSecond = Double.isNaN(smoothedTokensPerSecond) ? tokensPerSecond : 0.95 * smoothedTokensPerSecond + 0.05 * tokensPerSecond;
        if (bar != null) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f %,.0f tok/s", smoothedLoss, smoothedTokensPerSecond));
        } else if (System.nanoTime() - lastPlainLine > 30e9) { // a heartbeat for logs between evaluations
            lastPlainLine = System.nanoTime();
            String of = settings.stepLimited() ? String.format(Locale.ROOT, "/%,d", settings.maxIters()) : "";
            Console.err().printf(Locale.ROOT, "step %,d%s: loss %.4f, %,.0f tokens/s%n", step, of, smoothedLoss, smoothedTokensPerSecond);
        }
    }

    @Override
    public void evaluated(long step, double trainLoss, double valLoss, boolean best) {
        String line = String.format(Locale.ROOT, "step %,d: train loss %.4f, val loss %.4f%s", step, trainLoss, valLoss, best ? " (best)" : "");
        if (bar != null) {
            Console.err().print("\r\033[K"); // clear the bar's line, print, let the bar redraw below
        }
        Console.err().println(line);
        lastPlainLine = System.nanoTime();
    }

    @Override
    public void saved(long step, Path checkpoint) {
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
