package ai.gpt.api.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 of a key secret under the server-side pepper. Secrets are long random strings, so a fast
 * keyed hash is the right tool (a slow password hash would only add latency): it costs about a microsecond
 * and is safe on the event loop. A database leak without the pepper reveals nothing usable.
 */
public final class KeyHasher {
  private final SecretKeySpec key;
  private final ThreadLocal<Mac> macs;

  public KeyHasher(String pepper) {
    this.key = new SecretKeySpec(pepper.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.macs = ThreadLocal.withInitial(this::newMac);
  }

  public String hash(String secret) {
    Mac mac = macs.get();
    return HexFormat.of().formatHex(mac.doFinal(secret.getBytes(StandardCharsets.UTF_8)));
  }

  /** Constant-time comparison so response timing says nothing about how much of a secret matched. */
  public boolean matches(String secret, String expectedHash) {
    return MessageDigest.isEqual(
        hash(secret).getBytes(StandardCharsets.US_ASCII), expectedHash.getBytes(StandardCharsets.US_ASCII));
  }

  private Mac newMac() {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
