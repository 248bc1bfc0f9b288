package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StreamTrimmerTest {
  @Test
  @DisplayName("an entry id is below a MINID by its milliseconds, then its sequence, as numbers")
  void below() {
    assertTrue(StreamTrimmer.below("1764626000000-5", "1764626000000-6"));
    assertFalse(StreamTrimmer.below("1764626000000-6", "1764626000000-6"), "MINID itself is kept");
    assertFalse(StreamTrimmer.below("1764626000000-10", "1764626000000-9"), "not compared as text");
    assertTrue(StreamTrimmer.below("999-99", "1000-0"));
    assertFalse(StreamTrimmer.below("18446744073709551615-0", "1-0"), "unsigned 64-bit milliseconds");
  }
}
