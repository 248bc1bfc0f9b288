package ai.gpt.api.account;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.testing.ApiClient;
import ai.gpt.api.testing.FakeOAuthProvider;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** OAuth sign-in against a fake GitHub- and Google-like provider; Facebook and Indeed stay disabled. */
@ExtendWith(VertxExtension.class)
class OAuthTest {
  private FakeOAuthProvider provider;
  private ApiClient api;
  private io.vertx.core.http.HttpClient http;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    provider = FakeOAuthProvider.start(vertx);
    api = ApiClient.start(vertx, Map.of("GITHUB_CLIENT_ID", "gh-id", "GITHUB_CLIENT_SECRET", "gh-secret",
        "GITHUB_OAUTH_SITE", provider.site(), "GOOGLE_CLIENT_ID", "g-id", "GOOGLE_CLIENT_SECRET", "g-secret",
        "GOOGLE_OAUTH_SITE", provider.site(), "CORS_ORIGINS", "https://app.gpt.test, http://localhost:5173"));
    http = vertx.createHttpClient();
  }

  @AfterEach
  void stop() {
    api.close();
    provider.close();
    http.close().await();
  }

  /** The browser's trip: start, the provider's approval, and the callback (returned unanswered). */
  private record Trip(String callbackUrl, String stateCookie) {}

  private Trip authorize(String name) {
    HttpResponse<Buffer> start = api.gateway().client().get("/api/auth/oauth/" + name + "/start").followRedirects(false).send().await();
    assertEquals(302, start.statusCode(), start.bodyAsString());
    String location = start.getHeader("location");
    assertTrue(location.startsWith(provider.site()), location);
    assertTrue(location.contains("state=") && location.contains("redirect_uri="
        + java.net.URLEncoder.encode(ApiClient.PUBLIC_URL + "/api/auth/oauth/" + name + "/callback",
            java.nio.charset.StandardCharsets.UTF_8)), location);
    String stateCookie = start.cookies().stream().filter(c -> c.startsWith(OAuthRoutes.STATE_COOKIE + "="))
        .findFirst().orElseThrow();
    io.vertx.core.http.HttpClientResponse approved = http.request(new io.vertx.core.http.RequestOptions()
        .setAbsoluteURI(location).setFollowRedirects(false)).compose(r -> r.send()).await();
    assertEquals(302, approved.statusCode());
    String back = approved.getHeader("location");
    assertTrue(back.startsWith(ApiClient.PUBLIC_URL + "/api/auth/oauth/" + name + "/callback?"), back);
    return new Trip(back.substring(ApiClient.PUBLIC_URL.length()), stateCookie.split(";")[0]);
  }

  private HttpResponse<Buffer> callback(Trip trip) {
    return api.gateway().client().get(trip.callbackUrl()).followRedirects(false).putHeader("cookie", trip.stateCookie()).send().await();
  }

  private static String refreshCookie(HttpResponse<Buffer> resp) {
    return resp.cookies().stream().filter(c -> c.startsWith(AccountRoutes.REFRESH_COOKIE + "=")).findFirst()
        .map(c -> c.split(";")[0]).orElse(null);
  }

  private JsonObject me(HttpResponse<Buffer> signedIn) {
    String cookie = refreshCookie(signedIn);
    assertNotNull(cookie, "the callback sets the refresh cookie");
    HttpResponse<Buffer> refreshed = api.gateway().client().post("/api/auth/refresh").putHeader("cookie", cookie)
        .putHeader(AccountRoutes.CSRF_HEADER, "1").send().await();
    assertEquals(200, refreshed.statusCode(), refreshed.bodyAsString());
    HttpResponse<Buffer> me = api.call(HttpMethod.GET, "/api/me", refreshed.bodyAsJsonObject()
        .getString("access_token"), null);
    assertEquals(200, me.statusCode());
    return me.bodyAsJsonObject();
  }

  @Test
  @DisplayName("a new GitHub user gets a verified account, a personal organization and a session (with PKCE)")
  void newUser() {
    String email = "octo-" + UUID.randomUUID() + "@example.com";
    provider.nextUser("4242" + (System.nanoTime() % 100000), email, true);
    Trip trip = authorize("github");
    assertNotNull(provider.lastChallenge(), "PKCE code challenge sent");
    HttpResponse<Buffer> done = callback(trip);
    assertEquals(302, done.statusCode(), done.bodyAsString());
    assertEquals(ApiClient.PUBLIC_URL + "/dashboard", done.getHeader("location"));
    String attrs = done.cookies().stream().filter(c -> c.startsWith(AccountRoutes.REFRESH_COOKIE + "="))
        .findFirst().orElseThrow().toLowerCase(java.util.Locale.ROOT);
    assertTrue(attrs.contains("; httponly") && attrs.contains("; samesite=strict"), attrs);
    JsonObject me = me(done);
    assertEquals(email, me.getString("email"));
    assertEquals(true, me.getBoolean("email_verified"));
    assertEquals("owner", me.getJsonArray("organizations").getJsonObject(0).getString("role"));
    assertEquals(email, me.getJsonArray("organizations").getJsonObject(0).getString("name"));

    // The same GitHub user again: the same account, no second one.
    Trip again = authorize("github");
    HttpResponse<Buffer> second = callback(again);
    assertEquals(302, second.statusCode(), second.bodyAsString());
    assertEquals(me.getLong("id"), me(second).getLong("id"));

    // Replaying the used callback (state) is refused.
    HttpResponse<Buffer> replay = callback(again);
    assertErrorPage(replay, "invalid_state", "github");
    assertNull(refreshCookie(replay));
  }

  @Test
  @DisplayName("an existing password account is linked only when the provider verified the e-mail")
  void linkOnlyVerified() {
    String email = "pw-" + UUID.randomUUID() + "@example.com";
    String access = api.signUpAndSignIn(email);
    long id = api.call(HttpMethod.GET, "/api/me", access, null).bodyAsJsonObject().getLong("id");
    String subject = "g-" + UUID.randomUUID();

    provider.nextUser(subject, email, false);
    HttpResponse<Buffer> refused = callback(authorize("google"));
    assertErrorPage(refused, "email_not_verified", "google");
    assertNull(refreshCookie(refused));
    assertEquals(0L, api.gateway().pool().preparedQuery("SELECT count(*) FROM oauth_identities WHERE subject = $1")
        .execute(io.vertx.sqlclient.Tuple.of(subject)).await().iterator().next().getLong(0), "not linked");

    provider.nextUser(subject, email, true);
    HttpResponse<Buffer> linked = callback(authorize("google"));
    assertEquals(302, linked.statusCode(), linked.bodyAsString());
    assertEquals(id, me(linked).getLong("id"));
    // The password still works.
    assertEquals(200, api.call(HttpMethod.POST, "/api/auth/signin", null, new JsonObject().put("email", email)
        .put("password", ApiClient.PASSWORD)).statusCode());
  }

  @Test
  @DisplayName("bad or missing state: the error page; a state is bound to its browser; disabled or unknown "
      + "provider: 404")
  void stateAndProviders() {
    provider.nextUser("77", "s-" + UUID.randomUUID() + "@example.com", true);
    Trip trip = authorize("github");
    HttpResponse<Buffer> otherBrowser = api.gateway().client().get(trip.callbackUrl()).followRedirects(false).send().await();
    assertErrorPage(otherBrowser, "invalid_state", "github");
    assertErrorPage(callback(trip), "invalid_state", "github"); // the state was used up by the first try
    assertErrorPage(api.gateway().client().get("/api/auth/oauth/github/callback?code=x&state=forged")
        .followRedirects(false).send().await(), "invalid_state", "github");
    assertErrorPage(api.gateway().client().get("/api/auth/oauth/github/callback?code=x").followRedirects(false)
        .send().await(), "invalid_state", "github");

    for (String path : List.of("/api/auth/oauth/facebook/start", "/api/auth/oauth/indeed/start",
        "/api/auth/oauth/nope/start", "/api/auth/oauth/facebook/callback?code=x&state=y")) {
      HttpResponse<Buffer> r = api.gateway().client().get(path).followRedirects(false).send().await();
      assertEquals(404, r.statusCode(), path);
    }
    HttpResponse<Buffer> config = api.gateway().client().get("/api/config").send().await();
    assertEquals(200, config.statusCode());
    JsonObject body = config.bodyAsJsonObject();
    assertEquals(new io.vertx.core.json.JsonArray().add("google").add("github"), body.getJsonArray("oauth_providers"));
    assertEquals(true, body.getBoolean("signup_enabled"));
    assertEquals(false, body.getBoolean("billing_enabled"), "no STRIPE_SECRET_KEY");
  }

  @Test
  @DisplayName("one client address starts at most STARTS_PER_ADDRESS sign-ins per state lifetime, then gets 429")
  void startsPerAddress() {
    for (int i = 0; i < OAuthRoutes.STARTS_PER_ADDRESS; i++) {
      authorize(i % 2 == 0 ? "github" : "google");
    }
    HttpResponse<Buffer> refused = api.gateway().client().get("/api/auth/oauth/github/start").followRedirects(false)
        .send().await();
    assertEquals(429, refused.statusCode(), refused.bodyAsString());
    assertEquals("too_many_attempts", ApiClient.code(refused));
    assertTrue(Long.parseLong(refused.getHeader("Retry-After")) <= 600, refused.getHeader("Retry-After"));
  }

  @Test
  @DisplayName("a browser whose sign-in fails lands on the web app's error page with only a reason: consent "
      + "denied, the provider failing the code exchange")
  void failuresLandOnTheErrorPage() {
    provider.nextUser("78", "d-" + UUID.randomUUID() + "@example.com", true);
    Trip denied = authorize("github");
    HttpResponse<Buffer> deniedAnswer = callback(new Trip(denied.callbackUrl().replaceFirst("code=[^&]+",
        "error=access_denied&error_description=The+user+said+no+secret-123"), denied.stateCookie()));
    assertErrorPage(deniedAnswer, "denied", "github");
    assertTrue(!deniedAnswer.getHeader("location").contains("secret-123"), "nothing from the provider is echoed");
    assertNull(refreshCookie(deniedAnswer));

    Trip badCode = authorize("google");
    HttpResponse<Buffer> failed = callback(new Trip(badCode.callbackUrl().replaceFirst("code=[^&]+", "code=forged"),
        badCode.stateCookie()));
    assertErrorPage(failed, "provider_error", "google");
    assertNull(refreshCookie(failed));

    // A token endpoint that never answers fails the sign-in after 10 s instead of holding the browser forever.
    provider.nextUser("79", "s-" + UUID.randomUUID() + "@example.com", true);
    Trip silent = authorize("github");
    provider.silentTokenEndpoint();
    long started = System.nanoTime();
    HttpResponse<Buffer> timedOut = api.gateway().client().get(silent.callbackUrl()).followRedirects(false)
        .putHeader("cookie", silent.stateCookie()).timeout(30_000).send().await();
    assertErrorPage(timedOut, "provider_error", "github");
    assertTrue(System.nanoTime() - started < 25_000_000_000L, "bounded by the provider timeout");
  }

  @Test
  @DisplayName("a provider's e-mail or name that sign-up would refuse never reaches an account; a malformed "
      + "provider answer is the provider's error")
  void providerValuesReadLikeSignUp() {
    for (String bad : List.of("not an address", "evil@example.com\r\nBcc: x@example.com",
        "a".repeat(300) + "@example.com")) {
      String subject = "bad-" + UUID.randomUUID();
      provider.nextUser(subject, bad, true);
      assertErrorPage(callback(authorize("google")), "email_missing", "google");
      assertEquals(0L, api.gateway().pool().preparedQuery("SELECT count(*) FROM oauth_identities WHERE subject = $1")
          .execute(io.vertx.sqlclient.Tuple.of(subject)).await().iterator().next().getLong(0), bad);
    }
    String email = "Named-" + UUID.randomUUID() + "@Example.com ";
    provider.nextUser("named-" + UUID.randomUUID(), email, true, "\u001b[31mEvil\r\n" + "n".repeat(5000));
    JsonObject me = me(callback(authorize("google")));
    assertEquals(email.strip().toLowerCase(java.util.Locale.ROOT), me.getString("email"));
    assertEquals("", me.getString("name"), "a name sign-up would refuse is not taken");

    for (String raw : List.of("null", "\"text\"", "{\"sub\": {\"a\": 1}, \"email\": \"o@example.com\"}",
        "{\"sub\": \"s\", \"email\": 5, \"name\": 7}")) {
      provider.nextUser("raw-" + UUID.randomUUID(), "raw@example.com", true);
      provider.answerRaw(raw);
      HttpResponse<Buffer> resp = callback(authorize("google"));
      assertTrue(resp.getHeader("location").contains("reason=provider_error")
          || resp.getHeader("location").contains("reason=email_missing"), raw + " -> " + resp.getHeader("location"));
    }
    provider.nextUser("gh-" + (System.nanoTime() % 100000), "raw@example.com", true);
    provider.answerRaw("{\"id\": 5}"); // GitHub's e-mail list answered with an object
    assertErrorPage(callback(authorize("github")), "provider_error", "github");
  }

  /** The 302 to the web app's OAuth error page for this reason, with an empty body. */
  private static void assertErrorPage(HttpResponse<Buffer> resp, String reason, String providerName) {
    assertEquals(302, resp.statusCode(), resp.bodyAsString());
    assertEquals(ApiClient.PUBLIC_URL + "/oauth/error?reason=" + reason + "&provider=" + providerName,
        resp.getHeader("location"));
  }

  @Test
  @DisplayName("an account with two-factor authentication gets the 2FA challenge, not a session")
  void twoFactorHandOver() {
    String email = "tf-" + UUID.randomUUID() + "@example.com";
    String access = api.signUpAndSignIn(email);
    long id = api.call(HttpMethod.GET, "/api/me", access, null).bodyAsJsonObject().getLong("id");
    // 2FA on (the key itself does not matter here: only the hand-over is checked).
    api.gateway().pool().preparedQuery("INSERT INTO totp_secrets (user_id, secret_enc, confirmed_at) "
        + "VALUES ($1, '\\x00'::bytea, now())").execute(io.vertx.sqlclient.Tuple.of(id)).await();
    provider.nextUser(String.valueOf(900_000_000L + id), email, true);
    HttpResponse<Buffer> done = callback(authorize("github"));
    assertEquals(302, done.statusCode(), done.bodyAsString());
    assertTrue(done.getHeader("location").startsWith(ApiClient.PUBLIC_URL + "/signin#two_factor_challenge="),
        done.getHeader("location"));
    assertNull(refreshCookie(done), "no session before the second factor");
    String challenge = done.getHeader("location").replaceFirst(".*two_factor_challenge=", "");
    assertEquals(1L, api.gateway().pool().preparedQuery("SELECT count(*) FROM two_factor_challenges "
        + "WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL").execute(io.vertx.sqlclient.Tuple.of(
            SecretTokens.hash(challenge), id)).await().iterator().next().getLong(0), "a real pending 2FA challenge");
  }

  @Test
  @DisplayName("CORS only for the listed origins (with credentials, preflight); HSTS when PUBLIC_URL is https")
  void corsAndHsts() {
    HttpResponse<Buffer> allowed = api.gateway().client().get("/api/config").putHeader("origin", "https://app.gpt.test")
        .send().await();
    assertEquals("https://app.gpt.test", allowed.getHeader("access-control-allow-origin"));
    assertEquals("true", allowed.getHeader("access-control-allow-credentials"));
    assertEquals("max-age=31536000; includeSubDomains", allowed.getHeader("strict-transport-security"));
    HttpResponse<Buffer> other = api.gateway().client().get("/api/config").putHeader("origin", "https://evil.test")
        .send().await();
    assertNull(other.getHeader("access-control-allow-origin"));

    HttpResponse<Buffer> preflight = api.gateway().client().request(HttpMethod.OPTIONS, "/api/auth/refresh")
        .putHeader("origin", "http://localhost:5173").putHeader("access-control-request-method", "POST")
        .putHeader("access-control-request-headers", "x-gptapi-csrf, content-type").send().await();
    assertTrue(preflight.statusCode() == 204 || preflight.statusCode() == 200, "" + preflight.statusCode());
    assertEquals("http://localhost:5173", preflight.getHeader("access-control-allow-origin"));
    assertTrue(preflight.getHeader("access-control-allow-headers").toLowerCase(java.util.Locale.ROOT)
        .contains("x-gptapi-csrf"));
    assertTrue(preflight.getHeader("access-control-allow-methods").contains("POST"));
    HttpResponse<Buffer> badPreflight = api.gateway().client().request(HttpMethod.OPTIONS, "/api/auth/refresh")
        .putHeader("origin", "https://evil.test").putHeader("access-control-request-method", "POST").send().await();
    assertNull(badPreflight.getHeader("access-control-allow-origin"));
    // Not only /api: every response of an https deployment.
    assertEquals("max-age=31536000; includeSubDomains", api.gateway().client().get("/v1/models").send().await()
        .getHeader("strict-transport-security"));
  }
}
