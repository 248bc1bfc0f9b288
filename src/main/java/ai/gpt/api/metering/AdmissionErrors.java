package ai.gpt.api.metering;

import ai.gpt.api.billing.Money;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.limits.AdmissionRequest;
import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.Bucket;
import ai.gpt.api.limits.WindowState;

/** The client's answer to a refused admission: 429 for a limit, 402 for credit, worded like OpenAI's. */
public final class AdmissionErrors {
  private AdmissionErrors() {}

  public static ApiError from(AdmissionResult result, AdmissionRequest request) {
    return switch (result.outcome()) {
      case RATE_LIMITED -> rateLimited(result, request);
      case CONCURRENCY_LIMITED -> ApiError.rateLimited("requests",
          "Too many concurrent requests for this API key (limit " + request.keyLimits().concurrency()
              + "). Please retry when one of them has finished.", result.retryAfterMs());
      case INSUFFICIENT_QUOTA -> ApiError.insufficientQuota("You have insufficient credit for this request: it may"
          + " cost up to " + Money.formatUsd(request.holdMicros()) + " (the prompt at the input price plus"
          + " max_tokens at the output price) and " + Money.formatUsd(Math.max(0, result.availableMicros()))
          + " is available. Add credit, or lower max_tokens.");
      case ADMITTED -> throw new IllegalArgumentException("admitted requests are not errors");
    };
  }

  /** The organization has an open payment dispute (chargeback): no API use until it is resolved. */
  public static ApiError accountSuspended() {
    return ApiError.of(402, "account_suspended", "API access for this organization is suspended because a payment"
        + " to it is disputed (a chargeback). It resumes as soon as the dispute is closed: withdraw the dispute with"
        + " your bank or card issuer, or contact support. The Billing tab of the dashboard lists open disputes.",
        (String) null);
  }

  private static ApiError rateLimited(AdmissionResult result, AdmissionRequest request) {
    Bucket b = result.tripped();
    Long limit = (b.scope() == Bucket.Scope.ORG ? request.orgLimits() : request.keyLimits()).get(b.kind(), b.window());
    long requested = b.kind() == Bucket.Kind.REQUESTS ? 1 : request.reservedTokens();
    if (result.requestTooLarge()) {
      return ApiError.rateLimited(b.kind().word(), "Request too large for " + b.label() + ": limit " + limit
          + ", requested " + requested + " (the prompt estimate plus max_tokens). Lower max_tokens or shorten the"
          + " input.", null);
    }
    return ApiError.rateLimited(b.kind().word(), "Rate limit reached for " + b.label() + ": limit " + limit
        + ", requested " + requested + ". Please try again in "
        + WindowState.duration(result.retryAfterMs()) + ".", result.retryAfterMs());
  }
}
