package ai.gpt.api.limits;

import ai.gpt.api.billing.Money;
import java.util.Objects;

/**
 * What admission needs to know about one request.
 *
 * @param requestId      unique per request (the x-request-id); must not start with '_'
 * @param orgLimits      the organization's limits (its plan's defaults, possibly overridden)
 * @param keyLimits      the key's limits, including its concurrency; {@link Limits#UNLIMITED} if none
 * @param reservedTokens prompt estimate + max_tokens, reserved in every token bucket until settlement
 * @param holdMicros     the request's maximum cost (an upper bound on the prompt at the input price + max_tokens at
 *                       the output price), held against the balance until settlement
 */
public record AdmissionRequest(String requestId, long orgId, long keyId, Limits orgLimits, Limits keyLimits,
    long reservedTokens, long holdMicros) {

  public AdmissionRequest {
    Objects.requireNonNull(requestId, "requestId");
    if (requestId.isEmpty() || requestId.startsWith("_") || requestId.length() > 200) {
      throw new IllegalArgumentException("invalid request id: " + requestId);
    }
    orgLimits = orgLimits == null ? Limits.UNLIMITED : orgLimits;
    keyLimits = keyLimits == null ? Limits.UNLIMITED : keyLimits;
    if (reservedTokens < 0 || holdMicros < 0) {
      throw new IllegalArgumentException("reservedTokens and holdMicros must be >= 0");
    }
  }

  /**
   * Reserves promptEstimate + maxTokens tokens and holds the maximum cost: promptBound at the input price plus
   * max_tokens at the output price. The token buckets take the likely count (settlement corrects it, and a bound
   * would refuse large prompts as "too large" for a window they fit in); the hold takes the bound, since a charge
   * above its hold is credit nobody checked.
   */
  public static AdmissionRequest of(String requestId, long orgId, long keyId, Limits orgLimits, Limits keyLimits,
      long promptEstimate, long promptBound, long maxTokens, long inputPricePerM, long outputPricePerM) {
    return new AdmissionRequest(requestId, orgId, keyId, orgLimits, keyLimits,
        Math.addExact(promptEstimate, maxTokens),
        Money.requestCost(promptBound, maxTokens, inputPricePerM, outputPricePerM));
  }
}
