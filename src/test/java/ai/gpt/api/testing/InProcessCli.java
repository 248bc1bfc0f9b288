package ai.gpt.api.testing;

import ai.gpt.api.cli.Cli;
import ai.gpt.api.config.Env;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Runs the operator CLI in this JVM against the test database and Redis, capturing what it prints (log lines
 * left out, so a test reads only the CLI's own output).
 */
public final class InProcessCli {
  /** The exit code and the printed output and errors. */
  public record Result(int code, String out, String err) {}

  private static final Pattern LOG_LINE =
      Pattern.compile("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z (TRACE|DEBUG|INFO|WARN|ERROR) ");

  private InProcessCli() {}

  public static Result run(String... args) {
    return run(Map.of(), args);
  }

  /** @param extraEnv settings beyond the test services' (Stripe's, say); they win over the defaults */
  public static synchronized Result run(Map<String, String> extraEnv, String... args) {
    Map<String, String> env = new HashMap<>(Map.of("DATABASE_URL", TestServices.DATABASE_URL,
        "REDIS_URL", TestServices.REDIS_URL, "KEY_PEPPER", TestServices.PEPPER, "JWT_SECRET", TestServices.JWT_SECRET,
        "SECRETS_KEY", TestServices.SECRETS_KEY));
    env.putAll(extraEnv);
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      int code = Cli.run(Env.of(env), args);
      return new Result(code, withoutLogLines(o), withoutLogLines(e));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  private static String withoutLogLines(ByteArrayOutputStream captured) {
    return captured.toString(StandardCharsets.UTF_8).lines()
        .filter(l -> !l.startsWith("ts=") && !LOG_LINE.matcher(l).lookingAt())
        .collect(Collectors.joining("\n", "", captured.size() == 0 ? "" : "\n"));
  }
}
