package ai.gpt.api.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import java.util.List;

/**
 * Vert.x's request decoder, refusing every head whose framing two HTTP parsers could read differently (request
 * smuggling): Content-Length together with Transfer-Encoding, a transfer coding other than exactly
 * {@code chunked}, Transfer-Encoding on HTTP/1.0, a Content-Length that is not one plain number, several Host,
 * Authorization or Content-Type lines, obsolete line folding, and a bare CR or LF as a line end; and a protocol other than HTTP/1.0 and 1.1
 * (505). Netty tolerates several of these (it drops Content-Length beside chunked, unfolds continuation lines,
 * ignores unknown codings), so they are checked here, on the raw head and on the parsed headers, before Vert.x
 * sees the request.
 *
 * <p>A refused head becomes a request whose decoder result is a {@link MalformedRequest}: Vert.x hands it to the
 * server's invalid-request handler ({@link ProtocolErrors}), which answers and closes. Every byte after a refused
 * head is discarded, since where the next request starts is exactly what cannot be trusted.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {
  /** RFC 9110's token: what a transfer coding name is made of. */
  private static final String TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  /**
   * Headers a request may carry once: with two, which one counts depends on the reader (we read the first, a
   * proxy in front may check the last), so a key or a body type could be judged on one and used as the other.
   */
  private static final List<CharSequence> SINGLE_HEADERS = List.of(HttpHeaderNames.HOST,
      HttpHeaderNames.AUTHORIZATION, HttpHeaderNames.CONTENT_TYPE);
  /** Past this many bytes Netty refuses the head itself (414/431); the scan need not look further. */
  private final int maxHeadBytes;
  private boolean refused;
  private boolean contentLengthBesideChunked;
  // Scan state of the head being received; it may arrive over many reads.
  private boolean awaitingHead = true;
  private int scannedTail;
  private boolean headScanned;
  private int lines;
  private boolean atLineStart = true;
  private boolean afterCr;

  StrictRequestDecoder(HttpServerOptions options) {
    super(options);
    this.maxHeadBytes = options.getMaxInitialLineLength() + options.getMaxHeaderSize() + 4;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
    if (refused) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (awaitingHead && !headScanned) {
      String shape = scanHead(in);
      if (shape != null) {
        refuse(in, out, MalformedRequest.badFraming(shape));
        return;
      }
    }
    int first = out.size();
    super.decode(ctx, in, out);
    for (int i = first; i < out.size(); i++) {
      Object message = out.get(i);
      if (message instanceof HttpRequest request) {
        awaitingHead = false;
        MalformedRequest framing = request.decoderResult().isSuccess() ? framingError(request) : null;
        contentLengthBesideChunked = false;
        if (framing != null) {
          request.setDecoderResult(DecoderResult.failure(framing));
        }
        if (request.decoderResult().isFailure()) {
          refused = true;
        }
      }
      if (message instanceof LastHttpContent) {
        startHead();
      }
    }
    if (refused) {
      in.skipBytes(in.readableBytes());
    } else if (awaitingHead) {
      scannedTail = in.readableBytes(); // the rest of the unread head was scanned; the decoder keeps it
    }
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    // Netty would drop Content-Length and carry on; a proxy that read Content-Length sees another request.
    contentLengthBesideChunked = true;
    super.handleTransferEncodingChunkedWithContentLength(message);
  }

  private void refuse(ByteBuf in, List<Object> out, MalformedRequest cause) {
    HttpMessage invalid = createInvalidMessage();
    invalid.setDecoderResult(DecoderResult.failure(cause));
    out.add(invalid);
    refused = true;
    in.skipBytes(in.readableBytes());
  }

  private void startHead() {
    awaitingHead = true;
    headScanned = false;
    scannedTail = 0;
    lines = 0;
    atLineStart = true;
    afterCr = false;
  }

  /** Checks the line structure of the head bytes not yet scanned; null while nothing is wrong. */
  private String scanHead(ByteBuf in) {
    int end = Math.min(in.writerIndex(), in.readerIndex() + maxHeadBytes);
    for (int i = in.readerIndex() + scannedTail; i < end; i++) {
      byte b = in.getByte(i);
      if (afterCr && b != '\n') {
        return "A bare CR ends a line of the request head; lines end with CRLF.";
      }
      if (b == '\r') {
        afterCr = true;
        continue;
      }
      if (b == '\n') {
        if (!afterCr) {
          return "A bare LF ends a line of the request head; lines end with CRLF.";
        }
        afterCr = false;
        if (atLineStart && lines > 0) {
          headScanned = true; // the empty line: the head is complete, what follows is the body
          return null;
        }
        if (!atLineStart) {
          lines++;
        }
        atLineStart = true;
        continue;
      }
      if (atLineStart && lines > 0 && (b == ' ' || b == '\t')) {
        return "Obsolete line folding (a header line starting with a space or tab) is not accepted.";
      }
      atLineStart = false;
    }
    return null;
  }

  private MalformedRequest framingError(HttpRequest request) {
    HttpVersion version = request.protocolVersion();
    if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
      // Vert.x knows only these two instances (Netty makes a new one for "http/1.1" or "HTTP/01.1") and would
      // answer anything else with a bare 501, no body, echoing the client's protocol name in the status line
      request.setProtocolVersion(HttpVersion.HTTP_1_1);
      return MalformedRequest.unsupportedVersion();
    }
    HttpHeaders headers = request.headers();
    List<String> codings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
    List<String> lengths = headers.getAll(HttpHeaderNames.CONTENT_LENGTH);
    for (CharSequence name : SINGLE_HEADERS) {
      if (headers.getAll(name).size() > 1) {
        return MalformedRequest.badFraming("The request has more than one " + name + " header.");
      }
    }
    if (lengths.size() > 1 || (lengths.size() == 1 && !isPlainLength(lengths.get(0)))) {
      return MalformedRequest.badFraming("Content-Length must be a single non-negative whole number.");
    }
    if (codings.isEmpty()) {
      return null;
    }
    if (contentLengthBesideChunked || !lengths.isEmpty()) {
      return MalformedRequest.badFraming("A request must not have both Content-Length and Transfer-Encoding.");
    }
    if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
      return MalformedRequest.badFraming("Transfer-Encoding is not allowed on an HTTP/1.0 request.");
    }
    String coding = String.join(",", codings).strip();
    if (!coding.equalsIgnoreCase("chunked")) {
      return coding.matches(TOKEN + "(\\s*,\\s*" + TOKEN + ")*")
          ? MalformedRequest.unsupportedCoding(coding)
          : MalformedRequest.badFraming("Transfer-Encoding is malformed.");
    }
    return null;
  }

  private static boolean isPlainLength(String value) {
    if (value.isEmpty() || value.length() > 18) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }
}
