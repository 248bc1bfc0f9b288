package ai.gpt.api.webhooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Every address class a webhook is refused, in IPv4, IPv6 and IPv6 forms embedding IPv4; and URL forms. */
class AddressPolicyTest {

  private static String refusal(String literal, boolean allowLoopback) {
    try {
      return AddressPolicy.refusal(InetAddress.getByName(literal), allowLoopback);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  /** An IPv6 literal as 16 raw bytes, so Java cannot turn a mapped form into an Inet4Address first. */
  private static String refusal6(String literal) {
    try {
      byte[] bytes = InetAddress.getByName(literal).getAddress();
      if (bytes.length == 4) { // ::ffff:a.b.c.d came back as IPv4: rebuild the 16-byte mapped form
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(bytes, 0, mapped, 12, 4);
        bytes = mapped;
      }
      return AddressPolicy.refusal(InetAddress.getByAddress(bytes), false);
    } catch (UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("every refused IPv4 class, with its boundaries")
  void ipv4() {
    assertEquals("private", refusal("10.0.0.1", false));
    assertEquals("private", refusal("10.255.255.255", false));
    assertEquals("private", refusal("172.16.0.1", false));
    assertEquals("private", refusal("172.31.255.254", false));
    assertNull(refusal("172.32.0.1", false));
    assertNull(refusal("172.15.255.255", false));
    assertEquals("private", refusal("192.168.1.1", false));
    assertEquals("loopback", refusal("127.0.0.1", false));
    assertEquals("loopback", refusal("127.8.9.10", false));
    assertEquals("link-local", refusal("169.254.1.1", false));
    assertEquals("cloud metadata", refusal("169.254.169.254", false));
    assertEquals("cloud metadata", refusal("169.254.169.254", true), "loopback mode opens loopback only");
    assertEquals("carrier-grade NAT", refusal("100.64.0.1", false));
    assertEquals("carrier-grade NAT", refusal("100.127.255.255", false));
    assertNull(refusal("100.128.0.1", false));
    assertNull(refusal("100.63.255.255", false));
    assertEquals("unspecified", refusal("0.0.0.0", false));
    assertEquals("multicast", refusal("224.0.0.1", false));
    assertEquals("multicast", refusal("239.255.255.255", false));
    assertEquals("broadcast", refusal("255.255.255.255", false));
    assertEquals("reserved", refusal("240.0.0.1", false));
    assertNull(refusal("8.8.8.8", false));
    assertNull(refusal("1.1.1.1", false));
  }

  @Test
  @DisplayName("every refused IPv6 class, and IPv6 forms of refused IPv4 addresses")
  void ipv6() {
    assertEquals("loopback", refusal("::1", false));
    assertEquals("unspecified", refusal("::", false));
    assertEquals("private", refusal("fc00::1", false));
    assertEquals("private", refusal("fdff:ffff::1", false));
    assertEquals("cloud metadata", refusal("fd00:ec2::254", false));
    assertEquals("link-local", refusal("fe80::1", false));
    assertEquals("link-local", refusal("febf::1", false));
    assertEquals("private", refusal("fec0::1", false));
    assertEquals("multicast", refusal("ff02::1", false));
    assertNull(refusal("2606:4700:4700::1111", false));
    assertNull(refusal("2001:4860:4860::8888", false));
    // Embedded IPv4: mapped, compatible, NAT64
    assertEquals("loopback", refusal6("::ffff:127.0.0.1"));
    assertEquals("cloud metadata", refusal6("::ffff:169.254.169.254"));
    assertEquals("private", refusal6("::ffff:10.1.2.3"));
    assertEquals("private", refusal6("::ffff:192.168.0.1"));
    assertEquals("broadcast", refusal6("::ffff:255.255.255.255"));
    assertEquals("carrier-grade NAT", refusal6("::ffff:100.64.1.1"));
    assertEquals("private", refusal("::10.0.0.1", false));
    assertEquals("unspecified", refusal("::2", false));
    assertEquals("cloud metadata", refusal("64:ff9b::a9fe:a9fe", false));
    assertEquals("loopback", refusal("64:ff9b::7f00:1", false));
    assertNull(refusal6("::ffff:8.8.8.8"));
  }

  @Test
  @DisplayName("WEBHOOK_ALLOW_LOOPBACK opens loopback (IPv4, IPv6, mapped) and nothing else")
  void loopbackMode() {
    assertNull(refusal("127.0.0.1", true));
    assertNull(refusal("::1", true));
    assertEquals("private", refusal("10.0.0.1", true));
    assertEquals("link-local", refusal("fe80::1", true));
    assertEquals("unspecified", refusal("0.0.0.0", true));
  }

  @Test
  @DisplayName("URLs: https only (http only in loopback mode), no credentials, no fragment, a host")
  void urls() {
    Destination d = Destination.parse("https://Hooks.Example.com/in?x=1", false);
    assertEquals("hooks.example.com", d.host());
    assertEquals(443, d.port());
    assertEquals("/in?x=1", d.requestUri());
    assertEquals(8443, Destination.parse("https://[2001:db8::1]:8443", false).port());
    assertEquals("2001:db8::1", Destination.parse("https://[2001:db8::1]:8443", false).host());
    assertEquals("/", Destination.parse("https://example.com", false).requestUri());
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("http://example.com/", false));
    assertEquals(80, Destination.parse("http://127.0.0.1/", true).port());
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("ftp://example.com/", true));
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("https://u:p@example.com/", false));
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("https://example.com/#x", false));
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("https:///path", false));
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("not a url", false));
    assertThrows(IllegalArgumentException.class, () -> Destination.parse("https://example.com/"
        + "a".repeat(Destination.MAX_URL), false));
  }
}
