package ai.gpt.api.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  @Test
  @DisplayName("without TRUSTED_PROXIES X-Forwarded-For is ignored: the TCP peer is the client")
  void directIgnoresForwardedFor() {
    ClientAddress direct = ClientAddress.trusting(null);
    assertEquals("127.0.0.1", direct.resolve("127.0.0.1", List.of("203.0.113.9")));
    assertEquals("10.1.2.3", direct.resolve("::ffff:10.1.2.3", List.of()), "IPv4-mapped IPv6 is IPv4");
    assertEquals("", direct.resolve(null, List.of("203.0.113.9")));
  }

  @Test
  @DisplayName("behind trusted proxies the right-most untrusted hop is the client; client-written hops are not")
  void trustedProxies() {
    ClientAddress lb = ClientAddress.trusting(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8");
    assertEquals("203.0.113.9", lb.resolve("10.1.1.1", List.of("203.0.113.9")));
    // The client wrote 1.1.1.1 itself; the proxies appended what they saw.
    assertEquals("203.0.113.9", lb.resolve("10.1.1.1", List.of("1.1.1.1, 203.0.113.9", "192.168.1.7")));
    assertEquals("203.0.113.9", lb.resolve("fd00::1", List.of("1.1.1.1,203.0.113.9, 10.2.2.2")));
    assertEquals("10.1.1.1", lb.resolve("10.1.1.1", List.of("not-an-address")), "garbage: the proxy itself");
    assertEquals("10.1.1.1", lb.resolve("10.1.1.1", List.of()));
    assertEquals("198.51.100.1", lb.resolve("198.51.100.1", List.of("203.0.113.9")), "untrusted peer: no header");
    assertEquals("2001:db8::5", lb.resolve("10.1.1.1", List.of("[2001:db8::5]")));
  }

  @Test
  @DisplayName("an IPv6 client is limited by its /64, an IPv4 client by its address")
  void limitKeys() {
    assertEquals("203.0.113.9", ClientAddress.limitKey("203.0.113.9"));
    assertEquals(ClientAddress.limitKey("2001:db8:1:2::1"), ClientAddress.limitKey("2001:db8:1:2:ffff::9"));
    assertEquals("2001:db8:1:2::/64", ClientAddress.limitKey("2001:db8:1:2::1"));
  }

  @Test
  @DisplayName("TRUSTED_PROXIES entries must be addresses or CIDR ranges (never host names: no DNS)")
  void badConfig() {
    assertThrows(IllegalArgumentException.class, () -> ClientAddress.trusting("proxy.example.com"));
    assertThrows(IllegalArgumentException.class, () -> ClientAddress.trusting("10.0.0.0/33"));
    assertThrows(IllegalArgumentException.class, () -> ClientAddress.trusting("10.0.0.0/x"));
  }
}
