package ai.gpt.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.RawHttp;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.VertxExtension;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

@ExtendWith(VertxExtension.class)
class HttpHygieneTest {
  private static final String CHAT = "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n";
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private GatewayHarness gw;

  @BeforeEach
  void setUp(Vertx vertx) {
    logs.start();
    root.addAppender(logs);
    gw = GatewayHarness.start(vertx, Map.of("MAX_BODY_BYTES", "100000"));
  }

  @AfterEach
  void tearDown() {
    root.detachAppender(logs);
    gw.close();
  }

  @Test
  @DisplayName("smuggling shapes and malformed heads get OpenAI JSON with a request id, the connection closed, one WARN")
  void malformedRequestsAreRefused() {
    Map<String, Integer> cases = new LinkedHashMap<>();
    cases.put(CHAT + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: chunked \r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}", 400);
    cases.put(CHAT + "Transfer-Encoding: gzip\r\n\r\n{}", 501);
    cases.put(CHAT + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
    cases.put(CHAT + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
    cases.put(CHAT + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501);
    cases.put(CHAT + "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n", 400);
    cases.put("POST /v1/chat/completions HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400);
    cases.put(CHAT + "Content-Length: 2, 2\r\n\r\n{}", 400);
    cases.put(CHAT + "Content-Length: +2\r\n\r\n{}", 400);
    cases.put(CHAT + "Content-Length: 0x2\r\n\r\n{}", 400);
    cases.put(CHAT + "Content-Length: -1\r\n\r\n{}", 400);
    cases.put(CHAT + "X-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\n{}", 400);
    cases.put(CHAT + "X-Folded: a\r\n\tContent-Length: 9\r\nContent-Length: 2\r\n\r\n{}", 400);
    cases.put("GET /v1/models HTTP/1.1\nHost: gw\n\n", 400);
    cases.put("GET /v1/models HTTP/1.1\r\nHost: gw\rX: y\r\n\r\n", 400);
    cases.put("GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    cases.put("GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n", 400);
    cases.put(CHAT + "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 400);
    cases.put("GET /v1/models HTTP/1.1\r\nHost: gw\r\nBad Header: x\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", 400);
    cases.put(CHAT + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n", 400);
    cases.put("GET /v1/models HTTP/1.2\r\nHost: gw\r\n\r\n", 505);
    cases.put("GET /v1/models HTTP/2.0\r\nHost: gw\r\n\r\n", 505);
    cases.put("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
    cases.put("GET /v1/models http/1.1\r\nHost: gw\r\n\r\n", 505);
    cases.put("GET /v1/models HTTP/01.1\r\nHost: gw\r\n\r\n", 505);
    cases.put("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: gw\r\n\r\n", 414);
    cases.put("GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Big: " + "b".repeat(9000) + "\r\n\r\n", 431);

    cases.forEach((raw, status) -> {
      String shape = raw.length() > 120 ? raw.substring(0, 120) : raw;
      logs.list.clear();
      RawHttp.Reply reply = RawHttp.exchange(gw.port(), raw);
      assertEquals(status, reply.status(), shape + "\n" + reply.head() + reply.body());
      assertNotNull(reply.error().getString("message"), shape);
      assertTrue(reply.error().getString("type").endsWith("_error"), shape);
      assertTrue(reply.header("x-request-id").startsWith("req_"), shape);
      assertTrue(reply.closes(), shape + " says Connection: close");
      GatewayHarness.awaitTrue("the WARN line of " + shape, () -> warnings() == 1);
      assertTrue(logs.list.stream().noneMatch(e -> e.getThrowableProxy() != null || e.getLevel() == Level.ERROR),
          shape + " logged a stack trace or an error");
    });
  }

  @Test
  @DisplayName("an Expect other than 100-continue is 417 in OpenAI's JSON, not a 500 and an ERROR line")
  void unsupportedExpectation() {
    String key = gw.createKey();
    String body = "{\"model\":\"gpt-fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    for (String head : new String[] {
        CHAT + "Authorization: Bearer " + key + "\r\nExpect: 200-ok\r\nContent-Length: " + body.length() + "\r\n\r\n",
        "POST /api/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nExpect: x\r\n"
            + "Content-Length: 2\r\n\r\n"}) {
      logs.list.clear();
      try (RawHttp http = RawHttp.connect(gw.port())) {
        RawHttp.Reply reply = http.send(head + (head.startsWith(CHAT) ? body : "{}")).readResponse();
        assertEquals(417, reply.status(), reply.head() + reply.body());
        assertEquals("expectation_failed", reply.error().getString("code"), reply.body());
        assertEquals("invalid_request_error", reply.error().getString("type"), reply.body());
        assertTrue(reply.header("x-request-id").startsWith("req_"), reply.head());
      }
      assertTrue(logs.list.stream().noneMatch(e -> e.getLevel() == Level.ERROR), "an ERROR was logged");
    }
  }

  @Test
  @DisplayName("a well-formed chunked request reaches its route and the kept-alive connection serves the next one")
  void chunkedStillWorks() {
    try (RawHttp http = RawHttp.connect(gw.port())) {
      http.send("POST /api/auth/login HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
          + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
      RawHttp.Reply first = http.readResponse();
      assertEquals("no_session", first.error().getString("code"), first.body()); // the route answered
      http.send("GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n");
      assertEquals(401, http.readResponse().status());
    }
  }

  @Test
  @DisplayName("odd request targets and methods get a JSON 4xx with a request id, never a 500 or an HTML page")
  void oddTargets() {
    for (String line : new String[] {"GET * HTTP/1.1", "OPTIONS * HTTP/1.1", "GET http://elsewhere/v1/models HTTP/1.1",
        "BREW /v1/models HTTP/1.1", "DELETE /v1/chat/completions HTTP/1.1", "GET /%zz HTTP/1.1", "GET /% HTTP/1.1",
        "GET /%ff%fe.js HTTP/1.1", "GET /assets/%c0%ae%c0%ae/x.js HTTP/1.1", "GET /api/%00 HTTP/1.1",
        // a broken escape in the query: routes with path parameters decode it while matching
        "GET /v1/models/gpt-fast?a=%zz HTTP/1.1", "GET /api/orgs/1/keys?a=%zz HTTP/1.1", "GET /api/config?a=% HTTP/1.1"}) {
      try (RawHttp http = RawHttp.connect(gw.port())) {
        RawHttp.Reply reply = http.send(line + "\r\nHost: gw\r\n\r\n").readResponse();
        assertTrue(reply.status() >= 400 && reply.status() < 500, line + ": " + reply.head());
        assertNotNull(reply.error().getString("message"), line);
        assertTrue(reply.header("x-request-id").startsWith("req_"), line + ": " + reply.head());
      }
    }
  }

  @Test
  @DisplayName("each route's 413 names its own body limit")
  void bodyLimitPerRoute() {
    var v1 = gw.client().post("/v1/chat/completions").putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer("x".repeat(100_001))).await();
    assertEquals(413, v1.statusCode());
    assertTrue(v1.bodyAsJsonObject().getJsonObject("error").getString("message").contains("100000"), v1.bodyAsString());
    var api = gw.client().post("/api/auth/login").putHeader("content-type", "application/json")
        .sendBuffer(Buffer.buffer("x".repeat(70_000))).await();
    assertEquals(413, api.statusCode());
    assertTrue(api.bodyAsJsonObject().getJsonObject("error").getString("message").contains("65536"), api.bodyAsString());
  }

  @Test
  @DisplayName("only app routes fall back to the web app; missing files and assets are 404 JSON")
  void unknownPaths() {
    for (String missing : new String[] {"/favicon.ico", "/x.js", "/assets/missing.js", "/dashboard/logo.png",
        "/dashbord", "/index.html"}) {
      var resp = gw.get(missing, null);
      assertEquals(404, resp.statusCode(), missing);
      assertEquals("not_found", resp.bodyAsJsonObject().getJsonObject("error").getString("code"), missing);
    }
    var app = gw.get("/dashboard/keys", null);
    assertEquals(200, app.statusCode());
    assertTrue(app.getHeader("content-type").startsWith("text/html"));
    assertEquals("no-cache", app.getHeader("cache-control"));
    String csp = app.getHeader("content-security-policy");
    assertTrue(csp.startsWith("default-src 'self'; script-src 'self';") && !csp.contains("unsafe"), csp);
    assertEquals(200, gw.get("/api/docs", null).statusCode(), "the API reference stays at /api/docs");
  }

  @Test
  @DisplayName("the built web app: its page carries the CSP's nonce, its entry script is immutable and brotli")
  void builtWebApp() {
    var page = gw.get("/", null);
    Matcher script = Pattern.compile("src=\"(/assets/[^\"]+\\.js)\" nonce=\"([^\"]+)\"").matcher(page.bodyAsString());
    Assumptions.assumeTrue(script.find(), "built with -Dskip.web=true: no web app to check");
    assertTrue(page.getHeader("content-security-policy").contains("'nonce-" + script.group(2) + "'"));
    var js = gw.client().get(script.group(1)).putHeader("accept-encoding", "gzip, br").send().await();
    assertEquals(200, js.statusCode());
    assertEquals("br", js.getHeader("content-encoding"));
    assertEquals("public, max-age=31536000, immutable", js.getHeader("cache-control"));
    assertEquals("text/javascript; charset=utf-8", js.getHeader("content-type"));
  }

  private long warnings() {
    return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).count();
  }
}
