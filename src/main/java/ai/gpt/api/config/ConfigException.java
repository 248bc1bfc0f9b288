package ai.gpt.api.config;

/** A configuration variable is missing or malformed; the message names it so the operator can fix it. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String variable, String problem) {
    super("Invalid configuration: " + variable + " " + problem);
  }
}
