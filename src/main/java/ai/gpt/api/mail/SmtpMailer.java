package ai.gpt.api.mail;

import ai.gpt.api.config.AccountConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.ext.mail.LoginOption;
import io.vertx.ext.mail.MailClient;
import io.vertx.ext.mail.MailConfig;
import io.vertx.ext.mail.MailMessage;
import io.vertx.ext.mail.StartTLSOptions;

/** Plain-text mail over SMTP, STARTTLS when the server offers it. */
final class SmtpMailer implements Mailer {
  private final MailClient client;
  private final String from;

  SmtpMailer(Vertx vertx, AccountConfig.Smtp smtp) {
    MailConfig config = new MailConfig()
        .setHostname(smtp.host())
        .setPort(smtp.port())
        .setStarttls(StartTLSOptions.OPTIONAL);
    if (smtp.username() != null) {
      config.setUsername(smtp.username()).setPassword(smtp.password()).setLogin(LoginOption.REQUIRED);
    } else {
      config.setLogin(LoginOption.DISABLED);
    }
    this.client = MailClient.createShared(vertx, config, "gptapi-mail");
    this.from = smtp.from();
  }

  @Override
  public Future<Void> send(String to, String subject, String text) {
    return client.sendMail(new MailMessage().setFrom(from).setTo(to).setSubject(subject).setText(text)).mapEmpty();
  }
}
