package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How a script's text is composed from its file and the files it includes. */
class RedisScriptComposeTest {
  @Test
  @DisplayName("a script without includes is its file byte for byte (its SHA is the file's)")
  void withoutIncludes() throws Exception {
    assertEquals(Files.readString(Path.of("lua", "debit_end_v1.lua")), RedisScript.compose("lua/debit_end_v1.lua"));
  }

  @Test
  @DisplayName("include lines are replaced by the included files, and nothing else changes")
  void withInclude() throws Exception {
    String file = Files.readString(Path.of("lua", "admit_v6.lua"));
    String expected = file;
    for (String shared : new String[] {"token_bucket.lua", "scope_cache.lua", "batch.lua", "plan.lua"}) {
      String line = "-- #include " + shared + "\n";
      assertTrue(file.contains(line), "the script includes " + shared);
      String text = Files.readString(Path.of("lua", shared));
      expected = expected.replace(line, text.endsWith("\n") ? text : text + "\n");
    }
    String composed = RedisScript.compose("lua/admit_v6.lua");
    assertFalse(composed.lines().anyMatch(line -> line.startsWith("-- #include")), composed);
    assertEquals(expected, composed);
  }
}
