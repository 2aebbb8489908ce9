package dev.toygpt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Download tests against a local HTTP server on 127.0.0.1; nothing here touches the internet. */
class DefaultCorpusTest {
    @TempDir
    Path tmp;

    private HttpServer server;
    private final AtomicInteger requests = new AtomicInteger();
    private final ByteArrayOutputStream notes = new ByteArrayOutputStream();

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** Serves {@code body} with {@code status} at /input.txt and returns its address. */
    private URI serve(int status, byte[] body) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/input.txt", exchange -> {
            requests.incrementAndGet();
            exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/input.txt");
    }

    /** An address on which nothing listens, as when the machine is offline. */
    private static URI closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/input.txt");
        }
    }

    private DefaultCorpus corpus(Path cacheDir, URI url) {
        return new DefaultCorpus(cacheDir, url, Duration.ofSeconds(5),
                new PrintStream(notes, true, StandardCharsets.UTF_8));
    }

    private String notes() {
        return notes.toString(StandardCharsets.UTF_8);
    }

    private static byte[] realFile() throws IOException {
        return Files.readAllBytes(TestData.shakespeare());
    }

    /** A stand-in of the right size for tests that only need the download to be wrong. */
    private static byte[] wrongContentOfTheRightSize() {
        byte[] bytes = new byte[(int) DefaultCorpus.SIZE];
        Arrays.fill(bytes, (byte) 'a');
        return bytes;
    }

    private static List<String> filesIn(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void downloadsVerifiesAndCachesTheRealFile() throws IOException {
        byte[] real = realFile();
        Path cache = tmp.resolve("cache");
        DefaultCorpus corpus = corpus(cache, serve(200, real));

        Path file = corpus.fetch();

        assertEquals(cache.resolve("tinyshakespeare.txt"), file);
        assertArrayEquals(real, Files.readAllBytes(file));
        assertEquals(List.of("tinyshakespeare.txt"), filesIn(cache));
        assertEquals(1, requests.get());
        assertTrue(notes().startsWith("Downloading Tiny Shakespeare (1115394 bytes) from http://127.0.0.1:"),
                notes());
        assertEquals(1, notes().lines().count(), notes());
        assertEquals(65, Corpus.load(file).vocabulary().size());
    }

    @Test
    void usesTheCachedFileWithoutTheNetwork() throws IOException {
        Path cache = tmp.resolve("cache");
        Files.createDirectories(cache);
        Files.write(cache.resolve("tinyshakespeare.txt"), realFile());

        Path file = corpus(cache, closedPort()).fetch();

        assertEquals(cache.resolve("tinyshakespeare.txt"), file);
        assertEquals("", notes());
    }

    @Test
    void corruptedDownloadIsRejectedAndNothingIsLeft() throws IOException {
        // One flipped bit in the real text when it is available; the size is right either way.
        byte[] corrupted = wrongContentOfTheRightSize();
        if (TestData.shakespeareIfPresent().isPresent()) {
            corrupted = realFile();
            corrupted[1000] ^= 1;
        }
        Path cache = tmp.resolve("cache");
        URI url = serve(200, corrupted);

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        String message = e.getMessage();
        assertTrue(message.startsWith("downloading " + url + " failed: checksum mismatch: the SHA-256 of the"
                + " download is "), message);
        assertTrue(message.contains(", expected " + DefaultCorpus.SHA256), message);
        assertTrue(message.contains("copy it to " + cache.resolve("tinyshakespeare.txt").toAbsolutePath()),
                message);
        assertEquals(List.of(), filesIn(cache));
    }

    @Test
    void truncatedDownloadIsRejected() throws IOException {
        Path cache = tmp.resolve("cache");
        URI url = serve(200, "First Citizen:\n".getBytes(StandardCharsets.UTF_8));

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        assertTrue(e.getMessage().startsWith("downloading " + url + " failed: received 15 bytes, expected 1115394."),
                e.getMessage());
        assertEquals(List.of(), filesIn(cache));
    }

    @Test
    void oversizedDownloadIsCutShort() throws IOException {
        Path cache = tmp.resolve("cache");
        URI url = serve(200, new byte[(int) DefaultCorpus.SIZE + 100_000]);

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        assertTrue(e.getMessage().contains("failed: the download is larger than the expected 1115394 bytes."),
                e.getMessage());
        assertEquals(List.of(), filesIn(cache));
    }

    @Test
    void httpErrorStatus() throws IOException {
        Path cache = tmp.resolve("cache");
        URI url = serve(404, "Not Found".getBytes(StandardCharsets.UTF_8));

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        assertEquals("downloading " + url + " failed: the server answered HTTP 404. To install it by hand,"
                + " download " + url + " on a machine with internet access and copy it to "
                + cache.resolve("tinyshakespeare.txt").toAbsolutePath() + " (1115394 bytes, SHA-256 "
                + DefaultCorpus.SHA256 + "), or give the path of another UTF-8 text file instead of 'shakespeare'",
                e.getMessage());
        assertFalse(Files.exists(cache), "the cache directory should not even be created");
    }

    @Test
    void offlineSaysWhereToPutTheFile() throws IOException {
        Path cache = tmp.resolve("cache");
        URI url = closedPort();

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        String message = e.getMessage();
        assertTrue(message.startsWith("downloading " + url + " failed: could not connect to 127.0.0.1"
                + " (connection refused or failed); this machine may be offline or need a proxy"), message);
        assertTrue(message.contains("download " + url + " on a machine with internet access and copy it to "
                + cache.resolve("tinyshakespeare.txt").toAbsolutePath()), message);
        assertFalse(Files.exists(cache), "the cache directory should not even be created");
    }

    @Test
    void corruptCachedFileIsDownloadedAgain() throws IOException {
        byte[] real = realFile();
        Path cache = tmp.resolve("cache");
        Files.createDirectories(cache);
        Path cached = cache.resolve("tinyshakespeare.txt");
        Files.write(cached, wrongContentOfTheRightSize());

        Path file = corpus(cache, serve(200, real)).fetch();

        assertEquals(cached, file);
        assertArrayEquals(real, Files.readAllBytes(file));
        assertEquals(List.of("tinyshakespeare.txt"), filesIn(cache));
        assertTrue(notes().startsWith("The cached copy " + cached + " has the wrong SHA-256 checksum ("), notes());
        assertTrue(notes().contains("; downloading it again from http://127.0.0.1:"), notes());
    }

    @Test
    void corruptCachedFileAndFailedDownloadSaysBoth() throws IOException {
        Path cache = tmp.resolve("cache");
        Files.createDirectories(cache);
        Path cached = cache.resolve("tinyshakespeare.txt");
        byte[] bad = "only the start".getBytes(StandardCharsets.UTF_8);
        Files.write(cached, bad);
        URI url = serve(404, new byte[0]);

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        assertTrue(e.getMessage().startsWith("the cached copy " + cached + " has the wrong size (14 bytes instead"
                + " of 1115394), and downloading " + url + " failed: the server answered HTTP 404."), e.getMessage());
        assertArrayEquals(bad, Files.readAllBytes(cached), "a failed download must not touch the cache");
        assertEquals(List.of("tinyshakespeare.txt"), filesIn(cache));
    }

    @Test
    void unwritableCacheDirectory() throws IOException {
        Path blocker = Files.writeString(tmp.resolve("not-a-dir"), "x");
        Path cache = blocker.resolve("toygpt"); // cannot be created: its parent is a file
        URI url = serve(200, wrongContentOfTheRightSize());

        DataException e = assertThrows(DataException.class, () -> corpus(cache, url).fetch());

        String message = e.getMessage();
        assertTrue(message.startsWith("cannot write to the cache directory " + cache.toAbsolutePath() + " ("),
                message);
        assertTrue(message.contains("); make it writable or set XDG_CACHE_HOME to a writable directory. To install"
                + " it by hand, download " + url), message);
        assertEquals("x", Files.readString(blocker));
    }

    @Test
    void directoryInTheWayOfTheCachedFile() throws IOException {
        Path cache = tmp.resolve("cache");
        Files.createDirectories(cache.resolve("tinyshakespeare.txt"));

        DataException e = assertThrows(DataException.class, () -> corpus(cache, closedPort()).fetch());

        assertEquals(cache.resolve("tinyshakespeare.txt") + " exists but is not a file; remove it so the corpus"
                + " can be downloaded there", e.getMessage());
    }

    @Test
    void resolveMapsTheNameToTheCachedFileAndAnythingElseToAPath() throws IOException {
        Path cache = tmp.resolve("cache");
        DefaultCorpus corpus = corpus(cache, serve(200, realFile()));

        assertEquals(cache.resolve("tinyshakespeare.txt"), corpus.resolveData("shakespeare"));
        assertEquals(Path.of("data/my.txt"), corpus.resolveData("data/my.txt"));
        assertEquals(Path.of("./shakespeare"), corpus.resolveData("./shakespeare"));
        assertEquals(Path.of("notes.txt"), DefaultCorpus.resolve("notes.txt"));
    }

    @Test
    void resolveRejectsEmptyAndInvalidPaths() throws IOException {
        DefaultCorpus corpus = corpus(tmp, closedPort());
        assertEquals("no data file given: pass the path of a UTF-8 text file, or 'shakespeare'",
                assertThrows(DataException.class, () -> corpus.resolveData(" ")).getMessage());
        assertTrue(assertThrows(DataException.class, () -> corpus.resolveData("a\0b")).getMessage()
                .startsWith("invalid data file path 'a\0b': "));
    }

    @Test
    void cacheDirFollowsXdgCacheHome() {
        assertEquals(Path.of("/var/cache/me/toygpt"), DefaultCorpus.cacheDir("/var/cache/me", "/home/me"));
        assertEquals(Path.of("/home/me/.cache/toygpt"), DefaultCorpus.cacheDir(null, "/home/me"));
        assertEquals(Path.of("/home/me/.cache/toygpt"), DefaultCorpus.cacheDir("", "/home/me"));
        // The XDG spec says relative values are to be ignored.
        assertEquals(Path.of("/home/me/.cache/toygpt"), DefaultCorpus.cacheDir("relative/cache", "/home/me"));
    }

    @Test
    void defaultCacheDirUsesTheEnvironment() {
        assertEquals(DefaultCorpus.cacheDir(System.getenv("XDG_CACHE_HOME"), System.getProperty("user.home")),
                DefaultCorpus.cacheDir());
        assertEquals(DefaultCorpus.cacheDir().resolve("tinyshakespeare.txt"), new DefaultCorpus().file());
    }

    @Test
    void constantsDescribeThePublishedFile() throws IOException {
        Path real = TestData.shakespeare();
        assertEquals(DefaultCorpus.SIZE, Files.size(real));
        assertEquals(DefaultCorpus.SHA256, DefaultCorpus.sha256(real));
        assertEquals("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                DefaultCorpus.URL.toString());
    }
}
