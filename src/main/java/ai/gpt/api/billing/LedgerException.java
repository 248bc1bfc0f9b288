package ai.gpt.api.billing;

/** A ledger operation refused for a reason the operator can fix (unknown organization, bad amount, reused key). */
public final class LedgerException extends RuntimeException {
  public LedgerException(String message) {
    super(message);
  }
}
