package dev.toygpt.train;

import dev.toygpt.io.AtomicFiles;
import dev.toygpt.io.Storage;
import dev.toygpt.io.WriteFailedException;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The run's loss history as CSV: step, train_loss, val_loss, lr, elapsed_s; one line per evaluation. */
public final class MetricsLog {
    public static final String HEADER = "step,train_loss,val_loss,lr,elapsed_s";
    /** Longer lines are not ours (a row is under 80 characters); they are skipped without being held in memory. */
    private static final int MAX_LINE = 256;

    public record Row(long step, double trainLoss, double valLoss, double lr, double elapsedSeconds) {}

    private final Path file;

    public MetricsLog(Path file) {
        this.file = file;
    }

    /** Appends one line (and the header when the file is new), flushed to disk. */
    public void append(Row r) throws IOException {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            StringBuilder sb = new StringBuilder();
            if (!Files.exists(file) || Files.size(file) == 0) sb.append(HEADER).append('\n');
            sb.append(format(r));
            try (OutputStream out = Storage.current().open(file, true)) {
                out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw e instanceof WriteFailedException ? e : new WriteFailedException(file, e);
        }
    }

    static String format(Row r) {
        return String.format(Locale.ROOT, "%d,%.6f,%.6f,%.6g,%.3f\n", r.step(), r.trainLoss(), r.valLoss(), r.lr(), r.elapsedSeconds());
    }

    /**
     * Keeps the header and the complete rows up to step, in increasing step order (a resumed run rewrites
     * what came after its checkpoint, e.g. after a crash between an evaluation and the checkpoint that
     * followed it). A line torn by a crash, a repeated step or anything else that is not a row is dropped.
     * The file is rewritten (atomically) only when something changes.
     */
    public void truncateAfter(long step) throws IOException {
        if (!Files.isRegularFile(file)) return;
        StringBuilder rows = new StringBuilder();
        long[] lastStep = {Long.MIN_VALUE};
        boolean[] changed = {false};
        int[] lineNo = {0};
        scan(file, (line, terminated, crlf) -> {
            lineNo[0]++;
            if (crlf) changed[0] = true; // rewritten with the \n this class appends
            if (lineNo[0] == 1 && HEADER.equals(line) && terminated) return;
            Row row = line == null ? null : parse(line);
            if (lineNo[0] > 1 && row != null && terminated && row.step() <= step && row.step() > lastStep[0]) {
                rows.append(line).append('\n');
                lastStep[0] = row.step();
            } else {
                changed[0] = true; // no header first, a torn, repeated, later or foreign line
            }
        });
        if (rows.isEmpty() && lineNo[0] > 0) changed[0] = true;
        if (changed[0]) AtomicFiles.writeString(file, rows.isEmpty() ? "" : HEADER + "\n" + rows);
    }

    /**
     * Reads the rows. A last line without its newline is being written (or was torn by a crash) and is
     * left out; any other line that is not a row is an error.
     */
    public static List<Row> read(Path file) throws IOException {
        List<Row> rows = new ArrayList<>();
        int[] lineNo = {0};
        scan(file, (line, terminated, crlf) -> {
            lineNo[0]++;
            if (line != null && (line.isBlank() || line.startsWith("step"))) return;
            Row row = line == null ? null : parse(line);
            if (row != null) {
                rows.add(row);
            } else if (terminated) {
                throw new CheckpointException(file + " line " + lineNo[0] + " is not a row of " + HEADER);
            }
        });
        return rows;
    }

    /** One row, or null if line is not exactly five numbers with a non-negative whole step. */
    static Row parse(String line) {
        String[] f = line.split(",", -1);
        if (f.length != 5) return null;
        try {
            if (!f[0].matches("[0-9]{1,18}")) return null;
            return new Row(Long.parseLong(f[0]), number(f[1]), number(f[2]), number(f[3]), number(f[4]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A decimal number as String.format writes it (Double.parseDouble alone also takes hex, "1d", " 1"...). */
    private static final java.util.regex.Pattern NUMBER =
            java.util.regex.Pattern.compile("-?([0-9]{1,20}(\\.[0-9]{0,20})?|\\.[0-9]{1,20})([eE][-+]?[0-9]{1,3})?|NaN|-?Infinity");

    private static double number(String s) {
        if (!NUMBER.matcher(s).matches()) throw new NumberFormatException(s);
        return Double.parseDouble(s);
    }

    private interface LineHandler {
        /**
         * line is null when it was longer than MAX_LINE; terminated says whether a newline ended it, crlf
         * whether that was \r\n (the \r is not part of line).
         */
        void line(String line, boolean terminated, boolean crlf);
    }

    /** Reads lines of at most MAX_LINE bytes as ISO-8859-1 (a row is ASCII; any other byte makes no row). */
    private static void scan(Path file, LineHandler handler) throws IOException {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] buf = new byte[MAX_LINE];
            int len = 0;
            boolean tooLong = false, any = false;
            for (int b; (b = in.read()) != -1; ) {
                any = true;
                if (b == '\n') {
                    boolean crlf = len > 0 && buf[len - 1] == '\r';
                    if (crlf) len--;
                    handler.line(tooLong ? null : new String(buf, 0, len, StandardCharsets.ISO_8859_1), true, crlf);
                    len = 0;
                    tooLong = false;
                    any = false;
                } else if (len < MAX_LINE) {
                    buf[len++] = (byte) b;
                } else {
                    tooLong = true;
                }
            }
            if (any) handler.line(tooLong ? null : new String(buf, 0, len, StandardCharsets.ISO_8859_1), false, false);
        }
    }
}
