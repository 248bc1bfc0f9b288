package ai.gpt.api.usage;

/** A failed step of the usage writer, naming the system that failed for the once-per-incident log line. */
final class StepFailure extends RuntimeException {
  final String system;

  StepFailure(String system, Throwable cause) {
    super(system + ": " + cause.getMessage(), cause, false, false);
    this.system = system;
  }

  /** The error behind a failed step: that is what PostgreSQL and Redis describe (SQLSTATE, NOGROUP…). */
  static Throwable cause(Throwable e) {
    return e instanceof StepFailure && e.getCause() != null ? e.getCause() : e;
  }

  /** The message of {@link #cause}, "" when it has none. */
  static String message(Throwable e) {
    String message = cause(e).getMessage();
    return message == null ? "" : message;
  }
}
