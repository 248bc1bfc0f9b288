package ai.gpt.api.webhooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.junit5.VertxExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deliveries to a URL naming an IPv6 address ({@code https://[2001:db8::1]/hook}): the Host header is bracketed and
 * the TLS handshake happens (no SNI for an address, RFC 6066; the certificate is checked against the address).
 * Before, forcing SNI with an IPv6 literal failed every handshake, and the Host header was {@code ::1:port}.
 */
@ExtendWith(VertxExtension.class)
class SenderIpv6Test {
  private static final String SECRET = "whsec_" + Base64.getEncoder().encodeToString(new byte[32]);
  private final List<String> hosts = new CopyOnWriteArrayList<>();

  @BeforeEach
  void needsIpv6Loopback() {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
    } catch (IOException e) {
      Assumptions.abort("no IPv6 loopback here: " + e);
    }
  }

  private HttpServer receiver(Vertx vertx, HttpServerOptions options) {
    return vertx.createHttpServer(options).requestHandler(req -> {
      hosts.add(req.getHeader("host"));
      req.body().onSuccess(b -> req.response().end("ok"));
    }).listen(0, "::1").await();
  }

  @Test
  @DisplayName("http to [::1] (loopback allowed): delivered with the Host header [::1]:port")
  void hostHeaderIsBracketed(Vertx vertx) throws Exception {
    HttpServer server = receiver(vertx, new HttpServerOptions());
    Sender sender = new Sender(vertx, 4, null);
    try {
      Destination to = Destination.parse("http://[::1]:" + server.actualPort() + "/hook", true);
      Sender.Attempt attempt = sender.send(to, InetAddress.getByName("::1"), "msg_1", "{}", List.of(SECRET)).await();
      assertEquals(200, attempt.status(), attempt.error());
      assertEquals(List.of("[::1]:" + server.actualPort()), hosts);
    } finally {
      sender.close().await();
      server.close().await();
    }
  }

  @Test
  @DisplayName("https to [::1] with a certificate for that address: the handshake succeeds and it is delivered")
  void httpsToAnIpv6Address(Vertx vertx, @TempDir Path dir) throws Exception {
    Path store = dir.resolve("v6.p12");
    Path cert = dir.resolve("v6.pem");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(keytool, "-genkeypair", "-alias", "v6", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=v6",
        "-ext", "san=ip:0:0:0:0:0:0:0:1", "-validity", "2", "-keystore", store.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-keypass", "changeit");
    run(keytool, "-exportcert", "-rfc", "-alias", "v6", "-keystore", store.toString(), "-storepass", "changeit",
        "-file", cert.toString());
    HttpServer server = receiver(vertx, new HttpServerOptions().setSsl(true)
        .setKeyCertOptions(new PfxOptions().setPath(store.toString()).setPassword("changeit")));
    Sender sender = new Sender(vertx, 4, new PemTrustOptions().addCertPath(cert.toString()));
    try {
      Destination to = Destination.parse("https://[::1]:" + server.actualPort() + "/hook", true);
      Sender.Attempt attempt = sender.send(to, InetAddress.getByName("::1"), "msg_2", "{}", List.of(SECRET)).await();
      assertEquals(200, attempt.status(), attempt.error());
      assertEquals(List.of("[::1]:" + server.actualPort()), hosts);
    } finally {
      sender.close().await();
      server.close().await();
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool finished");
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.exitValue(), out);
  }
}
