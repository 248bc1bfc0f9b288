package ai.gpt.api.chaos;

/** What a client saw of one request of the chaos run. */
enum Outcome {
  /** 200 with the whole answer: a JSON body with usage, or a stream that ended with {@code data: [DONE]}. */
  COMPLETED,
  /** The client closed the connection itself (mid-stream after k events, or before a whole answer arrived). */
  CUT_BY_CLIENT,
  INSUFFICIENT_QUOTA_402,
  RATE_LIMITED_429,
  UNAVAILABLE_503,
  /** Any other status (e.g. 502 when a backend died before the first byte). */
  OTHER_STATUS,
  /** A 200 that did not end whole: the backend or the gateway died mid-answer. */
  BROKEN_AFTER_200,
  /** No answer at all: connection refused or reset (a gateway replica was down). */
  NO_ANSWER,
  /** Nothing arrived for the client's idle timeout: a hang. */
  TIMED_OUT
}
