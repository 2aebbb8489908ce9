package dev.toygpt.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One writer per run directory: an exclusive operating-system lock on {@code train.lock} in the run
 * directory, held while a run trains. The file says who holds it (process id, host, start time) so a second
 * writer can be told. The operating system drops the lock when its process ends, however it ends (even
 * kill -9), so a lock file left behind never blocks a later {@code --resume}. Readers (sample, eval, plot,
 * the web page) never take it: every file they read is replaced atomically.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = "train.lock";
    /**
     * The directories this JVM holds. On Linux, closing any channel of a file drops every lock this process
     * holds on it, so a second try from the same JVM must be refused here, without opening the file again.
     */
    private static final Map<Path, RunLock> HELD = new ConcurrentHashMap<>();

    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    private final String holder;

    private RunLock(Path key, FileChannel channel, FileLock lock, String holder) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
        this.holder = holder;
    }

    /**
     * Takes the lock of run directory dir (created if missing).
     *
     * @throws RunLockedException when another process (or another run in this one) holds it
     */
    public static RunLock acquire(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path key = dir.toRealPath();
        Path file = key.resolve(FILE);
        synchronized (HELD) {
            RunLock mine = HELD.get(key);
            if (mine != null) throw locked(dir, mine.holder);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            if (lock == null) {
                String holder = describe(read(ch));
                ch.close();
                throw locked(dir, holder);
            }
            String info = info();
            try { // who holds it, for the message a second writer gets; the lock itself is what counts
                byte[] bytes = info.getBytes(StandardCharsets.UTF_8);
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(bytes), 0);
                ch.force(true);
            } catch (IOException e) {
                // a full disk: the lock still holds, the file just cannot say by whom
            }
            RunLock held = new RunLock(key, ch, lock, describe(info));
            HELD.put(key, held);
            return held;
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            HELD.remove(key, this);
            try (channel) {
                if (lock.isValid()) lock.release();
            }
        }
    }

    private static RunLockedException locked(Path dir, String holder) {
        return new RunLockedException(dir + " is in use by another training run: " + holder + " (see " + dir.resolve(FILE)
                + "). Only one run may write a run directory at a time: wait for it to finish or stop it with Ctrl-C"
                + " (it saves a checkpoint), then continue with --resume; or train into another --out.");
    }

    private static String info() {
        ObjectNode n = Checkpoint.JSON.createObjectNode();
        n.put("pid", ProcessHandle.current().pid());
        n.put("host", host());
        n.put("started", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        return n.toString();
    }

    private static String host() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) return h;
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown host";
        }
    }

    private static String read(FileChannel ch) {
        try {
            long size = Math.min(ch.size(), 4096);
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && ch.read(buf, buf.position()) > 0) { }
            return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** "process 1234 on host h, since 2026-01-01T10:00:00Z" from the lock file's JSON. */
    private static String describe(String json) {
        try {
            JsonNode n = Checkpoint.JSON.readTree(json);
            if (n != null && n.isObject() && n.has("pid")) {
                return "process " + n.path("pid").asText("?") + " on host " + n.path("host").asText("?") + ", running since "
                        + n.path("started").asText("?");
            }
        } catch (IOException e) {
            // written at this moment, or by something else: say what we know
        }
        return "a process that has not said who it is yet";
    }
}
