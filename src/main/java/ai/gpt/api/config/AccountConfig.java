package ai.gpt.api.config;

import ai.gpt.api.auth.ClientAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Settings of the account API (/api): session tokens, links in e-mails, and the SMTP server; and who a client is
 * (its address, for sessions and for the per-address limits of /api sign-in and /v1 authentication).
 *
 * @param jwtSecret       HMAC-SHA256 key of the access tokens (JWT_SECRET)
 * @param secretsKey      encrypts stored secrets such as TOTP keys, and keys the recovery-code HMAC (SECRETS_KEY)
 * @param publicUrl       the web app's address, for links in e-mails (PUBLIC_URL)
 * @param smtp            null: e-mails are written to the log instead of sent (local runs)
 * @param accessTtlSeconds lifetime of an access token
 * @param sessionTtlDays  lifetime of a session (its refresh tokens) since sign-in
 * @param oauth           the enabled OAuth sign-in providers (those with a client id and secret)
 * @param corsOrigins     origins allowed to call /api from a browser (CORS_ORIGINS); empty: none
 * @param clientAddress   the client behind the load balancers listed in TRUSTED_PROXIES (see {@link ClientAddress})
 * @param contactEmail    where Contact Us messages are e-mailed (CONTACT_EMAIL, else SMTP_FROM); null: stored only
 */
public record AccountConfig(String jwtSecret, String secretsKey, String publicUrl, Smtp smtp, int accessTtlSeconds,
    int sessionTtlDays, List<OAuthProvider> oauth, List<String> corsOrigins, ClientAddress clientAddress,
    String contactEmail) {

  /**
   * An OAuth sign-in provider: {@code <NAME>_CLIENT_ID} and {@code <NAME>_CLIENT_SECRET} enable it. Its endpoints
   * are the provider's own unless {@code <NAME>_OAUTH_SITE} (e.g. a test double) replaces their scheme and host.
   *
   * @param name         google, github, facebook or indeed
   * @param emailsUrl    GitHub only: the list of the user's addresses with their verified flag (else null)
   */
  public record OAuthProvider(String name, String clientId, String clientSecret, String authorizeUrl,
      String tokenUrl, String userInfoUrl, String emailsUrl, List<String> scopes, boolean pkce) {}

  /** The providers this gateway knows, with their real endpoints. */
  private static final List<OAuthProvider> KNOWN = List.of(
      new OAuthProvider("google", null, null, "https://accounts.google.com/o/oauth2/v2/auth",
          "https://oauth2.googleapis.com/token", "https://openidconnect.googleapis.com/v1/userinfo", null,
          List.of("openid", "email", "profile"), true),
      new OAuthProvider("github", null, null, "https://github.com/login/oauth/authorize",
          "https://github.com/login/oauth/access_token", "https://api.github.com/user",
          "https://api.github.com/user/emails", List.of("read:user", "user:email"), true),
      new OAuthProvider("facebook", null, null, "https://www.facebook.com/v19.0/dialog/oauth",
          "https://graph.facebook.com/v19.0/oauth/access_token",
          "https://graph.facebook.com/v19.0/me?fields=id,name,email", null, List.of("email", "public_profile"), true),
      new OAuthProvider("indeed", null, null, "https://secure.indeed.com/oauth/v2/authorize",
          "https://apis.indeed.com/oauth/v2/tokens", "https://secure.indeed.com/v2/api/userinfo", null,
          List.of("email"), false));

  /** SMTP_HOST/PORT/USERNAME/PASSWORD/FROM; STARTTLS is used when the server offers it. */
  public record Smtp(String host, int port, String username, String password, String from) {}

  public static final String DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789";
  public static final String DEV_SECRETS_KEY = "dev-only-secrets-key-change-me-0123456789";

  static AccountConfig from(Env env, boolean local) {
    String secret = secret(env, "JWT_SECRET", DEV_JWT_SECRET, local);
    String secretsKey = secret(env, "SECRETS_KEY", DEV_SECRETS_KEY, local);
    String publicUrl = env.get("PUBLIC_URL") == null ? "http://localhost:8080" : env.get("PUBLIC_URL");
    if (!publicUrl.matches("https?://[^/\\s]+(/.*)?")) {
      throw new ConfigException("PUBLIC_URL", "must be an http(s) URL, got '" + publicUrl + "'");
    }
    Smtp smtp = null;
    String host = env.get("SMTP_HOST");
    if (host != null) {
      String from = env.get("SMTP_FROM");
      if (from == null || !from.contains("@")) {
        throw new ConfigException("SMTP_FROM", "is required with SMTP_HOST (an e-mail address)");
      }
      int port;
      try {
        port = Integer.parseInt(env.get("SMTP_PORT") == null ? "587" : env.get("SMTP_PORT"));
      } catch (NumberFormatException e) {
        throw new ConfigException("SMTP_PORT", "must be a port number");
      }
      smtp = new Smtp(host, port, env.get("SMTP_USERNAME"), env.get("SMTP_PASSWORD"), from);
    }
    return new AccountConfig(secret, secretsKey, publicUrl.replaceAll("/+$", ""), smtp, 900, 30, oauth(env),
        corsOrigins(env.get("CORS_ORIGINS")), trustedProxies(env.get("TRUSTED_PROXIES")),
        contactEmail(env, smtp));
  }

  private static String contactEmail(Env env, Smtp smtp) {
    String to = env.get("CONTACT_EMAIL");
    if (to == null) {
      return smtp == null ? null : smtp.from();
    }
    if (!to.matches("[^@\\s]+@[^@\\s]+\\.[^@\\s]+")) {
      throw new ConfigException("CONTACT_EMAIL", "must be an e-mail address, got '" + to + "'");
    }
    return to;
  }

  private static ClientAddress trustedProxies(String value) {
    try {
      return ClientAddress.trusting(value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("TRUSTED_PROXIES", e.getMessage() + "; list addresses or ranges, e.g. 10.0.0.0/8");
    }
  }

  private static List<OAuthProvider> oauth(Env env) {
    List<OAuthProvider> enabled = new ArrayList<>();
    for (OAuthProvider p : KNOWN) {
      String prefix = p.name().toUpperCase(Locale.ROOT);
      String id = env.get(prefix + "_CLIENT_ID");
      String secret = env.get(prefix + "_CLIENT_SECRET");
      if (id == null || secret == null) {
        if (id != null || secret != null) {
          throw new ConfigException(prefix + (id == null ? "_CLIENT_ID" : "_CLIENT_SECRET"),
              "is required with " + prefix + (id == null ? "_CLIENT_SECRET" : "_CLIENT_ID"));
        }
        continue;
      }
      String site = env.get(prefix + "_OAUTH_SITE");
      if (site != null && !site.matches("https?://[^/\\s]+")) {
        throw new ConfigException(prefix + "_OAUTH_SITE", "must be a scheme and host, e.g. http://127.0.0.1:9999");
      }
      enabled.add(new OAuthProvider(p.name(), id, secret, onSite(site, p.authorizeUrl()), onSite(site, p.tokenUrl()),
          onSite(site, p.userInfoUrl()), onSite(site, p.emailsUrl()), p.scopes(), p.pkce()));
    }
    return List.copyOf(enabled);
  }

  /** The URL with its scheme and host replaced by {@code site} (when set). */
  private static String onSite(String site, String url) {
    return site == null || url == null ? url : site + url.replaceFirst("^https://[^/]+", "");
  }

  /** CORS_ORIGINS: exact origins (scheme, host, optional port), comma-separated. */
  static List<String> corsOrigins(String value) {
    List<String> origins = new ArrayList<>();
    if (value == null) {
      return origins;
    }
    for (String raw : value.split(",")) {
      String origin = raw.strip();
      if (origin.isEmpty()) {
        continue;
      }
      if (!origin.matches("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")) {
        throw new ConfigException("CORS_ORIGINS", "must list exact origins like https://app.example.com, got '"
            + origin + "'");
      }
      origins.add(origin);
    }
    return List.copyOf(origins);
  }

  /** A secret of at least 32 characters: required with a real database, a fixed dev value for the local run. */
  private static String secret(Env env, String name, String devValue, boolean local) {
    String value = env.get(name);
    if (value == null) {
      if (!local) {
        throw new ConfigException(name, "is required when DATABASE_URL is set (at least 32 random characters)");
      }
      return devValue;
    }
    if (value.length() < 32) {
      throw new ConfigException(name, "must be at least 32 characters");
    }
    return value;
  }
}
