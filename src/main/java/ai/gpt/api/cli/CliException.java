package ai.gpt.api.cli;

/** A command the operator typed cannot be carried out; the message says why, and the process exits 1. */
public final class CliException extends RuntimeException {
  public CliException(String message) {
    super(message);
  }
}
