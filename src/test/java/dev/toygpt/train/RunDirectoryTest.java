package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RunDirectory.save: the pointers always name complete checkpoints, whatever goes wrong while writing one. */
class RunDirectoryTest {
    @TempDir
    Path tmp;
    RunDirectory run;
    LanguageModel model;

    @BeforeEach
    void setUp() {
        run = new RunDirectory(tmp.resolve("run"));
        model = LanguageModel.create(TinyRuns.gpt(TinyRuns.corpus().vocabulary().size(), 0f), new Rng(3));
    }

    /** Writes a real (weights-only) checkpoint. */
    private RunDirectory.CheckpointWriter checkpoint() {
        return dir -> Checkpoint.write(dir, model, TinyRuns.corpus().vocabulary(), null, null, null, "verse");
    }

    /** Every file under the run directory with a digest of its content. */
    private Map<String, String> snapshot() throws Exception {
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(run.path())) {
            for (Path p : s.toList()) {
                String rel = run.path().relativize(p).toString();
                files.put(rel, Files.isDirectory(p) ? "<dir>"
                        : java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return files;
    }

    private JsonNode pointers() throws IOException {
        return Checkpoint.JSON.readTree(run.path().resolve(RunDirectory.POINTERS).toFile());
    }

    @Test
    void keepsTheLastAndTheBestCheckpointAndRemovesTheRest() throws Exception {
        assertFalse(run.hasCheckpoints());
        assertThrows(CheckpointException.class, run::last);

        run.save(10, true, 2.5, checkpoint());
        assertEquals(run.path().resolve("step-000010"), run.last());
        assertEquals(run.last(), run.best());

        run.save(20, false, 2.5, checkpoint());
        run.save(30, false, 2.5, checkpoint());
        assertEquals(List.of(RunDirectory.POINTERS, "step-000010", "step-000030"), TinyRuns.entries(run.path()));
        assertEquals("step-000030", pointers().path("last").asText());
        assertEquals("step-000010", pointers().path("best").asText());
        assertEquals(2.5, pointers().path("best_val_loss").asDouble());

        run.save(40, true, 2.0, checkpoint());
        assertEquals(List.of(RunDirectory.POINTERS, "step-000040"), TinyRuns.entries(run.path()));
        assertEquals(run.last(), run.best());
        assertEquals(2.0, pointers().path("best_val_loss").asDouble());
        Checkpoint.load(run.last());
    }

    @Test
    void leftoversOfACrashAreCleanedUp() throws Exception {
        run.save(10, true, 2.5, checkpoint());
        // a crash left a half-written temporary directory and a renamed checkpoint the pointers never got to name
        Files.createDirectories(run.path().resolve(".tmp-step-000020-123"));
        Files.writeString(run.path().resolve(".tmp-step-000020-123").resolve("model.safetensors"), "half");
        Files.createDirectories(run.path().resolve("step-000020"));
        Files.writeString(run.path().resolve("step-000020").resolve("junk"), "from before the crash");

        run.save(20, false, 2.5, checkpoint());
        assertEquals(List.of(RunDirectory.POINTERS, "step-000010", "step-000020"), TinyRuns.entries(run.path()));
        assertEquals(List.of(Checkpoint.CONFIG_FILE, Checkpoint.MODEL_FILE), TinyRuns.entries(run.last()));
    }

    @ParameterizedTest(name = "throwing while writing step {0}")
    @ValueSource(ints = {30, 20, 10}) // a new step, the last checkpoint's step, the best checkpoint's step
    void aWriterThatFailsHalfwayChangesNothing(int step) throws Exception {
        run.save(10, true, 2.5, checkpoint());
        run.save(20, false, 2.5, checkpoint());
        Map<String, String> before = snapshot();

        IOException io = assertThrows(IOException.class, () -> run.save(step, true, 1.0, dir -> {
            checkpoint().writeTo(dir);
            Files.writeString(dir.resolve("optimizer.safetensors"), "half a file");
            throw new IOException("No space left on device");
        }));
        assertEquals("No space left on device", io.getMessage());
        assertEquals(before, snapshot(), "checkpoints and checkpoints.json are untouched, no temporary directory is left");

        assertThrows(IllegalStateException.class, () -> run.save(step, false, 1.0, dir -> {
            Files.writeString(dir.resolve("model.safetensors"), "half");
            throw new IllegalStateException("a weight became NaN");
        }));
        assertEquals(before, snapshot());

        assertThrows(UncheckedIOException.class, () -> run.save(step, true, 1.0, dir -> {
            throw new UncheckedIOException(new IOException("disk gone"));
        }));
        assertEquals(before, snapshot());
        assertEquals(run.path().resolve("step-000020"), run.last());
        assertEquals(run.path().resolve("step-000010"), run.best());
        Checkpoint.load(run.last());
        Checkpoint.load(run.best());
    }

    @Test
    void aFailedReplacementOfTheLastCheckpointKeepsTheOldOne() throws Exception {
        // A run stopped exactly at an evaluation step (20) saves step 20 without its losses; when resumed it
        // evaluates step 20 and saves it again. Until the new one is complete, the old one must stay.
        run.save(10, true, 2.5, checkpoint());
        run.save(20, false, 2.5, checkpoint());
        Map<String, String> before = snapshot();

        // stands in for a crash after the writer finished: the new directory is gone before it can be renamed
        assertThrows(IOException.class, () -> run.save(20, true, 2.0, dir -> {
            checkpoint().writeTo(dir);
            RunDirectory.deleteTree(dir);
        }));
        assertEquals(before, snapshot(), "the checkpoint checkpoints.json names as last is still complete");
        Checkpoint.load(run.last());

        Path saved = run.save(20, true, 2.0, checkpoint());
        assertEquals(saved, run.last());
        assertEquals(saved, run.best());
        Checkpoint.load(run.last());
        List<String> entries = new ArrayList<>(TinyRuns.entries(run.path()));
        assertEquals(List.of(RunDirectory.POINTERS, saved.getFileName().toString()), entries);
        assertTrue(saved.getFileName().toString().startsWith("step-000020"));
    }

    @Test
    void aCorruptPointerFileIsReported() throws Exception {
        run.save(10, true, 2.5, checkpoint());
        Files.writeString(run.path().resolve(RunDirectory.POINTERS), "{\"last\": ", StandardCharsets.UTF_8);
        CheckpointException e = assertThrows(CheckpointException.class, run::last);
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());

        Files.writeString(run.path().resolve(RunDirectory.POINTERS), "{\"last\": \"step-000099\"}", StandardCharsets.UTF_8);
        e = assertThrows(CheckpointException.class, run::last);
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void resolveCheckpointAcceptsRunAndCheckpointDirectories() throws Exception {
        run.save(10, true, 2.5, checkpoint());
        run.save(20, false, 2.5, checkpoint());
        assertEquals(run.best(), RunDirectory.resolveCheckpoint(run.path()));
        assertEquals(run.last(), RunDirectory.resolveCheckpoint(run.last()));
        CheckpointException e = assertThrows(CheckpointException.class, () -> RunDirectory.resolveCheckpoint(tmp.resolve("nope")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(CheckpointException.class, () -> RunDirectory.resolveCheckpoint(tmp.resolve("empty")));
        assertTrue(e.getMessage().contains("expected a run directory"), e.getMessage());
    }
}
