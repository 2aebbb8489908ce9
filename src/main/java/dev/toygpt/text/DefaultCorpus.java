package dev.toygpt.text;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The default corpus, Tiny Shakespeare, which the user asks for by the name {@value #NAME} instead of a
 * file path.
 *
 * <p>The text is not shipped with ToyGPT: it is downloaded once from Karpathy's char-rnn repository into
 * a per-user cache and reused from there. Because a truncated or altered file would still "work" and
 * only show up as a different vocabulary or different losses than the course's, the download is
 * checked against the known size and SHA-256 before it is kept, and the cached copy is checked again
 * every time it is used (hashing 1 MB takes milliseconds).
 *
 * <p>The download goes to a temporary file in the cache directory and is renamed into place only once
 * verified, so an interrupted or failed download never leaves a partial file behind under the final name,
 * and two runs downloading at once do not corrupt each other.
 */
public final class DefaultCorpus {
    /** The name that selects this corpus instead of a file path. */
    public static final String NAME = "shakespeare";
    public static final URI URL =
            URI.create("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt");
    /** Size in bytes of the published file. */
    public static final long SIZE = 1_115_394L;
    /** SHA-256 of the published file, lower-case hex. */
    public static final String SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed";
    /** File name inside the cache directory. */
    public static final String FILE_NAME = "tinyshakespeare.txt";
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(15);
    /**
     * Limit for the server to start answering, once connected. (The JDK client has no limit on reading
     * the body itself; the file is 1 MB, and a stalled transfer can be interrupted with Ctrl-C.)
     */
    static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);

    private final Path cacheDir;
    private final URI url;
    private final Duration connectTimeout;
    private final PrintStream notes;

    /** The real corpus, cached in {@link #cacheDir()}. */
    public DefaultCorpus() {
        this(cacheDir(), URL, CONNECT_TIMEOUT);
    }

    /** A corpus with another cache directory or download address (tests use a local server). */
    public DefaultCorpus(Path cacheDir, URI url, Duration connectTimeout) {
        this(cacheDir, url, connectTimeout, System.err);
    }

    /** As above, with the stream that receives the one-line download notes (normally stderr). */
    public DefaultCorpus(Path cacheDir, URI url, Duration connectTimeout, PrintStream notes) {
        this.cacheDir = Objects.requireNonNull(cacheDir, "cacheDir");
        this.url = Objects.requireNonNull(url, "url");
        this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
        this.notes = Objects.requireNonNull(notes, "notes");
    }

    /**
     * The per-user cache directory: {@code $XDG_CACHE_HOME/toygpt} when that variable is set to an
     * absolute path (the XDG convention on Linux), otherwise {@code ~/.cache/toygpt}.
     */
    public static Path cacheDir() {
        return cacheDir(System.getenv("XDG_CACHE_HOME"), System.getProperty("user.home"));
    }

    /** {@link #cacheDir()} with its inputs given, for tests. Relative XDG values are ignored, as the spec says. */
    static Path cacheDir(String xdgCacheHome, String userHome) {
        if (xdgCacheHome != null && !xdgCacheHome.isBlank()) {
            try {
                Path xdg = Path.of(xdgCacheHome);
                if (xdg.isAbsolute()) {
                    return xdg.resolve("toygpt");
                }
            } catch (InvalidPathException ignored) {
                // fall through to the home directory
            }
        }
        return Path.of(userHome, ".cache", "toygpt");
    }

    /**
     * Turns the user's data argument into a file: {@value #NAME} means the cached Tiny Shakespeare,
     * downloaded first if needed; anything else is a path. (To use a local file that happens to be
     * called "shakespeare", write it as {@code ./shakespeare}.)
     *
     * @throws DataException if the argument is empty or not a valid path, or the download fails
     */
    public static Path resolve(String dataArg) {
        return new DefaultCorpus().resolveData(dataArg);
    }

    /** {@link #resolve(String)} with this instance's cache directory and address. */
    public Path resolveData(String dataArg) {
        Objects.requireNonNull(dataArg, "dataArg");
        if (dataArg.equals(NAME)) {
            return fetch();
        }
        if (dataArg.isBlank()) {
            throw new DataException("no data file given: pass the path of a UTF-8 text file, or '" + NAME + "'");
        }
        try {
            return Path.of(dataArg);
        } catch (InvalidPathException e) {
            throw new DataException("invalid data file path '" + dataArg + "': " + e.getReason(), e);
        }
    }

    /** Where the corpus is (or will be) cached. */
    public Path file() {
        return cacheDir.resolve(FILE_NAME);
    }

    /**
     * The verified cached file, downloading it first if it is missing or does not match the checksum.
     *
     * @throws DataException if it cannot be downloaded and verified; nothing new is left in the cache
     */
    public Path fetch() {
        Path target = file();
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            throw new DataException(target + " exists but is not a file; remove it so the corpus can be downloaded there");
        }
        if (!Files.exists(target)) {
            notes.println("Downloading Tiny Shakespeare (" + SIZE + " bytes) from " + url + " to " + target);
            download(target, "");
            return target;
        }
        String problem = checkCached(target);
        if (problem == null) {
            return target;
        }
        notes.println("The cached copy " + target + " " + problem + "; downloading it again from " + url);
        download(target, "the cached copy " + target + " " + problem + ", and ");
        return target;
    }

    /** Null if the cached file is the published one, else what is wrong with it. */
    private static String checkCached(Path target) {
        try {
            long size = Files.size(target);
            if (size != SIZE) {
                return "has the wrong size (" + size + " bytes instead of " + SIZE + ")";
            }
            String actual = sha256(target);
            return actual.equals(SHA256) ? null : "has the wrong SHA-256 checksum (" + actual + ")";
        } catch (IOException e) {
            throw new DataException("cannot read the cached corpus " + target + ": " + describe(e), e);
        }
    }

    /**
     * Downloads into a temporary file next to the target, verifies size and checksum while writing, and
     * renames it into place. The connection is made before anything is created on disk, so being offline
     * leaves the cache untouched.
     */
    private void download(Path target, String context) {
        String failure = context + "downloading " + url + " failed: ";
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        HttpRequest request = HttpRequest.newBuilder(url).timeout(RESPONSE_TIMEOUT).GET().build();
        Path temp = null;
        boolean moved = false;
        try {
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = response.body()) {
                if (response.statusCode() != 200) {
                    throw new DataException(failure + "the server answered HTTP " + response.statusCode()
                            + ". " + manualHint(target));
                }
                temp = createTempFile(target);
                String problem = copyAndVerify(body, temp);
                if (problem != null) {
                    throw new DataException(failure + problem + ". " + manualHint(target));
                }
            }
            moveIntoPlace(temp, target);
            moved = true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataException(failure + "interrupted", e);
        } catch (IOException | UncheckedIOException e) {
            String connectProblem = connectProblem(e);
            String what = connectProblem == null
                    ? describe(e)
                    : "could not connect to " + url.getHost() + " (" + connectProblem + "); this machine may be"
                            + " offline or need a proxy (java -Dhttps.proxyHost=HOST -Dhttps.proxyPort=PORT)";
            throw new DataException(failure + what + ". " + manualHint(target), e);
        } finally {
            if (temp != null && !moved) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // Nothing better to do; the original failure is what the user needs to see.
                }
            }
        }
    }

    /** A fresh temporary file in the cache directory (same file system, so the final rename is atomic). */
    private Path createTempFile(Path target) {
        try {
            Files.createDirectories(cacheDir);
            return Files.createTempFile(cacheDir, FILE_NAME + ".", ".part");
        } catch (IOException e) {
            throw new DataException("cannot write to the cache directory " + cacheDir.toAbsolutePath() + " ("
                    + describe(e) + "); make it writable or set XDG_CACHE_HOME to a writable directory. "
                    + manualHint(target), e);
        }
    }

    /** Streams the body to the file while counting and hashing; returns null if it is the published file. */
    private static String copyAndVerify(InputStream body, Path temp) throws IOException {
        MessageDigest digest = newSha256();
        long total = 0;
        try (OutputStream out = Files.newOutputStream(temp)) {
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = body.read(buffer)) != -1; ) {
                total += n;
                if (total > SIZE) {
                    // Stop early rather than fill the disk if the address serves something else.
                    return "the download is larger than the expected " + SIZE + " bytes";
                }
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
            }
        }
        if (total != SIZE) {
            return "received " + total + " bytes, expected " + SIZE;
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(SHA256)) {
            return "checksum mismatch: the SHA-256 of the download is " + actual + ", expected " + SHA256;
        }
        return null;
    }

    private static void moveIntoPlace(Path temp, Path target) throws IOException {
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so this should not happen; a plain replace is the best remaining option.
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private String manualHint(Path target) {
        return "To install it by hand, download " + url + " on a machine with internet access and copy it to "
                + target.toAbsolutePath() + " (" + SIZE + " bytes, SHA-256 " + SHA256
                + "), or give the path of another UTF-8 text file instead of '" + NAME + "'";
    }

    /**
     * If the exception means no connection could be made, a plain description of why; else null.
     * The HTTP client reports these as a ConnectException without a message, wrapping the real cause.
     */
    private String connectProblem(Throwable e) {
        boolean connect = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
                return "host name not found";
            }
            if (t instanceof HttpConnectTimeoutException) {
                return "no answer within " + connectTimeout.toSeconds() + " s";
            }
            connect |= t instanceof ConnectException;
        }
        return connect ? "connection refused or failed" : null;
    }

    /** A compact account of an exception and its causes; network exceptions often have no message. */
    private static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String part = t.getClass().getSimpleName()
                    + (t.getMessage() == null || t.getMessage().isBlank() ? "" : ": " + t.getMessage());
            if (sb.indexOf(part) < 0) {
                sb.append(sb.length() == 0 ? "" : "; caused by ").append(part);
            }
        }
        return sb.toString();
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest = newSha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[64 * 1024];
            for (int n; (n = in.read(buffer)) != -1; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime must provide SHA-256", e);
        }
    }
}
