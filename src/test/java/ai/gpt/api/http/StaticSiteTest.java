package ai.gpt.api.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web app's serving rules over real HTTP, on a web root laid out as the build lays it out (files.json, hashed
 * assets with .gz and .br copies, index.html with the nonce placeholder). The "brotli" copy is a marker: the
 * server never decodes it, only picks it.
 */
@ExtendWith(VertxExtension.class)
class StaticSiteTest {
  private static final String JS = "console.log('the app');\n".repeat(50);
  private static final byte[] BROTLI_MARKER = {(byte) 0xce, (byte) 0xb2, (byte) 0xcf, 0x01};
  private HttpServer server;
  private WebClient client;

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path root) throws IOException {
    Files.createDirectories(root.resolve("assets"));
    Files.writeString(root.resolve("index.html"), "<!doctype html><html><head><meta property=\"csp-nonce\" "
        + "nonce=\"__CSP_NONCE__\"><script type=\"module\" src=\"/assets/index-abc123.js\" nonce=\"__CSP_NONCE__\">"
        + "</script></head>"
        + "<body><div id=\"root\"></div></body></html>");
    Files.writeString(root.resolve("assets/index-abc123.js"), JS);
    Files.write(root.resolve("assets/index-abc123.js.gz"), gzip(JS));
    Files.write(root.resolve("assets/index-abc123.js.br"), BROTLI_MARKER);
    Files.write(root.resolve("assets/logo-ff00.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
    Files.writeString(root.resolve("robots.txt"), "User-agent: *\n");
    Files.writeString(root.resolve("files.json"), "{\"files\": ["
        + "{\"path\": \"assets/index-abc123.js\", \"gzip\": true, \"br\": true},"
        + "{\"path\": \"assets/logo-ff00.png\", \"gzip\": false, \"br\": false},"
        + "{\"path\": \"robots.txt\", \"gzip\": false, \"br\": false}]}");
    StaticSite site = StaticSite.load(vertx, root.toString()).await();
    Router router = Router.router(vertx);
    site.mount(router);
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
    client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(server.actualPort()).setDecompressionSupported(false));
  }

  @AfterEach
  void tearDown() {
    client.close();
    server.close().await();
  }

  @Test
  @DisplayName("hashed assets: immutable for a year, brotli or gzip as accepted, Vary, the original's type")
  void precompressedAssets() throws IOException {
    var br = get("/assets/index-abc123.js", "gzip, deflate, br");
    assertEquals(200, br.statusCode());
    assertEquals("public, max-age=31536000, immutable", br.getHeader("cache-control"));
    assertEquals("text/javascript; charset=utf-8", br.getHeader("content-type"));
    assertEquals("br", br.getHeader("content-encoding"));
    assertEquals("Accept-Encoding", br.getHeader("vary"));
    assertArrayEquals(BROTLI_MARKER, br.body().getBytes());

    var gz = get("/assets/index-abc123.js", "gzip;q=1.0, br;q=0");
    assertEquals("gzip", gz.getHeader("content-encoding"));
    assertEquals(JS, gunzip(gz.body().getBytes()));

    var plain = get("/assets/index-abc123.js", null);
    assertNull(plain.getHeader("content-encoding"));
    assertEquals("Accept-Encoding", plain.getHeader("vary"));
    assertEquals(JS, plain.bodyAsString());
    assertEquals(JS, get("/assets/index-abc123.js", "identity, gzip;q=0").bodyAsString());
    assertEquals("br", get("/assets/index-abc123.js", "*").getHeader("content-encoding"));

    var png = get("/assets/logo-ff00.png", "br");
    assertEquals("image/png", png.getHeader("content-type"));
    assertNull(png.getHeader("content-encoding"), "no compressed copy: sent as is");
    assertNull(png.getHeader("vary"));

    var head = client.head("/assets/index-abc123.js").putHeader("accept-encoding", "br").send().await();
    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(BROTLI_MARKER.length), head.getHeader("content-length"));
    assertNull(head.body());

    var robots = get("/robots.txt", null);
    assertEquals("public, max-age=3600", robots.getHeader("cache-control"), "unhashed: may change with a deploy");
  }

  @Test
  @DisplayName("app routes get index.html, never cached, with a fresh CSP nonce and no unsafe-inline/eval")
  void appRoutesGetTheIndex() {
    String previousNonce = null;
    for (String path : new String[] {"/", "/dashboard", "/dashboard/keys", "/admin/users", "/status", "/docs",
        "/verify", "/reset-password", "/invite", "/signin", "/status/confirm", "/oauth/error"}) {
      var page = get(path + (path.equals("/verify") ? "?token=abc" : ""), null);
      assertEquals(200, page.statusCode(), path);
      assertEquals("text/html; charset=utf-8", page.getHeader("content-type"), path);
      assertEquals("no-cache", page.getHeader("cache-control"), path);
      String csp = page.getHeader("content-security-policy");
      assertFalse(csp.contains("unsafe-inline") || csp.contains("unsafe-eval"), csp);
      assertTrue(csp.contains("script-src 'self';"), csp);
      Matcher inPage = Pattern.compile("nonce=\"([A-Za-z0-9+/=]+)\"").matcher(page.bodyAsString());
      assertTrue(inPage.find(), page.bodyAsString());
      String nonce = inPage.group(1);
      assertTrue(csp.contains("style-src 'self' 'nonce-" + nonce + "';"), csp);
      assertFalse(page.bodyAsString().contains("__CSP_NONCE__"));
      assertTrue(page.bodyAsString().contains("src=\"/assets/index-abc123.js\" nonce=\"" + nonce + "\""), "every one");
      assertNotEquals(previousNonce, nonce, "a nonce is never reused");
      previousNonce = nonce;
    }
    var head = client.head("/dashboard/usage").send().await();
    assertEquals(200, head.statusCode());
    assertEquals("no-cache", head.getHeader("cache-control"));
  }

  @Test
  @DisplayName("anything else is a real 404: missing files, unknown pages, the index by name")
  void everythingElseIs404() {
    for (String path : new String[] {"/favicon.ico", "/x.js", "/assets/missing.js", "/dashboard/logo.png",
        "/dashbord", "/wp-login.php", "/index.html", "/files.json", "/assets/index-abc123.js.br", "/api/x",
        "/v1/models"}) {
      assertEquals(404, get(path, "br").statusCode(), path);
    }
    assertEquals(405, client.post("/dashboard").send().await().statusCode(), "only GET and HEAD are served");
  }

  @Test
  @DisplayName("a build without the web app (-Dskip.web=true) serves a notice on app routes")
  void withoutTheApp(Vertx vertx, @TempDir Path empty) {
    StaticSite site = StaticSite.load(vertx, empty.toString()).await();
    Router router = Router.router(vertx);
    site.mount(router);
    HttpServer bare = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
    try {
      var page = client.get(bare.actualPort(), "127.0.0.1", "/dashboard").send().await();
      assertEquals(200, page.statusCode());
      assertTrue(page.bodyAsString().contains("-Dskip.web=true"));
      assertEquals(404, client.get(bare.actualPort(), "127.0.0.1", "/assets/a.js").send().await().statusCode());
    } finally {
      bare.close().await();
    }
  }

  @Test
  @DisplayName("Accept-Encoding: q=0 refuses, the wildcard covers unnamed codings, names are case-insensitive")
  void acceptEncoding() {
    assertTrue(AcceptEncoding.accepts("gzip, br", "br"));
    assertTrue(AcceptEncoding.accepts("BR;q=0.5", "br"));
    assertFalse(AcceptEncoding.accepts("br;q=0", "br"));
    assertFalse(AcceptEncoding.accepts("br;q=0.000, *", "br"));
    assertTrue(AcceptEncoding.accepts("*", "gzip"));
    assertFalse(AcceptEncoding.accepts("*;q=0", "gzip"));
    assertFalse(AcceptEncoding.accepts("gzip;q=bogus", "gzip"));
    assertFalse(AcceptEncoding.accepts(null, "gzip"));
    assertFalse(AcceptEncoding.accepts("", "gzip"));
  }

  private HttpResponse<Buffer> get(String path, String acceptEncoding) {
    var request = client.get(path);
    if (acceptEncoding != null) {
      request.putHeader("accept-encoding", acceptEncoding);
    }
    return request.send().await();
  }

  private static byte[] gzip(String text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  private static String gunzip(byte[] bytes) throws IOException {
    try (GZIPInputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(bytes))) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
