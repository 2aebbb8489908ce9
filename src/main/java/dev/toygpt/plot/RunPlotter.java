package dev.toygpt.plot;

import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Keeps a run's loss.png and loss.svg up to date while it trains: redrawn after evaluations and once more
 * when training ends ({@link #finish}). Drawing is skipped when the last drawing was very recent, so that
 * charts never cost more than a small share of the training time, whatever --eval-interval is.
 *
 * <p>A chart is a convenience: if drawing fails, a warning goes to the given stream and training goes on.
 */
public final class RunPlotter implements Trainer.Listener {
    /** Never redraw sooner than this after the last drawing... */
    private static final long MIN_GAP_NANOS = 2_000_000_000L;
    /** ...nor sooner than this many times the last drawing's own duration. */
    private static final int GAP_PER_DRAW_TIME = 10;
    /** A drawing that takes longer than this is abandoned, and the run draws no more charts. */
    private static final long TIMEOUT_SECONDS = 60;

    private final RunDirectory run;
    private final String title;
    private final PrintStream warnings;
    private long lastDrawEnd = Long.MIN_VALUE;
    private long lastDrawNanos;
    private boolean pending;
    private boolean warned;
    private boolean gaveUp;

    public RunPlotter(RunDirectory run, String title, PrintStream warnings) {
        this.run = run;
        this.title = title;
        this.warnings = warnings;
    }

    /** The usual title: "Loss: " and the run directory's name. */
    public static String defaultTitle(Path runDir) {
        return "Loss: " + LossCurves.name(runDir);
    }

    /** This plotter and another listener (such as a progress display), as one listener. */
    public Trainer.Listener and(Trainer.Listener other) {
        RunPlotter plotter = this;
        return new Trainer.Listener() {
            @Override
            public void started(long fromStep, long maxIters) {
                other.started(fromStep, maxIters);
                plotter.started(fromStep, maxIters);
            }

            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                other.stepped(step, loss, lr, tokensPerSecond);
            }

            @Override
            public void evaluated(long step, double trainLoss, double valLoss, boolean best) {
                other.evaluated(step, trainLoss, valLoss, best);
                plotter.evaluated(step, trainLoss, valLoss, best);
            }

            @Override
            public void saved(long step, Path checkpoint) {
                other.saved(step, checkpoint);
            }
        };
    }

    @Override
    public void evaluated(long step, double trainLoss, double valLoss, boolean best) {
        pending = true;
        long now = System.nanoTime();
        long gap = Math.max(MIN_GAP_NANOS, GAP_PER_DRAW_TIME * lastDrawNanos);
        if (lastDrawEnd == Long.MIN_VALUE || now - lastDrawEnd >= gap) draw();
    }

    /** Draws what the last evaluations added, if anything; call when training stops, however it stops. */
    public void finish() {
        if (pending) draw();
    }

    private void draw() {
        if (gaveUp) return;
        long start = System.nanoTime();
        // Drawn on a thread of its own so that a chart library stuck on odd numbers cannot hold training up.
        FutureTask<Void> task = new FutureTask<>(() -> {
            LossCurves.writeRunCharts(run, title);
            return null;
        });
        Thread drawer = new Thread(task, "toygpt-loss-chart");
        drawer.setDaemon(true);
        drawer.start();
        try {
            task.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            gaveUp = true;
            warn("drawing took more than " + TIMEOUT_SECONDS + " s; no more charts for this run");
        } catch (ExecutionException e) {
            // any failure, including a JVM without working fonts or graphics libraries (LinkageError, AWTError)
            warn(String.valueOf(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            pending = false; // a failed drawing is not retried at the end: the next evaluation tries again
            lastDrawEnd = System.nanoTime();
            lastDrawNanos = lastDrawEnd - start;
        }
    }

    private void warn(String why) {
        if (warned) return;
        warned = true;
        warnings.println("warning: could not draw the loss chart in " + run.path() + " (" + why
                + "); training goes on, and metrics.csv has the numbers");
    }
}
