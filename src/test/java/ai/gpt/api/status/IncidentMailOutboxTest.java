package ai.gpt.api.status;

import static ai.gpt.api.testing.GatewayHarness.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.Gateway;
import ai.gpt.api.config.Env;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.testing.GatewayHarness;
import ai.gpt.api.testing.GatewayProcess;
import ai.gpt.api.testing.InProcessCli;
import ai.gpt.api.testing.Sleep;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Subscriber e-mails survive SMTP being down: incident changes made while no SMTP server listens are queued with
 * the changes, retried, and once SMTP is up every confirmed subscriber gets every e-mail exactly once, although two
 * replicas send concurrently.
 */
@ExtendWith(VertxExtension.class)
class IncidentMailOutboxTest {
  private static final int SUBSCRIBERS = 30;
  private GatewayHarness gw;
  private Gateway replicaB;
  private GreenMail smtp;

  @AfterEach
  void tearDown() {
    if (replicaB != null) {
      replicaB.close().await();
    }
    if (gw != null) {
      gw.close();
    }
    if (smtp != null) {
      smtp.stop();
    }
  }

  private long count(String sql) {
    return gw.pool().query(sql).execute().await().iterator().next().getLong(0);
  }

  @Test
  @DisplayName("SMTP down, then up: each confirmed subscriber gets each incident e-mail exactly once from two "
      + "replicas")
  void queuedThenSentOnce(Vertx vertx) throws Exception {
    StatusTables.clean(vertx);
    int smtpPort = GatewayHarness.freePort(); // nothing listens yet: SMTP is down
    Map<String, String> env = Map.of("SMTP_HOST", "127.0.0.1", "SMTP_PORT", String.valueOf(smtpPort),
        "SMTP_FROM", "status@gpt.test", "PUBLIC_URL", "https://gpt.test", "STATUS_MAIL_RETRY_BASE_MS", "300");
    gw = GatewayHarness.start(vertx, env);
    Map<String, String> envB = new HashMap<>(GatewayProcess.environment("mail-replica-b"));
    envB.putAll(env);
    envB.put("PORT", "0");
    envB.put("METRICS_PORT", "0");
    replicaB = Gateway.start(vertx, GatewayConfig.from(Env.of(envB))).await();
    gw.pool().query("INSERT INTO status_subscribers (email, confirmed_at) SELECT 's' || i || '@example.com', now()"
        + " FROM generate_series(1, " + SUBSCRIBERS + ") i").execute().await();
    gw.pool().query("INSERT INTO status_subscribers (email, confirm_token_hash, confirm_expires_at)"
        + " VALUES ('unconfirmed@example.com', 'x', now() + interval '1 day')").execute().await();

    InProcessCli.Result opened = InProcessCli.run("incident", "open", "--title", "Mail outage test", "--severity",
        "medium", "--message", "Looking.");
    assertEquals(0, opened.code(), opened.err());
    Matcher m = Pattern.compile("incident ([0-9]+) ").matcher(opened.out());
    assertTrue(m.find(), opened.out());
    assertEquals(0, InProcessCli.run("incident", "resolve", m.group(1), "--message", "Fixed.").code());
    assertEquals(2L * SUBSCRIBERS, count("SELECT count(*) FROM status_mail_outbox"),
        "one queued e-mail per confirmed subscriber and update, written with the update");
    awaitTrue("failed attempts retried while SMTP is down", 30_000,
        () -> count("SELECT count(*) FROM status_mail_outbox WHERE attempts >= 2") >= 2);
    assertTrue(count("SELECT count(*) FROM status_mail_outbox WHERE last_error IS NOT NULL") > 0);

    smtp = new GreenMail(new ServerSetup(smtpPort, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.start();
    // Retries back off up to a few seconds here; everything goes once SMTP answers.
    awaitTrue("every queued e-mail sent", 120_000,
        () -> count("SELECT count(*) FROM status_mail_outbox") == 0);
    Sleep.ms(1_500); // time for a (wrong) second send to show
    MimeMessage[] mails = smtp.getReceivedMessages();
    assertEquals(2 * SUBSCRIBERS, mails.length, "no e-mail lost or sent twice");
    Map<String, Integer> perRecipientAndSubject = new HashMap<>();
    for (MimeMessage mail : mails) {
      String to = mail.getRecipients(Message.RecipientType.TO)[0].toString();
      assertTrue(!to.equals("unconfirmed@example.com"), "only confirmed subscribers");
      perRecipientAndSubject.merge(to + " " + mail.getSubject(), 1, Integer::sum);
      assertTrue(GreenMailUtil.getBody(mail).contains("/status/unsubscribe?token="), "an unsubscribe link");
    }
    for (int i = 1; i <= SUBSCRIBERS; i++) {
      assertEquals(1, perRecipientAndSubject.get("s" + i + "@example.com [GPT API status] New incident: Mail outage"
          + " test"));
      assertEquals(1, perRecipientAndSubject.get("s" + i + "@example.com [GPT API status] Resolved: Mail outage test"));
    }
  }
}
