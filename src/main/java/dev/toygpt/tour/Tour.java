package dev.toygpt.tour;

import dev.toygpt.autograd.F;
import dev.toygpt.autograd.GradMode;
import dev.toygpt.autograd.Tensor;
import dev.toygpt.models.BigramModel;
import dev.toygpt.models.Gpt;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.models.ModelKind;
import dev.toygpt.nn.Init;
import dev.toygpt.nn.Linear;
import dev.toygpt.nn.StateDict;
import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.DataException;
import dev.toygpt.text.Split;
import dev.toygpt.text.Vocabulary;
import dev.toygpt.train.Presets;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.util.Rng;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The computations of the course tour, one method per step, each returning its numbers as a record
 * (rendering them as text for the learner is {@link TourRenderer}'s job).
 *
 * <p>Every step that draws random numbers starts a fresh generator from the tour's seed, the way the
 * notebooks reseed before each experiment, so a step shows the same numbers whether it is run alone
 * or as part of the whole tour.
 */
public final class Tour {
    public static final int STEPS = 10;
    /** How much of the text (and of its ids) steps 1 and 2 show. */
    public static final int PREVIEW_CHARS = 200;
    /** The example the course encodes and decodes. */
    public static final String SAMPLE = "hii there";
    public static final double TRAIN_FRACTION = 0.9;
    public static final int BLOCK_SIZE = 8;
    public static final int BATCH_SIZE = 4;
    /** The short run of step 10: as many steps as the bigram lecture's first training loop, batch 32. */
    public static final int SHORT_RUN_STEPS = 100;
    public static final int SHORT_RUN_BATCH = 32;
    /** Smallest text for steps 4, 5 and 10(a): its 90% training part must hold one window of 8 and its target. */
    public static final int MIN_CHARACTERS = 10;

    private static final List<String> TITLES = List.of(
            "The text",
            "Characters become numbers",
            "Training and validation parts",
            "Windows of context",
            "A model that knows nothing yet",
            "Averaging the past, three ways",
            "One head of self-attention",
            "Normalising columns or rows",
            "The GPT and where its parameters are",
            "Two questions, answered by counting");

    private final Corpus corpus;
    private final long seed;
    private final Split split;

    public Tour(Corpus corpus, long seed) {
        this.corpus = Objects.requireNonNull(corpus, "corpus");
        this.seed = seed;
        this.split = corpus.split(TRAIN_FRACTION);
    }

    /**
     * Why steps 4, 5 and 10(a) cannot run on this text, or empty when they can: they cut windows of
     * {@value #BLOCK_SIZE} characters plus a target out of the training part, which a very short text
     * does not have. The other steps work on any text.
     */
    public Optional<String> windowProblem() {
        int n = split.train().length;
        if (n >= BLOCK_SIZE + 1) return Optional.empty();
        return Optional.of("the training part has only " + n + (n == 1 ? " character" : " characters")
                + ", and a window needs " + (BLOCK_SIZE + 1) + " (" + BLOCK_SIZE + " of context and the one that follows);"
                + " a text of at least " + MIN_CHARACTERS + " characters is needed");
    }

    private void requireWindows() {
        windowProblem().ifPresent(problem -> {
            throw new DataException(corpus.name() + ": " + problem);
        });
    }

    public static String title(int step) {
        checkStep(step);
        return TITLES.get(step - 1);
    }

    static void checkStep(int step) {
        if (step < 1 || step > STEPS) {
            throw new IllegalArgumentException("there are " + STEPS + " steps, numbered 1 to " + STEPS + "; got " + step);
        }
    }

    public Corpus corpus() {
        return corpus;
    }

    public Vocabulary vocabulary() {
        return corpus.vocabulary();
    }

    public long seed() {
        return seed;
    }

    // ---- 1. the text -------------------------------------------------------------------------------

    public TextStep text() {
        String t = corpus.text();
        int shown = Math.min(PREVIEW_CHARS, corpus.length());
        // offsetByCodePoints so that a character outside the BMP (an emoji) is never cut in half
        String preview = t.substring(0, t.offsetByCodePoints(0, shown));
        return new TextStep(corpus.name(), corpus.length(), t.getBytes(StandardCharsets.UTF_8).length, preview);
    }

    // ---- 2. the vocabulary ---------------------------------------------------------------------------

    public VocabularyStep vocabularyStep() {
        Vocabulary v = vocabulary();
        int[] cps = v.codePoints();
        int charAt12 = cps.length > 12 ? cps[12] : -1;
        Vocabulary.Encoded enc = v.encodeLenient(SAMPLE);
        int[] ids = enc.ids();
        int[] tokens = corpus.tokens();
        return new VocabularyStep(cps, v.encodeChar('k'), charAt12, SAMPLE, ids, v.decode(ids), enc.dropped(),
                Arrays.copyOf(tokens, Math.min(PREVIEW_CHARS, tokens.length)));
    }

    // ---- 3. the split ----------------------------------------------------------------------------------

    public SplitStep splitStep() {
        return new SplitStep(corpus.length(), split.train().length, split.val().length, TRAIN_FRACTION);
    }

    // ---- 4. windows and batches --------------------------------------------------------------------------

    /** @throws DataException if the text is too short for a window, see {@link #windowProblem()} */
    public BlockStep block() {
        requireWindows();
        int[] train = split.train();
        int[] x = Arrays.copyOfRange(train, 0, BLOCK_SIZE);
        int[] y = Arrays.copyOfRange(train, 1, BLOCK_SIZE + 1);
        List<BlockStep.Example> examples = new ArrayList<>();
        for (int t = 0; t < BLOCK_SIZE; t++) {
            examples.add(new BlockStep.Example(Arrays.copyOf(x, t + 1), y[t]));
        }
        return new BlockStep(BLOCK_SIZE, x, y, examples, firstBatch());
    }

    /** The batch steps 4 and 5 share: the first one drawn from the seed. */
    private Batch firstBatch() {
        return new Batches("the training part", split.train(), BLOCK_SIZE, BATCH_SIZE).next(new Rng(seed));
    }

    // ---- 5. an untrained bigram model ---------------------------------------------------------------------

    /** @throws DataException if the text is too short for a window, see {@link #windowProblem()} */
    public BigramStep bigram() {
        requireWindows();
        int vocab = vocabulary().size();
        Batch batch = firstBatch();
        BigramModel model = new BigramModel(ModelConfig.bigram(vocab, BLOCK_SIZE), new Rng(seed));
        try (var off = GradMode.off()) {
            Tensor logits = model.forward(batch.inputs(), batch.batchSize(), batch.blockSize());
            double loss = model.loss(logits, batch.targets()).item();
            // all-zero logits: softmax gives every character 1/V, so this loss is ln V by construction
            Tensor zeros = Tensor.zeros(logits.shape());
            double uniform = F.crossEntropy(zeros, batch.targets()).item();
            Tensor probs = F.softmax(logits);
            double p = probs.data()[batch.targets()[0]]; // row (0, 0) is the first vocab entries
            return new BigramStep(logits.shape(), loss, uniform, Math.log(vocab),
                    batch.inputs()[0], batch.targets()[0], p);
        }
    }

    // ---- 6. the averaging trick ------------------------------------------------------------------------

    public AveragingStep averaging() {
        int b = 4, t = 8, c = 2;
        Tensor x = randn(new Rng(seed), b, t, c);
        float[] xd = x.data();

        // (1) explicit loops: mean over positions 0..i, channel by channel
        float[] loops = new float[b * t * c];
        for (int bi = 0; bi < b; bi++) {
            for (int i = 0; i < t; i++) {
                for (int ch = 0; ch < c; ch++) {
                    float sum = 0f;
                    for (int j = 0; j <= i; j++) sum += xd[(bi * t + j) * c + ch];
                    loops[(bi * t + i) * c + ch] = sum / (i + 1);
                }
            }
        }

        // (2) the same as a matrix product: row i of the weights is 1/(i+1) on columns 0..i, 0 after
        float[] tril = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j <= i; j++) tril[i * t + j] = 1f / (i + 1);
        }
        Tensor trilW = Tensor.of(tril, t, t);

        // (3) the weights as a softmax: zeros where looking is allowed, -inf above the diagonal (exp(-inf) = 0)
        float[] masked = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) masked[i * t + j] = Float.NEGATIVE_INFINITY;
        }
        Tensor softW = F.softmax(Tensor.of(masked, t, t));

        float[] viaMatmul = batchedMatmul(trilW, x);
        float[] viaSoftmax = batchedMatmul(softW, x);
        return new AveragingStep(b, t, c, xd.clone(), loops, viaMatmul, viaSoftmax, tril, softW.data().clone(),
                maxAbsDiff(loops, viaMatmul), maxAbsDiff(loops, viaSoftmax));
    }

    /** w (T, T) times each batch row of x (B, T, C), with F.matmul (which is 2-D), flattened to (B, T, C). */
    private static float[] batchedMatmul(Tensor w, Tensor x) {
        int b = x.dim(0), t = x.dim(1), c = x.dim(2);
        float[] out = new float[b * t * c];
        for (int bi = 0; bi < b; bi++) {
            Tensor r = F.matmul(w, row(x, bi));
            System.arraycopy(r.data(), 0, out, bi * t * c, t * c);
        }
        return out;
    }

    // ---- 7. one self-attention head -----------------------------------------------------------------------

    public AttentionStep attention() {
        int b = 4, t = 8, c = 32, hs = 16;
        Rng rng = new Rng(seed);
        Tensor x = randn(rng, b, t, c);
        Linear key = new Linear(c, hs, false, rng);
        Linear query = new Linear(c, hs, false, rng);
        Linear value = new Linear(c, hs, false, rng);
        try (var off = GradMode.off()) {
            // every position emits a key (what it holds), a query (what it looks for) and a value (what it gives)
            Tensor k = key.forward(x), q = query.forward(x), v = value.forward(x); // (B, T, hs) each
            float scale = (float) (1.0 / Math.sqrt(hs));
            float[] output = new float[b * t * hs];
            float[] lastScores = null, lastWeights = null;
            for (int bi = 0; bi < b; bi++) {
                Tensor scores = F.matmul(row(q, bi), transpose(row(k, bi))); // (T, T): q_i . k_j
                float[] s = scores.data();
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j < t; j++) {
                        // scale, then hide the future: position i may only look at j <= i
                        s[i * t + j] = j > i ? Float.NEGATIVE_INFINITY : s[i * t + j] * scale;
                    }
                }
                Tensor weights = F.softmax(scores);                          // each row sums to 1
                Tensor out = F.matmul(weights, row(v, bi));                  // (T, hs): weighted values
                System.arraycopy(out.data(), 0, output, bi * t * hs, t * hs);
                if (bi == b - 1) {
                    lastScores = s.clone();
                    lastWeights = weights.data().clone();
                }
            }
            double rowSum = 0;
            for (int j = 0; j < t; j++) rowSum += lastWeights[(t - 1) * t + j];
            Tensor fused = F.causalSelfAttention(q, k, v, 1, 0f, null);

            // why the scale: dot products of hs unit-variance numbers have variance hs
            Tensor qr = randn(rng, b, t, hs), kr = randn(rng, b, t, hs);
            float[] unscaled = new float[b * t * t];
            for (int bi = 0; bi < b; bi++) {
                float[] s = F.matmul(row(qr, bi), transpose(row(kr, bi))).data();
                System.arraycopy(s, 0, unscaled, bi * t * t, t * t);
            }
            float[] scaled = new float[unscaled.length];
            for (int i = 0; i < scaled.length; i++) scaled[i] = unscaled[i] * scale;
            // softmax of one row both ways (last position of the first batch row): large scores make it peaky
            float[] rawRow = Arrays.copyOfRange(unscaled, (t - 1) * t, t * t);
            float[] scaledRow = Arrays.copyOfRange(scaled, (t - 1) * t, t * t);
            return new AttentionStep(b, t, c, hs, q.shape(), lastScores, lastWeights, rowSum, output,
                    maxAbsDiff(output, fused.data()), variance(qr.data()), variance(kr.data()),
                    variance(unscaled), variance(scaled),
                    F.softmax(Tensor.of(rawRow, t)).data(), F.softmax(Tensor.of(scaledRow, t)).data());
        }
    }

    // ---- 8. BatchNorm versus LayerNorm ----------------------------------------------------------------------

    public NormStep norms() {
        int rows = 32, cols = 100;
        Rng rng = new Rng(seed);
        // Plain randn already has mean 0 and std 1 everywhere, which would hide the difference. So give every
        // column its own offset and every row its own scale, as real activations have.
        double[] colOffset = new double[cols];
        for (int j = 0; j < cols; j++) colOffset[j] = 2 * rng.nextGaussian();
        double[] rowScale = new double[rows];
        for (int i = 0; i < rows; i++) rowScale[i] = 0.5 + 2.5 * rng.nextDouble();
        float[] x = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) x[i * cols + j] = (float) (colOffset[j] + rowScale[i] * rng.nextGaussian());
        }

        // BatchNorm-like: each column (one feature across the batch) to mean 0, variance 1
        float eps = dev.toygpt.nn.LayerNorm.EPS;
        float[] bn = new float[x.length];
        for (int j = 0; j < cols; j++) {
            double mean = 0, var = 0;
            for (int i = 0; i < rows; i++) mean += x[i * cols + j];
            mean /= rows;
            for (int i = 0; i < rows; i++) var += sq(x[i * cols + j] - mean);
            var /= rows;
            double inv = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < rows; i++) bn[i * cols + j] = (float) ((x[i * cols + j] - mean) * inv);
        }

        // LayerNorm: each row (one example's features) to mean 0, variance 1; weight 1 and bias 0 change nothing
        Tensor ln = F.layerNorm(Tensor.of(x, rows, cols), Tensor.of(Init.constant(cols, 1f), cols),
                Tensor.zeros(cols), eps);
        return new NormStep(rows, cols, stats(x, rows, cols), stats(bn, rows, cols), stats(ln.data(), rows, cols));
    }

    private static NormStep.Stats stats(float[] m, int rows, int cols) {
        double[] cMean = new double[cols], cStd = new double[cols], rMean = new double[rows], rStd = new double[rows];
        for (int j = 0; j < cols; j++) {
            double[] col = new double[rows];
            for (int i = 0; i < rows; i++) col[i] = m[i * cols + j];
            cMean[j] = mean(col);
            cStd[j] = Math.sqrt(populationVariance(col));
        }
        for (int i = 0; i < rows; i++) {
            double[] r = new double[cols];
            for (int j = 0; j < cols; j++) r[j] = m[i * cols + j];
            rMean[i] = mean(r);
            rStd[i] = Math.sqrt(populationVariance(r));
        }
        return new NormStep.Stats(cMean, cStd, rMean, rStd);
    }

    // ---- 9. the GPT ---------------------------------------------------------------------------------------------

    public GptStep gpt() {
        String preset = "seed";
        ModelConfig p = Presets.gpt(preset).model();
        ModelConfig config = ModelConfig.gpt(vocabulary().size(), p.nEmbd(), p.nHead(), p.nLayer(), p.blockSize(), p.dropout());
        Gpt model = new Gpt(config, new Rng(seed));
        // group the state_dict entries by layer, keeping the model's order
        Map<String, List<GptStep.Part>> groups = new LinkedHashMap<>();
        for (Map.Entry<String, StateDict.Entry> e : model.stateDict().entries().entrySet()) {
            String name = e.getKey();
            String group = groupOf(name);
            String rest = name.substring(group.length() + 1);
            groups.computeIfAbsent(group, g -> new ArrayList<>())
                    .add(new GptStep.Part(rest, e.getValue().shape(), e.getValue().size()));
        }
        List<GptStep.Group> list = new ArrayList<>();
        groups.forEach((name, parts) -> list.add(new GptStep.Group(name, List.copyOf(parts))));
        return new GptStep(preset, config, model.parameterCount(), List.copyOf(list));
    }

    /**
     * The layer a state_dict name belongs to: the top-level module ("lm_head"), or inside a block its
     * sub-module ("blocks.0.ffwd", "blocks.0.ln1"), splitting attention into its heads and its projection.
     */
    static String groupOf(String name) {
        String[] p = name.split("\\.");
        if (p[0].equals("blocks") && p.length >= 4) {
            if (p[2].equals("sa")) return String.join(".", p[0], p[1], p[2], p[3]);
            return String.join(".", p[0], p[1], p[2]);
        }
        return p[0];
    }

    // ---- 10. the notebooks' questions -----------------------------------------------------------------------

    /** The coverage answers are null when the text is too short for a window, see {@link #windowProblem()}. */
    public QuestionsStep questions() {
        int token0 = vocabulary().codePoints()[0];
        if (windowProblem().isPresent()) return new QuestionsStep(null, null, token0);
        TrainSettings bigram = Presets.defaults(ModelKind.BIGRAM).train();
        int bigramBlock = Presets.defaults(ModelKind.BIGRAM).model().blockSize();
        QuestionsStep.Coverage shortRun = coverage(SHORT_RUN_STEPS, SHORT_RUN_BATCH, BLOCK_SIZE);
        QuestionsStep.Coverage defaultRun = coverage(bigram.maxIters(), bigram.batchSize(), bigramBlock);
        return new QuestionsStep(shortRun, defaultRun, token0);
    }

    /**
     * Which training positions a run of {@code steps} random batches touches. The window starts are drawn
     * exactly as {@link Batches#next} draws them (one {@code nextInt(length - blockSize)} per row, in order),
     * so these are the windows such a run would train on with this seed.
     */
    QuestionsStep.Coverage coverage(int steps, int batchSize, int blockSize) {
        int[] train = split.train();
        new Batches("the training part", train, blockSize, batchSize); // same checks and messages as training
        Rng rng = new Rng(seed);
        BitSet covered = new BitSet(train.length);
        for (long w = 0, windows = (long) steps * batchSize; w < windows; w++) {
            int start = rng.nextInt(train.length - blockSize);
            covered.set(start, start + blockSize + 1); // inputs start..start+T-1, and the last target
        }
        BitSet seen = new BitSet(), inTrain = new BitSet();
        for (int i = covered.nextSetBit(0); i >= 0; i = covered.nextSetBit(i + 1)) seen.set(train[i]);
        for (int id : train) inTrain.set(id);
        BitSet unseen = (BitSet) inTrain.clone();
        unseen.andNot(seen);
        int[] codePoints = vocabulary().codePoints();
        return new QuestionsStep.Coverage(steps, batchSize, blockSize, train.length, covered.cardinality(),
                seen.cardinality(), inTrain.cardinality(), vocabulary().size(),
                unseen.stream().map(id -> codePoints[id]).toArray());
    }

    // ---- small helpers ------------------------------------------------------------------------------------------

    /** A tensor of standard normal numbers (like torch.randn). */
    static Tensor randn(Rng rng, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return Tensor.of(Init.normal(n, 1.0, rng), shape);
    }

    /** Batch row i of a (B, T, C) tensor, as a (T, C) matrix (a copy). */
    static Tensor row(Tensor x, int i) {
        int t = x.dim(1), c = x.dim(2);
        return Tensor.of(Arrays.copyOfRange(x.data(), i * t * c, (i + 1) * t * c), t, c);
    }

    /** The transpose of a matrix, with plain loops (F has no transpose; attention only needs kᵀ here). */
    static Tensor transpose(Tensor m) {
        int r = m.dim(0), c = m.dim(1);
        float[] d = m.data(), out = new float[r * c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) out[j * r + i] = d[i * c + j];
        }
        return Tensor.of(out, c, r);
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths differ: " + a.length + " and " + b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) max = Math.max(max, Math.abs((double) a[i] - b[i]));
        return max;
    }

    /** Sample variance (dividing by n - 1), as torch's var() reports it. */
    static double variance(float[] v) {
        double mean = 0;
        for (float f : v) mean += f;
        mean /= v.length;
        double s = 0;
        for (float f : v) s += sq(f - mean);
        return s / (v.length - 1);
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) s += d;
        return s / v.length;
    }

    private static double populationVariance(double[] v) {
        double m = mean(v), s = 0;
        for (double d : v) s += sq(d - m);
        return s / v.length;
    }

    private static double sq(double d) {
        return d * d;
    }
}
