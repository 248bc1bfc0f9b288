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
  @DisplayName("an include line is replaced by the included file, and nothing else changes")
  void withInclude() throws Exception {
    String file = Files.readString(Path.of("lua", "admit_v3.lua"));
    String shared = Files.readString(Path.of("lua", "token_bucket.lua"));
    String composed = RedisScript.compose("lua/admit_v3.lua");
    assertTrue(file.contains("-- #include token_bucket.lua"), "the script includes the shared bucket");
    assertFalse(composed.lines().anyMatch(line -> line.startsWith("-- #include")), composed);
    assertTrue(composed.contains(shared.strip()), "the shared file's text is in it");
    assertEquals(file.replace("-- #include token_bucket.lua\n", shared.endsWith("\n") ? shared : shared + "\n"),
        composed);
  }
}
