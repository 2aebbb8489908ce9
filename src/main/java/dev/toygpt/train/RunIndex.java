package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The run directories under a folder (the playground's {@code --runs}), found a few levels deep, each with
 * its checkpoints, named by ids: a run by its path relative to the folder ({@code seed},
 * {@code experiments/steps-20261202/seed}), a checkpoint by {@code RUN@best}, {@code RUN@last} or
 * {@code RUN@step-000500}.
 *
 * <p>Nothing outside the folder is ever listed: a symbolic link whose target leaves it is skipped, and a
 * checkpoint pointer that is not a plain {@code step-NNNNNN} name is ignored. Whoever names a run by id
 * can only reach what this index found.
 */
public final class RunIndex {
    /** How many folders deep runs are looked for (an experiment's runs are two levels down). */
    public static final int MAX_DEPTH = 4;
    private static final Pattern CHECKPOINT_NAME = Pattern.compile("step-\\d+(-\\d+)?");

    /**
     * One run directory.
     *
     * @param dir         its real path (links resolved)
     * @param checkpoints checkpoint id -> real path of the checkpoint directory: best and last first, then by name
     */
    public record Run(String id, Path dir, Map<String, Path> checkpoints) {
        public Path metricsFile() {
            return dir.resolve(RunDirectory.METRICS);
        }
    }

    private final Path root;
    private final Map<String, Run> runs;

    private RunIndex(Path root, Map<String, Run> runs) {
        this.root = root;
        this.runs = runs;
    }

    /** Scans root; a root that does not exist gives an empty index. */
    public static RunIndex scan(Path root) {
        Map<String, Run> found = new TreeMap<>();
        Path real;
        try {
            real = root.toRealPath();
        } catch (IOException e) {
            return new RunIndex(root, Map.of());
        }
        walk(real, real, 0, found, new HashSet<>());
        return new RunIndex(real, Collections.unmodifiableMap(found));
    }

    public Path root() {
        return root;
    }

    /** The runs by id, sorted by id. */
    public Map<String, Run> runs() {
        return runs;
    }

    public Optional<Run> run(String id) {
        return Optional.ofNullable(id == null ? null : runs.get(id));
    }

    /** The checkpoint directory of a checkpoint id ({@code RUN@best}), if this index holds it. */
    public Optional<Path> checkpoint(String checkpointId) {
        if (checkpointId == null) return Optional.empty();
        int at = checkpointId.lastIndexOf('@');
        if (at < 0) return Optional.empty();
        return run(checkpointId.substring(0, at)).map(r -> r.checkpoints().get(checkpointId));
    }

    /** The run as its files are now: checkpoints.json may name another best or last since the scan. */
    public Run refreshed(Run run) {
        return new Run(run.id(), run.dir(), checkpoints(root, run.dir(), run.id()));
    }

    /** A run directory holds metrics.csv or checkpoints.json. */
    public static boolean isRun(Path dir) {
        return Files.isRegularFile(dir.resolve(RunDirectory.METRICS)) || Files.isRegularFile(dir.resolve(RunDirectory.POINTERS));
    }

    private static void walk(Path root, Path dir, int depth, Map<String, Run> found, Set<Path> seen) {
        if (!seen.add(dir)) return; // a link back to a folder already visited
        if (isRun(dir)) {
            String id = dir.equals(root) ? String.valueOf(root.getFileName()) : root.relativize(dir).toString().replace('\\', '/');
            found.put(id, new Run(id, dir, checkpoints(root, dir, id)));
            return; // a run's folders are its checkpoints
        }
        if (depth >= MAX_DEPTH) return;
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                if (name.startsWith(".")) continue;
                Path real = inside(root, p);
                if (real != null && Files.isDirectory(real, LinkOption.NOFOLLOW_LINKS)) children.add(real);
            }
        } catch (IOException | SecurityException e) {
            return; // an unreadable folder holds no runs we can show
        }
        Collections.sort(children);
        for (Path child : children) walk(root, child, depth + 1, found, seen);
    }

    /** p's real path when it lies inside root, else null (a link that leaves root, a broken link). */
    static Path inside(Path root, Path p) {
        try {
            Path real = p.toRealPath();
            return real.startsWith(root) ? real : null;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    private static Map<String, Path> checkpoints(Path root, Path run, String id) {
        Map<String, Path> out = new LinkedHashMap<>();
        JsonNode pointers = null;
        Path file = run.resolve(RunDirectory.POINTERS);
        if (Files.isRegularFile(file)) {
            try {
                pointers = Checkpoint.JSON.readTree(file.toFile());
            } catch (IOException e) {
                pointers = null; // being rewritten, or damaged: list the step folders only
            }
        }
        String last = pointer(pointers, "last"), best = pointer(pointers, "best");
        if (best == null) best = last;
        Path bestDir = checkpointDir(root, run, best), lastDir = checkpointDir(root, run, last);
        if (bestDir != null) out.put(id + "@best", bestDir);
        if (lastDir != null) out.put(id + "@last", lastDir);
        List<String> steps = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(run, "step-*")) {
            for (Path p : entries) steps.add(p.getFileName().toString());
        } catch (IOException | SecurityException e) {
            // no step folders to add
        }
        Collections.sort(steps);
        for (String s : steps) {
            Path dir = checkpointDir(root, run, s);
            if (dir != null) out.put(id + "@" + s, dir);
        }
        return Collections.unmodifiableMap(out);
    }

    private static String pointer(JsonNode pointers, String which) {
        if (pointers == null || !pointers.hasNonNull(which)) return null;
        String name = pointers.get(which).asText();
        return CHECKPOINT_NAME.matcher(name).matches() ? name : null;
    }

    /** The real path of run/name when it is a complete checkpoint inside root. */
    private static Path checkpointDir(Path root, Path run, String name) {
        if (name == null || !CHECKPOINT_NAME.matcher(name).matches()) return null;
        Path real = inside(root, run.resolve(name));
        if (real == null || !Files.isRegularFile(real.resolve(Checkpoint.MODEL_FILE)) || !Files.isRegularFile(real.resolve(Checkpoint.CONFIG_FILE))) return null;
        return real;
    }
}
