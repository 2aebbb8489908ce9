package dev.toygpt.web;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.sample.SamplingSettings;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;

/**
 * A request's JSON body, read with the API's limits and checked field by field: a missing required field,
 * a value of the wrong type or out of range is a 400 with a message that names the field.
 */
final class JsonBody {
    /** Floats are written with Jackson's fast writer (Schubfach): /api/attention answers with thousands of them. */
    static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamWriteFeature.USE_FAST_DOUBLE_WRITER).build())
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private final JsonNode node;

    private JsonBody(JsonNode node) {
        this.node = node;
    }

    /** Reads at most maxBytes of UTF-8 JSON: larger is 413, not JSON or not an object is 400. */
    static JsonBody read(InputStream in, int maxBytes) {
        byte[] bytes;
        try {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (IOException e) {
            throw ApiException.badRequest("could not read the request body");
        }
        if (bytes.length > maxBytes) throw new ApiException(413, "the request body is larger than " + maxBytes / 1024 + " KB");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ApiException.badRequest("the request body is not valid UTF-8");
        }
        if (text.isBlank()) throw ApiException.badRequest("the request needs a JSON object as its body");
        JsonNode n;
        try {
            n = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("the request body is not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw ApiException.badRequest("the request body must be a JSON object");
        return new JsonBody(n);
    }

    String string(String field, String fallback, int maxChars) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw ApiException.badRequest(field + " must be a string");
        String s = v.textValue();
        if (s.codePointCount(0, s.length()) > maxChars) {
            throw ApiException.badRequest(field + " is longer than " + maxChars + " characters");
        }
        return s;
    }

    String requiredString(String field, int maxChars) {
        String s = string(field, null, maxChars);
        if (s == null) throw ApiException.badRequest(field + " is missing");
        return s;
    }

    int integer(String field, int fallback, int min, int max) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest(field + " must be a whole number");
        int i = v.intValue();
        if (i < min || i > max) throw ApiException.badRequest(field + " must be between " + min + " and " + max + ", got " + i);
        return i;
    }

    long longValue(String field, long fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest(field + " must be a whole number");
        return v.longValue();
    }

    float number(String field, float fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw ApiException.badRequest(field + " must be a number");
        return v.floatValue();
    }

    boolean bool(String field, boolean fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (!v.isBoolean()) throw ApiException.badRequest(field + " must be true or false");
        return v.booleanValue();
    }

    /** temperature, topK (0 = off), topP (1 = off), greedy: the meanings and limits of {@code toygpt sample}. */
    SamplingSettings sampling() {
        float temperature = number("temperature", 1f);
        int topK = integer("topK", 0, 0, Integer.MAX_VALUE);
        float topP = number("topP", 1f);
        boolean greedy = bool("greedy", false);
        try {
            return new SamplingSettings(temperature, topK, topP, greedy);
        } catch (IllegalArgumentException e) {
            // the settings name the command-line options; the page names the fields
            throw ApiException.badRequest(e.getMessage().replace("--temperature", "temperature").replace("--top-k", "topK")
                    .replace("--top-p", "topP").replace("--greedy", "greedy").replace("leave topK out", "use topK 0"));
        }
    }
}
