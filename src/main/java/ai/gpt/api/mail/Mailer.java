package ai.gpt.api.mail;

import ai.gpt.api.config.AccountConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/** Sends the account e-mails (verification, password reset, invitations). */
public interface Mailer {
  Future<Void> send(String to, String subject, String text);

  /** SMTP when configured; otherwise the log, so a local run still shows the links. */
  static Mailer create(Vertx vertx, AccountConfig config) {
    return config.smtp() == null ? new LogMailer() : new SmtpMailer(vertx, config.smtp());
  }
}
