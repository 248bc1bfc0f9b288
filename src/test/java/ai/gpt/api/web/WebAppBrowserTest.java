package ai.gpt.api.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.ChildCommand;
import ai.gpt.api.testing.FakeLlamaServer;
import io.vertx.core.Future;
import ai.gpt.api.testing.FakeStripe;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The web app end to end in a real browser: {@code src/main/frontend/e2e/journey.mjs} drives Debian's Chromium
 * (playwright-core) through the gateway's own web app, with e-mail through a real SMTP server (GreenMail), whose
 * messages the script reads from a small mailbox endpoint this test serves. Screenshots go to
 * target/e2e-screenshots. Needs the web app built (not -Dskip.web=true) and Chromium (.ci/run installs it).
 */
@ExtendWith(VertxExtension.class)
class WebAppBrowserTest {
  private static final Path PROJECT = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
  private static final Path FRONTEND = PROJECT.resolve("src/main/frontend");
  private static final String CHROMIUM = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
  private static final long JOURNEY_TIMEOUT_SECONDS = 600;
  private static final String STRIPE_WEBHOOK_SECRET = "whsec_browser_test";

  private ApiClient api;
  private HttpServer mailbox;
  private FakeLlamaServer llama;
  private FakeStripe stripe;

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    Assumptions.assumeTrue(getClass().getClassLoader().getResource("webroot/files.json") != null,
        "the web app is not built (-Dskip.web=true)");
    Assumptions.assumeTrue(Files.isRegularFile(FRONTEND.resolve("node_modules/playwright-core/package.json")),
        "src/main/frontend/node_modules is not installed");
    Assumptions.assumeTrue(Files.isExecutable(Path.of(CHROMIUM)), "no Chromium at " + CHROMIUM
        + " (apt-get install chromium, or set CHROMIUM)");
    stripe = FakeStripe.start(vertx);
    // Billing on against the fake Stripe (the journey plays Checkout's page and sends its signed webhook), and
    // webhook deliveries allowed to the journey's receiver on loopback.
    api = ApiClient.start(vertx, Map.of("STRIPE_SECRET_KEY", "sk_test_browser", "STRIPE_API_BASE", stripe.base(),
        "STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, "WEBHOOK_ALLOW_LOOPBACK", "true"));
    // A backend for the Playground and the SDK, slow enough that the page shows the answer arriving token by token.
    llama = FakeLlamaServer.start(vertx, new FakeLlamaServer.Options().tokenDelayMs(50)).await();
    api.gateway().addBackend("gpt-fast", llama);
    // GET ?to=&subject= → the newest such e-mail's body (waiting up to 10 s for it), for the script.
    // GET /credit?to= → $5 of credit for the organization that user owns (as a top-up would), answering its id.
    mailbox = vertx.createHttpServer().requestHandler(req -> (req.path().equals("/credit")
            ? creditOwnedOrg(req.getParam("to"))
            : vertx.executeBlocking(() -> api.mailTo(req.getParam("to"), req.getParam("subject"))))
        .onSuccess(body -> req.response().putHeader("content-type", "text/plain").end(body))
        .onFailure(err -> req.response().setStatusCode(404).end(String.valueOf(err.getMessage()))))
        .listen(0, "127.0.0.1").await();
  }

  private Future<String> creditOwnedOrg(String email) {
    return api.gateway().pool().preparedQuery("INSERT INTO credit_ledger (org_id, amount_micros, kind, reason, "
            + "idempotency_key) SELECT m.org_id, 5000000, 'credit', 'e2e', 'e2e-credit-' || m.org_id "
            + "FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = $1 AND m.role = 'owner' "
            + "RETURNING org_id")
        .execute(Tuple.of(email))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(rows.iterator().next().getLong(0).toString())
            : Future.failedFuture("no organization owned by " + email));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (mailbox != null) {
      mailbox.close().await();
    }
    if (llama != null) {
      llama.close().await();
    }
    if (api != null) {
      api.close();
    }
    if (stripe != null) {
      stripe.close();
    }
  }

  @Test
  @Timeout(value = JOURNEY_TIMEOUT_SECONDS + 60, unit = TimeUnit.SECONDS) // the script has its own deadline
  @DisplayName("in Chromium: landing with prices, sign up in the modal, verify from the e-mail, a red toast for a "
      + "wrong password, sign in, reload signed in, create a key (secret once) that works on /v1, revoke it through "
      + "Confirm Action, every tab, the Playground and the OpenAI SDK, a Checkout top-up, a credit transfer, a "
      + "webhook test event received signed, 2FA QR code, dark theme, the status page and its subscription, Contact "
      + "Us, an admin's deposit through the console; no console error, no axe violation, no horizontal scroll")
  void newUserJourney() throws Exception {
    // The platform admin of e2e/steps/admin.mjs.
    String adminEmail = "admin-" + System.nanoTime() + "@example.com";
    api.signUpAndSignIn(adminEmail);
    api.gateway().pool().preparedQuery("UPDATE users SET is_admin = true WHERE email = $1")
        .execute(Tuple.of(adminEmail)).await();
    Map<String, String> env = Map.of(
        "ADMIN_EMAIL", adminEmail,
        "ADMIN_PASSWORD", ApiClient.PASSWORD,
        // localhost, not 127.0.0.1: the refresh cookie is Secure, which browsers accept over http only there.
        "BASE_URL", "http://localhost:" + api.gateway().port(),
        "MAILBOX_URL", "http://127.0.0.1:" + mailbox.actualPort() + "/",
        "CHROMIUM", CHROMIUM,
        "SCREENSHOTS", PROJECT.resolve("target/e2e-screenshots").toString(),
        "STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET);
    ChildCommand.Result result = ChildCommand.run(FRONTEND, List.of("node", "e2e/journey.mjs"), env,
        JOURNEY_TIMEOUT_SECONDS);
    assertEquals(0, result.exitCode(), "e2e/journey.mjs failed:\n" + result.output());
  }
}
