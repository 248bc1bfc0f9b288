package ai.gpt.api.metering;

/**
 * Told the hot balance of an organization after each settlement (billing's low-balance e-mails and
 * auto-recharge). It runs on the event loop of every request, so it must answer in O(1) from memory, never block,
 * and never throw: anything slower it starts asynchronously.
 */
@FunctionalInterface
public interface BalanceWatch {
  BalanceWatch NONE = (orgId, balanceAfterMicros) -> { };

  void settled(long orgId, long balanceAfterMicros);
}
