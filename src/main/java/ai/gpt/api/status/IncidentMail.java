package ai.gpt.api.status;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

/**
 * Queues the e-mail announcing an incident's latest update to every confirmed subscriber: one
 * {@code status_mail_outbox} row per subscriber, written in the transaction of the update itself, so the e-mails
 * exist exactly when the update does (a replica dying right after the commit, or SMTP being down, loses none).
 * {@link IncidentMailer} sends them from every replica.
 */
final class IncidentMail {
  private static final String ENQUEUE = "INSERT INTO status_mail_outbox (update_id, subscriber_id, subject, body)"
      + " SELECT $1, id, $2, $3 FROM status_subscribers WHERE confirmed_at IS NOT NULL"
      + " ON CONFLICT (update_id, subscriber_id) DO NOTHING";

  private final String publicUrl;

  IncidentMail(String publicUrl) {
    this.publicUrl = publicUrl;
  }

  /** Queues the mail of the incident's latest update (the incident as {@link Incidents#get} shows it). */
  Future<Void> enqueue(SqlConnection tx, JsonObject incident) {
    JsonArray updates = incident.getJsonArray("updates");
    if (updates.isEmpty()) {
      return Future.succeededFuture();
    }
    JsonObject latest = updates.getJsonObject(updates.size() - 1);
    String status = incident.getString("status");
    String subject = "[GPT API status] " + (status.equals("resolved") ? "Resolved: "
        : updates.size() <= 1 ? "New incident: " : "Update: ") + incident.getString("title");
    String body = incident.getString("title") + "\n\nStatus: " + status + "\nSeverity: "
        + incident.getString("severity") + "\nStarted: " + incident.getString("started_at")
        + (incident.getString("resolved_at") == null ? "" : "\nResolved: " + incident.getString("resolved_at"))
        + "\n\n" + latest.getString("message", "") + "\n\nCurrent status: " + publicUrl + "/status\n";
    return tx.preparedQuery(ENQUEUE).execute(Tuple.of(latest.getLong("id"), subject, body)).mapEmpty();
  }
}
