package ai.gpt.api.metering;

/**
 * What admission does while Redis (the limiter) cannot be reached.
 *
 * <ul>
 *   <li>{@link #CLOSED} (default): answer 503; nobody is served beyond their limits or credit.</li>
 *   <li>{@link #OPEN}: keep serving, admitting against a per-replica in-memory copy of the same limits and of the
 *       last credit each organization was seen with; settlements are replayed to Redis when it returns.</li>
 * </ul>
 */
public enum FailurePolicy {
  CLOSED,
  OPEN;

  /** Parses {@code closed} or {@code open}; null for anything else. */
  public static FailurePolicy parse(String value) {
    return switch (value) {
      case "closed" -> CLOSED;
      case "open" -> OPEN;
      default -> null;
    };
  }
}
