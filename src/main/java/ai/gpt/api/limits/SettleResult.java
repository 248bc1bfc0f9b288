package ai.gpt.api.limits;

/**
 * The answer of one settlement.
 *
 * @param balanceAfterMicros the hot balance after the charge; null when Redis had no hot balance (it is then not
 *                           created; PostgreSQL's ledger receives the debit from the usage event) or on DUPLICATE
 * @param reservationFound   false when the reservation had expired (or never existed): tokens were not given back,
 *                           the charge and the usage event still happened
 * @param outboxEntryId      id of the usage event in the organization's outbox ({@link RedisKeys#outbox}); null on
 *                           DUPLICATE
 */
public record SettleResult(Outcome outcome, Long balanceAfterMicros, boolean reservationFound, String outboxEntryId) {

  public enum Outcome { SETTLED, DUPLICATE }

  public boolean duplicate() {
    return outcome == Outcome.DUPLICATE;
  }
}
