package ai.gpt.api.testing;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A client that writes exactly the bytes a test gives it, for shapes no HTTP client library would send (smuggling
 * attempts, half-sent requests). Blocking: for the JUnit thread only.
 */
public final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final long openedAtNanos = System.nanoTime();

  private RawHttp(Socket socket) {
    this.socket = socket;
  }

  public static RawHttp connect(int port) {
    try {
      Socket socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(15_000);
      return new RawHttp(socket);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends one request and reads until the server closes the connection. */
  public static Reply exchange(int port, String raw) {
    try (RawHttp http = connect(port)) {
      http.send(raw);
      return http.readUntilClosed();
    }
  }

  public RawHttp send(String raw) {
    try {
      OutputStream out = socket.getOutputStream();
      out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Bytes the server sent that are waiting to be read, without blocking. */
  public int available() {
    try {
      return socket.getInputStream().available();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Milliseconds since the connection was opened. */
  public long ageMs() {
    return (System.nanoTime() - openedAtNanos) / 1_000_000;
  }

  /** Everything the server sends until it closes; fails if it keeps the connection open past the socket timeout. */
  public Reply readUntilClosed() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        bytes.write(buffer, 0, n);
      }
    } catch (SocketException reset) {
      // a reset after the answer still counts as closed; what was read is kept
    } catch (IOException e) {
      throw new AssertionError("the server kept the connection open; read so far: " + bytes, e);
    }
    return Reply.parse(bytes.toString(StandardCharsets.ISO_8859_1));
  }

  /** Reads one response whose body has a Content-Length, leaving the connection open. */
  public Reply readResponse() {
    try {
      InputStream in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          throw new AssertionError("closed before a response head: " + head);
        }
        head.append((char) b);
      }
      Reply partial = Reply.parse(head.toString());
      int length = Integer.parseInt(partial.header("content-length"));
      byte[] body = in.readNBytes(length);
      return Reply.parse(head + new String(body, StandardCharsets.ISO_8859_1));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a test socket
    }
  }

  /** A response as read from the wire; status 0 when the server closed without answering. */
  public record Reply(int status, String head, String body) {
    static Reply parse(String raw) {
      int end = raw.indexOf("\r\n\r\n");
      if (!raw.startsWith("HTTP/1.") || end < 0) {
        return new Reply(0, raw, "");
      }
      return new Reply(Integer.parseInt(raw.substring(9, 12)), raw.substring(0, end), raw.substring(end + 4));
    }

    public String header(String name) {
      for (String line : head.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
          return line.substring(colon + 1).trim();
        }
      }
      return null;
    }

    public JsonObject error() {
      return new JsonObject(body).getJsonObject("error");
    }

    public boolean closes() {
      String connection = header("connection");
      return connection != null && connection.toLowerCase(Locale.ROOT).equals("close");
    }
  }
}
