package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.toygpt.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A training run's directory: {@code metrics.csv}, checkpoint directories {@code step-NNNNNN/}, and
 * {@code checkpoints.json}, which names the last and the best checkpoint.
 *
 * <p>Crash safety: a checkpoint is written completely into a temporary directory and renamed into place
 * before checkpoints.json (itself replaced atomically) points to it; only then are checkpoints that nothing
 * points to deleted. At every moment the pointers name complete checkpoints.
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

    /** Writes a new checkpoint for step, makes it the last one (and the best one if isBest), drops unreferenced ones. */
    public Path save(long step, boolean isBest, double bestValLoss, CheckpointWriter writer) throws IOException {
        Files.createDirectories(dir);
        String last = pointer("last"), best = pointer("best");
        String name = String.format("step-%06d", step);
        // A run resumed at an evaluation step saves that step again: the checkpoint the pointers name must
        // stay until its replacement is complete, so the replacement gets a name of its own.
        for (int n = 1; name.equals(last) || name.equals(best); n++) name = String.format("step-%06d-%d", step, n);
        Path target = dir.resolve(name);
        Path tmp = Files.createTempDirectory(dir, ".tmp-" + name + "-");
        if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) { // temp directories start private
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        try {
            writer.writeTo(tmp);
            if (Files.exists(target)) deleteTree(target); // only an unreferenced leftover can have this name
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        String newBest = isBest ? name : best;
        ObjectNode p = Checkpoint.JSON.createObjectNode();
        p.put("last", name);
        if (newBest != null) p.put("best", newBest);
        if (!Double.isNaN(bestValLoss)) p.put("best_val_loss", bestValLoss);
        AtomicFiles.writeString(dir.resolve(POINTERS), Checkpoint.JSON.writeValueAsString(p));
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

    private String pointer(String which) {
        Path f = dir.resolve(POINTERS);
        if (!Files.isRegularFile(f)) return null;
        try {
            JsonNode n = Checkpoint.JSON.readTree(f.toFile());
            JsonNode v = n == null ? null : n.get(which);
            return v == null ? null : v.asText();
        } catch (IOException e) {
            throw new CheckpointException(f + " is corrupt: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
    }

    private void removeUnreferenced() throws IOException {
        String last = pointer("last"), best = pointer("best");
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                boolean stale = (n.startsWith("step-") && !n.equals(last) && !n.equals(best)) || n.startsWith(".tmp-step-");
                if (stale && Files.isDirectory(p)) deleteTree(p);
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
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
