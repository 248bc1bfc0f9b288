package ai.gpt.api.billing.stripe;

import ai.gpt.api.config.BillingSettings;
import com.stripe.StripeClient;
import com.stripe.exception.InvalidRequestException;
import com.stripe.exception.StripeException;
import com.stripe.model.Charge;
import com.stripe.model.Invoice;
import com.stripe.model.InvoicePayment;
import com.stripe.model.Refund;
import com.stripe.param.ChargeListParams;
import com.stripe.param.InvoiceListParams;
import com.stripe.param.RefundListParams;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What Stripe's books say about a period, read for {@link Reconciliation}: the succeeded USD charges, the charges
 * refunded in it, and the paid invoices with the PaymentIntents that paid them (so those charges are checked as
 * plan credit, not as top-ups). Lists are auto-paginated (100 a page). Blocking: run through {@link StripeApi#call}.
 *
 * @param invoicePaymentIntents the PaymentIntents of paid invoices (from each invoice's {@code payments})
 */
record StripeBooks(List<Payment> payments, Set<String> refundedCharges, List<String> paidInvoices,
    Set<String> invoicePaymentIntents) {
  private static final long PAGE = 100;

  /** A succeeded USD charge: its PaymentIntent (null for a bare charge) and amount in micro-USD. */
  record Payment(String chargeId, String paymentIntent, long micros, Instant created) {}

  static StripeBooks read(StripeClient client, Instant from, Instant to) throws StripeException {
    long gte = from.getEpochSecond();
    long lt = to.getEpochSecond();
    List<Payment> payments = new ArrayList<>();
    for (Charge ch : client.v1().charges().list(ChargeListParams.builder().setLimit(PAGE)
        .setCreated(ChargeListParams.Created.builder().setGte(gte).setLt(lt).build()).build()).autoPagingIterable()) {
      if (succeededUsd(ch)) {
        payments.add(payment(ch));
      }
    }
    Set<String> refunded = new LinkedHashSet<>();
    for (Refund r : client.v1().refunds().list(RefundListParams.builder().setLimit(PAGE)
        .setCreated(RefundListParams.Created.builder().setGte(gte).setLt(lt).build()).build()).autoPagingIterable()) {
      if (r.getCharge() != null && !"failed".equals(r.getStatus()) && !"canceled".equals(r.getStatus())) {
        refunded.add(r.getCharge());
      }
    }
    List<String> invoices = new ArrayList<>();
    Set<String> invoiceIntents = new HashSet<>();
    for (Invoice in : client.v1().invoices().list(InvoiceListParams.builder().setLimit(PAGE)
        .setStatus(InvoiceListParams.Status.PAID).addExpand("data.payments")
        .setCreated(InvoiceListParams.Created.builder().setGte(gte).setLt(lt).build()).build())
        .autoPagingIterable()) {
      invoices.add(in.getId());
      if (in.getPayments() != null && in.getPayments().getData() != null) {
        for (InvoicePayment p : in.getPayments().getData()) {
          if (p.getPayment() != null && p.getPayment().getPaymentIntent() != null) {
            invoiceIntents.add(p.getPayment().getPaymentIntent());
          }
        }
      }
    }
    return new StripeBooks(payments, refunded, invoices, invoiceIntents);
  }

  /** The succeeded USD charges of one PaymentIntent, whenever made (a credit whose charge is outside the period). */
  static List<Payment> chargesOf(StripeClient client, String paymentIntent) throws StripeException {
    List<Payment> found = new ArrayList<>();
    for (Charge ch : client.v1().charges().list(ChargeListParams.builder().setPaymentIntent(paymentIntent)
        .setLimit(PAGE).build()).autoPagingIterable()) {
      if (succeededUsd(ch)) {
        found.add(payment(ch));
      }
    }
    return found;
  }

  /** What has been refunded of a charge so far, in micro-USD; 0 when Stripe has no such charge. */
  static long refundedMicros(StripeClient client, String chargeId) throws StripeException {
    try {
      Long cents = client.v1().charges().retrieve(chargeId).getAmountRefunded();
      return cents == null ? 0 : Math.multiplyExact(cents, BillingSettings.MICROS_PER_CENT);
    } catch (InvalidRequestException e) {
      if ("resource_missing".equals(e.getCode())) {
        return 0;
      }
      throw e;
    }
  }

  /** Whether Stripe has this invoice as paid (one created before the period and paid in it). */
  static boolean invoicePaid(StripeClient client, String invoiceId) throws StripeException {
    try {
      return "paid".equals(client.v1().invoices().retrieve(invoiceId).getStatus());
    } catch (InvalidRequestException e) {
      if ("resource_missing".equals(e.getCode())) {
        return false;
      }
      throw e;
    }
  }

  private static boolean succeededUsd(Charge ch) {
    return "succeeded".equals(ch.getStatus()) && "usd".equalsIgnoreCase(ch.getCurrency()) && ch.getAmount() != null;
  }

  private static Payment payment(Charge ch) {
    return new Payment(ch.getId(), ch.getPaymentIntent(),
        Math.multiplyExact(ch.getAmount(), BillingSettings.MICROS_PER_CENT), Instant.ofEpochSecond(ch.getCreated()));
  }
}
