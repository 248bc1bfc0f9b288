package ai.gpt.api.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.OffsetDateTime;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The one parser of whole numbers and the one parser of times: each value has one way to be written. */
class InputParsersTest {
  @Test
  @DisplayName("whole numbers: ASCII digits without leading zeros, a '-' only where allowed, within bounds")
  void wholeNumbers() {
    assertEquals(0, WholeNumber.parse("0", 0, 10));
    assertEquals(3, WholeNumber.parse("3", 0, 10));
    assertEquals(30, WholeNumber.parse("30", 0, 100));
    assertEquals(-7, WholeNumber.parse("-7", -10, 10));
    assertEquals(Long.MAX_VALUE, WholeNumber.parse("9223372036854775807", 0, Long.MAX_VALUE));
    for (String bad : List.of("", "03", "00", "007", "-03", "+3", " 3", "3 ", "١", "3.0", "1e3", "0x3", "-",
        "9223372036854775808", "1".repeat(21))) {
      assertThrows(IllegalArgumentException.class, () -> WholeNumber.parse(bad, -100, Long.MAX_VALUE), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> WholeNumber.parse("-3", 0, 10), "no sign where none is allowed");
    assertThrows(IllegalArgumentException.class, () -> WholeNumber.parse("11", 0, 10));
  }

  @Test
  @DisplayName("times: RFC 3339 with an offset, upper-case T and Z, a four-digit year also in UTC")
  void times() {
    assertEquals(OffsetDateTime.parse("2027-01-31T00:00Z"), Dates.instant("2027-01-31T00:00:00Z"));
    assertEquals(OffsetDateTime.parse("2027-01-31T00:00:00.5+05:30"), Dates.instant("2027-01-31T00:00:00.5+05:30"));
    assertEquals(9999, Dates.instant("9999-12-31T23:59:59Z").getYear());
    for (String bad : List.of("2027-01-31t00:00:00Z", "2027-01-31T00:00:00z", "2027-01-31T00:00:00",
        "9999-12-31T23:59:59.999999999-18:00", "0001-01-01T00:00:00+01:00", "+10000-01-01T00:00:00Z",
        "2027-01-31 00:00:00Z", "２027-01-31T00:00:00Z", "2027-02-30T00:00:00Z")) {
      assertThrows(IllegalArgumentException.class, () -> Dates.instant(bad), bad);
    }
    assertEquals(2027, Dates.day("2027-01-31").getYear());
    assertThrows(IllegalArgumentException.class, () -> Dates.day("27-01-31"));
  }
}
