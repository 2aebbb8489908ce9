package dev.toygpt.train;

import dev.toygpt.autograd.BufferPool;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.kernels.Elementwise;
import dev.toygpt.kernels.Parallel;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.text.Batch;
import dev.toygpt.util.JitClock;
import dev.toygpt.util.Rng;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The forward and backward pass of one training step: the batch's mean loss, and its gradient left in the
 * model's parameters for the optimizer.
 *
 * <p>With more than one micro-batch the batch is cut into equal parts (whole sequences). Each part goes
 * forward and backward through its own copy of the model, and the gradient is the mean of the parts'
 * gradients, added in part order. With as many threads as parts, the parts run at once, one per thread: this
 * is data-parallel training, as a GPU cluster spreads a batch, on the cores of one machine. A small model's
 * step is then a few long jobs that run side by side, where cutting each operation's rows between the threads
 * costs hundreds of handovers a step. Otherwise, and while the JIT is still busy, the parts run one after the
 * other. The parts are the same whatever the thread count and either way, so the numbers are too.
 */
public final class TrainStep {
    /** A part's work, for {@link Parallel#forRange}: enough that each part always gets a thread of its own. */
    private static final long WORK_PER_PART = 1L << 40;

    private final LanguageModel model;
    private final int parts;
    /** replicas[0] is the model itself; the others are copies whose weights are refreshed from it each step. */
    private final LanguageModel[] replicas;
    private final List<List<Tensor>> parameters;
    /** Each part's activations and gradients, reused by the next step. */
    private final BufferPool[] buffers;
    private final float[] losses;
    /** The JIT's total compilation time, in ms, when the last step started. */
    private long compiledMs = -1;
    /** When the last step began, System.nanoTime(). */
    private long stepStarted;
    /** How many steps gave their parts to the threads side by side, for bench. */
    private long sideBySideSteps;
    /** Whether the parts wait for the JIT (see forwardBackward); tests turn it off to run them side by side at once. */
    boolean spareTheJit = true;

    public TrainStep(LanguageModel model, int microBatches) {
        if (microBatches < 1) throw new IllegalArgumentException("micro-batches must be >= 1, got " + microBatches);
        this.model = model;
        this.parts = microBatches;
        this.replicas = new LanguageModel[parts];
        this.parameters = new ArrayList<>(parts);
        this.buffers = new BufferPool[parts];
        this.losses = new float[parts];
        for (int m = 0; m < parts; m++) {
            replicas[m] = m == 0 ? model : LanguageModel.create(model.config(), new Rng(m));
            parameters.add(replicas[m].parameters());
            buffers[m] = new BufferPool();
        }
    }

    public int microBatches() {
        return parts;
    }

    /** How many steps so far ran their parts side by side, one per thread (the others one after the other). */
    public long sideBySideSteps() {
        return sideBySideSteps;
    }

    /**
     * Takes the batch forward and backward and returns its mean loss; the model's parameters then hold the
     * gradient (what was there before is dropped). A loss that is not finite is returned as it is: the caller
     * decides what to do before any optimizer step.
     */
    public float forwardBackward(Batch batch) {
        if (batch.batchSize() % parts != 0) {
            throw new IllegalArgumentException("a batch of " + batch.batchSize() + " sequences cannot be cut into " + parts + " equal parts");
        }
        // Part m > 0 draws its dropout masks from a stream of its own, seeded from the model's generator (whose state
        // each checkpoint saves), so a resumed run draws the same masks. Part 0 uses the model's generator itself.
        for (int m = 1; m < parts; m++) {
            replicas[m].dropoutRng().setState(model.dropoutRng().nextLong());
            replicas[m].train(model.isTraining());
        }
        // Each part's own operations then run on its thread alone (a loop inside a parallel loop runs serially).
        // While the JIT is still compiling (the first seconds of a run) the parts go one after the other, each
        // operation's rows shared between the threads: those leave the JIT processor time in their waits, where
        // two threads running whole parts kept it from the processors and their warm-up took twice as long.
        // Either way gives the same numbers.
        boolean sideBySide = parts > 1 && Parallel.threads() > 1 && Parallel.threads() <= parts && !jitBusy();
        if (sideBySide) {
            sideBySideSteps++;
            Parallel.forRange(parts, WORK_PER_PART, (from, to) -> {
                for (int m = from; m < to; m++) runPart(m, batch);
            });
        } else {
            for (int m = 0; m < parts; m++) runPart(m, batch);
        }
        if (parts > 1) averageGradients();
        float sum = 0;
        for (float l : losses) sum += l;
        return sum / parts;
    }

    /**
     * True when, since the last step began, the JIT compiled for a twentieth of that time or more (at least a
     * millisecond): a lecture-sized step lasts seconds, in which the JIT always compiles something.
     */
    private boolean jitBusy() {
        long ms = JitClock.compiledMs();
        if (ms < 0 || !spareTheJit) return false;
        long before = compiledMs, now = System.nanoTime(), since = now - stepStarted;
        compiledMs = ms;
        stepStarted = now;
        long compiled = ms - before;
        return before < 0 || compiled >= 1 && compiled * 20_000_000 >= since;
    }

    private void runPart(int m, Batch batch) {
        LanguageModel replica = replicas[m];
        List<Tensor> params = parameters.get(m);
        if (m > 0) {
            List<Tensor> weights = parameters.get(0);
            for (int i = 0; i < params.size(); i++) {
                float[] from = weights.get(i).data();
                System.arraycopy(from, 0, params.get(i).data(), 0, from.length);
            }
        }
        int rows = batch.batchSize() / parts, length = rows * batch.blockSize(), offset = m * length;
        int[] inputs = parts == 1 ? batch.inputs() : Arrays.copyOfRange(batch.inputs(), offset, offset + length);
        int[] targets = parts == 1 ? batch.targets() : Arrays.copyOfRange(batch.targets(), offset, offset + length);
        try (var lent = buffers[m].lend()) {
            Tensor loss = replica.loss(replica.forward(inputs, rows, batch.blockSize()), targets);
            for (Tensor p : params) p.zeroGrad();
            loss.backward();
            losses[m] = loss.item();
        }
    }

    /** The model's gradient becomes the mean of the parts': (g0 + g1 + ...) / parts, always added in that order. */
    private void averageGradients() {
        List<Tensor> own = parameters.get(0);
        for (int i = 0; i < own.size(); i++) {
            int missing = 0;
            for (List<Tensor> params : parameters) if (params.get(i).grad() == null) missing++;
            if (missing == parts) continue; // no part reached this parameter
            if (missing != 0) throw new IllegalStateException("parameter " + i + " got a gradient in some micro-batches only");
            float[] g = own.get(i).grad();
            for (int m = 1; m < parts - 1; m++) Elementwise.addInto(parameters.get(m).get(i).grad(), g);
            Elementwise.addIntoAndScale(parameters.get(parts - 1).get(i).grad(), g, 1f / parts);
        }
    }
}
