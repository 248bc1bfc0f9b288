package ai.gpt.api.limits;

import io.vertx.core.Future;

/**
 * Supplies an organization's balance (integer micro-USD) when Redis has none, typically from PostgreSQL's ledger.
 * The value is stored with SET NX, so concurrent loads are harmless. It must already account for every usage
 * event not yet written to the ledger (events still in the usage stream), or they would be spent twice.
 */
@FunctionalInterface
public interface BalanceLoader {
  Future<Long> load(long orgId);
}
