package ai.gpt.api.status;

/** The four levels of the product's status schema, ordered from best to worst; {@link #code} is stored in PG. */
public enum StatusLevel {
  OPERATIONAL("operational"),
  DEGRADED_PERFORMANCE("degraded_performance"),
  PARTIAL_OUTAGE("partial_outage"),
  MAJOR_OUTAGE("major_outage");

  private final String json;

  StatusLevel(String json) {
    this.json = json;
  }

  public String json() {
    return json;
  }

  public int code() {
    return ordinal();
  }

  public static StatusLevel ofCode(int code) {
    return values()[code];
  }

  public StatusLevel worst(StatusLevel other) {
    return other.ordinal() > ordinal() ? other : this;
  }

  /** Degraded performance still serves requests, so it counts as up in the uptime figures. */
  public boolean up() {
    return this == OPERATIONAL || this == DEGRADED_PERFORMANCE;
  }

  /**
   * The level the share of 5xx answers alone implies: none below {@code minRequests} requests (too few to say), a
   * partial outage from {@code errorRate}, a major one from half of all requests.
   */
  public static StatusLevel ofErrors(long requests, long errors, long minRequests, double errorRate) {
    if (requests < minRequests || requests == 0) {
      return OPERATIONAL;
    }
    if (errors * 2 >= requests) {
      return MAJOR_OUTAGE;
    }
    return errors >= requests * errorRate ? PARTIAL_OUTAGE : OPERATIONAL;
  }
}
