package ai.gpt.api.account;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Secrets at rest under SECRETS_KEY: AES-256-GCM (the key is SHA-256 of SECRETS_KEY) with a fresh random 12-byte
 * nonce per encryption, stored as {@code nonce || ciphertext || tag}. The associated data binds a ciphertext to its
 * row, so one user's encrypted secret copied onto another's does not decrypt. Also keys an HMAC for values that
 * must be looked up but not stored (recovery codes), with a key derived separately from the AES key.
 * Each call is a few microseconds of CPU: fine on an event loop.
 */
public final class SecretBox {
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec aesKey;
  private final SecretKeySpec macKey;

  public SecretBox(String secretsKey) {
    try {
      byte[] key = MessageDigest.getInstance("SHA-256").digest(secretsKey.getBytes(StandardCharsets.UTF_8));
      this.aesKey = new SecretKeySpec(key, "AES");
      Mac derive = Mac.getInstance("HmacSHA256");
      derive.init(new SecretKeySpec(key, "HmacSHA256"));
      this.macKey = new SecretKeySpec(derive.doFinal("gptapi hmac key v1".getBytes(StandardCharsets.UTF_8)),
          "HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public byte[] encrypt(byte[] plaintext, String associatedData) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, aesKey, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = cipher.doFinal(plaintext);
      return ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Fails (IllegalStateException) for a value not sealed with this key and associated data, or altered. */
  public byte[] decrypt(byte[] sealed, String associatedData) {
    if (sealed.length < NONCE_BYTES + TAG_BITS / 8) {
      throw new IllegalStateException("sealed value too short");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, aesKey, new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
      cipher.updateAAD(associatedData.getBytes(StandardCharsets.UTF_8));
      return cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot decrypt: wrong SECRETS_KEY or altered value", e);
    }
  }

  /** HMAC-SHA256 of the value, hex. */
  public String mac(String value) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(macKey);
      return HexFormat.of().formatHex(mac.doFinal(value.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
