package ai.gpt.api.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import jakarta.mail.internet.MimeMessage;
import java.net.ServerSocket;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A gateway with a real SMTP server (GreenMail) for tests of the /api account API: sign up, verify and sign in
 * users through HTTP, call routes with their access token, and read the e-mails they were sent.
 */
public final class ApiClient implements AutoCloseable {
  public static final String PASSWORD = "correct horse battery";
  public static final String PUBLIC_URL = "https://gpt.test";
  private static final Pattern TOKEN = Pattern.compile("token=([A-Za-z0-9_-]+)");

  private final GreenMail smtp;
  private final GatewayHarness gw;

  private ApiClient(GreenMail smtp, GatewayHarness gw) {
    this.smtp = smtp;
    this.gw = gw;
  }

  public static ApiClient start(Vertx vertx) throws Exception {
    return start(vertx, Map.of());
  }

  /** With more environment variables (e.g. OAuth providers). */
  public static ApiClient start(Vertx vertx, Map<String, String> extra) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    GreenMail smtp = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.start();
    try {
      Map<String, String> env = new java.util.HashMap<>(Map.of("SMTP_HOST", "127.0.0.1",
          "SMTP_PORT", String.valueOf(port), "SMTP_FROM", "no-reply@gpt.test", "PUBLIC_URL", PUBLIC_URL));
      env.putAll(extra);
      return new ApiClient(smtp, GatewayHarness.start(vertx, env));
    } catch (RuntimeException e) {
      smtp.stop();
      throw e;
    }
  }

  public GatewayHarness gateway() {
    return gw;
  }

  /** Signs up, verifies through the e-mailed link and signs in; returns the access token. */
  public String signUpAndSignIn(String email) {
    assertEquals(202, call(HttpMethod.POST, "/api/auth/signup", null,
        new JsonObject().put("email", email).put("password", PASSWORD).put("name", email)).statusCode());
    String token = tokenFromMail(email, "Verify your e-mail");
    assertEquals(200, call(HttpMethod.POST, "/api/auth/verify", null, new JsonObject().put("token", token))
        .statusCode());
    HttpResponse<Buffer> signedIn = call(HttpMethod.POST, "/api/auth/signin", null,
        new JsonObject().put("email", email).put("password", PASSWORD));
    assertEquals(200, signedIn.statusCode(), signedIn.bodyAsString());
    return signedIn.bodyAsJsonObject().getString("access_token");
  }

  /** A request with an optional bearer token and an optional JSON body. */
  public HttpResponse<Buffer> call(HttpMethod method, String path, String accessToken, JsonObject body) {
    HttpRequest<Buffer> r = gw.client().request(method, path);
    if (accessToken != null) {
      r.bearerTokenAuthentication(accessToken);
    }
    return (body == null ? r.send() : r.sendJsonObject(body)).await();
  }

  public static String code(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("code");
  }

  /** The token of the link in the newest e-mail to {@code to} whose subject starts with {@code subject}. */
  public String tokenFromMail(String to, String subject) {
    Matcher m = TOKEN.matcher(mailTo(to, subject));
    assertTrue(m.find(), "the e-mail carries a link with a token");
    return m.group(1);
  }

  /** The body of the newest message to {@code to} with that subject, waiting for it to arrive. */
  public String mailTo(String to, String subject) {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      MimeMessage[] all = smtp.getReceivedMessages();
      for (int i = all.length - 1; i >= 0; i--) {
        try {
          if (all[i].getAllRecipients()[0].toString().equals(to) && all[i].getSubject().startsWith(subject)) {
            return GreenMailUtil.getBody(all[i]);
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
      smtp.waitForIncomingEmail(200, all.length + 1);
    }
    throw new AssertionError("no e-mail '" + subject + "' to " + to);
  }

  /** How many e-mails to {@code to} have arrived so far. */
  public long mailCountTo(String to) {
    long n = 0;
    for (MimeMessage m : smtp.getReceivedMessages()) {
      try {
        n += m.getAllRecipients()[0].toString().equals(to) ? 1 : 0;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    return n;
  }

  /** How many e-mails have arrived so far. */
  public int mailCount() {
    return smtp.getReceivedMessages().length;
  }

  @Override
  public void close() {
    try {
      gw.close();
    } finally {
      smtp.stop();
    }
  }
}
