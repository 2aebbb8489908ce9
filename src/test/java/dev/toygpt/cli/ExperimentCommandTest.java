package dev.toygpt.cli;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.plot.ChartFiles;
import dev.toygpt.text.Corpus;
import dev.toygpt.train.Presets;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each experiment end to end on two small texts, an English-like one and one with accented letters and
 * emoji, with the hidden test knobs (a tiny GPT, fewer steps) so that each takes seconds. The printed
 * table must be complete and its numbers must agree with what the experiment is meant to show.
 */
class ExperimentCommandTest extends CliTestBase {
    @TempDir
    Path tmp;

    /**
     * Made-up lines in the manner of a language: a few frequent short words and a long tail of rarer ones
     * built from syllables. The long tail matters: a small text then holds many words seen only once, which a
     * model can learn by heart on the training split but not predict on the validation split, as with real
     * text (a text of a handful of repeated words would be learnt without overfitting).
     */
    static String madeUpText(long seed, String[] common, String[] onsets, String[] vowels, String[] codas, String[] lineEnds) {
        Rng rng = new Rng(seed);
        String[] rare = new String[400];
        for (int i = 0; i < rare.length; i++) {
            StringBuilder w = new StringBuilder();
            int syllables = 1 + rng.nextInt(3);
            for (int k = 0; k < syllables; k++) {
                w.append(onsets[rng.nextInt(onsets.length)]).append(vowels[rng.nextInt(vowels.length)]).append(codas[rng.nextInt(codas.length)]);
            }
            rare[i] = w.toString();
        }
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 6000) {
            int words = 4 + rng.nextInt(6);
            StringBuilder line = new StringBuilder();
            for (int k = 0; k < words; k++) {
                if (k > 0) line.append(' ');
                line.append(rng.nextInt(2) == 0 ? common[rng.nextInt(common.length)] : rare[rng.nextInt(rare.length)]);
            }
            line.setCharAt(0, Character.toUpperCase(line.charAt(0)));
            sb.append(line).append(lineEnds[rng.nextInt(lineEnds.length)]).append('\n');
        }
        return sb.toString();
    }

    /** English-like: the, and, of... and words such as "brastel" or "thouck". */
    static String englishText() {
        return madeUpText(11, new String[]{"the", "and", "of", "to", "a", "in", "my", "is", "you", "that", "it", "not"},
                new String[]{"b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "w", "th", "st", "br", "cl", "sh"},
                new String[]{"a", "e", "i", "o", "u", "ea", "ou", "ai"}, new String[]{"", "", "n", "r", "s", "t", "ll", "ng", "ck", "nd"},
                new String[]{".", ",", "!", "?", ";"});
    }

    /** French-Spanish-like, with accented letters (é, ç, ñ, ü, ã...) and two emoji at line ends. */
    static String accentedText() {
        return madeUpText(12, new String[]{"le", "la", "et", "de", "que", "où", "très", "à", "ça", "él", "señor"},
                new String[]{"b", "ç", "d", "l", "m", "n", "ñ", "p", "r", "s", "t", "v", "qu"},
                new String[]{"a", "e", "i", "o", "u", "é", "è", "à", "ô", "ü", "ã", "í"}, new String[]{"", "", "n", "s", "r", "l"},
                new String[]{".", " !", " 😀", " 🌍", ","});
    }

    /** The text by name: "english" or "accented". */
    private Path text(String which) throws IOException {
        return write(tmp.resolve(which + ".txt"), which.equals("english") ? englishText() : accentedText());
    }

    /** Runs an experiment with the tiny GPT into tmp/NAME and checks the files every experiment leaves. */
    private Run experiment(String name, Path data, String... extra) throws Exception {
        Path out = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("experiment", name, "--data", data.toString(), "--out", out.toString(), "--tiny"));
        args.addAll(List.of(extra));
        Run r = assertSucceeded(run(args.toArray(String[]::new)));
        assertEquals(r.out(), Files.readString(out.resolve("summary.txt"), StandardCharsets.UTF_8), "summary.txt is what was printed");
        assertTrue(r.err().contains("chart written to " + out.resolve(name + ".png")), r.err());
        ChartFiles.assertPng(out.resolve(name + ".png"));
        ChartFiles.assertSvg(out.resolve(name + ".svg"));
        // (a time-limited run's first line comes after some steps: it does not evaluate the untrained model)
        assertTrue(java.util.regex.Pattern.compile("\\] step [\\d,]+/").matcher(r.err()).find(),
                "progress lines on stderr:\n" + r.err());
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("Result: ")).count(), r.out());
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"english", "accented"})
    void steps(String which) throws Exception {
        Path data = text(which);
        Run r = experiment("steps", data);
        Table t = Table.parse(r.out());
        assertEquals(List.of("10", "100", "1,000", "5,000"), t.column("steps"));
        double[] val = t.numbers("val loss"), train = t.numbers("train loss");
        assertTrue(val[2] < val[0], "validation loss at 1,000 steps below that at 10:\n" + r.out());
        assertTrue(train[2] < train[0], "training loss at 1,000 steps below that at 10:\n" + r.out());
        assertTrue(val[3] < val[0], r.out());
        double[] seconds = t.numbers("seconds");
        for (int i = 1; i < seconds.length; i++) assertTrue(seconds[i] >= seconds[i - 1], "time only grows: " + r.out());
        // a sample after each step count, made of the text's characters
        Corpus corpus = Corpus.load(data);
        for (String count : List.of("10", "100", "1,000", "5,000")) {
            String sample = section(r.out(), "--- after " + count + " steps ---");
            assertTrue(Cli.length(sample) >= 150, "sample after " + count + ": " + sample);
            sample.codePoints().filter(c -> c != '\n').forEach(c -> assertTrue(corpus.vocabulary().contains(c), "unknown character " + c));
        }
        assertMentions(r.out(), "Result: validation loss fell from " + String.format(java.util.Locale.ROOT, "%.2f", val[0]) + " after 10 steps");
        // the one run's directory is a normal run: metrics, checkpoints, its own chart
        Path runDir = tmp.resolve("steps").resolve("gpt");
        assertTrue(Files.readString(runDir.resolve("metrics.csv")).contains("\n5000,"), "evaluated at step 5,000");
        ChartFiles.assertPng(runDir.resolve("loss.png"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"english", "accented"})
    void blockSize(String which) throws Exception {
        Run r = experiment("block-size", text(which), "--step-scale", "0.3");
        Table t = Table.parse(r.out());
        assertEquals(List.of("8", "16", "32", "64"), t.column("block size"));
        assertEquals(List.of("300", "300", "300", "300"), t.column("steps"), "equal training steps");
        double[] params = t.numbers("parameters");
        for (int i = 1; i < params.length; i++) {
            // the tiny GPT's position table has block_size rows of 16
            assertEquals(params[i - 1] + 16 * (Integer.parseInt(t.column("block size").get(i)) - Integer.parseInt(t.column("block size").get(i - 1))),
                    params[i], 1e-9, r.out());
        }
        double lnVocab = Math.log(Corpus.load(tmp.resolve(which + ".txt")).vocabulary().size());
        for (double v : t.numbers("val loss")) assertTrue(v > 0.5 && v < lnVocab, "learned something: " + r.out());
        double[] val = t.numbers("val loss");
        assertMentions(r.out(), String.format(java.util.Locale.ROOT, "validation loss went from %.2f with block size 8 to %.2f with block size 64", val[0], val[3]));
        ChartFiles.assertSvg(tmp.resolve("block-size").resolve("curves.svg"), "block 8", "block 64");
        for (int b : new int[]{8, 16, 32, 64}) assertTrue(Files.isRegularFile(tmp.resolve("block-size").resolve("block-" + b).resolve("loss.png")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"english", "accented"})
    void smallData(String which) throws Exception {
        Run r = experiment("small-data", text(which), "--chars", "1500", "--step-scale", "2");
        Table t = Table.parse(r.out());
        List<String> steps = t.column("step");
        assertEquals("0", steps.get(0));
        assertEquals("3,000", steps.get(steps.size() - 1));
        double[] train = t.numbers("train loss"), val = t.numbers("val loss"), gap = t.numbers("val - train");
        int last = train.length - 1;
        assertTrue(train[last] < val[last], "final train loss below final validation loss:\n" + r.out());
        assertTrue(train[last] < train[0] - 1, "the model learns its training text:\n" + r.out());
        for (int i = 0; i < gap.length; i++) assertEquals(val[i] - train[i], gap[i], 0.0015, "gap column of row " + i);
        assertMentions(r.out(), "on 1,500 characters", "(1,350 to train on, 150 to validate)");
        double lowest = java.util.Arrays.stream(val).min().orElseThrow();
        assertTrue(r.out().contains("Result: overfitting") == (val[last] > lowest + 0.05), "the conclusion follows the numbers:\n" + r.out());
        ChartFiles.assertSvg(tmp.resolve("small-data").resolve("small-data.svg"), "train", "validation");
    }

    @ParameterizedTest
    @ValueSource(strings = {"english", "accented"})
    void models(String which) throws Exception {
        Path data = text(which);
        Run r = experiment("models", data, "--step-scale", "0.2");
        Table t = Table.parse(r.out());
        assertEquals(List.of("bigram", "mlp-onehot", "mlp-embedding", "gpt"), t.column("model"));
        assertEquals(List.of("1,000", "1,000", "1,000", "600"), t.column("steps"));
        // parameter counts are those of the models themselves
        int v = Corpus.load(data).vocabulary().size();
        List<ModelConfig> configs = List.of(Presets.defaults(dev.toygpt.models.ModelKind.BIGRAM).model(),
                Presets.defaults(dev.toygpt.models.ModelKind.MLP_ONEHOT).model(), Presets.defaults(dev.toygpt.models.ModelKind.MLP_EMBEDDING).model(),
                ModelConfig.gpt(0, 16, 2, 1, 8, 0f));
        double[] params = t.numbers("parameters");
        for (int i = 0; i < configs.size(); i++) {
            ModelConfig c = configs.get(i);
            ModelConfig withVocab = new ModelConfig(c.kind(), v, c.nEmbd(), c.nHead(), c.nLayer(), c.blockSize(), c.dropout(), c.hidden());
            assertEquals(LanguageModel.create(withVocab, new Rng(1)).parameterCount(), (long) params[i], t.column("model").get(i));
        }
        // the conclusion names the model with the lowest validation loss
        double[] val = t.numbers("val loss");
        int best = 0;
        for (int i = 1; i < val.length; i++) if (val[i] < val[best]) best = i;
        String[] display = {"bigram", "one-hot MLP", "embedding MLP", "GPT"};
        assertMentions(r.out(), "Result: the " + display[best] + " predicts best, validation loss " + String.format(java.util.Locale.ROOT, "%.2f", val[best]));
        for (double s : t.numbers("seconds")) assertTrue(s > 0, r.out());
        Corpus corpus = Corpus.load(data);
        for (String model : t.column("model")) {
            String sample = section(r.out(), "--- " + model + " ---");
            assertFalse(sample.isBlank(), model);
            sample.codePoints().filter(c -> c != '\n').forEach(c -> assertTrue(corpus.vocabulary().contains(c), "unknown character " + c));
        }
        ChartFiles.assertSvg(tmp.resolve("models").resolve("models.svg"), "bigram", "one-hot MLP", "embedding MLP", "GPT");
    }

    @Test
    void aTimeLimitStopsEarlyAndSaysHowFarTheRunsGot() throws Exception {
        Path data = text("english");
        long start = System.nanoTime();
        // 100 times the steps: far more than two seconds allow
        Run r = experiment("block-size", data, "--step-scale", "100", "--time-limit", "2s");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(seconds < 20, "the time limit bounds the experiment, took " + seconds + " s");
        Table t = Table.parse(r.out());
        assertFalse(t.rows.isEmpty(), r.out());
        for (String steps : t.column("steps")) assertTrue(Integer.parseInt(steps.replace(",", "")) < 100_000, r.out());
        assertMentions(r.out(), "Note: ", "time limit");
    }

    @Test
    void badInputIsExplained() throws Exception {
        Path data = text("english");
        assertBadInput(run("experiment", "nonsense", "--data", data.toString()), "unknown experiment 'nonsense'", "steps, block-size, small-data, models");
        assertBadInput(run("experiment"), "NAME");
        assertBadInput(run("experiment", "steps", "--data", tmp.resolve("missing.txt").toString(), "--out", tmp.resolve("o1").toString()), "not found");

        Path taken = Files.createDirectories(tmp.resolve("taken"));
        write(taken.resolve("notes.txt"), "mine");
        assertBadInput(run("experiment", "steps", "--data", data.toString(), "--out", taken.toString()), "already holds files");
        assertEquals("mine", Files.readString(taken.resolve("notes.txt")));

        // 40 characters: the validation split (4) cannot hold a window of 65
        Path tiny = write(tmp.resolve("short.txt"), "abcdefghij".repeat(4));
        assertBadInput(run("experiment", "block-size", "--data", tiny.toString(), "--out", tmp.resolve("o2").toString(), "--tiny"),
                "too short for block size 64");
        assertBadInput(run("experiment", "small-data", "--data", data.toString(), "--chars", "1", "--out", tmp.resolve("o3").toString()),
                "--chars must be at least 2");
        assertBadInput(run("experiment", "steps", "--data", data.toString(), "--threads", "0", "--out", tmp.resolve("o4").toString()),
                "--threads must be at least 1");
        assertBadInput(run("experiment", "steps", "--data", data.toString(), "--time-limit", "soon"), "not a duration");
    }

    /** The text between a heading line and the next blank line or heading. */
    private static String section(String out, String heading) {
        int at = out.indexOf(heading + "\n");
        assertTrue(at >= 0, "no \"" + heading + "\" in:\n" + out);
        String rest = out.substring(at + heading.length() + 1);
        Matcher end = Pattern.compile("\n(--- |\nNote: |\nResult: )").matcher(rest);
        return end.find() ? rest.substring(0, end.start()) : rest;
    }

    /** The first table in a report: a header line, a rule of dashes, rows up to the first blank line. */
    record Table(List<String> headers, List<Map<String, String>> rows) {
        static Table parse(String out) {
            List<String> lines = out.lines().toList();
            int rule = -1;
            for (int i = 1; i < lines.size(); i++) {
                if (lines.get(i).matches("-+( {2}-+)*")) {
                    rule = i;
                    break;
                }
            }
            assertTrue(rule > 0, "no table in:\n" + out);
            // columns sit where the rule's dashes are
            List<int[]> spans = new ArrayList<>();
            Matcher m = Pattern.compile("-+").matcher(lines.get(rule));
            while (m.find()) spans.add(new int[]{m.start(), m.end()});
            List<String> headers = cells(lines.get(rule - 1), spans);
            List<Map<String, String>> rows = new ArrayList<>();
            for (int i = rule + 1; i < lines.size() && !lines.get(i).isBlank(); i++) {
                List<String> cells = cells(lines.get(i), spans);
                Map<String, String> row = new LinkedHashMap<>();
                for (int c = 0; c < headers.size(); c++) row.put(headers.get(c), cells.get(c));
                rows.add(row);
            }
            return new Table(headers, rows);
        }

        private static List<String> cells(String line, List<int[]> spans) {
            List<String> cells = new ArrayList<>();
            for (int[] s : spans) cells.add(s[0] >= line.length() ? "" : line.substring(s[0], Math.min(s[1], line.length())).strip());
            return cells;
        }

        List<String> column(String header) {
            assertTrue(headers.contains(header), "no column " + header + " in " + headers);
            return rows.stream().map(r -> r.get(header)).toList();
        }

        double[] numbers(String header) {
            return column(header).stream().mapToDouble(s -> Double.parseDouble(s.replace(",", "").replace("%", ""))).toArray();
        }
    }
}
