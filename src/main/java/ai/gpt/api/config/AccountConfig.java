package ai.gpt.api.config;

/**
 * Settings of the account API (/api): session tokens, links in e-mails, and the SMTP server.
 *
 * @param jwtSecret       HMAC-SHA256 key of the access tokens (JWT_SECRET)
 * @param secretsKey      encrypts stored secrets such as TOTP keys, and keys the recovery-code HMAC (SECRETS_KEY)
 * @param publicUrl       the web app's address, for links in e-mails (PUBLIC_URL)
 * @param smtp            null: e-mails are written to the log instead of sent (local runs)
 * @param accessTtlSeconds lifetime of an access token
 * @param sessionTtlDays  lifetime of a session (its refresh tokens) since sign-in
 */
public record AccountConfig(String jwtSecret, String secretsKey, String publicUrl, Smtp smtp, int accessTtlSeconds,
    int sessionTtlDays) {

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
    return new AccountConfig(secret, secretsKey, publicUrl.replaceAll("/+$", ""), smtp, 900, 30);
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
