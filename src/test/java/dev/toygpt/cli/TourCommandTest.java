package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TourCommandTest {
    private static final String TEXT = "Le cœur a ses raisons que la raison ne connaît point.\n"
            + "À la fête, élève et maître chantèrent ensemble. \uD83C\uDFAD\n"
            + "¿Dónde está la señora? Mañana iremos juntos al teatro.\n";

    @TempDir
    Path dir;
    private Path data;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private PrintStream savedOut;
    private PrintStream savedErr;
    private InputStream savedIn;

    @BeforeEach
    void redirect() throws Exception {
        data = Files.writeString(dir.resolve("text.txt"), TEXT, StandardCharsets.UTF_8);
        savedOut = Console.out();
        savedErr = Console.err();
        savedIn = Console.in();
        // stdin is an empty stream: the tour must never wait for Enter here
        Console.redirect(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                new ByteArrayInputStream(new byte[0]));
    }

    @AfterEach
    void restore() {
        Console.redirect(savedOut, savedErr, savedIn);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void oneStepPrintsOnlyThatStep() {
        assertEquals(0, Main.run("tour", "--data", data.toString(), "--step", "4"));
        assertTrue(out().contains("Step 4 of 10: Windows of context"), out());
        assertTrue(out().contains("when the input is ["), out());
        for (int s = 1; s <= 10; s++) {
            if (s != 4) assertFalse(out().contains("Step " + s + " of 10"), "step " + s + " printed too");
        }
    }

    @Test
    void wholeTourInOrderWithoutPausing() {
        assertEquals(0, Main.run("tour", "--data", data.toString()));
        int last = -1;
        for (int s = 1; s <= 10; s++) {
            int at = out().indexOf("Step " + s + " of 10: ");
            assertTrue(at > last, "step " + s + " missing or out of order");
            last = at;
        }
        assertFalse(out().contains("press Enter") || err().contains("press Enter"));
    }

    @Test
    void stepOutOfRangeIsABadInput() {
        for (String step : new String[]{"11", "0", "-1"}) {
            err.reset();
            assertEquals(Main.BAD_INPUT, Main.run("tour", "--data", data.toString(), "--step", step));
            assertTrue(err().contains("--step must be between 1 and 10, got " + step), err());
        }
        assertEquals("", out());
    }

    @Test
    void missingFileIsABadInput() {
        assertEquals(Main.BAD_INPUT, Main.run("tour", "--data", dir.resolve("nope.txt").toString()));
        assertTrue(err().contains("not found"), err());
    }

    @Test
    void seedChangesTheRandomBatch() {
        Main.run("tour", "--data", data.toString(), "--step", "4", "--seed", "1");
        String one = out();
        out.reset();
        Main.run("tour", "--data", data.toString(), "--step", "4", "--seed", "1");
        assertEquals(one, out());
        out.reset();
        Main.run("tour", "--data", data.toString(), "--step", "4", "--seed", "2");
        assertFalse(one.equals(out()));
    }
}
