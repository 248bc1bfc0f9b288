package ai.gpt.api.billing;

/**
 * Outcome of a credit or adjustment.
 *
 * @param entry         the ledger row (the earlier one when the idempotency key had been used already)
 * @param applied       false when the operation had already been applied under the same idempotency key
 * @param balanceMicros the organization's balance right after the operation
 */
public record CreditResult(LedgerEntry entry, boolean applied, long balanceMicros) {}
