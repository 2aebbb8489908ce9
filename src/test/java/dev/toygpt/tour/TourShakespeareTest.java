package dev.toygpt.tour;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.toygpt.text.Batch;
import dev.toygpt.text.Corpus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The tour's numbers on Tiny Shakespeare, against the values the course shows. */
class TourShakespeareTest {
    private static Tour tour;

    @BeforeAll
    static void load() {
        String property = System.getProperty("toygpt.shakespeare");
        assumeTrue(property != null && !property.isBlank(), "system property toygpt.shakespeare is not set");
        Path file = Path.of(property);
        assumeTrue(Files.isRegularFile(file), "Tiny Shakespeare not found at " + file);
        tour = new Tour(Corpus.load(file), 1337);
    }

    @Test
    void text() {
        TextStep s = tour.text();
        assertEquals(1_115_394, s.characters());
        assertEquals(200, s.preview().length());
        assertTrue(s.preview().startsWith("First Citizen:\nBefore we proceed"));
    }

    @Test
    void vocabulary() {
        VocabularyStep s = tour.vocabularyStep();
        assertEquals(65, s.size());
        assertEquals(49, s.indexOfK());
        assertEquals('?', s.charAt12());
        assertArrayEquals(new int[]{46, 47, 47, 1, 58, 46, 43, 56, 43}, s.sampleIds());
        assertEquals("hii there", s.decoded());
        assertTrue(s.dropped().isEmpty());
        assertEquals(200, s.firstIds().length);
        assertArrayEquals(new int[]{18, 47, 56, 57, 58, 1, 15, 47, 58, 47}, Arrays.copyOf(s.firstIds(), 10));
    }

    @Test
    void split() {
        SplitStep s = tour.splitStep();
        assertEquals(1_003_854, s.train());
        assertEquals(111_540, s.val());
        assertEquals(s.total(), s.train() + s.val());
    }

    @Test
    void block() {
        BlockStep s = tour.block();
        assertArrayEquals(new int[]{18, 47, 56, 57, 58, 1, 15, 47}, s.x());
        assertArrayEquals(new int[]{47, 56, 57, 58, 1, 15, 47, 58}, s.y());
        assertEquals(8, s.examples().size());
        assertArrayEquals(new int[]{18, 47}, s.examples().get(1).context());
        assertEquals(56, s.examples().get(1).target());
        Batch b = s.batch();
        assertEquals(4, b.batchSize());
        assertEquals(8, b.blockSize());
        // targets are the inputs moved on by one
        for (int r = 0; r < 4; r++) {
            for (int t = 0; t + 1 < 8; t++) assertEquals(b.inputs()[r * 8 + t + 1], b.targets()[r * 8 + t]);
        }
        assertEquals(b, tour.block().batch(), "the batch is repeatable from the seed");
    }

    @Test
    void untrainedBigram() {
        BigramStep s = tour.bigram();
        assertArrayEquals(new int[]{4, 8, 65}, s.logitsShape());
        assertEquals(4.174, s.lnV(), 5e-4);
        assertEquals(-Math.log(1.0 / 65), s.lnV(), 1e-12);
        assertEquals(s.lnV(), s.uniformLoss(), 1e-4, "all-zero logits cost exactly ln V");
        // random N(0, 1) logits cost a little more than uniform guessing, never wildly more or less
        assertTrue(s.loss() > s.lnV() - 0.5 && s.loss() < s.lnV() + 1.5, "loss " + s.loss());
    }

    @Test
    void threeAveragesAgree() {
        AveragingStep s = tour.averaging();
        assertTrue(s.maxDiffMatmul() < 1e-5, "matmul differs by " + s.maxDiffMatmul());
        assertTrue(s.maxDiffSoftmax() < 1e-5, "softmax differs by " + s.maxDiffSoftmax());
        assertArrayEquals(s.trilWeights(), s.softmaxWeights(), 1e-6f);
        assertEquals(s.batch() * s.time() * s.channels(), s.loops().length);
        // the mean of the first position is the position itself
        assertEquals(s.x()[0], s.loops()[0], 0f);
    }

    @Test
    void attentionHead() {
        AttentionStep s = tour.attention();
        int t = s.time();
        assertArrayEquals(new int[]{4, 8, 16}, s.qShape());
        assertEquals(1.0, s.lastRowSum(), 1e-5);
        for (int i = 0; i < t; i++) {
            double rowSum = 0;
            for (int j = 0; j < t; j++) {
                float w = s.lastWeights()[i * t + j];
                if (j > i) assertEquals(0f, w, "the future gets no weight");
                rowSum += w;
            }
            assertEquals(1.0, rowSum, 1e-5);
        }
        assertTrue(s.fusedMaxDiff() < 1e-5, "the fused kernel differs by " + s.fusedMaxDiff());
        assertTrue(s.varQ() > 0.7 && s.varQ() < 1.3, "var q " + s.varQ());
        assertTrue(s.varUnscaled() > s.headSize() / 2.0 && s.varUnscaled() < s.headSize() * 2.0, "unscaled " + s.varUnscaled());
        assertTrue(s.varScaled() > 0.5 && s.varScaled() < 2.0, "scaled " + s.varScaled());
        assertEquals(s.varUnscaled() / s.headSize(), s.varScaled(), 1e-3);
        assertTrue(max(s.unscaledRow()) > max(s.scaledRow()), "unscaled scores give a peakier softmax");
    }

    @Test
    void layerNormNormalisesRowsAndBatchNormColumns() {
        NormStep s = tour.norms();
        for (int i = 0; i < s.rows(); i++) {
            assertEquals(0, s.layerNorm().rowMeans()[i], 1e-4);
            assertEquals(1, s.layerNorm().rowStds()[i], 1e-3);
        }
        for (int j = 0; j < s.cols(); j++) {
            assertEquals(0, s.batchNorm().columnMeans()[j], 1e-4);
            assertEquals(1, s.batchNorm().columnStds()[j], 1e-3);
        }
        // and neither fixes the other direction: the point of the comparison
        assertTrue(Arrays.stream(s.layerNorm().columnMeans()).anyMatch(m -> Math.abs(m) > 0.2));
        assertTrue(Arrays.stream(s.batchNorm().rowStds()).anyMatch(sd -> Math.abs(sd - 1) > 0.2));
    }

    @Test
    void gptParameters() {
        GptStep s = tour.gpt();
        assertEquals(209_729, s.parameterCount());
        assertEquals(s.parameterCount(), s.tableTotal());
        List<String> names = s.groups().stream().map(GptStep.Group::name).toList();
        assertEquals(List.of("token_embedding_table", "position_embedding_table",
                "blocks.0.sa.heads", "blocks.0.sa.proj", "blocks.0.ffwd", "blocks.0.ln1", "blocks.0.ln2"), names.subList(0, 7));
        assertEquals(List.of("ln_f", "lm_head"), names.subList(names.size() - 2, names.size()));
        assertEquals(2 + 4 * 5 + 2, names.size());
        GptStep.Group heads = s.groups().get(2);
        assertEquals(12_288, heads.count());
        assertEquals("4 heads x [key.weight (16, 64), query.weight (16, 64), value.weight (16, 64)]",
                TourRenderer.parts(heads.parts()));
        assertEquals(4_225, s.groups().get(names.indexOf("lm_head")).count());
    }

    @Test
    void questions() {
        QuestionsStep s = tour.questions();
        assertEquals('\n', s.token0());
        QuestionsStep.Coverage r = s.shortRun();
        assertEquals(1_003_854, r.trainLength());
        assertTrue(r.covered() > 0 && r.covered() <= 100 * 32 * 9, "covered " + r.covered());
        assertTrue(r.coveredFraction() < 0.05, "a short run sees a small part of the text");
        assertTrue(r.distinctSeen() <= r.distinctInTrain() && r.distinctInTrain() <= r.vocabSize());
        assertEquals(r.distinctInTrain() - r.distinctSeen(), r.unseen().length);
        assertTrue(s.defaultRun().covered() > r.covered());
    }

    private static float max(float[] v) {
        float m = Float.NEGATIVE_INFINITY;
        for (float f : v) m = Math.max(m, f);
        return m;
    }
}
