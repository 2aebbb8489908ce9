package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.io.AtomicFiles;
import dev.toygpt.io.Storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A training run's directory: {@code metrics.csv}, checkpoint directories {@code step-NNNNNN/}, and
 * {@code checkpoints.json}, which names the last and the best checkpoint.
 *
 * <p>Crash safety: a checkpoint is written completely into a temporary directory (each file flushed to disk),
 * renamed into place and the run directory flushed, before checkpoints.json (itself replaced atomically and
 * flushed) points to it; only then are checkpoints that nothing points to deleted. At every moment the
 * pointers name complete checkpoints, whether the process is killed or the disk fills up.
 */
public final class RunDirectory {
    public static final String POINTERS = "checkpoints.json";
    public static final String METRICS = "metrics.csv";
    private final Path dir;

    public RunDirectory(Path dir) {
        this.dir = dir;
    }

    public Path path() {
        return dir;
    }

    public Path metricsFile() {
        return dir.resolve(METRICS);
    }

    public boolean hasCheckpoints() {
        return Files.isRegularFile(dir.resolve(POINTERS));
    }

    @FunctionalInterface
    public interface CheckpointWriter {
        void writeTo(Path directory) throws IOException;
    }

    /**
     * Writes a new checkpoint for step, makes it the last one (and the best one if isBest), drops
     * unreferenced ones. When writing fails, the temporary directory is removed and checkpoints.json and the
     * checkpoints it names are as they were.
     *
     * @throws IOException from the writer, or a WriteFailedException naming the file that could not be written
     */
    public Path save(long step, boolean isBest, double bestValLoss, CheckpointWriter writer) throws IOException {
        Storage storage = Storage.current();
        String last = pointer("last"), best = pointer("best");
        String name = String.format("step-%06d", step);
        // A run resumed at an evaluation step saves that step again: the checkpoint the pointers name must
        // stay until its replacement is complete, so the replacement gets a name of its own.
        for (int n = 1; name.equals(last) || name.equals(best); n++) name = String.format("step-%06d-%d", step, n);
        Path target = dir.resolve(name);
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = storage.createTempDirectory(dir, ".tmp-" + name + "-");
            writer.writeTo(tmp);
            if (Files.exists(target)) deleteTree(target); // only an unreferenced leftover can have this name
            storage.rename(tmp, target);
        } catch (IOException | RuntimeException e) {
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException | RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
        String newBest = isBest ? name : best;
        ObjectNode p = Checkpoint.JSON.createObjectNode();
        p.put("last", name);
        if (newBest != null) p.put("best", newBest);
        if (!Double.isNaN(bestValLoss)) p.put("best_val_loss", bestValLoss);
        try {
            AtomicFiles.writeString(dir.resolve(POINTERS), Checkpoint.JSON.writeValueAsString(p));
        } catch (IOException e) {
            try {
                deleteTree(target); // nothing names it; the next save would remove it anyway
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        removeUnreferenced();
        return target;
    }

    public Path last() {
        return checkpoint("last");
    }

    public Path best() {
        String b = pointer("best");
        return b == null ? last() : checkpoint("best");
    }

    private Path checkpoint(String which) {
        String name = pointer(which);
        if (name == null) throw new CheckpointException(dir + " has no " + which + " checkpoint yet");
        Path p = dir.resolve(name);
        if (!Files.isDirectory(p)) throw new CheckpointException(dir.resolve(POINTERS) + " names " + name + ", which is missing");
        return p;
    }

    /** A checkpoint's name as this class writes it; anything else in checkpoints.json is damage. */
    private static final java.util.regex.Pattern CHECKPOINT_NAME = java.util.regex.Pattern.compile("step-[0-9]{6,19}(-[0-9]{1,9})?");
    /** checkpoints.json holds three short fields; a larger file is not ours. */
    private static final long MAX_POINTERS_BYTES = 1 << 16;

    private String pointer(String which) {
        Path f = dir.resolve(POINTERS);
        if (!Files.isRegularFile(f)) return null;
        try {
            if (Files.size(f) > MAX_POINTERS_BYTES) throw new CheckpointException(f + " is corrupt: " + Files.size(f) + " bytes is far too large");
            JsonNode n = Checkpoint.readJson(f);
            if (n == null || !n.isObject()) throw new CheckpointException(f + " is corrupt: not a JSON object");
            JsonNode v = n.get(which);
            if (v == null || v.isNull()) return null;
            if (!v.isTextual() || !CHECKPOINT_NAME.matcher(v.asText()).matches()) {
                throw new CheckpointException(f + " is corrupt: its \"" + which + "\" is not a checkpoint name");
            }
            return v.asText();
        } catch (IOException e) {
            throw new CheckpointException(f + " is corrupt: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        }
    }

    /**
     * Removes checkpoint directories nothing points to and temporary files or directories a killed run
     * left behind (a live writer holds the run's lock, so none of them is in use).
     */
    private void removeUnreferenced() throws IOException {
        String last = pointer("last"), best = pointer("best");
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                boolean stale = (n.startsWith("step-") && !n.equals(last) && !n.equals(best)) || n.startsWith(".tmp-step-");
                if (stale && Files.isDirectory(p)) deleteTree(p);
                boolean ours = n.startsWith("." + POINTERS + ".") || n.startsWith("." + METRICS + ".");
                if (ours && n.endsWith(".tmp") && Files.isRegularFile(p)) Files.deleteIfExists(p);
            }
        }
    }

    /**
     * What a --checkpoint argument means: a checkpoint directory itself, or a run directory's best
     * checkpoint.
     */
    public static Path resolveCheckpoint(Path arg) {
        if (!Files.exists(arg)) throw new CheckpointException("no checkpoint at " + arg + ": the path does not exist");
        if (Files.isRegularFile(arg.resolve(Checkpoint.CONFIG_FILE)) || Files.isRegularFile(arg.resolve(Checkpoint.MODEL_FILE))) return arg;
        if (Files.isRegularFile(arg.resolve(POINTERS))) return new RunDirectory(arg).best();
        throw new CheckpointException("no checkpoint at " + arg + ": expected a run directory (with " + POINTERS
                + ") or a checkpoint directory (with " + Checkpoint.MODEL_FILE + " and " + Checkpoint.CONFIG_FILE + ")");
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Storage.current().delete(x);
        }
    }
}
