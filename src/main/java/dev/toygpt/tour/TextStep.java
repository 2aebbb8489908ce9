package dev.toygpt.tour;

/**
 * Step 1: the raw text.
 *
 * @param name       where the text came from (a file path)
 * @param characters length in characters (Unicode code points), which is also the number of tokens
 * @param utf8Bytes  size of the text in UTF-8 bytes (equal to characters for plain ASCII text)
 * @param preview    the first {@link Tour#PREVIEW_CHARS} characters (fewer if the text is shorter)
 */
public record TextStep(String name, int characters, long utf8Bytes, String preview) {}
