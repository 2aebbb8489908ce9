package dev.toygpt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.text.Corpus;
import dev.toygpt.text.Split;
import dev.toygpt.train.Checkpoint;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import dev.toygpt.util.Rng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs that cannot be resumed or must not be overwritten (case 11), and training that diverges (case 12):
 * exit 2, a message that explains, and every checkpoint saved before still intact and usable.
 */
class BadRunTest extends CliTestBase {
    private static final Pattern NOT_FINITE = Pattern.compile("loss (became|is) (NaN|-?Infinity)");

    @TempDir
    Path dir;

    private Path play() throws IOException {
        return write(dir.resolve("play.txt"), PLAY);
    }

    // ---- case 11: resuming and overwriting

    @Test
    void resumeOnACorpusWithAnotherVocabulary() throws IOException {
        Path run = trainTinyBigram(play(), dir.resolve("run"));
        Path other = write(dir.resolve("other.txt"), "To be, or not to be: that is the question.\n".repeat(50));
        Map<String, String> before = snapshot(run);
        assertBadInput(run("train", "--out", run.toString(), "--resume", "--data", other.toString(), "--max-iters", "40"),
                run.toString(), "vocabulary of 44 characters", "other.txt", "same --data");
        assertUnchanged(before, run);
    }

    @Test
    void resumeWithoutOut() throws IOException {
        assertBadInput(run("train", "--resume", "--data", play().toString(), "--model", "bigram"), "--resume needs --out");
    }

    @Test
    void resumeWithoutCheckpoints() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty-run"));
        assertBadInput(run("train", "--out", empty.toString(), "--resume", "--data", play().toString()),
                empty.toString(), "no checkpoints to resume from");
        assertEquals(Map.of(".", "(directory)"), snapshot(empty), "nothing may be written into the directory");

        Path missing = dir.resolve("no-such-run");
        assertBadInput(run("train", "--out", missing.toString(), "--resume", "--data", play().toString()),
                missing.toString(), "no checkpoints to resume from");
        assertFalse(Files.exists(missing));
    }

    @Test
    void freshTrainIntoAnExistingRunIsRefused() throws IOException {
        Path run = trainTinyBigram(play(), dir.resolve("run"));
        Map<String, String> before = snapshot(run);
        assertBadInput(run(args("train", "--data", play(), "--out", run, TINY_BIGRAM)),
                run.toString(), "already holds a run", "--resume", "another --out");
        assertUnchanged(before, run);

        // A run that crashed before its first checkpoint still has its metrics: that is a run too.
        Path crashed = Files.createDirectories(dir.resolve("crashed"));
        write(crashed.resolve(RunDirectory.METRICS), "step,train_loss,val_loss,lr,elapsed_s\n0,4.1,4.1,0.01,0.1\n");
        Map<String, String> crashedBefore = snapshot(crashed);
        assertBadInput(run(args("train", "--data", play(), "--out", crashed, TINY_BIGRAM)), "already holds a run");
        assertUnchanged(crashedBefore, crashed);
    }

    // ---- case 12: a loss that becomes NaN or infinite

    /**
     * AdamW's decoupled weight decay multiplies every weight by (1 - lr * weight_decay) each step: with
     * lr 1e4 and weight decay 0.1 that is -999, so the weights grow a thousandfold per step and overflow
     * float after about 13 steps, whatever the data. The evaluation at step 10 still sees finite weights.
     */
    private static final String[] EXPLODE = {"--lr", "1e4", "--weight-decay", "0.1"};

    @Test
    void divergingTrainingStopsAndKeepsTheLastGoodCheckpoint() throws IOException {
        Path run = dir.resolve("run");
        Run r = assertBadInput(run(args("train", "--data", play(), "--out", run, "--model", "bigram", "--max-iters", "40",
                "--eval-interval", "10", "--eval-iters", "2", "--sample-tokens", "0", EXPLODE)),
                "training stopped", "the last good checkpoint is kept in " + run, "lower --lr");
        assertTrue(NOT_FINITE.matcher(r.err()).find(), () -> "the message should say the loss became NaN or infinite\n" + r);

        JsonNode pointers = new ObjectMapper().readTree(run.resolve(RunDirectory.POINTERS).toFile());
        assertEquals("step-000010", pointers.get("last").asText(), "the checkpoint of step 10 is the last good one");
        Map<String, String> kept = snapshot(run);

        Run eval = assertSucceeded(run("eval", "--checkpoint", run.toString(), "--data", play().toString(), "--eval-iters", "2", "--json"));
        JsonNode losses = new ObjectMapper().readTree(eval.out());
        assertTrue(Double.isFinite(losses.get("val_loss").asDouble()), eval::toString);
        Run sample = assertSucceeded(run("sample", "--checkpoint", run.toString(), "--max-new-tokens", "20"));
        assertFalse(sample.out().isBlank(), sample::toString);
        assertUnchanged(kept, run);
    }

    @Test
    void divergingAfterResumeLeavesTheRunAsItWas() throws IOException {
        Path run = trainTinyBigram(play(), dir.resolve("run"));
        String[] eval = args("eval", "--checkpoint", run, "--data", play(), "--eval-iters", "2", "--json");
        String lossesBefore = assertSucceeded(run(eval)).out();
        Map<String, String> before = snapshot(run);
        // no evaluation (and so no checkpoint) before step 100: the weights overflow long before that
        Run r = assertBadInput(run(args("train", "--out", run, "--resume", "--data", play(), "--max-iters", "100",
                "--eval-interval", "1000", "--sample-tokens", "0", EXPLODE)), "training stopped", "the last good checkpoint is kept in");
        assertTrue(NOT_FINITE.matcher(r.err()).find(), r::toString);
        assertUnchanged(before, run);
        assertEquals(lossesBefore, assertSucceeded(run(eval)).out(), "the kept checkpoint evaluates exactly as before");
    }

    /** Poisons a weight matrix with NaN when the trainer reaches a given point, as a numerical blow-up would. */
    private record Poisoned(Trainer trainer, RunDirectory run, AtomicReference<Map<String, String>> atLastSave) {}

    private Poisoned trainerThatIsPoisoned(Path runDir, boolean afterFirstSave, long poisonStep) throws IOException {
        Corpus corpus = Corpus.of("play", PLAY);
        Split split = corpus.split(0.9);
        LanguageModel model = LanguageModel.create(ModelConfig.bigram(corpus.vocabulary().size(), 8), new Rng(1));
        TrainSettings settings = new TrainSettings(8, 40, 10, 2, 1e-2f, "adamw", 0.01f, 0f, "constant", 0, 1e-3f,
                1337, 0.9, 0, 1);
        RunDirectory run = new RunDirectory(runDir);
        AtomicReference<Map<String, String>> atLastSave = new AtomicReference<>();
        Trainer.Listener poison = new Trainer.Listener() {
            @Override
            public void saved(long step, Path checkpoint) {
                try {
                    atLastSave.set(snapshot(runDir));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
                if (afterFirstSave) java.util.Arrays.fill(model.parameters().get(0).data(), Float.NaN);
            }

            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                if (!afterFirstSave && step == poisonStep) java.util.Arrays.fill(model.parameters().get(0).data(), Float.NaN);
            }
        };
        Trainer trainer = new Trainer(model, corpus.vocabulary(), split.train(), split.val(), settings, run, corpus.name(), poison);
        return new Poisoned(trainer, run, atLastSave);
    }

    @Test
    void trainerStopsWhenTheTrainingLossBecomesNaN() throws IOException {
        Path runDir = dir.resolve("run");
        Poisoned p = trainerThatIsPoisoned(runDir, true, 0);
        Trainer.DivergedException e = assertThrows(Trainer.DivergedException.class, () -> p.trainer().run());
        assertMentions(e.getMessage(), "the training loss became NaN at step 10", "last good checkpoint is kept in " + runDir);
        assertNotNull(p.atLastSave().get());
        assertUnchanged(p.atLastSave().get(), runDir);
        assertEquals(runDir.resolve("step-000010"), p.run().last());
        Checkpoint.Loaded loaded = Checkpoint.load(p.run().last());
        for (var t : loaded.model().parameters()) {
            for (float v : t.data()) assertTrue(Float.isFinite(v), "the kept checkpoint has only finite weights");
        }
    }

    @Test
    void trainerStopsWhenTheEstimatedLossBecomesNaN() throws IOException {
        // Poisoned after the last step before the evaluation at step 20: the estimate sees it first.
        Path runDir = dir.resolve("run");
        Poisoned p = trainerThatIsPoisoned(runDir, false, 20);
        Trainer.DivergedException e = assertThrows(Trainer.DivergedException.class, () -> p.trainer().run());
        assertMentions(e.getMessage(), "the estimated training loss is NaN at step 20", "last good checkpoint is kept in");
        assertUnchanged(p.atLastSave().get(), runDir);
        assertEquals(runDir.resolve("step-000010"), p.run().last());
        assertSucceeded(run("sample", "--checkpoint", runDir.toString(), "--max-new-tokens", "10"));
    }
}
