package ai.gpt.api.metering;

import ai.gpt.api.limits.AdmissionResult;
import ai.gpt.api.limits.AllotmentCalls;
import ai.gpt.api.limits.AllotmentScope;
import ai.gpt.api.limits.WindowState;

/**
 * One allotment taken from Redis ({@link AllotmentCalls}), granted request by request from memory. What it has
 * left only shrinks by what its requests may cost: a request takes its reserved tokens and its hold, and its
 * settlement gives back only what it did not use (reserved minus used tokens, hold minus cost; negative when it used
 * more). So its requests together never hold more than the allotment took from Redis, and the organization's
 * credit, limits and concurrency stay bounded exactly as with one admission per request.
 *
 * <p>Shared by the event loops (a scope's requests arrive on any of them): every method is synchronized, and each is
 * a few arithmetic steps.
 */
final class Allotment {
  private final String id;
  private final AllotmentScope scope;
  private final AllotmentCalls.Size size;
  private final AllotmentCalls.Grant grant;
  private final long takenAtMs;
  private long requestsLeft;
  private long tokensLeft;
  private long holdLeft;
  private int inFlight;
  private boolean open = true;
  private boolean ending;

  Allotment(String id, AllotmentScope scope, AllotmentCalls.Size size, AllotmentCalls.Grant grant, long takenAtMs) {
    this.id = id;
    this.scope = scope;
    this.size = size;
    this.grant = grant;
    this.takenAtMs = takenAtMs;
    this.requestsLeft = size.requests();
    this.tokensLeft = size.tokens();
    this.holdLeft = size.holdMicros();
  }

  String id() {
    return id;
  }

  AllotmentScope scope() {
    return scope;
  }

  int slots() {
    return size.slots();
  }

  /** Requests it took. */
  long requests() {
    return size.requests();
  }

  long takenAtMs() {
    return takenAtMs;
  }

  /**
   * Admits a request that reserves {@code tokens} and holds {@code hold}, if what is left covers it. If not, the
   * allotment closes (admits nothing more) and answers null: the request goes through Redis, and a new allotment
   * sized for it may be taken. With all its concurrency slots in use it answers null and stays open: that request
   * goes through Redis, the next may find a slot.
   */
  synchronized AdmissionResult admit(long tokens, long hold) {
    if (!open) {
      return null;
    }
    if (requestsLeft < 1 || tokensLeft < tokens || holdLeft < hold) {
      open = false;
      return null;
    }
    if (size.slots() > 0 && inFlight >= size.slots()) {
      return null;
    }
    long availableBefore = grant.availableMicros() - size.holdMicros() + holdLeft;
    requestsLeft--;
    tokensLeft -= tokens;
    holdLeft -= hold;
    inFlight++;
    return new AdmissionResult(AdmissionResult.Outcome.ADMITTED, null, -1,
        withLeft(grant.requests(), requestsLeft), withLeft(grant.tokens(), Math.max(0, tokensLeft)), availableBefore);
  }

  synchronized boolean isOpen() {
    return open;
  }

  /** Requests it can still admit (0 once closed). */
  synchronized long requestsLeft() {
    return open ? requestsLeft : 0;
  }

  /**
   * One of its requests settled. Returns true if the allotment is now closed with nothing in flight: the caller
   * ends it (exactly one caller is told so).
   */
  synchronized boolean settled(long reservedTokens, long usedTokens, long hold, long cost) {
    inFlight--;
    tokensLeft += reservedTokens - usedTokens;
    holdLeft += hold - cost;
    return claimEnd();
  }

  /** Admits nothing more. Returns true if nothing is in flight: the caller ends it (only once). */
  synchronized boolean close() {
    open = false;
    return claimEnd();
  }

  /** What to give back when it ends: requests not used, and tokens not used (negative: used more than taken). */
  synchronized long unusedRequests() {
    return requestsLeft;
  }

  synchronized long unusedTokens() {
    return tokensLeft;
  }

  private boolean claimEnd() {
    if (open || inFlight > 0 || ending) {
      return false;
    }
    ending = true;
    return true;
  }

  /** The window as the headers show it: what Redis had left after the allotment, plus what it still holds. */
  private static WindowState withLeft(WindowState after, long left) {
    return after == null ? null
        : new WindowState(after.bucket(), after.limit(), after.remaining() + left, after.resetMs());
  }
}
