package dev.toygpt.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last few models loaded from checkpoints, so a page that asks about the same checkpoint again does not
 * read it again. A checkpoint is known by its directory and its weights file's modification time and size,
 * so one written anew under the same name is loaded anew. Models come back in evaluation mode and must
 * not be trained: several threads may use one at once for inference.
 */
public final class ModelCache {
    private record Key(Path dir, long modified, long size) {}

    private final int capacity;
    private final Map<Key, Checkpoint.Loaded> models;

    public ModelCache(int capacity) {
        this.capacity = capacity;
        this.models = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** The checkpoint in dir, loaded now or earlier. */
    public Checkpoint.Loaded get(Path dir) {
        Key key = key(dir);
        synchronized (models) {
            Checkpoint.Loaded m = models.get(key);
            if (m != null) return m;
        }
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        loaded.model().train(false);
        synchronized (models) {
            Checkpoint.Loaded raced = models.get(key);
            if (raced != null) return raced;
            models.put(key, loaded);
            while (models.size() > capacity) models.remove(models.keySet().iterator().next());
        }
        return loaded;
    }

    public int size() {
        synchronized (models) {
            return models.size();
        }
    }

    private static Key key(Path dir) {
        try {
            BasicFileAttributes a = Files.readAttributes(dir.resolve(Checkpoint.MODEL_FILE), BasicFileAttributes.class);
            return new Key(dir, a.lastModifiedTime().toMillis(), a.size());
        } catch (IOException e) {
            throw new CheckpointException("cannot read " + dir.resolve(Checkpoint.MODEL_FILE) + ": " + e.getMessage(), e);
        }
    }
}
