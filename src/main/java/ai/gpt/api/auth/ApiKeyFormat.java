package ai.gpt.api.auth;

import java.security.SecureRandom;

/**
 * The shape of a key: {@code gpt_live_<public id>_<secret>}. The public id (12 base62 characters) names the
 * key in logs, dashboards and the database; the secret (40 base62 characters, ~238 bits) is shown once and
 * only its peppered hash is stored.
 */
public final class ApiKeyFormat {
  public static final String PREFIX = "gpt_live_";
  static final int PUBLIC_ID_LENGTH = 12;
  static final int SECRET_LENGTH = 40;
  private static final char[] ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeyFormat() {}

  /** A key the client presented, split into its parts. */
  public record Presented(String publicId, String secret) {}

  /** A freshly minted key: the full text is returned to the operator once. */
  public record Minted(String publicId, String secret) {
    public String fullKey() {
      return PREFIX + publicId + "_" + secret;
    }
  }

  public static Minted mint() {
    return new Minted(random(PUBLIC_ID_LENGTH), random(SECRET_LENGTH));
  }

  /** Returns null when the text is not a well-formed key, without saying which part is wrong. */
  public static Presented parse(String key) {
    if (key == null || key.length() != PREFIX.length() + PUBLIC_ID_LENGTH + 1 + SECRET_LENGTH || !key.startsWith(PREFIX)) {
      return null;
    }
    int sep = PREFIX.length() + PUBLIC_ID_LENGTH;
    if (key.charAt(sep) != '_') {
      return null;
    }
    String publicId = key.substring(PREFIX.length(), sep);
    String secret = key.substring(sep + 1);
    return isBase62(publicId) && isBase62(secret) ? new Presented(publicId, secret) : null;
  }

  private static boolean isBase62(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z')) {
        return false;
      }
    }
    return true;
  }

  private static String random(int length) {
    char[] out = new char[length];
    for (int i = 0; i < length; i++) {
      out[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
    }
    return new String(out);
  }
}
