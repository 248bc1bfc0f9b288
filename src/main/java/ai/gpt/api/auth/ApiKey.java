package ai.gpt.api.auth;

import ai.gpt.api.limits.Limits;
import java.time.Instant;
import java.util.Set;

/**
 * A key as the gateway needs it on every request.
 *
 * @param allowedModels null when the key may use every model
 * @param orgLimits     the organization's effective limits (its own values over its plan's)
 * @param keyLimits     the key's own narrower limits; its concurrency defaults to the organization's
 * @param suspended     the organization has an open payment dispute: its API access is suspended
 * @param playground    a short-lived key the dashboard's Playground minted: it may only chat (and list models)
 */
public record ApiKey(
    long id,
    String publicId,
    String secretHash,
    long orgId,
    String orgName,
    String status,
    Instant expiresAt,
    Set<String> allowedModels,
    Limits orgLimits,
    Limits keyLimits,
    boolean suspended,
    boolean playground) {

  public boolean usable(Instant now) {
    return "active".equals(status) && (expiresAt == null || expiresAt.isAfter(now));
  }

  public boolean mayUse(String model) {
    return allowedModels == null || allowedModels.contains(model);
  }
}
