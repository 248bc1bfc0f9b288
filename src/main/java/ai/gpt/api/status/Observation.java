package ai.gpt.api.status;

/**
 * What one replica saw of one component during one sample: the level from health alone, and the proxied requests
 * and 5xx answers it counted. The shown level also weighs the error share ({@link #level}).
 */
record Observation(StatusLevel health, long requests, long errors) {
  StatusLevel level(long minRequests, double errorRate) {
    return health.worst(StatusLevel.ofErrors(requests, errors, minRequests, errorRate));
  }
}
