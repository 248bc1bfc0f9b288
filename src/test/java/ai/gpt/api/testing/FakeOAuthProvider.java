package ai.gpt.api.testing;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A GitHub- and Google-like OAuth provider on the real paths of both (point {@code <PROVIDER>_OAUTH_SITE} at it):
 * authorize approves at once for the user set with {@link #nextUser}, token checks the code, redirect URI and
 * PKCE verifier, and the user-info endpoints answer for the access token.
 */
public final class FakeOAuthProvider implements AutoCloseable {
  /** The user the provider signs in next. */
  public record User(String subject, String email, boolean verified, String name) {}

  private record Grant(User user, String redirectUri, String challenge) {}

  private final HttpServer server;
  private final Map<String, Grant> codes = new ConcurrentHashMap<>();
  private final Map<String, User> tokens = new ConcurrentHashMap<>();
  private volatile User next;
  private volatile String rawAnswer;
  private volatile boolean silentTokenEndpoint;
  private volatile String lastChallenge;

  private FakeOAuthProvider(HttpServer server) {
    this.server = server;
  }

  public static FakeOAuthProvider start(Vertx vertx) {
    FakeOAuthProvider[] self = new FakeOAuthProvider[1];
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create(false)); // no uploads: no file-uploads directory
    router.get("/login/oauth/authorize").handler(ctx -> self[0].authorize(ctx));
    router.get("/o/oauth2/v2/auth").handler(ctx -> self[0].authorize(ctx));
    router.post("/login/oauth/access_token").handler(ctx -> self[0].token(ctx));
    router.post("/token").handler(ctx -> self[0].token(ctx));
    router.get("/user").handler(ctx -> self[0].user(ctx, u -> new JsonObject().put("id", Long.parseLong(u.subject()))
        .put("login", "user" + u.subject()).put("name", u.name())));
    router.get("/user/emails").handler(ctx -> self[0].user(ctx, u -> new JsonArray()
        .add(new JsonObject().put("email", "other-" + u.email()).put("primary", false).put("verified", true))
        .add(new JsonObject().put("email", u.email()).put("primary", true).put("verified", u.verified()))));
    router.get("/v1/userinfo").handler(ctx -> self[0].user(ctx, u -> new JsonObject().put("sub", u.subject())
        .put("email", u.email()).put("email_verified", u.verified()).put("name", u.name())));
    HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
    self[0] = new FakeOAuthProvider(server);
    return self[0];
  }

  public String site() {
    return "http://127.0.0.1:" + server.actualPort();
  }

  public void nextUser(String subject, String email, boolean verified) {
    nextUser(subject, email, verified, "User " + subject);
  }

  /** The next user, with the display name the provider gives. */
  public void nextUser(String subject, String email, boolean verified, String name) {
    next = new User(subject, email, verified, name);
    rawAnswer = null;
    silentTokenEndpoint = false;
  }

  /** The token endpoint never answers (until the next user). */
  public void silentTokenEndpoint() {
    silentTokenEndpoint = true;
  }

  /** Every user-info and e-mail list answer is this text instead (a broken provider), until the next user. */
  public void answerRaw(String raw) {
    rawAnswer = raw;
  }

  /** The PKCE code challenge of the last authorization request (null without PKCE). */
  public String lastChallenge() {
    return lastChallenge;
  }

  private void authorize(RoutingContext ctx) {
    String redirect = ctx.request().getParam("redirect_uri");
    String code = UUID.randomUUID().toString();
    lastChallenge = ctx.request().getParam("code_challenge");
    codes.put(code, new Grant(next, redirect, lastChallenge));
    ctx.response().setStatusCode(302).putHeader("location", redirect + "?code=" + code + "&state="
        + URLEncoder.encode(ctx.request().getParam("state"), StandardCharsets.UTF_8)).end();
  }

  private void token(RoutingContext ctx) {
    if (silentTokenEndpoint) {
      return;
    }
    String code = ctx.request().getFormAttribute("code");
    Grant grant = code == null ? null : codes.remove(code);
    String verifier = ctx.request().getFormAttribute("code_verifier");
    if (grant == null || !grant.redirectUri().equals(ctx.request().getFormAttribute("redirect_uri"))
        || (grant.challenge() != null && (verifier == null || !grant.challenge().equals(s256(verifier))))) {
      ctx.response().setStatusCode(400).putHeader("content-type", "application/json")
          .end(new JsonObject().put("error", "invalid_grant").encode());
      return;
    }
    String token = UUID.randomUUID().toString();
    tokens.put(token, grant.user());
    ctx.response().putHeader("content-type", "application/json").end(new JsonObject().put("access_token", token)
        .put("token_type", "bearer").put("scope", "read:user,user:email").encode());
  }

  private void user(RoutingContext ctx, java.util.function.Function<User, Object> answer) {
    String auth = ctx.request().getHeader("authorization");
    User u = auth == null ? null : tokens.get(auth.replaceFirst("(?i)^bearer ", ""));
    if (u == null) {
      ctx.response().setStatusCode(401).end();
      return;
    }
    Object body = rawAnswer != null ? rawAnswer : answer.apply(u);
    ctx.response().putHeader("content-type", "application/json").end(body.toString());
  }

  private static String s256(String verifier) {
    try {
      return Base64.getUrlEncoder().withoutPadding().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.close().await();
  }
}
