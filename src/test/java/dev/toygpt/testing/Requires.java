package dev.toygpt.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Tools some tests need that a developer's machine may lack: a browser for the page tests, Debian's
 * PyTorch for the hand-over tests. Without them a test is skipped with a message saying what to install;
 * in CI ({@code CI=true}) it fails instead, because .ci/run installs them and a skip would hide a gap.
 */
public final class Requires {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    public static final Path PYTHON = Path.of("/usr/bin/python3");

    private Requires() {}

    /** Chromium and its driver, from Debian's packages. */
    public static void chromium() {
        boolean ok = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        missing(ok, "Chromium and ChromeDriver (" + CHROMIUM + ", " + CHROMEDRIVER + ")",
                "apt-get install -y chromium chromium-driver");
    }

    /** Debian's PyTorch, run with /usr/bin/python3. */
    public static void pytorch() {
        missing(Files.isExecutable(PYTHON) && imports("torch"), "PyTorch for " + PYTHON,
                "apt-get install -y python3-torch libopenblas0-pthread");
    }

    private static boolean imports(String module) {
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import " + module)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void missing(boolean present, String what, String install) {
        if (present) return;
        String message = "this test needs " + what + "; install with: " + install;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI: " + message);
        Assumptions.abort(message);
    }
}
