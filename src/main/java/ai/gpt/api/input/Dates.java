package ai.gpt.api.input;

import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/**
 * THE parsers of dates and times typed by users: ISO-8601 only, ASCII only, bounded length checked first, and a
 * four-digit year (java.time also reads "+999999999-12-31", which PostgreSQL cannot store), also in UTC
 * ("9999-12-31T23:00:00-18:00" is in year 10000, which RFC 3339 cannot write); the 'T' and 'Z' upper case, as
 * RFC 3339 writes them (java.time's ISO formatter reads them in any case).
 */
public final class Dates {
  /** 2027-01-31T00:00:00.123456789+05:30 is 35 characters. */
  private static final int MAX_INSTANT = 35;

  private Dates() {}

  /** A UTC day, {@code YYYY-MM-DD}. */
  public static LocalDate day(String text) {
    if (text == null || text.length() != 10 || !fourDigitYear(text)) {
      throw new IllegalArgumentException("must be a date as YYYY-MM-DD");
    }
    try {
      return LocalDate.parse(text, DateTimeFormatter.ISO_LOCAL_DATE);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("must be a date as YYYY-MM-DD");
    }
  }

  /** A time with an offset, such as {@code 2027-01-31T00:00:00Z}. */
  public static OffsetDateTime instant(String text) {
    String expected = "must be an ISO-8601 time with an offset, such as 2027-01-31T00:00:00Z";
    if (text == null || text.length() > MAX_INSTANT || !fourDigitYear(text)) {
      throw new IllegalArgumentException(expected);
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c > 0x7e || Character.isLowerCase(c)) {
        throw new IllegalArgumentException(expected);
      }
    }
    OffsetDateTime parsed;
    try {
      parsed = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(expected);
    }
    int utcYear = parsed.withOffsetSameInstant(ZoneOffset.UTC).getYear();
    if (utcYear < 1 || utcYear > 9999) {
      throw new IllegalArgumentException("must be a time from year 0001 to 9999 in UTC");
    }
    return parsed;
  }

  private static boolean fourDigitYear(String text) {
    if (text.length() < 5 || text.charAt(4) != '-') {
      return false;
    }
    for (int i = 0; i < 4; i++) {
      if (text.charAt(i) < '0' || text.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
