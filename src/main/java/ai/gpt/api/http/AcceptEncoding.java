package ai.gpt.api.http;

import java.util.Locale;

/** Which precompressed copy a client may take, from its Accept-Encoding header (q=0 refuses a coding). */
final class AcceptEncoding {
  private AcceptEncoding() {}

  static boolean accepts(String header, String coding) {
    if (header == null) {
      return false;
    }
    boolean byWildcard = false;
    for (String part : header.split(",")) {
      String[] fields = part.split(";");
      String name = fields[0].strip().toLowerCase(Locale.ROOT);
      boolean allowed = quality(fields) > 0;
      if (name.equals(coding)) {
        return allowed;
      }
      if (name.equals("*")) {
        byWildcard = allowed;
      }
    }
    return byWildcard;
  }

  private static double quality(String[] fields) {
    for (int i = 1; i < fields.length; i++) {
      String f = fields[i].strip();
      if (f.startsWith("q=") || f.startsWith("Q=")) {
        try {
          return Double.parseDouble(f.substring(2).strip());
        } catch (NumberFormatException e) {
          return 0;
        }
      }
    }
    return 1;
  }
}
