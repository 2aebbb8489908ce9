package dev.toygpt.experiments;

import java.nio.file.Path;
import java.util.List;

/**
 * What an experiment found: what was trained (intro), the numbers (table), generated text (samples),
 * anything that cut it short (notes), and one line saying what the numbers show (conclusion).
 */
public record Report(String experiment, String intro, TextTable table, List<Sample> samples, List<String> notes,
                     String conclusion, List<Path> charts) {

    /** Text a model generated, under a heading such as "after 100 steps". */
    public record Sample(String heading, String text) {}

    public Report {
        samples = List.copyOf(samples);
        notes = List.copyOf(notes);
        charts = List.copyOf(charts);
    }

    /** The report as printed: intro, table, samples, notes, then "Result: " and the conclusion. */
    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append(intro.strip()).append("\n\n");
        sb.append(table.render());
        if (!samples.isEmpty()) {
            sb.append("\nSamples (from a newline, temperature 1):\n");
            for (Sample s : samples) {
                sb.append("--- ").append(s.heading()).append(" ---\n");
                sb.append(s.text().stripTrailing()).append('\n');
            }
        }
        sb.append('\n');
        for (String n : notes) sb.append("Note: ").append(n).append('\n');
        sb.append("Result: ").append(conclusion).append('\n');
        return sb.toString();
    }
}
