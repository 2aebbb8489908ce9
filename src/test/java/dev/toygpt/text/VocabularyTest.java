package dev.toygpt.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class VocabularyTest {

    private static Vocabulary shakespeare() {
        return Corpus.load(TestData.shakespeare()).vocabulary();
    }

    @Test
    void tinyShakespeareHasTheCourseVocabulary() {
        Vocabulary v = shakespeare();
        assertEquals(65, v.size());
        assertEquals(0, v.encodeChar('\n'));
        assertEquals(1, v.encodeChar(' '));
        assertEquals(49, v.encodeChar('k'));
        assertEquals("?", v.decode(12));
        assertEquals("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", v.decode(range(65)));
    }

    @Test
    void encodesLikeTheNotebook() {
        Vocabulary v = shakespeare();
        // print(encode("hii there")) in the "Let's build GPT" notebook
        assertArrayEquals(new int[] {46, 47, 47, 1, 58, 46, 43, 56, 43}, v.encode("hii there"));
        assertEquals("hii there", v.decode(v.encode("hii there")));
    }

    @Test
    void describeListsTheCharactersLikeThePythonPrint() {
        assertEquals("65 tokens: \"\\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\"",
                shakespeare().describe());
    }

    @Test
    void oneTokenPerCodePointNotPerJavaChar() {
        Vocabulary v = Vocabulary.fromText("a😀b😀");
        assertEquals(3, v.size());
        assertArrayEquals(new int[] {'a', 'b', 0x1F600}, v.codePoints());
        int[] ids = v.encode("😀a");
        assertArrayEquals(new int[] {2, 0}, ids);
        assertEquals("😀a", v.decode(ids));
        assertEquals("😀", v.decode(2));
    }

    @Test
    void accentedLettersFollowPython() {
        // Precomposed é is one code point; e + combining acute accent is two, as in Python's set(text).
        assertEquals(1, Vocabulary.fromText("é").size());
        assertArrayEquals(new int[] {'e', 0x301}, Vocabulary.fromText("e\u0301").codePoints());
    }

    @Test
    void sortsByCodePointNotByUtf16Unit() {
        // In UTF-16 the emoji starts with 0xD83D < 0xFFFD, but as a code point 0x1F600 > 0xFFFD.
        assertArrayEquals(new int[] {0xFFFD, 0x1F600}, Vocabulary.fromText("😀\uFFFD").codePoints());
    }

    @Test
    void emptyTextGivesEmptyVocabulary() {
        Vocabulary v = Vocabulary.fromText("");
        assertEquals(0, v.size());
        assertArrayEquals(new int[0], v.encode(""));
        assertEquals("0 tokens: \"\"", v.describe());
    }

    @Test
    void encodeNamesTheFirstUnknownCharacterAndItsIndex() {
        Vocabulary v = Vocabulary.fromText("abc");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.encode("abxcy"));
        assertEquals("character 'x' at index 2 is not in the vocabulary (3 characters)", e.getMessage());
    }

    @Test
    void unknownCharacterIndexCountsCodePoints() {
        Vocabulary v = Vocabulary.fromText("😀a");
        // 'é' is at UTF-16 index 3 but character index 2.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.encode("😀aé"));
        assertEquals("character 'é' (U+00E9) at index 2 is not in the vocabulary (2 characters)", e.getMessage());
    }

    @Test
    void unknownInvisibleCharacterIsShownByCode() {
        Vocabulary v = Vocabulary.fromText("ab");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.encode("a\u200Bb"));
        assertTrue(e.getMessage().startsWith("character U+200B at index 1 "), e.getMessage());
    }

    @Test
    void encodeLenientDropsUnknownCharacters() {
        Vocabulary v = Vocabulary.fromText("ab ");
        Vocabulary.Encoded enc = v.encodeLenient("a😀 bé é");
        assertArrayEquals(v.encode("a b "), enc.ids());
        assertTrue(enc.hasDropped());
        assertEquals(List.of(new Vocabulary.Unknown(0x1F600, 1), new Vocabulary.Unknown(0xE9, 4),
                new Vocabulary.Unknown(0xE9, 6)), enc.dropped());
        assertEquals("3 characters not in the vocabulary: '😀' (U+1F600) x1, 'é' (U+00E9) x2",
                enc.describeDropped());
        assertEquals("'é' (U+00E9) at index 4", enc.dropped().get(1).toString());
    }

    @Test
    void encodeLenientWithNothingUnknown() {
        Vocabulary v = Vocabulary.fromText("ab");
        Vocabulary.Encoded enc = v.encodeLenient("abba");
        assertArrayEquals(new int[] {0, 1, 1, 0}, enc.ids());
        assertFalse(enc.hasDropped());
        assertEquals("", enc.describeDropped());
    }

    @Test
    void encodeLenientSummaryIsBounded() {
        Vocabulary v = Vocabulary.fromText("a");
        Vocabulary.Encoded enc = v.encodeLenient("0123456789ABCDEF");
        assertEquals(0, enc.ids().length);
        assertTrue(enc.describeDropped().startsWith("16 characters not in the vocabulary: '0' x1, "),
                enc.describeDropped());
        assertTrue(enc.describeDropped().endsWith("'9' x1, ... (6 more distinct)"), enc.describeDropped());
    }

    @Test
    void decodeRejectsIdsOutsideTheVocabulary() {
        Vocabulary v = Vocabulary.fromText("abc");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.decode(new int[] {0, 3}));
        assertEquals("token id 3 at position 1 is outside the vocabulary [0, 3)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> v.decode(-1));
        assertEquals("token id -1 at position 0 is outside the vocabulary [0, 3)", e.getMessage());
    }

    @Test
    void encodeCharAndContains() {
        Vocabulary v = Vocabulary.fromText("b😀a");
        assertEquals(0, v.encodeChar('a'));
        assertEquals(2, v.encodeChar(0x1F600));
        assertEquals(-1, v.encodeChar('c'));
        assertEquals(-1, v.encodeChar(0x1F601));
        assertEquals(-1, v.encodeChar(-5));
        assertTrue(v.contains('b'));
        assertFalse(v.contains('z'));
    }

    @Test
    void fromCodePointsRoundTrips() {
        Vocabulary v = Vocabulary.fromText("hello, wörld 😀");
        Vocabulary back = Vocabulary.fromCodePoints(v.codePoints());
        assertEquals(v, back);
        assertEquals(v.hashCode(), back.hashCode());
    }

    @Test
    void fromCodePointsRejectsUnsortedInput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromCodePoints(new int[] {'a', 'c', 'b'}));
        assertEquals("vocabulary code points must be strictly increasing, but entry 2 'b' comes after entry 1 'c'",
                e.getMessage());
    }

    @Test
    void fromCodePointsRejectsDuplicates() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromCodePoints(new int[] {'\n', 'a', 'a'}));
        assertEquals("vocabulary code points must be strictly increasing, but entry 2 'a' comes after entry 1 'a'",
                e.getMessage());
    }

    @Test
    void fromCodePointsRejectsInvalidCodePoints() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromCodePoints(new int[] {'a', 0x110000}));
        assertEquals("vocabulary entry 1 is not a Unicode code point: 1114112", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromCodePoints(new int[] {-1}));
        assertEquals("vocabulary entry 0 is not a Unicode code point: -1", e.getMessage());
    }

    @Test
    void isImmutable() {
        int[] input = {'a', 'b'};
        Vocabulary v = Vocabulary.fromCodePoints(input);
        input[0] = 'z';
        v.codePoints()[1] = 'y';
        assertArrayEquals(new int[] {'a', 'b'}, v.codePoints());
    }

    @Test
    void equalityIsByCodePoints() {
        assertEquals(Vocabulary.fromText("abc"), Vocabulary.fromText("cabcab"));
        assertNotEquals(Vocabulary.fromText("abc"), Vocabulary.fromText("abd"));
        assertNotEquals(Vocabulary.fromText("abc"), "abc");
        assertEquals("Vocabulary[size=3]", Vocabulary.fromText("cab").toString());
    }

    @Test
    void describeEscapesInvisibleCharacters() {
        Vocabulary v = Vocabulary.fromText("\t\r\"\\\u0007a\u00A0é\u200B\uDBC0\uDC00");
        assertEquals("10 tokens: \"\\x07\\t\\r\\\"\\\\a\\xa0é\\u200b\\U00100000\"", v.describe());
    }

    @Test
    void describeAbbreviatesLargeVocabularies() {
        StringBuilder text = new StringBuilder();
        for (int cp = 0x4E00; cp < 0x4E00 + 300; cp++) {
            text.appendCodePoint(cp);
        }
        String description = Vocabulary.fromText(text.toString()).describe();
        assertTrue(description.startsWith("300 tokens: \"一丁"), description);
        assertTrue(description.endsWith("\" ... and 100 more"), description);
    }

    @Test
    void describeCharForMessages() {
        assertEquals("'a'", Vocabulary.describeChar('a'));
        assertEquals("' '", Vocabulary.describeChar(' '));
        assertEquals("'\\n'", Vocabulary.describeChar('\n'));
        assertEquals("'\\''", Vocabulary.describeChar('\''));
        assertEquals("'’' (U+2019)", Vocabulary.describeChar(0x2019));
        assertEquals("U+0000", Vocabulary.describeChar(0));
        assertEquals("U+00A0", Vocabulary.describeChar(0xA0));
        assertEquals("U+FEFF", Vocabulary.describeChar(0xFEFF));
    }

    private static int[] range(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i;
        }
        return ids;
    }

    @Test
    void extendingKeepsEveryIdAndAppendsTheNewCharactersInOrder() {
        Vocabulary v = Vocabulary.fromText("hello world");
        Vocabulary x = v.extendedWith(new int[] {0xE9, 'A', 'z'});
        assertEquals(v.size() + 3, x.size());
        for (int id = 0; id < v.size(); id++) {
            assertEquals(v.decode(id), x.decode(id));
        }
        assertEquals("Az\u00e9", x.decode(new int[] {v.size(), v.size() + 1, v.size() + 2}));
        assertEquals(v.size() + 2, x.encodeChar(0xE9));
        assertEquals(v.size(), x.encodeChar('A'));
        assertEquals(3, x.appended());
        assertArrayEquals(x.encode("z\u00e9 hello"), Vocabulary.fromCodePoints(x.codePoints(), 3).encode("z\u00e9 hello"));
        assertEquals(x, Vocabulary.fromCodePoints(x.codePoints(), 3));
        assertArrayEquals(new int[] {'A', 0xE9}, v.missingFrom("A h\u00e9llo"));
    }

    @Test
    void anAppendedCharacterAlreadyInTheVocabularyIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromCodePoints(new int[] {'a', 'b', 'c', 'b'}, 1));
        assertEquals("vocabulary entry 3 'b' is already in the vocabulary", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromText("abc").extendedWith(new int[] {'c'}));
        // without the appended count an unsorted list is still refused
        assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromCodePoints(new int[] {'a', 'c', 'b'}));
    }
}
