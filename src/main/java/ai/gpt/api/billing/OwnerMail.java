package ai.gpt.api.billing;

import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Billing e-mails (a failed payment, a low balance, auto-recharge turned off) to every owner of an organization.
 * Callers start them after their transaction committed and do not wait: an e-mail never delays or fails a
 * settlement or a webhook answer, and a failure to send is only logged.
 */
public final class OwnerMail {
  private static final Logger LOG = LoggerFactory.getLogger(OwnerMail.class);
  private static final String OWNERS = "SELECT u.email, o.name FROM memberships m JOIN users u ON u.id = m.user_id"
      + " JOIN organizations o ON o.id = m.org_id WHERE m.org_id = $1 AND m.role = 'owner'";

  private final Pool pool;
  private final Mailer mailer;

  public OwnerMail(Pool pool, Mailer mailer) {
    this.pool = pool;
    this.mailer = mailer;
  }

  /**
   * Sends {@code subject} to each owner of the organization, with the text {@code body} makes from the
   * organization's name. Completes (never fails) once every owner's send has ended.
   */
  public Future<Void> send(long orgId, String subject, Function<String, String> body) {
    return pool.preparedQuery(OWNERS).execute(Tuple.of(orgId))
        .compose(rows -> {
          List<Future<Void>> sends = new ArrayList<>();
          for (Row r : rows) {
            String to = r.getString("email");
            sends.add(mailer.send(to, subject, body.apply(r.getString("name")))
                .onFailure(e -> LOG.warn("Could not e-mail '{}' to {} (organization {}): {}", subject, to, orgId,
                    e.toString())));
          }
          return Future.join(sends).<Void>mapEmpty();
        })
        .onFailure(e -> LOG.warn("Could not e-mail '{}' to the owners of organization {}: {}", subject, orgId,
            e.toString()))
        .otherwiseEmpty();
  }
}
