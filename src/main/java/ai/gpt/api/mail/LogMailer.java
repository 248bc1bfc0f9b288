package ai.gpt.api.mail;

import io.vertx.core.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** For local runs without SMTP: the message goes to the log, clearly marked as not sent. */
final class LogMailer implements Mailer {
  private static final Logger LOG = LoggerFactory.getLogger(LogMailer.class);

  @Override
  public Future<Void> send(String to, String subject, String text) {
    LOG.info("E-MAIL NOT SENT (no SMTP_HOST configured) to {}: {}\n{}", to, subject, text);
    return Future.succeededFuture();
  }
}
