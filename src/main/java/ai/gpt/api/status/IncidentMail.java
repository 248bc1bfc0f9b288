package ai.gpt.api.status;

import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E-mails an incident's latest update to every confirmed subscriber, each with their own unsubscribe link. It runs
 * after the change committed, on the replica that made it, one message at a time (a page of subscribers after
 * another), so a large list never floods the SMTP server; a failed message is logged and the next one sent. It is
 * best effort: a replica that dies while mailing does not resume (the status page is the source of truth).
 */
public final class IncidentMail {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentMail.class);
  private static final int PAGE = 200;

  private final Subscribers subscribers;
  private final Mailer mailer;
  private final String publicUrl;

  public IncidentMail(Subscribers subscribers, Mailer mailer, String publicUrl) {
    this.subscribers = subscribers;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
  }

  /** Starts mailing the incident's latest update; the returned future ends when every message was tried. */
  public Future<Void> announce(JsonObject incident) {
    JsonArray updates = incident.getJsonArray("updates");
    JsonObject latest = updates.isEmpty() ? new JsonObject() : updates.getJsonObject(updates.size() - 1);
    String status = incident.getString("status");
    String subject = "[GPT API status] " + (status.equals("resolved") ? "Resolved: "
        : updates.size() <= 1 ? "New incident: " : "Update: ") + incident.getString("title");
    String body = incident.getString("title") + "\n\nStatus: " + status + "\nSeverity: "
        + incident.getString("severity") + "\nStarted: " + incident.getString("started_at")
        + (incident.getString("resolved_at") == null ? "" : "\nResolved: " + incident.getString("resolved_at"))
        + "\n\n" + latest.getString("message", "") + "\n\nCurrent status: " + publicUrl + "/status\n";
    return page(0, subject, body).onFailure(err -> LOG.warn("Incident {} e-mails stopped: {}",
        incident.getLong("id"), err.toString()));
  }

  private Future<Void> page(long afterId, String subject, String body) {
    return subscribers.confirmed(afterId, PAGE).compose(list -> {
      if (list.isEmpty()) {
        return Future.succeededFuture();
      }
      return sendAll(list, 0, subject, body)
          .compose(v -> list.size() < PAGE ? Future.succeededFuture()
              : page(list.get(list.size() - 1).id(), subject, body));
    });
  }

  private Future<Void> sendAll(List<Subscribers.Subscriber> list, int i, String subject, String body) {
    if (i == list.size()) {
      return Future.succeededFuture();
    }
    Subscribers.Subscriber s = list.get(i);
    String text = body + "\nTo stop these e-mails: " + publicUrl + "/status/unsubscribe?token="
        + subscribers.unsubscribeToken(s.id()) + "\n";
    return mailer.send(s.email(), subject, text)
        .recover(err -> {
          LOG.warn("Could not e-mail status subscriber {}: {}", s.id(), err.toString());
          return Future.succeededFuture();
        })
        .compose(v -> sendAll(list, i + 1, subject, body));
  }
}
