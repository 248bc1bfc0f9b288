package ai.gpt.api.billing;

import java.time.OffsetDateTime;

/**
 * One row of {@code credit_ledger}.
 *
 * @param amountMicros positive for a credit, negative for a debit
 * @param kind         credit, debit, transfer or adjustment
 * @param requestId    the metered request for usage debits, else null
 */
public record LedgerEntry(
    long id,
    long orgId,
    long amountMicros,
    String kind,
    String reason,
    String idempotencyKey,
    String requestId,
    OffsetDateTime createdAt) {}
