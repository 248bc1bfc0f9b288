package ai.gpt.api.webhooks;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Signing secrets in the Standard Webhooks form {@code whsec_<base64>}: the HMAC key is the base64-decoded part
 * after the prefix. 32 random bytes (the spec asks for 24 to 64).
 */
public final class WebhookSecret {
  public static final String PREFIX = "whsec_";
  private static final int BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private WebhookSecret() {}

  public static String generate() {
    byte[] key = new byte[BYTES];
    RANDOM.nextBytes(key);
    return PREFIX + Base64.getEncoder().encodeToString(key);
  }

  /** The HMAC key of a secret made by {@link #generate}. */
  static byte[] key(String secret) {
    if (!secret.startsWith(PREFIX)) {
      throw new IllegalArgumentException("not a whsec_ secret");
    }
    return Base64.getDecoder().decode(secret.substring(PREFIX.length()));
  }
}
