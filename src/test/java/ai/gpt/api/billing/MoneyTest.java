package ai.gpt.api.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The one money parser and the one JSON money format. */
class MoneyTest {
  @Test
  @DisplayName("plain decimals are exact micro-USD; a sign only where the caller allows it")
  void accepts() {
    assertEquals(10_000_000L, Money.parseUsd("10", false));
    assertEquals(250_000L, Money.parseUsd("0.25", false));
    assertEquals(1_000_001L, Money.parseUsd("1.000001", false));
    assertEquals(1_500_000L, Money.parseUsd("1.50", false));
    assertEquals(500_000L, Money.parseUsd("0.5", false));
    assertEquals(0L, Money.parseUsd("0", false));
    assertEquals(-2_500_000L, Money.parseUsd("-2.5", true));
    assertEquals(Long.MAX_VALUE, Money.parseUsd("9223372036854.775807", false));
  }

  @Test
  @DisplayName("exponents, other scripts' digits, signs, separators, currency signs, whitespace and huge input fail fast")
  void refuses() {
    long start = System.nanoTime();
    for (String bad : List.of("1e3", "1E3", "1e120000", "1e2147483647", "١", "۱۰", "１", "+1", "-1", "$1", "1,000",
        "1_000", " 1", "1 ", "\t1", "1\n", "0x10", "NaN", "Infinity", "1.", ".5", "01.50", "00.5", "00", "1..2", "1.2.3", "1.0000001", "",
        "-", "9223372036854.775808", "99999999999999", "1".repeat(100_000), "1e" + "9".repeat(100_000))) {
      assertThrows(IllegalArgumentException.class, () -> Money.parseUsd(bad, false), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("--1", true));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("-05", true));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("-1e3", true));
    assertThrows(IllegalArgumentException.class, () -> Money.parseUsd("-9223372036854.775808", true));
    assertTrue(System.nanoTime() - start < 1_000_000_000L, "bounded parse time");
  }

  @Test
  @DisplayName("JSON money: fixed 6 decimals, no currency sign")
  void decimalUsd() {
    assertEquals("12.500000", Money.decimalUsd(12_500_000));
    assertEquals("-0.016000", Money.decimalUsd(-16_000));
    assertEquals("0.000003", Money.decimalUsd(3));
    assertEquals("0.000000", Money.decimalUsd(0));
  }
}
