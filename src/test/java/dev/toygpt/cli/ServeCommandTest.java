package dev.toygpt.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** serve: bad options are refused before anything starts; a real server in a child JVM answers and stops on Ctrl-C. */
class ServeCommandTest extends CliTestBase {
    @TempDir
    static Path shared;
    static Path data;
    static Path runs;

    @BeforeAll
    static void trainOnce() throws IOException {
        data = write(shared.resolve("play.txt"), PLAY);
        runs = shared.resolve("runs");
        trainTinyBigram(data, runs.resolve("bigram"));
    }

    @Test
    void badPortsAndRunsFoldersExitWith2AndSayWhy() throws IOException {
        Map<String, String> before = snapshot(runs);
        assertBadInput(run("serve", "--runs", runs.toString(), "--port", "70000"), "--port", "between 0 and 65535");
        assertBadInput(run("serve", "--runs", runs.toString(), "--port", "-1"), "--port", "between 0 and 65535");
        assertBadInput(run("serve", "--runs", runs.toString(), "--port", "http"), "--port", "http");
        Path missing = shared.resolve("no-such-folder");
        assertBadInput(run("serve", "--runs", missing.toString()), "--runs", "does not exist");
        assertFalse(Files.exists(missing), "a folder given with --runs is not created");
        assertBadInput(run("serve", "--runs", data.toString()), "is not a folder");
        assertBadInput(run("serve", "--runs", runs.toString(), "--threads", "0"), "--threads");
        assertBadInput(run("serve", "--runs", runs.toString(), "--host", "no-such-host.invalid"), "cannot serve on no-such-host.invalid");
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            assertBadInput(run("serve", "--runs", runs.toString(), "--port", Integer.toString(taken.getLocalPort())), "is taken");
        }
        assertUnchanged(before, runs);
    }

    @Test
    void anUnreadableRunsFolderIsRefused() throws IOException {
        Path locked = Files.createDirectories(shared.resolve("locked"));
        assertTrue(locked.toFile().setReadable(false, false) && locked.toFile().setExecutable(false, false));
        try {
            Assumptions.assumeFalse(Files.isReadable(locked), "running as root: every folder is readable");
            assertBadInput(run("serve", "--runs", locked.toString()), "cannot be read");
        } finally {
            locked.toFile().setReadable(true, false);
            locked.toFile().setExecutable(true, false);
        }
    }

    @Test
    void serveAnswersFromItsOwnJvmAndStopsCleanlyOnCtrlC() throws Exception {
        Assumptions.assumeTrue(ToygptChild.canSignal(), "no kill command to send Ctrl-C");
        try (ToygptChild child = new ToygptChild(shared, List.of("serve", "--runs", runs.toString(), "--port", "0"))) {
            child.awaitStderr("Ctrl-C stops the server", 60);
            String url = url(child.err());
            assertTrue(url.startsWith("http://127.0.0.1:"), child.err());
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "api/runs")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"id\":\"bigram\""), r.body());
            assertFalse(child.err().contains("INFO"), "no server chatter: " + child.err());
            int exit = child.interrupt();
            assertTrue(exit == 0 || exit == 130, "exit " + exit);
            assertFalse(child.err().contains("Exception"), child.err());
        }
    }

    @Test
    void trainServeShowsTheRunWhileItTrainsAndKeepsServingAfterwards() throws Exception {
        Assumptions.assumeTrue(ToygptChild.canSignal(), "no kill command to send Ctrl-C");
        Path out = shared.resolve("served/run");
        try (ToygptChild child = new ToygptChild(shared, List.of("train", "--data", data.toString(), "--out", out.toString(),
                "--model", "bigram", "--max-iters", "400", "--eval-interval", "100", "--eval-iters", "2", "--sample-tokens", "0",
                "--serve", "0"))) {
            child.awaitStderr("playground for", 60);
            String url = url(child.err());
            HttpClient http = HttpClient.newHttpClient();
            child.awaitStderr("the playground is still at", 120);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "api/runs")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"id\":\"run\""), r.body());
            assertTrue(r.body().contains("\"step\":400"), r.body());
            assertTrue(r.body().contains("\"training\":false"), "finished: " + r.body());
            int exit = child.interrupt();
            assertTrue(exit == 0 || exit == 130, "exit " + exit);
        }
        assertTrue(Files.isDirectory(out.resolve("step-000400")));
    }

    private static String url(String err) {
        Matcher m = Pattern.compile("(http://\\S+/)").matcher(err);
        assertTrue(m.find(), err);
        return m.group(1);
    }
}
