package ai.gpt.api.reports;

import ai.gpt.api.error.ApiError;
import ai.gpt.api.input.WholeNumber;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Base64;

/**
 * Keyset position in the request log, newest first: the (created_at, request_id) of the last row of a page,
 * opaque to clients (base64url of {@code <epoch micros>:<request id>}). The next page holds the rows strictly
 * before it in that order, so rows written meanwhile never shift a page (no duplicates, no gaps).
 */
record RequestCursor(OffsetDateTime createdAt, String requestId) {
  String encode() {
    Instant t = createdAt.toInstant();
    long micros = ChronoUnit.MICROS.between(Instant.EPOCH, t);
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((micros + ":" + requestId).getBytes(StandardCharsets.UTF_8));
  }

  /** Request ids are short; anything longer was not made by {@link #encode}. */
  private static final int MAX_CURSOR = 200;

  static RequestCursor decode(String raw) {
    try {
      if (raw.length() > MAX_CURSOR) {
        throw new IllegalArgumentException("too long");
      }
      String s = new String(Base64.getUrlDecoder().decode(raw), StandardCharsets.UTF_8);
      int sep = s.indexOf(':');
      if (sep > 0 && sep < s.length() - 1 && printableAscii(s.substring(sep + 1))) {
        long micros = WholeNumber.parse(s.substring(0, sep), 0, Long.MAX_VALUE);
        Instant t = Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
        return new RequestCursor(t.atOffset(ZoneOffset.UTC), s.substring(sep + 1));
      }
    } catch (RuntimeException e) {
      // answered below
    }
    throw ApiError.invalidRequest("'before' is not a cursor this API returned.", "before");
  }

  /** Request ids are printable ASCII; anything else (U+0000, which PostgreSQL cannot take) was not encoded here. */
  private static boolean printableAscii(String id) {
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c <= ' ' || c > '~') {
        return false;
      }
    }
    return true;
  }
}
