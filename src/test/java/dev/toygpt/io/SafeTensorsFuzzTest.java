package dev.toygpt.io;

import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.testing.Fuzz;
import dev.toygpt.testing.Mutations;
import dev.toygpt.util.Rng;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The safetensors reader against damaged and hostile files: a real model's file with random edits, and
 * generated files whose headers claim terabytes, negative or overlapping byte ranges, shapes whose product
 * overflows, repeated names, deep nesting. Only SafeTensorsException may come out, quickly and without
 * allocating more than the file's size justifies; what is accepted is consistent. Tries per property:
 * jqwik.tries.default (pom.xml: a short pass in CI, -Pfuzz-long for a long one).
 */
class SafeTensorsFuzzTest {
    private static final byte[] MODEL = realFile();

    private static byte[] realFile() {
        try {
            Path dir = Files.createTempDirectory("toygpt-fuzz");
            Path file = dir.resolve("model.safetensors");
            ModelWeights.save(LanguageModel.create(ModelConfig.gpt(12, 8, 2, 1, 4, 0f), new Rng(3)), file, Map.of("format", "pt"));
            byte[] bytes = Files.readAllBytes(file);
            Files.delete(file);
            Files.delete(dir);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Property
    void damagedRealFiles(@ForAll("damaged") byte[] file) {
        check(file);
    }

    @Property
    void generatedFiles(@ForAll("generated") byte[] file) {
        check(file);
    }

    // The long pass (-Pfuzz-long): the same generators and checks, Fuzz.LONG_PASS inputs each.
    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longDamagedRealFiles() {
        Fuzz.loop("SafeTensorsFuzzTest.damagedRealFiles", damaged(), Fuzz.LONG_PASS, SafeTensorsFuzzTest::check);
    }

    @Test
    @EnabledIfSystemProperty(named = "fuzz.long", matches = "[1-9][0-9]*")
    void longGeneratedFiles() {
        Fuzz.loop("SafeTensorsFuzzTest.generatedFiles", generated(), Fuzz.LONG_PASS, SafeTensorsFuzzTest::check);
    }

    static SafeTensors.Contents check(byte[] file) {
        var outcome = Fuzz.call("a safetensors file of " + file.length + " bytes", 64L * file.length + (8 << 20),
                () -> SafeTensors.parse(file, "fuzzed.safetensors"), SafeTensors.SafeTensorsException.class);
        if (!outcome.ok()) return null;
        long dataBytes = 0;
        for (SafeTensors.Entry e : outcome.value().tensors().values()) {
            int width = e.dtype().equals("I64") ? 8 : 4;
            assertTrue(List.of("F32", "I32", "I64").contains(e.dtype()), e.dtype());
            assertEquals((long) e.elementCount() * width, e.bytes().length, "an accepted tensor's bytes fit its shape");
            dataBytes += e.bytes().length;
        }
        assertTrue(dataBytes <= file.length, "accepted tensors do not overlap: " + dataBytes + " bytes from a file of " + file.length);
        return outcome.value();
    }

    @Provide
    Arbitrary<byte[]> damaged() {
        return Mutations.of(MODEL);
    }

    @Provide
    Arbitrary<byte[]> generated() {
        Arbitrary<String> dtype = Arbitraries.of("F32", "I64", "I32", "F16", "", "f32", "F32 ");
        Arbitrary<String> dim = Arbitraries.oneOf(Arbitraries.longs().between(0, 6).map(Object::toString),
                Arbitraries.of("-1", "2147483648", "2147483647", "1099511627776", "9223372036854775807", "4611686018427387904",
                        "3037000500", "1e3", "2.5", "\"4\"", "null", "[]", "18446744073709551616"));
        Arbitrary<String> shape = dim.list().ofMaxSize(7).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> offset = Arbitraries.oneOf(Arbitraries.longs().between(0, 200).map(Object::toString),
                Arbitraries.of("-1", "-8", "1099511627776", "9223372036854775807", "-9223372036854775808", "1.5", "\"0\""));
        Arbitrary<String> offsets = offset.list().ofMinSize(0).ofMaxSize(3).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> name = Arbitraries.of("a", "b", "a.weight", "__metadata__", "", "c");
        Arbitrary<String> tensor = Combinators.combine(name, dtype, shape, offsets)
                .as((n, d, s, o) -> "\"" + n + "\":{\"dtype\":\"" + d + "\",\"shape\":" + s + ",\"data_offsets\":" + o + "}");
        Arbitrary<String> deep = Arbitraries.integers().between(1, 3000).map(d -> "\"x\":" + "[".repeat(d) + "]".repeat(d));
        Arbitrary<String> weird = Arbitraries.of("\"__metadata__\":{\"a\":{\"b\":1}}", "\"__metadata__\":[1,2]", "\"t\":5", "\"t\":null",
                "\"t\":{\"dtype\":\"F32\"}", "\"t\":{}", "\"big\":\"" + "x".repeat(5000) + "\"");
        Arbitrary<String> field = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, tensor), net.jqwik.api.Tuple.of(1, deep), net.jqwik.api.Tuple.of(1, weird));
        Arbitrary<String> header = field.list().ofMaxSize(6).map(l -> "{" + String.join(",", l) + "}");
        Arbitrary<Integer> claim = Arbitraries.integers().between(0, 9); // 0-5: the true length; others: a lie
        Arbitrary<byte[]> data = Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
        return Combinators.combine(header, claim, data, Arbitraries.longs()).as((h, c, d, lie) -> {
            byte[] hb = h.getBytes(StandardCharsets.UTF_8);
            long len = switch (c) {
                case 6 -> lie;
                case 7 -> hb.length + 1 + (lie & 0xFFFF);
                case 8 -> 1L << 40;
                case 9 -> hb.length - 1;
                default -> hb.length;
            };
            ByteBuffer b = ByteBuffer.allocate(8 + hb.length + d.length).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(len).put(hb).put(d);
            return b.array();
        });
    }
}
