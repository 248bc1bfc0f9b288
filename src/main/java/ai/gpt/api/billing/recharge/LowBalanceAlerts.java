package ai.gpt.api.billing.recharge;

import ai.gpt.api.billing.Money;
import ai.gpt.api.billing.OwnerMail;
import ai.gpt.api.billing.stripe.BillingLinks;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Low-balance e-mails (BILLING_LOW_BALANCE_USD), once per crossing. Which thresholds an organization is below is
 * a bit mask (bit i: below the i-th threshold, highest first); {@link BalanceAlerts} keeps the mask last acted on
 * in memory and calls {@link #changed} only when a settlement's mask differs, so a settlement normally costs a few
 * comparisons. The state is in {@code low_balance_alerts}: a row is claimed (inserted) before its e-mail goes,
 * so another replica or a restart never sends it again, and deleted when the balance is seen back above (at least
 * {@link #REARM_AFTER} after the e-mail). A replica whose mask is behind PostgreSQL's only makes a claim that
 * finds the row, or a delete that finds none.
 */
final class LowBalanceAlerts {
  private static final Logger LOG = LoggerFactory.getLogger(LowBalanceAlerts.class);
  private static final String CLAIM = "INSERT INTO low_balance_alerts (org_id, threshold_micros)"
      + " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING RETURNING threshold_micros";
  /**
   * Settlements of one organization end on several event loops (and replicas), so one that left the balance
   * above a threshold can be seen just after one that took it below: an e-mail younger than this is not re-armed
   * (the balance cannot have been credited and crossed again in between in any way that matters).
   */
  static final String REARM_AFTER = "2 seconds";
  private static final String REARM = "DELETE FROM low_balance_alerts WHERE org_id = $1"
      + " AND threshold_micros = ANY($2::bigint[]) AND sent_at < now() - interval '" + REARM_AFTER + "'";

  private final Pool pool;
  private final OwnerMail mail;
  private final BillingLinks links;
  /** Highest first. */
  private final long[] thresholds;

  LowBalanceAlerts(Pool pool, OwnerMail mail, BillingLinks links, List<Long> thresholdsMicros) {
    this.pool = pool;
    this.mail = mail;
    this.links = links;
    this.thresholds = thresholdsMicros.stream().mapToLong(Long::longValue).toArray();
  }

  /** The thresholds {@code balance} is below. */
  int below(long balance) {
    int mask = 0;
    for (int i = 0; i < thresholds.length && balance < thresholds[i]; i++) {
      mask |= 1 << i;
    }
    return mask;
  }

  /** The mask of the thresholds in {@code alerted} (rows of thresholds no longer configured are ignored). */
  int mask(Long[] alerted) {
    int mask = 0;
    for (Long a : alerted) {
      for (int i = 0; i < thresholds.length; i++) {
        mask |= a != null && a == thresholds[i] ? 1 << i : 0;
      }
    }
    return mask;
  }

  /**
   * The balance went below the thresholds of {@code crossed} and back above those of {@code rearmed}: re-arms
   * the latter, claims the former and e-mails the owners about the lowest threshold this call claimed.
   */
  void changed(long orgId, int crossed, int rearmed, long balance) {
    if (rearmed != 0) {
      pool.preparedQuery(REARM).execute(Tuple.tuple().addLong(orgId).addArrayOfLong(micros(rearmed)))
          .onFailure(e -> LOG.warn("Could not re-arm the low-balance e-mails of organization {}: {}", orgId,
              e.toString()));
    }
    if (crossed == 0) {
      return;
    }
    pool.preparedQuery(CLAIM).execute(Tuple.tuple().addLong(orgId).addArrayOfLong(micros(crossed))).onSuccess(rows -> {
      long lowest = Long.MAX_VALUE;
      for (Row r : rows) {
        lowest = Math.min(lowest, r.getLong(0));
      }
      if (lowest != Long.MAX_VALUE) {
        send(orgId, lowest, balance);
      }
    }).onFailure(e -> LOG.warn("Could not record the low-balance e-mail of organization {}: {}", orgId, e.toString()));
  }

  private void send(long orgId, long threshold, long balance) {
    String below = Money.formatUsd(threshold);
    mail.send(orgId, "Your GPT API balance is below " + below, org -> "The credit balance of " + org + " is "
        + Money.formatUsd(balance) + ", below " + below + ".\n\nRequests are refused (HTTP 402) once it is used up."
        + " Add credit, or turn on auto-recharge, on the Billing page:\n" + links.billingPage(orgId, null) + "\n");
  }

  private Long[] micros(int mask) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < thresholds.length; i++) {
      if ((mask & 1 << i) != 0) {
        out.add(thresholds[i]);
      }
    }
    return out.toArray(Long[]::new);
  }
}
