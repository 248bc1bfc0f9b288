package ai.gpt.api.local;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How PostgreSQL's programs (initdb, pg_ctl, postgres) are launched. They refuse to run with effective uid 0, and
 * zonky's {@code EmbeddedPostgres} has no setting for that, so when this JVM is root the first strategy that works
 * here is used:
 *
 * <ol>
 *   <li>{@code unshare -U}: a new user namespace without a uid map. Inside it the process sees itself as the
 *       overflow uid 65534, so PostgreSQL's root check passes, yet towards the file system it still acts with the
 *       caller's credentials: files stay root-owned and every directory root can reach (even under /root) works.
 *       zonky 2.x uses the same trick for its own commands. Needs user namespaces (Docker's default seccomp profile
 *       forbids them, hence the fallbacks).
 *   <li>{@code setpriv} to the account {@code nobody}: classic privilege drop, the data directory is chowned to it.
 *       nobody must be able to traverse to the data directory, so it cannot live under /root (mode 700). Keeping
 *       CAP_DAC_READ_SEARCH does not help: initdb validates its own binaries with access(), which ignores
 *       capabilities.
 *   <li>{@code runuser -u nobody}, same condition.
 * </ol>
 *
 * Not root: programs run directly as the current user.
 */
final class RunAs {
  final String description;
  private final List<String> prefix;
  /** uid/gid the PostgreSQL data directory must belong to; -1 when not root (cannot and need not chown). */
  final int uid;
  final int gid;

  private RunAs(String description, List<String> prefix, int uid, int gid) {
    this.description = description;
    this.prefix = List.copyOf(prefix);
    this.uid = uid;
    this.gid = gid;
  }

  List<String> command(List<String> command) {
    List<String> all = new ArrayList<>(prefix);
    all.addAll(command);
    return all;
  }

  boolean managesOwnership() {
    return uid >= 0;
  }

  /**
   * Picks the strategy for running {@code postgresExe} (an absolute path inside the data directory, so a successful
   * {@code postgres -V} also proves the data directory is reachable). {@code workDir} is the data directory.
   */
  static RunAs forPostgres(Path postgresExe, Path workDir) throws IOException {
    if (!Processes.isRoot()) {
      return new RunAs("current user", List.of(), -1, -1);
    }
    List<String> version = List.of(postgresExe.toString(), "-V");

    List<String> unshare = List.of("unshare", "-U");
    if (unshareHidesRoot(workDir) && Processes.succeeds(concat(unshare, version), workDir)) {
      return new RunAs("unshare -U (user namespace, files stay owned by root)", unshare, 0, 0);
    }

    int[] nobody = Processes.account("nobody");
    List<String> setpriv = List.of("setpriv", "--reuid=" + nobody[0], "--regid=" + nobody[1], "--clear-groups");
    if (Processes.succeeds(concat(concat(setpriv, List.of("--")), version), workDir)) {
      return new RunAs("setpriv as nobody (uid " + nobody[0] + ")", concat(setpriv, List.of("--")), nobody[0], nobody[1]);
    }
    List<String> runuser = List.of("runuser", "-u", "nobody", "--");
    if (Processes.succeeds(concat(runuser, version), workDir)) {
      return new RunAs("runuser as nobody (uid " + nobody[0] + ")", runuser, nobody[0], nobody[1]);
    }
    throw new IllegalStateException("Running as root, and PostgreSQL refuses to run as root. None of the ways to drop"
        + " root worked here: 'unshare -U' (user namespaces unavailable, e.g. Docker's default seccomp profile), or"
        + " 'setpriv'/'runuser' to user nobody, who cannot reach " + workDir + " (every parent directory needs o+x;"
        + " /root is 700). Use a data directory outside /root, run as a non-root user, or set DATABASE_URL and"
        + " REDIS_URL to external servers.");
  }

  /** zonky's test: in a fresh user namespace {@code id -u} must not be 0. */
  private static boolean unshareHidesRoot(Path workDir) {
    try {
      Processes.Result r = Processes.run(List.of("unshare", "-U", "id", "-u"), workDir, java.time.Duration.ofSeconds(15));
      return r.ok() && !r.output().isEmpty() && !r.output().equals("0");
    } catch (IOException e) {
      return false;
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  @Override
  public String toString() {
    return description;
  }
}
