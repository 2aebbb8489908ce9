package dev.toygpt.tour;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.toygpt.text.Batch;
import dev.toygpt.text.Batches;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.DataException;
import dev.toygpt.util.Rng;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** The tour on texts other than Shakespeare: non-English, tiny, without the course's characters. */
class TourOtherTextsTest {
    static final String MASK = "\uD83C\uDFAD"; // 🎭, outside the BMP: two Java chars, one code point
    static final String FRENCH_SPANISH = "Le cœur a ses raisons que la raison ne connaît point.\n"
            + "À la fête, élève et maître chantèrent ensemble. " + MASK + "\n"
            + "¿Dónde está la señora? Mañana iremos juntos al teatro.\n"
            + "El niño pequeño comió piña y jamón.\n";

    @Test
    void everyStepRunsOnNonEnglishText() {
        Tour tour = new Tour(Corpus.of("fr-es", FRENCH_SPANISH), 1337);
        String out = renderAll(tour);
        for (int s = 1; s <= Tour.STEPS; s++) assertTrue(out.contains("Step " + s + " of 10: "), "step " + s);
        assertTrue(out.contains(MASK), "the emoji is shown as itself");
        assertFalse(out.contains("skipped"));
    }

    @Test
    void emojiIsOneTokenAndNumbersAreConsistent() {
        Tour tour = new Tour(Corpus.of("fr-es", FRENCH_SPANISH), 1337);
        VocabularyStep v = tour.vocabularyStep();
        long distinct = FRENCH_SPANISH.codePoints().distinct().count();
        assertEquals(distinct, v.size());
        assertEquals(1, tour.vocabulary().encode(MASK).length);
        assertEquals(MASK.codePointAt(0), v.codePoints()[v.size() - 1], "the emoji has the largest code point");
        TextStep t = tour.text();
        assertEquals(FRENCH_SPANISH.codePointCount(0, FRENCH_SPANISH.length()), t.characters());
        assertEquals(FRENCH_SPANISH.getBytes(StandardCharsets.UTF_8).length, t.utf8Bytes());
        assertEquals(FRENCH_SPANISH, t.preview(), "shorter than 200 characters: shown whole");
        assertEquals(t.characters(), v.firstIds().length);
        // no 'k' in this text: the step says so instead of failing
        assertEquals(-1, v.indexOfK());
        assertTrue(render(tour, 2).contains("this text has no 'k'"));
        SplitStep sp = tour.splitStep();
        assertEquals((int) (0.9 * t.characters()), sp.train());
        assertEquals(t.characters(), sp.train() + sp.val());
        GptStep g = tour.gpt();
        assertEquals(g.parameterCount(), g.tableTotal());
        assertEquals(distinct, g.config().vocabSize());
        BigramStep b = tour.bigram();
        assertEquals(Math.log(distinct), b.lnV(), 1e-12);
        assertEquals(b.lnV(), b.uniformLoss(), 1e-4);
        QuestionsStep q = tour.questions();
        assertEquals('\n', q.token0());
        assertEquals(q.shortRun().trainLength(), q.shortRun().covered(), "100 x 32 windows cover a text this short");
    }

    @Test
    void smallVocabularyAndMissingSampleCharacters() {
        Tour tour = new Tour(Corpus.of("abc", "abcabcabcabcabc"), 1);
        VocabularyStep v = tour.vocabularyStep();
        assertEquals(3, v.size());
        assertEquals(-1, v.charAt12());
        assertEquals(0, v.sampleIds().length);
        assertEquals(9, v.dropped().size());
        String out = render(tour, 2);
        assertTrue(out.contains("character with id 12: none"), out);
        assertTrue(out.contains("'h' x2"), out);
        // some of "hii there" known, some not
        VocabularyStep partial = new Tour(Corpus.of("hens", "three hens there"), 1).vocabularyStep();
        assertEquals("h there", partial.decoded());
        assertEquals(2, partial.dropped().size()); // both i's
    }

    @Test
    void tooShortForWindowsSaysSoInsteadOfFailing() {
        Tour tour = new Tour(Corpus.of("tiny", "abcab"), 1337);
        assertTrue(tour.windowProblem().isPresent());
        String out = renderAll(tour);
        assertTrue(out.contains("Step 4 of 10") && out.contains("This step is skipped"), out);
        assertTrue(out.contains("token 0 decodes to 'a'"), out);
        assertThrows(DataException.class, tour::block);
        assertNull(tour.questions().shortRun());
        // the shortest text that works
        assertFalse(new Tour(Corpus.of("ten", "abcdefghij"), 1).windowProblem().isPresent());
    }

    @Test
    void coverageUsesTheWindowsBatchesDraws() {
        // a text whose characters increase, so token id = position and a batch's ids say where its windows are
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 60; i++) sb.appendCodePoint(0x100 + i);
        Tour tour = new Tour(Corpus.of("increasing", sb.toString()), 42);
        int[] train = Corpus.of("x", sb.toString()).split(Tour.TRAIN_FRACTION).train();
        Batch batch = new Batches(train, 8, 4).next(new Rng(42));
        BitSet expected = new BitSet();
        for (int id : batch.inputs()) expected.set(id);
        for (int id : batch.targets()) expected.set(id);
        QuestionsStep.Coverage c = tour.coverage(1, 4, 8);
        assertEquals(expected.cardinality(), c.covered());
        assertEquals(c.covered(), c.distinctSeen());
    }

    @Test
    void sameSeedSameNumbers() {
        Corpus corpus = Corpus.of("fr-es", FRENCH_SPANISH);
        assertEquals(render(new Tour(corpus, 7), 7), render(new Tour(corpus, 7), 7));
        assertArrayEquals(new Tour(corpus, 7).averaging().x(), new Tour(corpus, 7).averaging().x());
        assertFalse(render(new Tour(corpus, 7), 7).equals(render(new Tour(corpus, 8), 7)));
    }

    @Test
    void stepNumbersAreChecked() {
        Tour tour = new Tour(Corpus.of("fr-es", FRENCH_SPANISH), 1);
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThrows(IllegalArgumentException.class, () -> new TourRenderer(tour, sink).render(0));
        assertThrows(IllegalArgumentException.class, () -> new TourRenderer(tour, sink).render(11));
    }

    static String renderAll(Tour tour) {
        StringBuilder sb = new StringBuilder();
        for (int s = 1; s <= Tour.STEPS; s++) sb.append(render(tour, s));
        return sb.toString();
    }

    static String render(Tour tour, int step) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        new TourRenderer(tour, new PrintStream(bytes, true, StandardCharsets.UTF_8)).render(step);
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
