package ai.gpt.api.webhooks;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.List;
import java.util.StringJoiner;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The Standard Webhooks {@code webhook-signature} header: {@code v1,} + base64(HMAC-SHA256(key, id.timestamp.body))
 * per secret, space-separated, so a receiver holding either secret of a rotation accepts the message.
 */
public final class Signatures {
  private Signatures() {}

  /** @param secrets the endpoint's current secret first, then the previous one while its grace period lasts */
  public static String header(String messageId, long unixSeconds, String body, List<String> secrets) {
    byte[] content = (messageId + "." + unixSeconds + "." + body).getBytes(StandardCharsets.UTF_8);
    StringJoiner header = new StringJoiner(" ");
    for (String secret : secrets) {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(WebhookSecret.key(secret), "HmacSHA256"));
        header.add("v1," + Base64.getEncoder().encodeToString(mac.doFinal(content)));
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }
    return header.toString();
  }
}
