package ai.gpt.api.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A receiver's check written from the Standard Webhooks specification alone (not with our signing code): the key
 * is the base64-decoded part of the secret after "whsec_"; the signed content is "{webhook-id}.{webhook-timestamp}.
 * {raw body}"; webhook-signature is a space-delimited list of "v1,{base64 HMAC-SHA256}" entries, of which one must
 * match (compared in constant time); the timestamp must be within 5 minutes of now.
 */
final class StandardWebhooksVerifier {
  private StandardWebhooksVerifier() {}

  static boolean verify(String secret, String id, String timestamp, String signatureHeader, String rawBody) {
    if (id == null || timestamp == null || signatureHeader == null || !secret.startsWith("whsec_")) {
      return false;
    }
    long sent;
    try {
      sent = Long.parseLong(timestamp);
    } catch (NumberFormatException e) {
      return false;
    }
    if (Math.abs(System.currentTimeMillis() / 1000 - sent) > 300) {
      return false;
    }
    byte[] expected;
    try {
      Mac hmac = Mac.getInstance("HmacSHA256");
      hmac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
      expected = hmac.doFinal((id + "." + timestamp + "." + rawBody).getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    for (String entry : signatureHeader.split(" ")) {
      int comma = entry.indexOf(',');
      if (comma < 0 || !entry.substring(0, comma).equals("v1")) {
        continue; // other versions are ignored, as the spec says
      }
      byte[] given;
      try {
        given = Base64.getDecoder().decode(entry.substring(comma + 1));
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (MessageDigest.isEqual(expected, given)) {
        return true;
      }
    }
    return false;
  }
}
