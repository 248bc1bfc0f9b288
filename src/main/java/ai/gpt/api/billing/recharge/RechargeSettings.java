package ai.gpt.api.billing.recharge;

/**
 * An organization's auto-recharge: when {@code enabled} and the balance after a settlement is below
 * {@code thresholdMicros}, charge {@code amountMicros} to its saved card.
 */
record RechargeSettings(boolean enabled, long thresholdMicros, long amountMicros) {}
