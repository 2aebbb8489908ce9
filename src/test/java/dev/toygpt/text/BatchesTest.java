package dev.toygpt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.toygpt.util.Rng;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BatchesTest {

    /** data[i] = i, so every token says where it came from. */
    private static int[] iota(int n) {
        int[] data = new int[n];
        for (int i = 0; i < n; i++) {
            data[i] = i;
        }
        return data;
    }

    @Test
    void windowsAreConsecutiveAndTargetsAreShiftedByOne() {
        Batch batch = new Batches(iota(100), 8, 4).next(new Rng(1));
        assertEquals(4, batch.batchSize());
        assertEquals(8, batch.blockSize());
        assertEquals(32, batch.inputs().length);
        assertEquals(32, batch.targets().length);
        for (int b = 0; b < 4; b++) {
            int start = batch.inputs()[b * 8];
            for (int t = 0; t < 8; t++) {
                assertEquals(start + t, batch.inputs()[b * 8 + t]);
                assertEquals(start + t + 1, batch.targets()[b * 8 + t]);
            }
        }
    }

    @Test
    void startsAreDrawnLikeTorchRandint() {
        int[] data = iota(50);
        Batch batch = new Batches(data, 5, 3).next(new Rng(1337));
        Rng expected = new Rng(1337);
        for (int b = 0; b < 3; b++) {
            int start = expected.nextInt(50 - 5);
            assertArrayEquals(Arrays.copyOfRange(data, start, start + 5),
                    Arrays.copyOfRange(batch.inputs(), b * 5, b * 5 + 5), "row " + b);
        }
    }

    @Test
    void consumesExactlyOneDrawPerRow() {
        Rng rng = new Rng(7);
        new Batches(iota(50), 5, 3).next(rng);
        Rng reference = new Rng(7);
        for (int i = 0; i < 3; i++) {
            reference.nextInt(45);
        }
        assertEquals(reference.state(), rng.state());
    }

    @Test
    void sameSeedGivesSameBatches() {
        Batches batches = new Batches(iota(1000), 16, 8);
        Rng a = new Rng(42);
        Rng b = new Rng(42);
        for (int i = 0; i < 5; i++) {
            assertEquals(batches.next(a), batches.next(b), "batch " + i);
        }
        assertNotEquals(batches.next(new Rng(42)), batches.next(new Rng(43)));
    }

    @Test
    void everyStartIsReachableAndNoneOverrunsTheData() {
        // 10 tokens, block 3: starts 0..6; start 6 uses targets up to data[9], the last token.
        Batches batches = new Batches(iota(10), 3, 1);
        Rng rng = new Rng(3);
        boolean[] seen = new boolean[10];
        for (int i = 0; i < 2000; i++) {
            seen[batches.next(rng).inputs()[0]] = true;
        }
        for (int start = 0; start <= 6; start++) {
            assertTrue(seen[start], "start " + start + " never drawn");
        }
        for (int start = 7; start < 10; start++) {
            assertFalse(seen[start], "start " + start + " would run past the data");
        }
    }

    @Test
    void smallestPossibleData() {
        Batch batch = new Batches(new int[] {5, 6, 7}, 2, 2).next(new Rng(0));
        assertArrayEquals(new int[] {5, 6, 5, 6}, batch.inputs());
        assertArrayEquals(new int[] {6, 7, 6, 7}, batch.targets());
    }

    @Test
    void copiesTheData() {
        int[] data = iota(4);
        Batches batches = new Batches(data, 3, 1);
        data[0] = 99;
        assertEquals(0, batches.next(new Rng(0)).inputs()[0]);
        assertEquals(4, batches.dataLength());
    }

    @Test
    void dataShorterThanBlockSizePlusOne() {
        DataException e = assertThrows(DataException.class, () -> new Batches(iota(100), 256, 4));
        assertEquals("the data has 100 tokens, too few for block size 256: a training window needs"
                + " block size + 1 = 257 tokens. Lower --block-size to at most 99, or use more text"
                + " (or change the train/validation split so this part gets more of it)", e.getMessage());
    }

    @Test
    void dataExactlyBlockSizeIsStillTooShort() {
        DataException e = assertThrows(DataException.class, () -> new Batches(iota(8), 8, 1));
        assertTrue(e.getMessage().contains("has 8 tokens, too few for block size 8"), e.getMessage());
        assertTrue(e.getMessage().contains("at most 7"), e.getMessage());
    }

    @Test
    void namedSplitAppearsInTheMessage() {
        DataException e = assertThrows(DataException.class,
                () -> new Batches("the validation split", iota(10), 32, 4));
        assertTrue(e.getMessage().startsWith("the validation split has 10 tokens, too few for block size 32"),
                e.getMessage());
    }

    @Test
    void noBlockSizeCanFitOneToken() {
        DataException e = assertThrows(DataException.class, () -> new Batches("the validation split", new int[1], 1, 1));
        assertEquals("the validation split has 1 token, too few for block size 1: a training window needs"
                + " block size + 1 = 2 tokens. Use more text (or change the train/validation split so this part"
                + " gets more of it)", e.getMessage());
        e = assertThrows(DataException.class, () -> new Batches(new int[0], 4, 1));
        assertTrue(e.getMessage().startsWith("the data has 0 tokens"), e.getMessage());
        assertFalse(e.getMessage().contains("--block-size"), e.getMessage());
    }

    @Test
    void rejectsNonPositiveSizes() {
        assertEquals("block size must be positive, got 0",
                assertThrows(IllegalArgumentException.class, () -> new Batches(iota(10), 0, 1)).getMessage());
        assertEquals("batch size must be positive, got -2",
                assertThrows(IllegalArgumentException.class, () -> new Batches(iota(10), 2, -2)).getMessage());
    }

    @Test
    void batchRecordChecksItsShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Batch(new int[6], new int[5], 2, 3));
        assertEquals("inputs and targets must hold batchSize * blockSize = 6 ids, got 6 and 5", e.getMessage());
        assertEquals("Batch[2 x 3]", new Batch(new int[6], new int[6], 2, 3).toString());
    }

    @Test
    void worksOnTinyShakespeare() {
        Split split = Corpus.load(TestData.shakespeare()).split(0.9);
        Batches train = new Batches("the training split", split.train(), 8, 4);
        Batch batch = train.next(new Rng(1337));
        assertEquals(32, batch.inputs().length);
        for (int i = 0; i < 32; i++) {
            assertTrue(batch.inputs()[i] >= 0 && batch.inputs()[i] < 65);
        }
    }
}
