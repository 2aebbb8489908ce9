package dev.toygpt.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JSON as ToyGPT reads it from files that may be damaged or hostile: bounded size, nesting and number
 * length, and a repeated field name is an error (not "the last one wins").
 */
public final class JsonFiles {
    private JsonFiles() {}

    /** Far deeper than any file ToyGPT writes (3 levels), far shallower than a stack overflow. */
    static final int MAX_DEPTH = 64;

    /** A mapper that parses with these limits; documents longer than maxBytes are refused. */
    public static ObjectMapper mapper(long maxBytes) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_DEPTH)
                        .maxNumberLength(100)
                        .maxStringLength((int) Math.min(Integer.MAX_VALUE, maxBytes))
                        .maxDocumentLength(maxBytes)
                        .build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        return JsonMapper.builder(factory).build();
    }

    /**
     * Reads a JSON file of at most maxBytes.
     *
     * @throws IOException when the file is larger, unreadable or not JSON (the message says which)
     */
    public static JsonNode read(ObjectMapper mapper, Path file, long maxBytes) throws IOException {
        long size = Files.size(file);
        if (size > maxBytes) throw new IOException(size + " bytes, more than the " + maxBytes + " such a file can have");
        return mapper.readTree(Files.readAllBytes(file));
    }
}
