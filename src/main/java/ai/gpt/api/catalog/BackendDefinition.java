package ai.gpt.api.catalog;

/** A llama.cpp server as configured in the {@code backends} table. */
public record BackendDefinition(
    long id, String model, String baseUrl, String apiKey, int slots, int weight, boolean draining) {}
