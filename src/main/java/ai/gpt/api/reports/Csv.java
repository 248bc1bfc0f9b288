package ai.gpt.api.reports;

/** RFC 4180 CSV fields, with spreadsheet formula injection defused. */
final class Csv {
  private Csv() {}

  /** A text field: quoted when it holds a comma, quote or line break; a leading =, +, -, @ is prefixed by '. */
  static String text(String s) {
    if (s == null) {
      return "";
    }
    if (!s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0) {
      s = "'" + s;
    }
    if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
      return '"' + s.replace("\"", "\"\"") + '"';
    }
    return s;
  }

  /** A number or boolean (never needs quoting); empty for null. */
  static String value(Object v) {
    return v == null ? "" : v.toString();
  }
}
