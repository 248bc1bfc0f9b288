package ai.gpt.api.limits;

/**
 * One request's reply from {@code lua/settle_v8.lua}, which answers each request with one string rather than a table
 * (a table of six values cost Redis several times more to build and send, and this side as many objects to parse):
 * {@code "D"} for a duplicate, or {@code "S,<balance_after>,<balance_present>,<reservation_found>,<outbox_entry_id>,
 * <ts_ms>"}.
 */
record SettleReply(long balanceAfter, boolean balancePresent, boolean reservationFound, String outboxId,
    String tsMs) {

  /** The reply, or null for a duplicate; an answer of any other shape is the script's bug, reported as such. */
  static SettleReply parse(String reply) {
    if ("D".equals(reply)) {
      return null;
    }
    String[] f = reply.split(",", -1);
    if (f.length != 6 || !"S".equals(f[0])) {
      throw new IllegalStateException("settle_v8.lua answered " + reply);
    }
    return new SettleReply(Long.parseLong(f[1]), "1".equals(f[2]), "1".equals(f[3]), f[4], f[5]);
  }
}
