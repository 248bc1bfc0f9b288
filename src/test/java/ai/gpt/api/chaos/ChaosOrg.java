package ai.gpt.api.chaos;

/**
 * An organization of the chaos run with one API key per gateway replica (so that a concurrency lease or hold left in
 * Redis names the replica that took it), and the model and max_tokens range its requests use.
 *
 * @param low funded with a few cents: its requests' maximum cost is a visible fraction of its balance
 */
record ChaosOrg(long id, boolean low, String model, int minTokens, int maxTokens, ReplicaKey[] keys) {

  /** An API key and its row id; keys[0] is used only against replica A, keys[1] only against replica B. */
  record ReplicaKey(long id, String fullKey) {}
}
