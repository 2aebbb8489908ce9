package dev.toygpt.tour;

import dev.toygpt.text.Batch;
import dev.toygpt.text.Vocabulary;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;

/**
 * Prints the steps of a {@link Tour} for a learner: a heading, a few sentences on what the step is about,
 * and the numbers the code has just computed.
 */
public final class TourRenderer {
    private final Tour tour;
    private final Vocabulary vocab;
    private final PrintStream out;

    public TourRenderer(Tour tour, PrintStream out) {
        this.tour = Objects.requireNonNull(tour, "tour");
        this.vocab = tour.vocabulary();
        this.out = Objects.requireNonNull(out, "out");
    }

    /** Computes and prints one step, 1 to {@link Tour#STEPS}. */
    public void render(int step) {
        Tour.checkStep(step);
        out.println();
        String heading = "Step " + step + " of " + Tour.STEPS + ": " + Tour.title(step);
        out.println(heading);
        out.println("=".repeat(heading.length()));
        if ((step == 4 || step == 5) && tour.windowProblem().isPresent()) {
            line("This step is skipped: %s.", tour.windowProblem().get());
            out.flush();
            return;
        }
        switch (step) {
            case 1 -> text(tour.text());
            case 2 -> vocabulary(tour.vocabularyStep());
            case 3 -> split(tour.splitStep());
            case 4 -> block(tour.block());
            case 5 -> bigram(tour.bigram());
            case 6 -> averaging(tour.averaging());
            case 7 -> attention(tour.attention());
            case 8 -> norms(tour.norms());
            case 9 -> gpt(tour.gpt());
            case 10 -> questions(tour.questions());
            default -> throw new IllegalStateException("unreachable");
        }
        out.flush();
    }

    // ---- the steps ------------------------------------------------------------------------------------------------

    private void text(TextStep s) {
        say("A language model learns from one thing only: a long run of characters. Everything that follows",
                "is computed from this one.");
        line("file:   %s", s.name());
        line("length: %,d characters (%,d bytes of UTF-8)", s.characters(), s.utf8Bytes());
        int shown = s.preview().codePointCount(0, s.preview().length());
        line(shown == s.characters() ? "the whole text:" : "the first %d characters:", shown);
        out.println("----------------------------------------");
        out.println(s.preview());
        out.println("----------------------------------------");
    }

    private void vocabulary(VocabularyStep s) {
        say("A network computes with numbers, not letters. The plainest tokenizer lists the distinct characters",
                "of the text in code-point order and lets each one's place in the list be its number (its token id).");
        StringBuilder all = new StringBuilder();
        for (int cp : s.codePoints()) all.appendCodePoint(cp);
        line("the characters, in id order: %s", quote(all.toString()));
        line("vocabulary size: %d", s.size());
        if (s.hasK()) line("id of 'k': %d", s.indexOfK());
        else line("id of 'k': this text has no 'k', so 'k' has no id");
        if (s.hasIndex12()) line("character with id 12: %s", Vocabulary.describeChar(s.charAt12()));
        else line("character with id 12: none, the vocabulary only has ids 0 to %d", s.size() - 1);
        line("encode(%s) = %s", quote(s.sample()), Arrays.toString(s.sampleIds()));
        if (!s.dropped().isEmpty()) {
            line("  (dropped: %s)", new Vocabulary.Encoded(s.sampleIds(), s.dropped()).describeDropped());
        }
        line("decode(%s) = %s%s", Arrays.toString(s.sampleIds()), quote(s.decoded()),
                s.decoded().equals(s.sample()) ? "  -- the round trip gives back the same text" : "");
        line("the first %d token ids of the text:", s.firstIds().length);
        wrapIds(s.firstIds());
    }

    private void split(SplitStep s) {
        say("The end of the text is kept aside. The model never trains on it, so its loss there tells whether",
                "it learned something general about the text or merely memorised the part it saw.");
        line("training part:   the first %s (%.0f%%)", characters(s.train()), 100 * s.trainFraction());
        line("validation part: the last  %s (%.0f%%)", characters(s.val()), 100 * (1 - s.trainFraction()));
        line("together:        %s", characters(s.total()));
    }

    private void block(BlockStep s) {
        say("The model never reads the whole text at once, only windows of block_size characters. One window",
                "hides block_size lessons: predict the next character from 1 character of context, from 2, ...",
                "up to block_size. So the model also learns to start from very little context.");
        line("block_size = %d; the first window of the training part and the same window moved on by one:", s.blockSize());
        line("  x = %s  %s", Arrays.toString(s.x()), quote(vocab.decode(s.x())));
        line("  y = %s  %s", Arrays.toString(s.y()), quote(vocab.decode(s.y())));
        for (BlockStep.Example e : s.examples()) example(e.context(), e.target(), "  ");
        Batch b = s.batch();
        out.println();
        say("Training takes several windows at random places at once, a batch, so the computer stays busy.",
                "Here is one batch drawn with seed " + tour.seed() + ":");
        line("inputs, shape (%d, %d):", b.batchSize(), b.blockSize());
        printRows(b.inputs(), b.batchSize(), b.blockSize());
        line("targets, shape (%d, %d):", b.batchSize(), b.blockSize());
        printRows(b.targets(), b.batchSize(), b.blockSize());
        line("that is %d x %d = %d examples:", b.batchSize(), b.blockSize(), b.batchSize() * b.blockSize());
        for (int r = 0; r < b.batchSize(); r++) {
            for (int t = 0; t < b.blockSize(); t++) {
                int[] context = Arrays.copyOfRange(b.inputs(), r * b.blockSize(), r * b.blockSize() + t + 1);
                example(context, b.targets()[r * b.blockSize() + t], "  ");
            }
        }
    }

    private void bigram(BigramStep s) {
        int[] sh = s.logitsShape();
        say("The first model, the bigram, looks at the current character only: it is a V x V table whose row i",
                "holds a score (a logit) for each character that could follow character i. Untrained, the table",
                "is random. We run it on the batch of step 4.");
        line("logits shape (B, T, V) = (%d, %d, %d): %d windows, %d positions in each, and at every position",
                sh[0], sh[1], sh[2], sh[0], sh[1]);
        line("  one score per vocabulary entry (%d). The loss treats them as %d rows of %d scores.",
                sh[2], sh[0] * sh[1], sh[2]);
        line("at batch position (0, 0) the input is %s and the target %s; the untrained model gives that",
                Vocabulary.describeChar(vocab.codePoints()[s.firstInput()]), Vocabulary.describeChar(vocab.codePoints()[s.firstTarget()]));
        line("  target probability %.4f, against %.4f for a uniform guess (1/%d)",
                s.firstTargetProbability(), 1.0 / s.vocabSize(), s.vocabSize());
        line("loss on the batch:                     %.4f", s.loss());
        line("-ln(1/%d) = ln %d:                     %.4f", s.vocabSize(), s.vocabSize(), s.lnV());
        line("loss of all-zero logits (uniform):      %.4f", s.uniformLoss());
        if (s.loss() > s.lnV()) {
            say("The random model does worse than guessing uniformly: its scores are not flat, so it is confidently",
                    "wrong about some characters. Training has to bring the loss well below ln V.");
        } else {
            say("On this batch the random model happens to do no worse than a uniform guess; on most batches",
                    "its uneven scores cost it a little. Training has to bring the loss well below ln V.");
        }
    }

    private void averaging(AveragingStep s) {
        int t = s.time(), c = s.channels();
        say("Attention starts from a simple wish: each position should collect information from the positions",
                "before it, never from later ones. The crudest way is to average them. We compute that running mean",
                String.format(Locale.ROOT, "on a random x of shape (B, T, C) = (%d, %d, %d) in three ways.", s.batch(), t, c));
        line("(1) loops: for each position t, add up x[0..t] and divide by t+1");
        line("(2) a matrix product: W @ x, with W lower-triangular and each row scaled to sum to 1:");
        matrix(s.trilWeights(), 0, t, t);
        line("(3) W = softmax of a matrix of zeros whose entries above the diagonal are -inf (exp(-inf) = 0):");
        matrix(s.softmaxWeights(), 0, t, t);
        line("the first batch row, x[0] next to its running mean:");
        for (int i = 0; i < t; i++) {
            StringBuilder sb = new StringBuilder("  ");
            for (int ch = 0; ch < c; ch++) sb.append(num(s.x()[i * c + ch]));
            sb.append("   ->");
            for (int ch = 0; ch < c; ch++) sb.append(num(s.loops()[i * c + ch]));
            out.println(sb);
        }
        line("max |loops - matrix product| = %.2e", s.maxDiffMatmul());
        line("max |loops - masked softmax| = %.2e", s.maxDiffSoftmax());
        say("The three agree (up to float rounding). The third form is the one that grows into attention: put",
                "scores computed from the data in place of the zeros, and the plain average becomes a weighted",
                "average whose weights the model learns.");
    }

    private void attention(AttentionStep s) {
        int t = s.time(), hs = s.headSize();
        say("A head of self-attention lets every position decide how much to take from each earlier one. Each",
                "position emits a query (what it is looking for) and a key (what it has to offer). A query's dot",
                "product with a key scores the match; the softmax of a row of scores gives weights, and the head",
                "returns the weighted sum of the values, a third projection of the positions.");
        line("x: (%d, %d, %d); head_size %d; key, query and value are Linear(%d, %d, bias=false)",
                s.batch(), t, s.channels(), hs, s.channels(), hs);
        line("q, k, v: %s each; scores q @ kT / sqrt(%d): (%d, %d, %d)", shape(s.qShape()), hs, s.batch(), t, t);
        line("scores of the last batch row (row %d), masked: the future is -inf", s.batch() - 1);
        matrix(s.lastScores(), 0, t, t);
        line("their softmax, the attention weights (row i: how position i spreads its attention):");
        matrix(s.lastWeights(), 0, t, t);
        StringJoiner lastRow = new StringJoiner(", ", "[", "]");
        for (int j = 0; j < t; j++) lastRow.add(String.format(Locale.ROOT, "%.4f", s.lastWeights()[(t - 1) * t + j]));
        line("row %d: %s, sum %.6f", t - 1, lastRow, s.lastRowSum());
        say("Unlike the plain average of step 6, the weights now differ from row to row, and would differ for",
                "other text: they are computed from the data.");
        out.println();
        say("Why divide by sqrt(head_size)? A dot product adds head_size products of unit-variance numbers, so its",
                "variance grows to about head_size. Measured on random q and k:");
        line("var(q) = %.3f, var(k) = %.3f", s.varQ(), s.varK());
        line("var(q @ kT)             = %.3f   (head_size = %d)", s.varUnscaled(), hs);
        line("var(q @ kT / sqrt(%d))  = %.3f", hs, s.varScaled());
        say("Large scores make the softmax nearly one-hot: one position would take almost all the attention, and",
                "the head could hardly learn to mix. One row of those random scores, unscaled and scaled:");
        line("  softmax unscaled: %s  (largest %.3f)", floats(s.unscaledRow()), max(s.unscaledRow()));
        line("  softmax scaled:   %s  (largest %.3f)", floats(s.scaledRow()), max(s.scaledRow()));
        line("the fused kernel F.causalSelfAttention (what the GPT runs) gives the same output as these pieces:");
        line("  max |pieces - fused| = %.2e", s.fusedMaxDiff());
    }

    private void norms(NormStep s) {
        say("Deep networks train better when the numbers flowing through them stay on one scale. BatchNorm makes",
                "each feature (a column) mean 0 and variance 1 across the examples of a batch. LayerNorm, the one",
                "the transformer uses, does it to each example (a row) across its features, so one example's result",
                "does not depend on the others in the batch.");
        line("x: (%d, %d) random numbers, each column with its own offset and each row with its own spread,", s.rows(), s.cols());
        line("   so that the input is not already normalised; standard deviations divide by n.");
        int k = Math.min(4, Math.min(s.rows(), s.cols()));
        line("%-22s %-38s %s", "", "columns 0.." + (k - 1) + ": mean / std", "rows 0.." + (k - 1) + ": mean / std");
        statsLine("input", s.input(), k);
        statsLine("BatchNorm (columns)", s.batchNorm(), k);
        statsLine("LayerNorm (rows)", s.layerNorm(), k);
        line("over all %d columns and %d rows:", s.cols(), s.rows());
        rangeLine("input", s.input());
        rangeLine("BatchNorm (columns)", s.batchNorm());
        rangeLine("LayerNorm (rows)", s.layerNorm());
        say("BatchNorm fixes the columns and leaves the rows uneven; LayerNorm fixes the rows and leaves the",
                "columns uneven. (In the model, LayerNorm then applies a learned weight and bias, here 1 and 0.)");
    }

    private void gpt(GptStep s) {
        var c = s.config();
        say("The GPT puts the pieces together: a table of character embeddings and one of position embeddings,",
                "blocks of (LayerNorm, multi-head attention, LayerNorm, feed-forward) with residual connections,",
                "a final LayerNorm and a linear layer back to V scores.");
        line("preset %s on this vocabulary: vocab %d, n_embd %d, %d heads of %d, %d layers, block_size %d",
                s.preset(), c.vocabSize(), c.nEmbd(), c.nHead(), c.headSize(), c.nLayer(), c.blockSize());
        line("parameters: %,d", s.parameterCount());
        line("%12s  %-26s %s", "parameters", "layer", "tensors (state_dict names, shapes)");
        String currentBlock = null;
        long blockTotal = 0;
        Map<String, Long> kinds = new LinkedHashMap<>();
        for (GptStep.Group g : s.groups()) {
            String block = blockOf(g.name());
            if (currentBlock != null && !currentBlock.equals(block)) {
                line("%12s  %s", String.format(Locale.ROOT, "%,d", blockTotal), "= all of " + currentBlock);
                blockTotal = 0;
            }
            currentBlock = block;
            if (block != null) blockTotal += g.count();
            line("%12s  %-26s %s", String.format(Locale.ROOT, "%,d", g.count()), g.name(), parts(g.parts()));
            kinds.merge(kindOf(g.name()), g.count(), Long::sum);
        }
        if (currentBlock != null) line("%12s  %s", String.format(Locale.ROOT, "%,d", blockTotal), "= all of " + currentBlock);
        line("%12s  %s", String.format(Locale.ROOT, "%,d", s.tableTotal()), "= sum of the table" +
                (s.tableTotal() == s.parameterCount() ? ", the model's count" : ", BUT the model counts " + s.parameterCount()));
        line("by kind:");
        kinds.forEach((kind, n) -> line("  %-28s %,9d  %5.1f%%", kind, n, 100.0 * n / s.parameterCount()));
    }

    private void questions(QuestionsStep s) {
        say("(a) Does a short training run read every character of the training text? Count the positions the",
                "random windows touch (inputs and their targets).");
        QuestionsStep.Coverage r = s.shortRun();
        if (r == null) {
            line("Not on this text: %s.", tour.windowProblem().orElse("it is too short"));
        } else {
            coverageLine(r);
            coverageLine(s.defaultRun());
        }
        if (r == null) {
            // nothing more to say
        } else if (r.covered() < r.trainLength()) {
            say("So no: training samples the text, it does not read it through. A short run sees a small fraction",
                    "of it, and characters that are rare may not come up at all.");
        } else {
            say("On a text this short, yes: the random windows do cover all of it.");
        }
        out.println();
        say("(b) Generation starts from a context holding the single token id 0. What is that?");
        line("token 0 decodes to %s: the character with the smallest code point in the text.",
                Vocabulary.describeChar(s.token0()));
        if (s.token0() == '\n') {
            say("So the model starts as if at the beginning of a new line, a natural place to begin.");
        }
    }

    // ---- pieces of output ------------------------------------------------------------------------------------------

    private void coverageLine(QuestionsStep.Coverage c) {
        line("%,d steps of %d windows of %d (+1): %,d of %,d training positions (%.2f%%); %d of the %d characters (%.0f%%)%s",
                c.steps(), c.batchSize(), c.blockSize(), c.covered(), c.trainLength(), 100 * c.coveredFraction(),
                c.distinctSeen(), c.vocabSize(), 100 * c.distinctFraction(),
                c.distinctInTrain() < c.vocabSize() ? " (the training part itself has " + c.distinctInTrain() + ")" : "");
        if (c.unseen().length > 0) {
            StringJoiner j = new StringJoiner(" ");
            for (int i = 0; i < Math.min(20, c.unseen().length); i++) j.add(Vocabulary.describeChar(c.unseen()[i]));
            line("  characters of the training part it never met: %s%s", j, c.unseen().length > 20 ? " ..." : "");
        }
    }

    private void example(int[] context, int target, String indent) {
        line("%swhen the input is %s (%s), the target is %d (%s)", indent, Arrays.toString(context),
                quote(vocab.decode(context)), target, Vocabulary.describeChar(vocab.codePoints()[target]));
    }

    private void printRows(int[] ids, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int[] row = Arrays.copyOfRange(ids, r * cols, (r + 1) * cols);
            line("  %s  %s", Arrays.toString(row), quote(vocab.decode(row)));
        }
    }

    private void wrapIds(int[] ids) {
        StringBuilder sb = new StringBuilder("  ");
        for (int i = 0; i < ids.length; i++) {
            String piece = ids[i] + (i + 1 < ids.length ? ", " : "");
            if (sb.length() + piece.length() > 100) {
                out.println(sb.toString().stripTrailing());
                sb = new StringBuilder("  ");
            }
            sb.append(piece);
        }
        if (sb.length() > 2) out.println(sb);
    }

    private void matrix(float[] m, int offset, int rows, int cols) {
        for (int i = 0; i < rows; i++) {
            StringBuilder sb = new StringBuilder("  ");
            for (int j = 0; j < cols; j++) sb.append(num(m[offset + i * cols + j]));
            out.println(sb);
        }
    }

    private void statsLine(String label, NormStep.Stats st, int k) {
        StringBuilder cols = new StringBuilder(), rows = new StringBuilder();
        for (int i = 0; i < k; i++) {
            cols.append(fixed2(st.columnMeans()[i], 5)).append('/').append(fixed2(st.columnStds()[i], 4)).append(' ');
            rows.append(fixed2(st.rowMeans()[i], 5)).append('/').append(fixed2(st.rowStds()[i], 4)).append(' ');
        }
        line("%-22s %-38s %s", label, cols.toString().stripTrailing(), rows.toString().stripTrailing());
    }

    private void rangeLine(String label, NormStep.Stats st) {
        line("  %-20s column means %s, stds %s; row means %s, stds %s", label,
                range(st.columnMeans()), range(st.columnStds()), range(st.rowMeans()), range(st.rowStds()));
    }

    private static String range(double[] v) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            lo = Math.min(lo, d);
            hi = Math.max(hi, d);
        }
        return fixed2(lo, 0) + ".." + fixed2(hi, 0);
    }

    /** Two decimals, right-aligned in width; a tiny negative number shows as 0.00, not -0.00. */
    private static String fixed2(double v, int width) {
        String s = String.format(Locale.ROOT, "%.2f", v);
        if (s.equals("-0.00")) s = "0.00";
        return width == 0 ? s : String.format(Locale.ROOT, "%" + width + "s", s);
    }

    /** A layer's tensors, e.g. "weight (64), bias (64)"; repeated heads are shown once with their count. */
    static String parts(List<GptStep.Part> parts) {
        // heads are named "0.key.weight", "1.key.weight", ...: group them by what follows the index
        Map<String, int[]> byName = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (GptStep.Part p : parts) {
            String name = p.name().matches("\\d+\\..*") ? p.name().substring(p.name().indexOf('.') + 1) : p.name();
            byName.putIfAbsent(name, p.shape());
            counts.merge(name, 1, Integer::sum);
        }
        List<String> pieces = new ArrayList<>();
        byName.forEach((name, shape) -> pieces.add(name + " " + shape(shape)));
        int n = counts.values().iterator().next();
        boolean repeated = n > 1 && counts.values().stream().allMatch(c -> c == n);
        return repeated ? n + " heads x [" + String.join(", ", pieces) + "]" : String.join(", ", pieces);
    }

    /** "blocks.2" for a layer inside block 2, null outside the blocks. */
    private static String blockOf(String group) {
        String[] p = group.split("\\.");
        return p[0].equals("blocks") && p.length > 1 ? p[0] + "." + p[1] : null;
    }

    private static String kindOf(String group) {
        if (group.endsWith("embedding_table")) return "embeddings";
        if (group.contains(".sa.")) return "attention (heads and proj)";
        if (group.endsWith(".ffwd")) return "feed-forward";
        if (group.startsWith("ln_") || group.matches(".*\\.ln\\d+")) return "layer norms";
        if (group.equals("lm_head")) return "lm_head";
        return group;
    }

    private static String characters(int n) {
        return String.format(Locale.ROOT, "%,d %s", n, n == 1 ? "character" : "characters");
    }

    static String shape(int[] shape) {
        StringJoiner j = new StringJoiner(", ", "(", ")");
        for (int d : shape) j.add(Integer.toString(d));
        return j.toString();
    }

    private static String num(float v) {
        if (v == Float.NEGATIVE_INFINITY) return "    -inf";
        return String.format(Locale.ROOT, "%8.4f", v + 0f == 0f ? 0f : v); // no "-0.0000"
    }

    private static String floats(float[] v) {
        StringJoiner j = new StringJoiner(" ", "[", "]");
        for (float f : v) j.add(String.format(Locale.ROOT, "%.3f", f));
        return j.toString();
    }

    private static float max(float[] v) {
        float m = Float.NEGATIVE_INFINITY;
        for (float f : v) m = Math.max(m, f);
        return m;
    }

    /** Text in double quotes with invisible characters escaped, so a newline shows as \n. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (cp != ' ' && (Character.isISOControl(cp) || Character.isWhitespace(cp)
                            || Character.getType(cp) == Character.FORMAT)) {
                        sb.append(String.format("\\u{%04X}", cp));
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        });
        return sb.append('"').toString();
    }

    /** Sentences of explanation, one source line per output line. */
    private void say(String... lines) {
        for (String l : lines) out.println(l);
    }

    private void line(String format, Object... args) {
        out.println(String.format(Locale.ROOT, format, args));
    }
}
