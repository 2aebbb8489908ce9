package dev.toygpt.cli;

import picocli.CommandLine;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads durations like {@code 90}, {@code 60s}, {@code 5m}, {@code 1h30m}, {@code 1.5h} or ISO-8601 {@code PT5M}. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h|d)");

    @Override
    public Duration convert(String value) {
        String v = value.trim().toLowerCase();
        Duration d;
        if (v.startsWith("pt") || v.startsWith("p")) {
            try {
                d = Duration.parse(v.toUpperCase());
            } catch (DateTimeParseException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration; use e.g. 90s, 5m, 1h30m or PT5M");
            }
        } else if (v.matches("\\d+(\\.\\d+)?")) {
            d = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
        } else {
            Matcher m = PART.matcher(v);
            int end = 0;
            double millis = 0;
            while (m.find() && m.start() == end) {
                double n = Double.parseDouble(m.group(1));
                millis += n * switch (m.group(2)) {
                    case "ms" -> 1;
                    case "s" -> 1000;
                    case "m" -> 60_000;
                    case "h" -> 3_600_000;
                    default -> 86_400_000;
                };
                end = m.end();
            }
            if (end == 0 || end != v.length()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a duration; use e.g. 90s, 5m, 1h30m");
            }
            d = Duration.ofMillis(Math.round(millis));
        }
        if (d.isNegative() || d.isZero()) throw new CommandLine.TypeConversionException("the duration must be positive, got '" + value + "'");
        return d;
    }
}
