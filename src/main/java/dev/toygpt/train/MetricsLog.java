package dev.toygpt.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The run's loss history as CSV: step, train_loss, val_loss, lr, elapsed_s; one line per evaluation. */
public final class MetricsLog {
    public static final String HEADER = "step,train_loss,val_loss,lr,elapsed_s";

    public record Row(long step, double trainLoss, double valLoss, double lr, double elapsedSeconds) {}

    private final Path file;

    public MetricsLog(Path file) {
        this.file = file;
    }

    /** Appends one line (and the header when the file is new), flushed to disk. */
    public void append(Row r) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        StringBuilder sb = new StringBuilder();
        if (!Files.exists(file) || Files.size(file) == 0) sb.append(HEADER).append('\n');
        sb.append(String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6g,%.3f%n", r.step(), r.trainLoss(), r.valLoss(), r.lr(), r.elapsedSeconds()));
        Files.writeString(file, sb, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
    }

    /**
     * Keeps only rows up to step (a resumed run rewrites what came after its checkpoint, e.g. after a crash
     * between an evaluation and the checkpoint that followed it).
     */
    public void truncateAfter(long step) throws IOException {
        if (!Files.exists(file)) return;
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            if (line.startsWith("step")) {
                keep.add(line);
                continue;
            }
            try {
                if (Long.parseLong(line.substring(0, line.indexOf(','))) <= step) keep.add(line);
            } catch (RuntimeException e) {
                // a torn last line from a crash: drop it
            }
        }
        dev.toygpt.io.AtomicFiles.writeString(file, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
    }

    public static List<Row> read(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.startsWith("step")) continue;
            String[] f = line.split(",");
            rows.add(new Row(Long.parseLong(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                    Double.parseDouble(f[3]), Double.parseDouble(f[4])));
        }
        return rows;
    }
}
