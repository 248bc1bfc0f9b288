package ai.gpt.api.account;

import ai.gpt.api.auth.ClientAddress;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;

/**
 * Limits on the routes that send e-mail (sign-up, forgot-password, invitations), counted in Redis
 * ({@link Attempts}) so they hold across replicas. Two kinds, answered differently on purpose:
 * <ul>
 *   <li>per recipient: an address gets at most {@link #PER_RECIPIENT} mails per window, whoever asks. Over it the
 *       route answers exactly as usual and sends nothing, so the answer says nothing about the account;</li>
 *   <li>per sender (the client's address on public routes, the inviting user and the organization for
 *       invitations): over it the route answers 429 {@code too_many_attempts} with Retry-After, which reveals
 *       nothing about any account.</li>
 * </ul>
 */
public final class MailLimits {
  static final long WINDOW_MS = 60 * 60_000L;
  static final int PER_RECIPIENT = 5;
  static final int PER_CLIENT = 20;
  static final int PER_INVITER = 50;
  static final int PER_ORG = 100;

  private final Attempts attempts;

  public MailLimits(Attempts attempts) {
    this.attempts = attempts;
  }

  /** Counts a public mail-sending request from this client address; fails with 429 when it is over its limit. */
  public Future<Void> fromClient(String address) {
    return refuseOver(attempts.count(WINDOW_MS,
        new Attempts.Counter("mail:ip:" + ClientAddress.limitKey(address), PER_CLIENT)));
  }

  /** Counts an invitation by this user of this organization; fails with 429 when either is over its limit. */
  public Future<Void> invitation(long orgId, long inviterId) {
    return refuseOver(attempts.count(WINDOW_MS, new Attempts.Counter("mail:inviter:" + inviterId, PER_INVITER),
        new Attempts.Counter("mail:org:" + orgId, PER_ORG)));
  }

  /** Counts a mail to this address; false when the address is over its limit: send nothing, answer as usual. */
  public Future<Boolean> mayMail(String email) {
    return attempts.count(WINDOW_MS, new Attempts.Counter("mail:to:" + Attempts.emailKey(email),
        PER_RECIPIENT)).map(wait -> wait == 0);
  }

  private static Future<Void> refuseOver(Future<Long> counted) {
    return counted.compose(wait -> wait == 0 ? Future.succeededFuture() : Future.failedFuture(ApiError.of(429,
        "too_many_attempts", "Too many requests that send e-mail. Please try again later.", wait)));
  }
}
