package ai.gpt.api.auth;

import java.time.Instant;
import java.util.Set;

/**
 * A key as the gateway needs it on every request.
 *
 * @param allowedModels null when the key may use every model
 */
public record ApiKey(
    long id,
    String publicId,
    String secretHash,
    long orgId,
    String orgName,
    String status,
    Instant expiresAt,
    Set<String> allowedModels) {

  public boolean usable(Instant now) {
    return "active".equals(status) && (expiresAt == null || expiresAt.isAfter(now));
  }

  public boolean mayUse(String model) {
    return allowedModels == null || allowedModels.contains(model);
  }
}
