package ai.gpt.api.billing.stripe;

/**
 * Where Stripe sends the payer back (Checkout success and cancel, the Billing Portal's return link) and the link
 * in billing e-mails: the dashboard's Billing tab of the organization, on PUBLIC_URL.
 */
public final class BillingLinks {
  private final String publicUrl;

  public BillingLinks(String publicUrl) {
    this.publicUrl = publicUrl;
  }

  /** The Billing tab of {@code orgId}, with {@code query} ("checkout=success") appended when not null. */
  public String billingPage(long orgId, String query) {
    return publicUrl + "/dashboard/billing?org=" + orgId + (query == null ? "" : "&" + query);
  }
}
