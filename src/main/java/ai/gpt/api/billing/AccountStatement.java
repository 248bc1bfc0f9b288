package ai.gpt.api.billing;

import java.util.List;

/** What {@code credits show} prints: an organization's balance and its latest ledger rows, newest first. */
public record AccountStatement(long orgId, String orgName, long balanceMicros, List<LedgerEntry> recent) {}
