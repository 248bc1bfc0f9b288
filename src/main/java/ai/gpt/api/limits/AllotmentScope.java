package ai.gpt.api.limits;

/**
 * What the requests an allotment admits have in common: one key of one organization under one set of limits. A
 * change of the limits (a new plan, an override) is another scope, so an allotment never admits a request under
 * limits it was not taken with.
 */
public record AllotmentScope(long orgId, long keyId, Limits orgLimits, Limits keyLimits) {

  public static AllotmentScope of(AdmissionRequest r) {
    return new AllotmentScope(r.orgId(), r.keyId(), r.orgLimits(), r.keyLimits());
  }

  /** The key's concurrency limit, 0 when it has none. */
  public int concurrencyLimit() {
    Integer limit = keyLimits.concurrency();
    return limit == null ? 0 : limit;
  }
}
