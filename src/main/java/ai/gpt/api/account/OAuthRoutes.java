package ai.gpt.api.account;

import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.ClientAddress;
import ai.gpt.api.config.AccountConfig.OAuthProvider;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.http.BoundedBody;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.oauth2.OAuth2Auth;
import io.vertx.ext.auth.oauth2.OAuth2AuthorizationURL;
import io.vertx.ext.auth.oauth2.OAuth2FlowType;
import io.vertx.ext.auth.oauth2.OAuth2Options;
import io.vertx.ext.auth.oauth2.Oauth2Credentials;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sign-in with Google, GitHub, Facebook and Indeed (authorization code flow, PKCE where the provider supports it).
 * {@code start} sends the browser to the provider with a random single-use state (its hash kept in Redis for 10
 * minutes, bound to the browser by a cookie); {@code callback} exchanges the code, reads the user's e-mail, finds
 * or creates the account ({@link OAuthStore}) and signs in exactly like a password: a session and its refresh
 * cookie, or the two-factor challenge, then back to the web app.
 */
public final class OAuthRoutes implements ApiRoutes {
  static final String STATE_COOKIE = "gptapi_oauth";
  private static final String STATE_PATH = "/api/auth/oauth";
  private static final long STATE_TTL_SECONDS = 600;
  private static final String STATE_KEY = "gptapi:oauth:state:";
  /**
   * Sign-ins a client address may start per state lifetime. Each start stores a state in Redis for 10 minutes, so
   * this bounds what one address can make Redis hold; over it the start is 429 {@code too_many_attempts}.
   */
  static final int STARTS_PER_ADDRESS = 30;
  private static final String TAKE = "local v = redis.call('GET', KEYS[1]) "
      + "if v then redis.call('DEL', KEYS[1]) end return v";

  /** The codes of the callback's expected failures; anything else is reported as server_error. */
  private static final List<String> FAILURE_REASONS = List.of("invalid_state", "oauth_denied",
      "oauth_provider_error", "oauth_email_missing", "oauth_email_not_verified", "oauth_conflict");
  private static final Logger LOG = LoggerFactory.getLogger(OAuthRoutes.class);
  /** A user-info or e-mail list answer is a few hundred bytes; a provider answering more is not read further. */
  private static final int MAX_PROVIDER_ANSWER_BYTES = 1024 * 1024;
  /** A provider that does not connect or goes silent this long fails the sign-in instead of holding it open. */
  private static final long PROVIDER_TIMEOUT_MS = 10_000;

  private record Provider(OAuthProvider config, OAuth2Auth auth) {}

  private final Map<String, Provider> providers = new LinkedHashMap<>();
  private final AccountRoutes accounts;
  private final AccountStore store;
  private final OAuthStore identities;
  private final TwoFactor twoFactor;
  private final Redis redis;
  private final Attempts attempts;
  private final HttpClient http;
  private final String publicUrl;
  private final JsonObject billing;

  /** @param billing the public part of the billing settings, merged into {@code GET /api/config} */
  public OAuthRoutes(Vertx vertx, List<OAuthProvider> enabled, AccountRoutes accounts, AccountStore store,
      OAuthStore identities, TwoFactor twoFactor, Redis redis, Attempts attempts, String publicUrl,
      JsonObject billing) {
    for (OAuthProvider p : enabled) {
      URI authorize = URI.create(p.authorizeUrl());
      OAuth2Options options = new OAuth2Options()
          .setClientId(p.clientId()).setClientSecret(p.clientSecret())
          .setSite(authorize.getScheme() + "://" + authorize.getRawAuthority())
          .setAuthorizationPath(p.authorizeUrl()).setTokenPath(p.tokenUrl()).setUserInfoPath(p.userInfoUrl())
          .setScopeSeparator(" ");
      // The code exchange is bounded like the user-info calls: a provider silent for 10 s fails the sign-in.
      HttpClientOptions client = options.getHttpClientOptions() == null ? new HttpClientOptions()
          : options.getHttpClientOptions();
      options.setHttpClientOptions(client.setConnectTimeout((int) PROVIDER_TIMEOUT_MS)
          .setIdleTimeout((int) PROVIDER_TIMEOUT_MS).setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
      providers.put(p.name(), new Provider(p, OAuth2Auth.create(vertx, options)));
    }
    this.accounts = accounts;
    this.store = store;
    this.identities = identities;
    this.twoFactor = twoFactor;
    this.redis = redis;
    this.attempts = attempts;
    this.http = vertx.createHttpClient();
    this.publicUrl = publicUrl;
    this.billing = billing;
  }

  @Override
  public void mountPublic(Router api) {
    api.get("/config").handler(this::config);
    api.get("/auth/oauth/:provider/start").handler(this::start);
    api.get("/auth/oauth/:provider/callback").handler(this::callback);
  }

  @Override
  public void mountSignedIn(Router api) {}

  /** What the web app needs before anyone signs in. */
  private void config(RoutingContext ctx) {
    Json.send(ctx, 200, new JsonObject().put("oauth_providers", new JsonArray(List.copyOf(providers.keySet())))
        .put("signup_enabled", true).mergeIn(billing));
  }

  private void start(RoutingContext ctx) {
    Provider provider = provider(ctx);
    String state = SecretTokens.newToken();
    String verifier = provider.config().pkce() ? SecretTokens.newToken() : null;
    JsonObject pending = new JsonObject().put("provider", provider.config().name()).put("verifier", verifier);
    attempts.count(STATE_TTL_SECONDS * 1000, new Attempts.Counter("oauth:ip:"
            + ClientAddress.limitKey(accounts.clientAddress(ctx)), STARTS_PER_ADDRESS))
        .compose(wait -> wait > 0 ? Future.failedFuture(ApiError.of(429, "too_many_attempts",
            "Too many sign-ins started from your address. Please try again later.", wait))
            : redis.send(Request.cmd(Command.SET).arg(STATE_KEY + SecretTokens.hash(state)).arg(pending.encode())
                .arg("EX").arg(STATE_TTL_SECONDS)))
        .onSuccess(ok -> {
          OAuth2AuthorizationURL url = new OAuth2AuthorizationURL().setRedirectUri(redirectUri(provider))
              .setState(state).setScopes(provider.config().scopes());
          if (verifier != null) {
            url.setCodeChallenge(s256(verifier)).setCodeChallengeMethod("S256");
          }
          ctx.response().addCookie(Cookie.cookie(STATE_COOKIE, state).setPath(STATE_PATH).setHttpOnly(true)
              .setSecure(true).setSameSite(CookieSameSite.LAX).setMaxAge(STATE_TTL_SECONDS));
          redirect(ctx, provider.auth().authorizeURL(url));
        })
        .onFailure(ctx::fail);
  }

  private void callback(RoutingContext ctx) {
    Provider provider = provider(ctx);
    String state = ctx.request().getParam("state");
    String code = ctx.request().getParam("code");
    Cookie bound = ctx.request().getCookie(STATE_COOKIE);
    ctx.response().addCookie(Cookie.cookie(STATE_COOKIE, "").setPath(STATE_PATH).setHttpOnly(true).setSecure(true)
        .setSameSite(CookieSameSite.LAX).setMaxAge(0));
    if (state == null || state.isEmpty() || state.length() > 200) {
      failed(ctx, provider, invalidState());
      return;
    }
    redis.send(Request.cmd(Command.EVAL).arg(TAKE).arg(1).arg(STATE_KEY + SecretTokens.hash(state))).compose(r -> {
      JsonObject pending = r == null ? null : new JsonObject(r.toString());
      // The state must be unused, for this provider, and started by this browser (its cookie): otherwise someone
      // could sign a victim in to the attacker's account by sending them a callback link.
      if (pending == null || !provider.config().name().equals(pending.getString("provider"))
          || bound == null || !state.equals(bound.getValue())) {
        return Future.failedFuture(invalidState());
      }
      if (ctx.request().getParam("error") != null || code == null || code.isEmpty()) {
        return Future.failedFuture(ApiError.of(400, "oauth_denied",
            "The sign-in with " + title(provider) + " was cancelled or refused. Please try again.", null));
      }
      Oauth2Credentials credentials = new Oauth2Credentials().setFlow(OAuth2FlowType.AUTH_CODE).setCode(code)
          .setRedirectUri(redirectUri(provider));
      if (pending.getString("verifier") != null) {
        credentials.setCodeVerifier(pending.getString("verifier"));
      }
      return provider.auth().authenticate(credentials)
          .recover(err -> Future.failedFuture(providerFailed(provider)))
          .compose(user -> identity(provider, user.principal().getString("access_token")));
    }).compose(identity -> identities.signIn(identity).compose(outcome -> outcome.userId() != null
        ? store.byId(outcome.userId())
        : Future.failedFuture(refused(provider, outcome.refusal()))))
        .compose(found -> twoFactor.enabled(found.account().id()).compose(on -> on
            ? twoFactor.newChallenge(found.account().id()).map(challenge ->
                publicUrl + "/signin#two_factor_challenge=" + challenge)
            : accounts.startSession(ctx, found.account()).map(json -> publicUrl + "/dashboard")))
        .onSuccess(location -> redirect(ctx, location))
        .onFailure(err -> failed(ctx, provider, err));
  }

  /**
   * The callback is a browser's page load, not an API call: every failure sends it to the web app's page that
   * says what happened and what to do ({@code /oauth/error}). The URL carries only a reason from a fixed list and
   * the provider's name, never the provider's own error text or anything from the request.
   */
  private void failed(RoutingContext ctx, Provider provider, Throwable err) {
    String reason = err instanceof ApiError e && FAILURE_REASONS.contains(e.code())
        ? e.code().replaceFirst("^oauth_", "") : "server_error";
    if (reason.equals("server_error")) {
      LOG.error("OAuth sign-in with {} failed", provider.config().name(), err);
    }
    redirect(ctx, publicUrl + "/oauth/error?reason=" + reason + "&provider=" + provider.config().name());
  }

  /**
   * The provider's user: stable id, e-mail and whether the provider verified it. An answer of another shape is the
   * provider's failure; an address that sign-up would refuse counts as none, and a name that sign-up would refuse
   * (too long, control characters) as no name, so nothing reaches an account that the form could not put there.
   */
  private Future<OAuthStore.Identity> identity(Provider provider, String accessToken) {
    OAuthProvider p = provider.config();
    return getJson(provider, p.userInfoUrl(), accessToken).compose(info -> {
      Object sub = info.getValue("sub") != null ? info.getValue("sub") : info.getValue("id");
      if (!(sub instanceof String || sub instanceof Number) || sub.toString().isEmpty()) {
        return Future.failedFuture(providerFailed(provider));
      }
      String name = info.getValue("name") instanceof String n ? n
          : info.getValue("login") instanceof String l ? l : null;
      if (p.emailsUrl() != null) {
        // GitHub: the primary address and its verified flag come from /user/emails.
        return getJson(provider, p.emailsUrl(), accessToken).compose(list -> {
          if (!(list.getValue("items") instanceof JsonArray items)) {
            return Future.failedFuture(providerFailed(provider));
          }
          String email = null;
          boolean verified = false;
          for (Object o : items) {
            if (o instanceof JsonObject e && Boolean.TRUE.equals(e.getValue("primary"))) {
              email = e.getValue("email") instanceof String s ? s : null;
              verified = Boolean.TRUE.equals(e.getValue("verified"));
            }
          }
          return Future.succeededFuture(new OAuthStore.Identity(p.name(), sub.toString(), email(email), verified,
              name(name)));
        });
      }
      String email = info.getValue("email") instanceof String s ? s : null;
      Object flag = info.getValue("email_verified") != null ? info.getValue("email_verified")
          : info.getValue("verified_email");
      // Facebook gives no flag: its Graph API only returns an address the user has confirmed.
      boolean verified = p.name().equals("facebook") ? email != null
          : Boolean.TRUE.equals(flag) || "true".equals(flag);
      return Future.succeededFuture(new OAuthStore.Identity(p.name(), sub.toString(), email(email), verified,
          name(name)));
    });
  }

  /** A JSON GET with the user's access token; an array answer comes back as {"items": [...]}. */
  private Future<JsonObject> getJson(Provider provider, String url, String accessToken) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
        .setConnectTimeout(PROVIDER_TIMEOUT_MS).setIdleTimeout(PROVIDER_TIMEOUT_MS)
        .putHeader("authorization", "Bearer " + accessToken).putHeader("accept", "application/json")
        .putHeader("user-agent", "gpt-api");
    return http.request(options).compose(HttpClientRequest::send).compose(resp -> {
      if (resp.statusCode() != 200) {
        resp.request().reset(); // its body is of no use: not read, and the connection not reused
        return Future.failedFuture("HTTP " + resp.statusCode());
      }
      return BoundedBody.read(resp, MAX_PROVIDER_ANSWER_BYTES);
    }).recover(err -> Future.failedFuture(providerFailed(provider))).compose(answer -> {
      try {
        Object body = io.vertx.core.json.Json.decodeValue(answer);
        return body instanceof JsonArray a ? Future.succeededFuture(new JsonObject().put("items", a))
            : body instanceof JsonObject o ? Future.succeededFuture(o) : Future.failedFuture(providerFailed(provider));
      } catch (RuntimeException e) {
        return Future.failedFuture(providerFailed(provider));
      }
    });
  }

  private Provider provider(RoutingContext ctx) {
    Provider p = providers.get(ctx.pathParam("provider"));
    if (p == null) {
      throw ApiError.notFound("Sign-in with '" + ctx.pathParam("provider") + "' is not available.");
    }
    return p;
  }

  private String redirectUri(Provider p) {
    return publicUrl + "/api/auth/oauth/" + p.config().name() + "/callback";
  }

  private static void redirect(RoutingContext ctx, String location) {
    ctx.response().setStatusCode(302).putHeader("location", location).end();
  }

  /** The provider's address as sign-up reads one (stripped, lower-cased), or null when sign-up would refuse it. */
  static String email(String raw) {
    try {
      return raw == null ? null : Json.email(new JsonObject().put("email", raw), "email");
    } catch (ApiError e) {
      return null;
    }
  }

  /** The provider's name as sign-up takes one (one line, at most 200 characters), or null. */
  static String name(String raw) {
    try {
      return raw == null ? null : Json.name(new JsonObject().put("name", raw), "name", 200);
    } catch (ApiError e) {
      return null;
    }
  }

  private static String s256(String verifier) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String title(Provider p) {
    return switch (p.config().name()) {
      case "github" -> "GitHub";
      default -> Character.toUpperCase(p.config().name().charAt(0)) + p.config().name().substring(1);
    };
  }

  private static ApiError invalidState() {
    return ApiError.of(400, "invalid_state", "This sign-in link is invalid, expired or already used. Please start "
        + "the sign-in again.", "state");
  }

  private static ApiError providerFailed(Provider p) {
    return ApiError.of(502, "oauth_provider_error", "Could not complete the sign-in with " + title(p)
        + ". Please try again.", null);
  }

  private static ApiError refused(Provider p, OAuthStore.Refusal refusal) {
    return switch (refusal) {
      case EMAIL_MISSING -> ApiError.of(400, "oauth_email_missing", title(p) + " did not share an e-mail address. "
          + "Allow access to your e-mail address, or sign up with e-mail and password.", null);
      case EMAIL_NOT_VERIFIED -> ApiError.of(403, "oauth_email_not_verified", "Your e-mail address at " + title(p)
          + " is not verified. Verify it there first, or sign in with your e-mail and password.", null);
      case CONFLICT -> ApiError.of(409, "oauth_conflict", "Please try signing in again.", null);
    };
  }
}
