package dev.toygpt.plot;

import dev.toygpt.io.AtomicFiles;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A line chart in the project's one style (large type, colour-blind-safe colours, light grid), written
 * as PNG or SVG. A thin layer over XChart so that the experiments and the plot command draw alike.
 */
public final class Chart {
    static {
        // Charts are drawn off-screen; without this, AWT may look for a display (and fail on a server).
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Okabe and Ito's palette, which stays distinct for colour-blind readers (its yellow left out: too pale on white). */
    private static final Color[] PALETTE = {
            new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
            new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000)};
    /** More points than this and markers would only blur the line. */
    private static final int MAX_POINTS_WITH_MARKERS = 40;
    private static final String FONT = Font.SANS_SERIF;
    /** Pixels between y-axis ticks that XChart aims for (its default, 44, crowds the axis with labels). */
    private static final int Y_TICK_SPACING_HINT = 60;
    /** Beyond this the y axis is left as XChart lays it out (see {@link #layOut}). */
    private static final double LARGEST_ROUNDED = 1e6;
    /** Height of the chart taken by the title, the x axis and the padding: the rest is the plot. */
    private static final int NON_PLOT_HEIGHT = 125;

    public enum Stroke { SOLID, DASHED }

    private final XYChart chart;
    private final String title;
    private final double yTickCount;
    private final List<String> labels = new ArrayList<>();
    private final List<Mark> marks = new ArrayList<>();
    private double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
    private boolean hasData;
    private boolean laidOut;

    public Chart(String title, String xAxis, String yAxis) {
        this(title, xAxis, yAxis, 1100, 650);
    }

    public Chart(String title, String xAxis, String yAxis, int width, int height) {
        chart = new XYChart(width, height);
        this.title = title;
        this.yTickCount = Math.max(2, (height - NON_PLOT_HEIGHT) / (double) Y_TICK_SPACING_HINT);
        chart.setTitle(title);
        chart.setXAxisTitle(xAxis);
        chart.setYAxisTitle(yAxis);
        XYStyler s = chart.getStyler();
        s.setLocale(Locale.ROOT);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderColor(new Color(0x999999));
        s.setPlotGridLinesColor(new Color(0xE3E3E3));
        s.setPlotGridLinesStroke(new BasicStroke(1f));
        s.setChartFontColor(new Color(0x222222));
        s.setAxisTickLabelsColor(new Color(0x333333));
        s.setChartTitleFont(new Font(FONT, Font.BOLD, 22));
        s.setChartTitleBoxVisible(false);
        s.setChartTitlePadding(12);
        s.setAxisTitleFont(new Font(FONT, Font.PLAIN, 17));
        s.setAxisTickLabelsFont(new Font(FONT, Font.PLAIN, 15));
        s.setLegendFont(new Font(FONT, Font.PLAIN, 15));
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        s.setLegendBorderColor(new Color(0xCCCCCC));
        s.setLegendSeriesLineLength(36);
        s.setChartPadding(14);
        s.setYAxisTickMarkSpacingHint(Y_TICK_SPACING_HINT);
        s.setMarkerSize(8);
        s.setXAxisDecimalPattern("#,##0.###");
        s.setAntiAlias(true);
        s.setTextAntiAlias(true);
        s.setAnnotationLineColor(new Color(0x777777));
        s.setAnnotationTextFont(new Font(FONT, Font.PLAIN, 15));
        s.setAnnotationTextFontColor(new Color(0x444444));
        s.setAnnotationLineStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{3f, 4f}, 0f));
    }

    /** The i-th colour of the palette (it repeats after seven). */
    public static Color color(int i) {
        return PALETTE[Math.floorMod(i, PALETTE.length)];
    }

    /** Logarithmic x axis, for quantities that grow by factors (steps 10, 100, 1,000; block sizes 8 to 64). */
    public Chart logX() {
        chart.getStyler().setXAxisLogarithmic(true);
        return this;
    }

    /** Puts the legend inside the plot's top right corner instead of beside it (for charts with two or three lines). */
    public Chart legendInside() {
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        return this;
    }

    /** How the x axis's tick values are written (a blank string leaves a tick unlabelled). */
    public Chart xTickLabels(java.util.function.Function<Double, String> label) {
        chart.getStyler().setXAxisTickLabelsFormattingFunction(label);
        return this;
    }

    /** A dotted vertical line at x, with a label at its top: e.g. where the validation loss was lowest. */
    public Chart verticalLine(double x, String label) {
        chart.addAnnotation(new AnnotationLine(x, true, false));
        marks.add(new Mark(x, label));
        return this;
    }

    private record Mark(double x, String label) {}

    /**
     * Adds a line; a label already used gets a number appended (XChart needs them distinct). Points whose
     * y is not finite are left out, and on a logarithmic x axis so are points with x &lt;= 0.
     */
    public Chart line(String label, double[] x, double[] y, Color color, Stroke stroke) {
        if (x.length != y.length) throw new IllegalArgumentException("x and y differ in length: " + x.length + " and " + y.length);
        List<double[]> kept = new ArrayList<>();
        boolean log = chart.getStyler().isXAxisLogarithmic();
        for (int i = 0; i < x.length; i++) {
            if (Double.isFinite(y[i]) && Double.isFinite(x[i]) && (!log || x[i] > 0)) kept.add(new double[]{x[i], y[i]});
        }
        if (kept.isEmpty()) return this;
        double[] xs = kept.stream().mapToDouble(p -> p[0]).toArray();
        double[] ys = kept.stream().mapToDouble(p -> p[1]).toArray();
        String unique = label;
        for (int n = 2; labels.contains(unique); n++) unique = label + " (" + n + ")";
        labels.add(unique);
        for (double v : ys) {
            minY = Math.min(minY, v);
            maxY = Math.max(maxY, v);
        }
        XYSeries series = chart.addSeries(unique, xs, ys);
        series.setLineColor(color);
        series.setMarkerColor(color);
        boolean dashed = stroke == Stroke.DASHED;
        series.setLineStyle(dashed
                ? new BasicStroke(2.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[]{9f, 6f}, 0f)
                : new BasicStroke(3f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        // Markers show where the measurements are when there are few; hollow-looking squares for dashed lines tell them apart.
        series.setMarker(xs.length > MAX_POINTS_WITH_MARKERS ? SeriesMarkers.NONE : dashed ? SeriesMarkers.SQUARE : SeriesMarkers.CIRCLE);
        hasData = true;
        return this;
    }

    /** True once a line with at least one point was added. */
    public boolean hasData() {
        return hasData;
    }

    /** The labels of the lines, as the legend shows them. */
    public List<String> labels() {
        return List.copyOf(labels);
    }

    /** Writes the chart as PNG or SVG, chosen by the file's extension, replacing the file atomically. */
    public void write(Path file) throws IOException {
        Format format = Format.of(file);
        if (!hasData) throw new IllegalStateException("the chart has no data to draw");
        layOut();
        if (format == Format.PNG) {
            AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
        } else {
            ByteArrayOutputStream svg = new ByteArrayOutputStream();
            VectorGraphicsEncoder.saveVectorGraphic(chart, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            String text = describeSvg(svg.toString(StandardCharsets.UTF_8));
            AtomicFiles.writeString(file, text);
        }
    }

    /**
     * XChart draws every letter as an outline, so the SVG holds no text a screen reader or a search could
     * find: add a title and a description (the axes and the legend). The DOCTYPE goes, so that XML tools do
     * not try to download the DTD it names.
     */
    private String describeSvg(String svg) {
        svg = svg.replaceFirst("<!DOCTYPE[^>]*>\\s*", "");
        int open = svg.indexOf("<svg");
        int end = open < 0 ? -1 : svg.indexOf('>', open);
        if (end < 0) return svg;
        String description = "x axis: " + chart.getXAxisTitle() + "; y axis: " + chart.getYAxisTitle()
                + "; legend: " + String.join(", ", labels);
        return svg.substring(0, end + 1) + "\n  <title>" + xml(title) + "</title>\n  <desc>" + xml(description) + "</desc>"
                + svg.substring(end + 1);
    }

    private static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /**
     * Starts and ends the y axis on round numbers just outside the data (so that the lowest and highest
     * grid lines are labelled), with as many decimals as the spacing needs; puts the marks' labels at the top.
     */
    private void layOut() {
        if (laidOut) return;
        laidOut = true;
        // A diverged run's losses (1e31...) are left to XChart's defaults: its decimal formatting never
        // finishes on numbers that large.
        if (Math.max(Math.abs(minY), Math.abs(maxY)) > LARGEST_ROUNDED) return;
        double range = maxY - minY;
        if (!(range > 0)) range = Math.max(Math.abs(maxY), 1) * 0.1;
        // Bounds on multiples of the spacing XChart will choose for the resulting range, so both ends are labelled.
        double step = tickSpacing(range), low = 0, high = 0;
        for (int i = 0; i < 4; i++) {
            low = Math.floor(minY / step + 1e-9) * step;
            high = Math.ceil(maxY / step - 1e-9) * step;
            if (high - low < step) high = low + step;
            if (!marks.isEmpty()) high += step; // room for the labels above the lines
            double next = tickSpacing(high - low);
            if (Math.abs(next - step) < 1e-12) break;
            step = next;
        }
        XYStyler s = chart.getStyler();
        s.setYAxisMin(low).setYAxisMax(high);
        int decimals = (int) Math.max(1, Math.ceil(-Math.log10(step) - 1e-9));
        s.setYAxisDecimalPattern("0." + "0".repeat(decimals));
        for (Mark m : marks) {
            chart.addAnnotation(new AnnotationText(m.label(), m.x(), high - step * 0.35, false));
        }
    }

    /** Writes base.png and base.svg; returns both paths. */
    public List<Path> writePngAndSvg(Path dir, String baseName) throws IOException {
        Path png = dir.resolve(baseName + ".png"), svg = dir.resolve(baseName + ".svg");
        write(png);
        write(svg);
        return List.of(png, svg);
    }

    /**
     * The spacing XChart gives the y axis's ticks for a range, at this chart's size: the range over the
     * number of ticks that fit, rounded to 1, 2 or 5 times a power of ten (the rule of its tick calculator).
     */
    private double tickSpacing(double range) {
        double hint = range / yTickCount, magnitude = Math.pow(10, Math.floor(Math.log10(hint)));
        double significand = hint / magnitude;
        double rounded = significand < 1.5 ? 1 : significand < 3 ? 2 : significand < 7 ? 5 : 10;
        return rounded * magnitude;
    }

    /** The image formats a chart can be written in. */
    public enum Format {
        PNG, SVG;

        /** The format named by the file's extension (.png or .svg, any case). */
        public static Format of(Path file) {
            String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
            if (name.endsWith(".png")) return PNG;
            if (name.endsWith(".svg")) return SVG;
            throw new IllegalArgumentException("a chart is written as .png or .svg, not " + file.getFileName());
        }
    }
}
