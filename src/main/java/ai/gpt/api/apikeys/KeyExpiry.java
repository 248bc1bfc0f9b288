package ai.gpt.api.apikeys;

import ai.gpt.api.input.Dates;
import java.time.OffsetDateTime;

/** The one rule for a new key's expiry, shared by the API ({@code expires_at}) and the CLI ({@code --expires}). */
public final class KeyExpiry {
  private KeyExpiry() {}

  /**
   * An ISO-8601 time with an offset that is in the future.
   *
   * @throws IllegalArgumentException with the reason
   */
  public static OffsetDateTime parse(String text) {
    OffsetDateTime expires = Dates.instant(text);
    if (!expires.isAfter(OffsetDateTime.now())) {
      throw new IllegalArgumentException("must be in the future");
    }
    return expires;
  }
}
