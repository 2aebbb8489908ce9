package dev.toygpt.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.toygpt.models.LanguageModel;
import dev.toygpt.models.ModelConfig;
import dev.toygpt.testing.Requires;
import dev.toygpt.train.RunDirectory;
import dev.toygpt.train.TinyRuns;
import dev.toygpt.train.TrainSettings;
import dev.toygpt.train.Trainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The playground page in a real browser (Debian's Chromium, headless, 1280 x 720): a tiny model is trained
 * into a temporary runs folder, the server runs in this JVM, and each test uses the page as a learner would,
 * then checks what the page shows against the model's own numbers. Screenshots of every panel go to
 * target/screenshots/ (look at them: that they are clear is not something a test can decide).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PageBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Path SCREENSHOTS = Path.of("target", "screenshots");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path tmp;
    private Path runs;
    private PlaygroundServer server;
    private WebDriver driver;
    private ChromeDriverService service;

    @BeforeAll
    void start(@TempDir Path tmp) throws IOException {
        Requires.chromium();
        this.tmp = tmp;
        Logger.getLogger("org.openqa.selenium").setLevel(Level.SEVERE); // no CDP version warnings in the log
        runs = tmp.resolve("runs");
        train(runs.resolve("tiny"), 200, 50, null);
        // The tiny model writes 1,500 characters in a few milliseconds, inside one of the server's 10 ms batches:
        // watching a stream grow needs a model that writes for longer (about 0.2 s here), trained for six steps.
        train(runs.resolve("wide"), 6, 3, null, ModelConfig.gpt(TinyRuns.corpus().vocabulary().size(), 256, 4, 4, 32, 0f));
        server = PlaygroundServer.start(PlaygroundServer.Options.defaults(runs).withPort(0));

        // The driver and the browser are named explicitly, so Selenium never looks for (or downloads) others.
        service = new ChromeDriverService.Builder().usingDriverExecutable(Requires.CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(Requires.CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + Files.createDirectories(tmp.resolve("profile")), "--window-size=1280,720");
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(WAIT);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    void stop() {
        // Each step on its own: a failure in one must not leave the browser or the server running.
        try {
            if (driver != null) driver.quit();
        } finally {
            try {
                if (service != null) service.stop();
            } finally {
                if (server != null) server.close();
            }
        }
    }

    @AfterEach
    void noScriptErrors() {
        if (driver == null) return;
        List<String> errors = new ArrayList<>();
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue() && !e.getMessage().contains("status of 4")) errors.add(e.getMessage());
        }
        assertEquals(List.of(), errors, "the page's scripts ran without errors");
    }

    // ---- the tests

    @Test
    void writeStreamsTheSameTextAsTheApi() throws Exception {
        open("write");
        pick("wide@best");
        setValue("w-length", "1500");
        setValue("w-seed", "7");
        WebElement prompt = driver.findElement(By.id("w-prompt"));
        prompt.clear();
        prompt.sendKeys("The king");
        // Records how many characters the output held each time it changed: a stream shows in-between counts.
        js("window.__counts = []; new MutationObserver(() => window.__counts.push("
                + "document.querySelectorAll('#w-output .tok').length)).observe(document.getElementById('w-output'), {childList: true});");
        prompt.sendKeys(Keys.ENTER); // Enter generates, from the keyboard
        waitFor(() -> "done".equals(attr("w-output", "data-state")));

        String shown = (String) js("return window.__toygpt.generated()");
        assertEquals(1500, shown.length(), "all the characters asked for arrived");
        List<?> counts = (List<?>) js("return window.__counts");
        long between = counts.stream().mapToLong(c -> ((Number) c).longValue()).filter(c -> c > 0 && c < 1500).count();
        assertTrue(between > 0, "the text grew while it streamed, it did not arrive at once: " + counts);
        String promptShown = driver.findElement(By.cssSelector("#w-output .prompt")).getText();
        assertEquals("The king", promptShown);

        // Each character carries the probability it was drawn with, shown as its shade and on hover.
        List<WebElement> tokens = driver.findElements(By.cssSelector("#w-output .tok"));
        for (WebElement t : tokens.subList(0, 20)) {
            double p = Double.parseDouble(t.getAttribute("data-p"));
            assertTrue(p > 0 && p <= 1, "p in (0, 1]: " + p);
            assertTrue(t.getAttribute("title").startsWith("p = "));
        }

        // Same settings through the API directly: the same text, character for character (sampling is seeded).
        String api = generateViaApi(Map.of("checkpoint", "wide@best", "prompt", "The king", "maxNewTokens", 1500,
                "temperature", 1.0, "topK", 0, "topP", 1.0, "greedy", false, "seed", 7));
        assertEquals(api, shown);
        screenshot("write");
    }

    @Test
    void stopEndsAGeneration() {
        open("write");
        pick("tiny@best");
        setValue("w-length", "2000");
        driver.findElement(By.id("w-generate")).click();
        driver.findElement(By.id("w-stop")).click();
        waitFor(() -> !"running".equals(attr("w-output", "data-state")));
        String state = attr("w-output", "data-state");
        int count = driver.findElements(By.cssSelector("#w-output .tok")).size();
        // A tiny model may finish 2000 characters before the click lands; stopped means fewer than asked.
        assertTrue(("stopped".equals(state) && count < 2000) || ("done".equals(state) && count == 2000), state + " " + count);
        assertTrue(driver.findElement(By.id("w-generate")).isEnabled(), "Generate works again");
    }

    @Test
    void barsSumToOneAndTemperatureReshapesThem() {
        open("step");
        pick("tiny@best");
        WebElement text = driver.findElement(By.id("s-text"));
        text.clear();
        text.sendKeys("the king and");
        waitForBars("the king and", 1.0, 0);
        List<Double> atOne = barProbabilities();
        List<String> chars = barChars();
        assertEquals(11, atOne.size(), "ten characters and the rest");
        assertEquals(1.0, sum(atOne), 1e-3, "the bars and the rest add up to 1");

        // Cooler: the keyboard moves the slider from 1.0 to 0.5, the page asks again and redraws at once.
        WebElement temperature = driver.findElement(By.id("s-temperature"));
        for (int i = 0; i < 10; i++) temperature.sendKeys(Keys.ARROW_LEFT);
        assertEquals("0.50", driver.findElement(By.id("s-temperature-out")).getText());
        waitForBars("the king and", 0.5, 0);
        List<Double> atHalf = barProbabilities();
        assertEquals(1.0, sum(atHalf), 1e-3);
        assertTrue(atHalf.get(0) > atOne.get(0) + 1e-3, "a lower temperature makes the likeliest character likelier: "
                + atOne.get(0) + " -> " + atHalf.get(0));
        assertEquals(chars, barChars(), "the bars stay in the model's own order, so the same characters are compared");

        // top-k 2: only two characters keep a probability, and "the rest" is empty.
        driver.findElement(By.id("s-topk")).sendKeys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT);
        waitForBars("the king and", 0.5, 2);
        List<Double> topTwo = barProbabilities();
        assertEquals(2, topTwo.stream().filter(p -> p > 0).count(), "top-k 2 keeps two characters: " + topTwo);
        assertEquals(1.0, sum(topTwo), 1e-3);

        // Draw one: the drawn character is highlighted among the bars and appended to the text.
        driver.findElement(By.id("s-draw")).click();
        waitFor(() -> js("return document.querySelector('#s-bars .bar.drawn')") != null);
        String drawn = (String) js("return document.querySelector('#s-bars .bar.drawn').dataset.char");
        assertTrue(chars.subList(0, 2).contains(drawn), "with top-k 2 the drawn character is one of the two: " + drawn);
        assertEquals("the king and" + drawn, text.getAttribute("value"));
        screenshot("step");
    }

    @Test
    void attentionHeatmapsAreCausal() {
        open("inside");
        pick("tiny@best");
        WebElement text = driver.findElement(By.id("i-text"));
        text.clear();
        text.sendKeys("the king and queen", Keys.ENTER);
        String seen = lastChars("the king and queen", 16); // the model sees at most block_size characters
        waitFor(() -> seen.equals(js("return window.__toygpt.attention() && window.__toygpt.attention().tokens.join('')")));
        @SuppressWarnings("unchecked")
        Map<String, Object> attention = (Map<String, Object>) js("return window.__toygpt.attention()");
        int layers = ((Number) attention.get("nLayer")).intValue();
        int heads = ((Number) attention.get("nHead")).intValue();
        assertEquals(2, layers);
        assertEquals(2, heads);
        assertEquals(layers * heads, driver.findElements(By.cssSelector("#i-heatmaps canvas.heat-small")).size(),
                "one heatmap per layer and head");
        List<?> weights = (List<?>) attention.get("weights");
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                List<?> map = (List<?>) ((List<?>) weights.get(l)).get(h);
                int t = map.size();
                assertEquals(16, t);
                for (int q = 0; q < t; q++) {
                    List<?> row = (List<?>) map.get(q);
                    double total = 0;
                    for (int k = 0; k < t; k++) {
                        double w = ((Number) row.get(k)).doubleValue();
                        if (k > q) assertEquals(0.0, w, 0.0, "layer " + l + " head " + h + ": query " + q + " may not see key " + k);
                        total += w;
                    }
                    assertEquals(1.0, total, 1e-4, "each query's weights add up to 1");
                }
            }
        }
        // What was drawn: a cell above the diagonal is white, the first query's only key (itself) is dark.
        long[] upper = pixel(0, 1); // query 0, key 1: above the diagonal
        long[] self = pixel(0, 0);
        assertTrue(upper[0] == 255 && upper[1] == 255 && upper[2] == 255, "upper triangle drawn white: " + List.of(upper[0], upper[1], upper[2]));
        assertTrue(self[0] < 50, "weight 1 drawn dark: " + List.of(self[0], self[1], self[2]));

        // The embedding scatter: one point per character of the vocabulary.
        waitFor(() -> js("return window.__toygpt.embeddings()") != null);
        long chars = (Long) js("return window.__toygpt.embeddings().chars.length");
        assertEquals(TinyRuns.corpus().vocabulary().size(), chars);
        screenshot("inside");
        js("document.getElementById('i-scatter').scrollIntoView()");
        screenshot("inside-embeddings");
    }

    @Test
    void aBusyServerIsExplainedAndTheButtonWaitsWhatItAsked() throws Exception {
        open("write");
        pick("tiny@best");
        // Four generations from elsewhere hold every slot: each waits before its first character until released.
        CountDownLatch release = new CountDownLatch(1);
        Api.pacer = () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        List<CompletableFuture<HttpResponse<InputStream>>> others = new ArrayList<>();
        HttpClient http = HttpClient.newHttpClient();
        try {
            for (int i = 0; i < 4; i++) {
                others.add(http.sendAsync(HttpRequest.newBuilder(URI.create(server.url() + "api/generate"))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"checkpoint\": \"tiny@best\", \"maxNewTokens\": 5}")).build(),
                        HttpResponse.BodyHandlers.ofInputStream()));
            }
            waitFor(() -> server.activeGenerations() == 4);
            // Every label the button shows from now on, with the time it showed it.
            js("""
                    const b = document.getElementById('w-generate'); window.__labels = [];
                    new MutationObserver(() => window.__labels.push([b.textContent, b.disabled, performance.now()]))
                        .observe(b, {attributes: true, childList: true, characterData: true, subtree: true});""");
            driver.findElement(By.id("w-generate")).click();
            WebElement error = driver.findElement(By.id("error"));
            waitFor(error::isDisplayed);
            String message = error.getText();
            assertTrue(message.contains("busy") && message.contains("Try again in 2 s"), "the page says the server is busy and for how long: " + message);
            assertEquals("busy", attr("w-output", "data-state"));
            screenshot("write-busy");

            // Retry-After: 2 is honoured: the button counts down 2, 1 and only then works again.
            WebElement generate = driver.findElement(By.id("w-generate"));
            waitFor(generate::isEnabled);
            assertEquals("Generate", generate.getText());
            @SuppressWarnings("unchecked")
            List<List<Object>> labels = (List<List<Object>>) js("return window.__labels");
            List<Object> countdown = labels.stream().map(l -> l.get(0)).distinct().filter(t -> !"Generate".equals(t)).toList();
            assertEquals(List.of("Generate (2 s)", "Generate (1 s)"), countdown, "the countdown shown: " + labels);
            double disabledAt = labels.stream().filter(l -> "Generate (2 s)".equals(l.get(0))).mapToDouble(l -> ((Number) l.get(2)).doubleValue()).min().orElseThrow();
            double enabledAt = labels.stream().filter(l -> "Generate".equals(l.get(0)) && Boolean.FALSE.equals(l.get(1)))
                    .mapToDouble(l -> ((Number) l.get(2)).doubleValue()).max().orElseThrow();
            assertTrue(enabledAt - disabledAt >= 1900, "the button waited the 2 s the server asked: " + (enabledAt - disabledAt) + " ms");

            // Once the others are done, Generate works again.
            release.countDown();
            Api.pacer = null;
            for (var f : others) f.get().body().readAllBytes();
            waitFor(() -> server.activeGenerations() == 0);
            setValue("w-length", "20");
            generate.click();
            waitFor(() -> "done".equals(attr("w-output", "data-state")));
            assertEquals(20, driver.findElements(By.cssSelector("#w-output .tok")).size());
        } finally {
            Api.pacer = null;
            release.countDown();
            for (var f : others) {
                try {
                    f.get().body().close();
                } catch (Exception ignored) {
                    // already read or never answered
                }
            }
        }
    }

    @Test
    void hoveringAHeatmapCellTellsQueryKeyAndTheWeightTheApiGives() throws Exception {
        open("inside");
        pick("tiny@best");
        WebElement text = driver.findElement(By.id("i-text"));
        text.clear();
        text.sendKeys("the king and queen", Keys.ENTER);
        String seen = lastChars("the king and queen", 16); // "e king and queen"
        waitFor(() -> seen.equals(js("return window.__toygpt.attention() && window.__toygpt.attention().tokens.join('')")));
        // Layer 2, head 2 drawn large (a click on its small map), then the mouse on cell (query 11 'q', key 4 'n').
        driver.findElement(By.cssSelector("#i-heatmaps canvas[data-layer='1'][data-head='1']")).click();
        waitFor(() -> "1".equals(attr("i-large", "data-layer")) && "1".equals(attr("i-large", "data-head")));
        JsonNode api = postJson("api/attention", Map.of("checkpoint", "tiny@best", "text", "the king and queen"));
        int q = 11, k = 4;
        assertEquals("q", api.get("tokens").get(q).asText());
        assertEquals("n", api.get("tokens").get(k).asText());
        double weight = api.get("weights").get(1).get(1).get(q).get(k).asDouble();
        assertTrue(weight > 0, "a key before the query has a weight");
        hoverCell(q, k);
        WebElement tip = driver.findElement(By.id("i-tip"));
        waitFor(tip::isDisplayed);
        assertEquals("'q' looks at 'n'\nweight " + formatP(weight), tip.getText());
        assertEquals("query 'q' (position 12) → key 'n' (position 5): weight " + formatP(weight),
                driver.findElement(By.id("i-hover")).getText());
        // The tooltip sits beside the hovered cell, not somewhere else on the page.
        Map<String, Number> cell = cellBox(q, k);
        @SuppressWarnings("unchecked")
        Map<String, Number> tipBox = (Map<String, Number>) js("const r = arguments[0].getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top};", tip);
        assertEquals(cell.get("top").doubleValue(), tipBox.get("top").doubleValue(), 12, "tooltip level with the cell");
        assertTrue(tipBox.get("left").doubleValue() >= cell.get("right").doubleValue() || tipBox.get("right").doubleValue() <= cell.get("left").doubleValue(),
                "tooltip beside the cell, not over it: " + tipBox + " " + cell);
        @SuppressWarnings("unchecked")
        Map<String, Number> mark = (Map<String, Number>) js("const r = document.getElementById('i-cell').getBoundingClientRect(); return {left: r.left, top: r.top, w: r.width};");
        assertEquals(cell.get("left").doubleValue(), mark.get("left").doubleValue() + 2, 1.5, "the hovered cell is outlined");
        assertEquals(cell.get("top").doubleValue(), mark.get("top").doubleValue() + 2, 1.5, "the hovered cell is outlined");
        screenshot("inside-hover");

        // A cell above the diagonal: weight 0, and the page says why.
        hoverCell(3, 9);
        waitFor(() -> "3".equals(tip.getAttribute("data-query")) && "9".equals(tip.getAttribute("data-key")));
        assertEquals(0.0, api.get("weights").get(1).get(1).get(3).get(9).asDouble());
        assertTrue(driver.findElement(By.id("i-hover")).getText().endsWith("weight 0.000 — a later character: always 0, the model may not look ahead"),
                driver.findElement(By.id("i-hover")).getText());

        // From the keyboard: focus the large map, arrow keys move from cell to cell.
        WebElement large = driver.findElement(By.id("i-large"));
        large.sendKeys(Keys.ARROW_LEFT, Keys.ARROW_DOWN);
        waitFor(() -> "4".equals(tip.getAttribute("data-query")) && "8".equals(tip.getAttribute("data-key")));
        new Actions(driver).moveToElement(driver.findElement(By.id("i-look"))).perform();
        waitFor(() -> !tip.isDisplayed()); // the mouse left the heatmap
    }

    @Test
    void chatReplies() {
        open("chat");
        pick("tiny@best");
        WebElement message = driver.findElement(By.id("c-message"));
        message.sendKeys("Speak, my lord.", Keys.ENTER);
        waitFor(() -> {
            List<WebElement> replies = driver.findElements(By.cssSelector("#c-log .model"));
            return !replies.isEmpty() && "done".equals(replies.get(0).getAttribute("data-state"));
        });
        String reply = (String) js("return [...document.querySelectorAll('#c-log .model .tok')].map(s => s.textContent).join('')");
        assertFalse(reply.isEmpty(), "the model answered");
        String conversation = (String) js("return window.__toygpt.conversation()");
        assertEquals("Speak, my lord.\n" + reply, conversation, "the conversation is the line, then the reply");
        // A second line: the conversation now outgrows the 16-character context, and the page says so.
        message.sendKeys("Speak again.", Keys.ENTER);
        waitFor(() -> driver.findElements(By.cssSelector("#c-log .model")).size() == 2
                && "done".equals(driver.findElements(By.cssSelector("#c-log .model")).get(1).getAttribute("data-state")));
        WebElement notice = driver.findElement(By.id("c-notice"));
        assertTrue(notice.isDisplayed() && notice.getText().contains("context"), notice.getText());
        screenshot("chat");
        driver.findElement(By.id("c-reset")).click();
        assertEquals("", js("return window.__toygpt.conversation()"));
    }

    @Test
    void errorsFromTheApiAreShown() {
        open("write");
        pick("tiny@best");
        setValue("w-topk", "-3"); // the server checks the limits, as `sample` does
        driver.findElement(By.id("w-generate")).click();
        WebElement error = driver.findElement(By.id("error"));
        waitFor(error::isDisplayed);
        assertTrue(error.getText().contains("topK"), error.getText());
    }

    @Test
    void chartGainsPointsWhileARunTrains() throws Exception {
        open("runs");
        waitFor(() -> !driver.findElements(By.cssSelector("#runs-table tr[data-run='tiny']")).isEmpty());
        assertTrue(Integer.parseInt(attr("loss-chart", "data-points")) > 0, "the tiny run's curve is drawn");

        // A run in a background thread, slowed down a little so the page sees it grow over a few seconds.
        AtomicReference<Trainer> live = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                train(runs.resolve("live"), 4000, 20, live);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, "live-training");
        thread.start();
        try {
            waitFor(() -> !driver.findElements(By.cssSelector("#runs-table tr[data-run='live'] input")).isEmpty());
            // Tick it (the table is redrawn with each new listing: find the box again if it was replaced).
            waitFor(() -> {
                try {
                    WebElement box = driver.findElement(By.cssSelector("#runs-table tr[data-run='live'] input"));
                    if (!box.isSelected()) box.click();
                    return true;
                } catch (org.openqa.selenium.StaleElementReferenceException e) {
                    return false;
                }
            });
            waitFor(() -> livePoints() >= 1);
            long first = livePoints();
            waitFor(() -> livePoints() >= first + 3);
            long second = livePoints();
            waitFor(() -> livePoints() > second);
            assertTrue(driver.findElement(By.cssSelector("#loss-chart .u-over")).isDisplayed(), "uPlot drew the chart");
            assertFalse(driver.findElements(By.cssSelector("#runs-table tr[data-run='live'] .badge")).isEmpty(),
                    "the live run is marked as training");
            screenshot("runs");
        } finally {
            while (live.get() == null && thread.isAlive()) Thread.sleep(10);
            if (live.get() != null) live.get().requestStop();
            thread.join(20_000);
        }
    }

    @Test
    void everyControlIsLabelledAndEveryPanelSaysWhatItShows() {
        open("runs");
        waitFor(() -> !driver.findElements(By.cssSelector("#runs-table tbody input")).isEmpty());
        // A control without a label is a mystery to a screen reader and to whoever reads the page's code.
        Object unlabelled = js("""
                return [...document.querySelectorAll('input, select, textarea, canvas[tabindex]')]
                    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                    .map(e => e.id || e.outerHTML.slice(0, 60));""");
        assertEquals(List.of(), unlabelled);
        for (WebElement tab : driver.findElements(By.cssSelector("[role=tab]"))) {
            tab.click();
            WebElement panel = driver.findElement(By.id(tab.getAttribute("aria-controls")));
            assertTrue(panel.isDisplayed(), tab.getText() + " shows its panel");
            String caption = panel.findElement(By.cssSelector(".caption")).getText();
            assertTrue(caption.length() > 30, tab.getText() + " has a one-line caption: " + caption);
        }
        // The tab strip works from the keyboard: arrow keys move between panels.
        WebElement chat = driver.findElement(By.id("tab-chat"));
        chat.sendKeys(Keys.ARROW_RIGHT);
        assertEquals("true", driver.findElement(By.id("tab-runs")).getAttribute("aria-selected"));
        assertTrue(driver.findElement(By.id("panel-runs")).isDisplayed());
    }

    // ---- helpers

    /** Trains a two-layer, two-head GPT (block 16) on the test verse; slowed (and stoppable) when live is given. */
    private static void train(Path dir, int steps, int evalInterval, AtomicReference<Trainer> live) throws IOException {
        train(dir, steps, evalInterval, live, ModelConfig.gpt(TinyRuns.corpus().vocabulary().size(), 16, 2, 2, 16, 0f));
    }

    private static void train(Path dir, int steps, int evalInterval, AtomicReference<Trainer> live, ModelConfig config) throws IOException {
        TrainSettings settings = TinyRuns.settings(steps, evalInterval, 3);
        LanguageModel model = TinyRuns.model(config, settings);
        Trainer.Listener slow = live == null ? null : new Trainer.Listener() {
            @Override
            public void stepped(long step, float loss, float lr, double tokensPerSecond) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        Trainer trainer = TinyRuns.trainer(model, settings, new RunDirectory(dir), slow);
        if (live != null) live.set(trainer);
        trainer.run();
    }

    private long livePoints() {
        Object n = js("return window.__toygpt.chart().points['live'] || 0");
        return ((Number) n).longValue();
    }

    private void open(String panel) {
        driver.get("about:blank"); // a fresh page each time: a change of #panel alone would keep the old one
        driver.get(server.url() + "#" + panel);
        try {
            waitFor(() -> Boolean.TRUE.equals(js("return window.__toygpt && window.__toygpt.ready")));
        } catch (RuntimeException e) {
            screenshot("failed-open-" + panel);
            String direct = "";
            for (String path : List.of("api/runs", "api/runs/tiny/metrics", "api/runs/live/metrics")) {
                try {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url() + path))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                    direct += path + " " + r.statusCode() + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms; ";
                } catch (Exception x) {
                    direct += path + " " + x + "; ";
                }
            }
            StringBuilder dump = new StringBuilder();
            Thread.getAllStackTraces().forEach((t, st) -> {
                dump.append(t.getName()).append(' ').append(t.getState()).append('\n');
                for (StackTraceElement el : st) dump.append("    ").append(el).append('\n');
            });
            try {
                Files.writeString(SCREENSHOTS.resolve("threads.txt"), dump);
            } catch (IOException x) {
                throw new RuntimeException(x);
            }
            throw new AssertionError("the page did not load its runs (/api/runs from here: " + direct + "); requests done: "
                    + js("return performance.getEntriesByType('resource').map(e => e.name + ' ' + Math.round(e.duration)).join(', ')")
                    + "; it shows: " + js("return document.getElementById('error').textContent"), e);
        }
    }

    /** Picks a checkpoint in the header, as a user does with the drop-down (again if a new listing replaced it). */
    private void pick(String checkpoint) {
        waitFor(() -> {
            try {
                new Select(driver.findElement(By.id("checkpoint"))).selectByValue(checkpoint);
                return checkpoint.equals(driver.findElement(By.id("checkpoint")).getAttribute("value"));
            } catch (org.openqa.selenium.NoSuchElementException | org.openqa.selenium.StaleElementReferenceException e) {
                return false;
            }
        });
    }

    private void setValue(String id, String value) {
        WebElement input = driver.findElement(By.id(id));
        input.clear();
        input.sendKeys(value);
    }

    private String attr(String id, String name) {
        return driver.findElement(By.id(id)).getAttribute(name);
    }

    /** Waits until the bars drawn are the answer for this text and these knobs. */
    private void waitForBars(String text, double temperature, int topK) {
        waitFor(() -> Boolean.TRUE.equals(js("""
                const n = window.__toygpt.next();
                return !!n && n.settings.text === arguments[0] && Math.abs(n.settings.temperature - arguments[1]) < 1e-9
                    && n.settings.topK === arguments[2] && document.querySelectorAll('#s-bars .bar').length > 0;""",
                text, temperature, topK)));
    }

    /** The bars' probabilities, read in one go (the page may redraw between two reads). */
    @SuppressWarnings("unchecked")
    private List<Double> barProbabilities() {
        return ((List<Number>) js("return [...document.querySelectorAll('#s-bars .bar')].map(b => Number(b.dataset.p))"))
                .stream().map(Number::doubleValue).toList();
    }

    @SuppressWarnings("unchecked")
    private List<String> barChars() {
        return (List<String>) js("return [...document.querySelectorAll('#s-bars .bar')].map(b => b.dataset.char)");
    }

    private static double sum(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).sum();
    }

    private static String lastChars(String s, int n) {
        return s.substring(Math.max(0, s.length() - n));
    }

    /** The colour the page drew for (query, key) in the large heatmap, read back from its canvas. */
    private long[] pixel(int query, int key) {
        @SuppressWarnings("unchecked")
        List<Number> rgb = (List<Number>) js("""
                const c = document.getElementById('i-large');
                const ratio = c.width / parseFloat(c.style.width);
                const g = c.getContext('2d');
                const margin = Number(c.dataset.margin), cell = Number(c.dataset.cell);
                const x = (margin + arguments[1] * cell + cell / 2) * ratio, y = (margin + arguments[0] * cell + cell / 2) * ratio;
                return Array.from(g.getImageData(Math.floor(x), Math.floor(y), 1, 1).data);""", query, key);
        return rgb.stream().mapToLong(Number::longValue).toArray();
    }

    /** The large heatmap's cell (query, key) in page pixels: left, right, top, bottom. */
    @SuppressWarnings("unchecked")
    private Map<String, Number> cellBox(int query, int key) {
        return (Map<String, Number>) js("""
                const c = document.getElementById('i-large'), r = c.getBoundingClientRect();
                const margin = Number(c.dataset.margin), cell = Number(c.dataset.cell);
                const left = r.left + margin + arguments[1] * cell, top = r.top + margin + arguments[0] * cell;
                return {left, right: left + cell, top, bottom: top + cell};""", query, key);
    }

    /** Moves the mouse, as a user does, to the middle of a cell of the large heatmap. */
    private void hoverCell(int query, int key) {
        WebElement canvas = driver.findElement(By.id("i-large"));
        js("arguments[0].scrollIntoView({block: 'center'})", canvas);
        Map<String, Number> box = cellBox(query, key);
        @SuppressWarnings("unchecked")
        Map<String, Number> canvasBox = (Map<String, Number>) js("const r = arguments[0].getBoundingClientRect(); return {left: r.left, top: r.top, w: r.width, h: r.height};", canvas);
        // Selenium's offsets count from the element's centre.
        int x = (int) Math.round((box.get("left").doubleValue() + box.get("right").doubleValue()) / 2 - canvasBox.get("left").doubleValue() - canvasBox.get("w").doubleValue() / 2);
        int y = (int) Math.round((box.get("top").doubleValue() + box.get("bottom").doubleValue()) / 2 - canvasBox.get("top").doubleValue() - canvasBox.get("h").doubleValue() / 2);
        new Actions(driver).moveToElement(canvas, x, y).perform();
    }

    /** The page's way of writing a probability (chars.js formatP): 3 decimals, or 2 significant digits below 0.01. */
    private static String formatP(double p) {
        if (p >= 0.01 || p == 0) return String.format(java.util.Locale.ROOT, "%.3f", p);
        return new java.math.BigDecimal(p).round(new java.math.MathContext(2)).toPlainString();
    }

    private JsonNode postJson(String path, Map<String, Object> body) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url() + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body());
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    private void waitFor(java.util.function.BooleanSupplier condition) {
        new WebDriverWait(driver, WAIT, Duration.ofMillis(50)).until(d -> condition.getAsBoolean());
    }

    /** Saves what the window shows, after checking it needs no horizontal scrolling at 1280 pixels. */
    private void screenshot(String name) {
        long overflow = ((Number) js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")).longValue();
        assertTrue(overflow <= 0, name + ": wider than the window by " + overflow + " px");
        try {
            Files.write(SCREENSHOTS.resolve(name + ".png"), ((ChromeDriver) driver).getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** The text /api/generate streams for these settings: the "token" events' characters, in order. */
    private String generateViaApi(Map<String, Object> body) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url() + "api/generate"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        StringBuilder text = new StringBuilder();
        String event = null;
        for (String line : response.body().split("\n")) {
            if (line.startsWith("event:")) event = line.substring(6).trim();
            else if (line.startsWith("data:") && "token".equals(event)) {
                JsonNode data = JSON.readTree(line.substring(5).trim());
                text.append(data.get("text").asText());
            }
        }
        assertNotEquals(0, text.length());
        return text.toString();
    }
}
