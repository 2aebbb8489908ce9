package dev.toygpt.experiments;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table for the terminal: a header, a rule, and columns at least two spaces apart. */
public final class TextTable {
    private final List<String> headers;
    private final List<List<String>> rows = new ArrayList<>();

    public TextTable(String... headers) {
        this.headers = List.of(headers);
    }

    /** Adds a row; cells are shown as given (format numbers before). */
    public TextTable row(String... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException("a row of " + cells.length + " cells in a table of " + headers.size() + " columns");
        }
        rows.add(List.of(cells));
        return this;
    }

    public List<String> headers() {
        return headers;
    }

    public List<List<String>> rows() {
        return List.copyOf(rows);
    }

    /**
     * The table as lines of text. A column whose cells all look like numbers (or are "-") is aligned
     * right, so that digits line up; others are aligned left.
     */
    public String render() {
        int n = headers.size();
        int[] width = new int[n];
        boolean[] numeric = new boolean[n];
        Arrays.fill(numeric, true);
        for (int c = 0; c < n; c++) {
            width[c] = length(headers.get(c));
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], length(r.get(c)));
                if (!r.get(c).matches("[-+]?[0-9][0-9,]*(\\.[0-9]+)?( ?%|x)?|-")) numeric[c] = false;
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, headers, width, numeric);
        for (int c = 0; c < n; c++) {
            if (c > 0) sb.append("  ");
            sb.append("-".repeat(width[c]));
        }
        sb.append('\n');
        for (List<String> r : rows) line(sb, r, width, numeric);
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] width, boolean[] numeric) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            if (c > 0) line.append("  ");
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - length(cell));
            line.append(numeric[c] ? pad + cell : cell + pad);
        }
        sb.append(line.toString().stripTrailing()).append('\n');
    }

    private static int length(String s) {
        return s.codePointCount(0, s.length());
    }
}
