package dev.toygpt.text;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Locates the local copy of Tiny Shakespeare; tests that need it are skipped when it is absent. */
final class TestData {
    private TestData() {}

    /** The local copy if there is one, for tests that can do without it. */
    static Optional<Path> shakespeareIfPresent() {
        String property = System.getProperty("toygpt.shakespeare");
        if (property == null || property.isBlank() || !Files.isRegularFile(Path.of(property))) {
            return Optional.empty();
        }
        return Optional.of(Path.of(property));
    }

    /** The file named by the {@code toygpt.shakespeare} system property (set by the pom). */
    static Path shakespeare() {
        String property = System.getProperty("toygpt.shakespeare");
        assumeTrue(property != null && !property.isBlank(), "system property toygpt.shakespeare is not set");
        Path file = Path.of(property);
        assumeTrue(Files.isRegularFile(file), "Tiny Shakespeare not found at " + file);
        return file;
    }
}
