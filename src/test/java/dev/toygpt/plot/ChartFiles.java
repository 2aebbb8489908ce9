package dev.toygpt.plot;

import org.w3c.dom.Document;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checks that chart files are what they claim to be. */
public final class ChartFiles {
    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private ChartFiles() {}

    /** A PNG that ImageIO reads, of a size a person can read (at least 600 x 400), not blank. */
    public static BufferedImage assertPng(Path file) throws IOException {
        assertTrue(Files.isRegularFile(file), "missing " + file);
        byte[] bytes = Files.readAllBytes(file);
        assertTrue(bytes.length > 1000, file + " is only " + bytes.length + " bytes");
        assertArrayEquals(PNG_MAGIC, Arrays.copyOf(bytes, 8), file + " does not start with the PNG signature");
        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, "ImageIO cannot read " + file);
        assertTrue(image.getWidth() >= 600 && image.getWidth() <= 4000, "width " + image.getWidth());
        assertTrue(image.getHeight() >= 400 && image.getHeight() <= 3000, "height " + image.getHeight());
        assertTrue(image.getHeight() < image.getWidth(), "a chart is wider than high");
        // something is drawn: more than one colour in the picture
        int first = image.getRGB(0, 0);
        boolean varied = false;
        for (int y = 0; y < image.getHeight() && !varied; y += 7) {
            for (int x = 0; x < image.getWidth() && !varied; x += 7) varied = image.getRGB(x, y) != first;
        }
        assertTrue(varied, file + " is a blank image");
        return image;
    }

    /** An SVG that parses as XML, whose root is svg and whose text names each label. */
    public static Document assertSvg(Path file, String... labels) throws Exception {
        assertTrue(Files.isRegularFile(file), "missing " + file);
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        // never fetch anything while parsing (tests run offline)
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = factory.newDocumentBuilder().parse(file.toFile());
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        assertEquals("http://www.w3.org/2000/svg", doc.getDocumentElement().getNamespaceURI());
        String title = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "title").item(0).getTextContent();
        String desc = doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "desc").item(0).getTextContent();
        assertTrue(!title.isBlank(), "the SVG has an empty title");
        for (String label : labels) {
            assertTrue(desc.contains(label), "the SVG's description does not name \"" + label + "\": " + desc);
        }
        assertTrue(Files.readString(file, StandardCharsets.UTF_8).contains("<path"), "nothing is drawn in " + file);
        return doc;
    }
}
