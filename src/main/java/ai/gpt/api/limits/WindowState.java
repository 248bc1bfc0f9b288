package ai.gpt.api.limits;

/**
 * One window as OpenAI's rate-limit headers show it: {@code x-ratelimit-limit-*}, {@code -remaining-*} and
 * {@code -reset-*} (the time until the bucket is full again).
 */
public record WindowState(Bucket bucket, long limit, long remaining, long resetMs) {

  /** The reset as OpenAI writes it: {@code 20ms}, {@code 1s}, {@code 1.5s}, {@code 6m0s}, {@code 1h2m3s}. */
  public String resetHeader() {
    return duration(resetMs);
  }

  /** A duration as OpenAI writes it in headers and messages. */
  public static String duration(long ms) {
    if (ms < 1000) {
      return Math.max(ms, 0) + "ms";
    }
    long h = ms / 3_600_000;
    long m = ms / 60_000 % 60;
    long s = ms / 1000 % 60;
    long frac = ms % 1000;
    StringBuilder out = new StringBuilder();
    if (h > 0) {
      out.append(h).append('h');
    }
    if (h > 0 || m > 0) {
      out.append(m).append('m');
    }
    out.append(s);
    if (frac > 0) {
      String f = String.format("%03d", frac);
      out.append('.').append(f.replaceAll("0+$", ""));
    }
    return out.append('s').toString();
  }
}
