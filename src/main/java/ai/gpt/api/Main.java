package ai.gpt.api;

import ai.gpt.api.cli.Cli;

/** Entry point of the one jar: the gateway server and the operator CLI. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(Cli.run(args));
  }
}
