package ai.gpt.api.apikeys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.GatewayHarness;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.Tuple;
import jakarta.mail.internet.MimeMessage;
import java.net.ServerSocket;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * For tests of organization-scoped /api routes: a gateway with a real SMTP server (GreenMail), and users signed up,
 * verified by the e-mailed link and signed in through HTTP, each with their personal organization.
 */
public final class ApiUsers implements AutoCloseable {
  public static final String PASSWORD = "correct horse battery";
  private static final Pattern TOKEN = Pattern.compile("token=([A-Za-z0-9_-]+)");

  /** A signed-in user: their id, access token and personal organization (which they own). */
  public record User(long id, String token, long orgId) {}

  public final GatewayHarness gw;
  private final GreenMail smtp;

  private ApiUsers(GatewayHarness gw, GreenMail smtp) {
    this.gw = gw;
    this.smtp = smtp;
  }

  public static ApiUsers start(Vertx vertx) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    GreenMail smtp = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.start();
    GatewayHarness gw = GatewayHarness.start(vertx, Map.of("SMTP_HOST", "127.0.0.1", "SMTP_PORT",
        String.valueOf(port), "SMTP_FROM", "no-reply@gpt.test", "PUBLIC_URL", "https://gpt.test"));
    return new ApiUsers(gw, smtp);
  }

  /** Signs up, verifies by the e-mailed link and signs in. */
  public User signUp(String email) {
    HttpResponse<Buffer> up = gw.client().post("/api/auth/signup")
        .sendJsonObject(new JsonObject().put("email", email).put("password", PASSWORD)).await();
    assertEquals(202, up.statusCode(), up.bodyAsString());
    Matcher m = TOKEN.matcher(mailTo(email, "Verify your e-mail"));
    assertTrue(m.find(), "the e-mail carries a link with a token");
    assertEquals(200, gw.client().post("/api/auth/verify").sendJsonObject(new JsonObject().put("token", m.group(1)))
        .await().statusCode());
    HttpResponse<Buffer> in = gw.client().post("/api/auth/signin")
        .sendJsonObject(new JsonObject().put("email", email).put("password", PASSWORD)).await();
    assertEquals(200, in.statusCode(), in.bodyAsString());
    String token = in.bodyAsJsonObject().getString("access_token");
    JsonObject me = call("GET", "/api/me", token, null).bodyAsJsonObject();
    return new User(me.getLong("id"), token, me.getJsonArray("organizations").getJsonObject(0).getLong("id"));
  }

  /** Makes the user a member of the organization with that role (the invitations feature is not here yet). */
  public void addMember(long orgId, User user, String role) {
    gw.pool().preparedQuery("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)")
        .execute(Tuple.of(orgId, user.id(), role)).await();
  }

  /** Another organization owned by the user. */
  public long createOrgOwnedBy(User user, String name) {
    long org = gw.createOrg(name, 0);
    addMember(org, user, "owner");
    return org;
  }

  public HttpResponse<Buffer> call(String method, String path, String token, JsonObject body) {
    HttpRequest<Buffer> r = switch (method) {
      case "GET" -> gw.client().get(path);
      case "POST" -> gw.client().post(path);
      case "PATCH" -> gw.client().patch(path);
      case "DELETE" -> gw.client().delete(path);
      default -> throw new IllegalArgumentException(method);
    };
    r.bearerTokenAuthentication(token);
    return body == null ? r.send().await() : r.sendJsonObject(body).await();
  }

  public static String code(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("code");
  }

  public static String param(HttpResponse<Buffer> resp) {
    return resp.bodyAsJsonObject().getJsonObject("error").getString("param");
  }

  private String mailTo(String to, String subject) {
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

  @Override
  public void close() {
    gw.close();
    smtp.stop();
  }
}
