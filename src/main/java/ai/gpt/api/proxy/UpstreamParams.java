package ai.gpt.api.proxy;

import static ai.gpt.api.proxy.Endpoint.CHAT;
import static ai.gpt.api.proxy.Endpoint.COMPLETIONS;
import static ai.gpt.api.proxy.Endpoint.EMBEDDINGS;

import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonObject;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The allowlist of request fields sent to llama.cpp, reviewed against llama.cpp's server (tools/server:
 * server-task.cpp {@code params_from_json_cmpl}, server-common.cpp {@code oaicompat_*_params_parse},
 * server-context.cpp {@code handle_completions_impl}, as of master in 2026; table in the README).
 *
 * <p>llama.cpp copies every body field into its task parameters and reads dozens of them by name, so what the
 * gateway forwards decides what a tenant can do to a shared server. Each field is one of:
 * <ul>
 *   <li>{@link Fate#PASS}: checked for type and range, then forwarded (OpenAI's sampling fields and llama.cpp's
 *       per-request sampling extensions, which only shape the tenant's own completion);</li>
 *   <li>{@link Fate#GATEWAY}: owned by the gateway and rewritten by {@link RequestPreparer} (the output-token
 *       budget in every alias llama.cpp reads, the number of completions, streaming and usage);</li>
 *   <li>{@link Fate#REFUSE}: 400 naming the field (slot selection, LoRA adapters, server tuning, llama.cpp's
 *       internal chat fields, answer reshaping the meter depends on, and OpenAI fields llama.cpp can't honour).</li>
 * </ul>
 * Any other field is dropped, not refused: OpenAI SDKs send newer fields ({@code store}, {@code metadata},
 * {@code service_tier}, ...) that a compatible server ignores, and dropping them means a llama.cpp upgrade that
 * starts reading a new field (as {@code n_cmpl} once did) cannot open a hole until someone reviews it here.
 */
final class UpstreamParams {
  enum Fate { PASS, GATEWAY, REFUSE }

  @FunctionalInterface
  interface Check {
    void check(Endpoint endpoint, Object value, String param);
  }

  record Rule(Fate fate, Set<Endpoint> endpoints, Check check) {}

  private static final Set<Endpoint> ALL = EnumSet.allOf(Endpoint.class);
  private static final Set<Endpoint> GENERATE = EnumSet.of(CHAT, COMPLETIONS);
  private static final Map<String, Rule> RULES = new LinkedHashMap<>();

  static {
    // Owned by the gateway (RequestPreparer): input, budget, number of completions, streaming.
    for (String f : new String[] {"model", "messages", "prompt", "input", "max_tokens", "max_completion_tokens",
        "n_predict", "n", "n_cmpl", "best_of", "stream", "stream_options"}) {
      RULES.put(f, new Rule(Fate.GATEWAY, ALL, null));
    }

    // OpenAI parameters, with OpenAI's ranges.
    pass("temperature", GENERATE, number(0, 2));
    pass("top_p", GENERATE, number(0, 1));
    pass("presence_penalty", GENERATE, number(-2, 2));
    pass("frequency_penalty", GENERATE, number(-2, 2));
    pass("seed", GENERATE, integer(Long.MIN_VALUE, Long.MAX_VALUE));
    pass("stop", GENERATE, (e, v, p) -> ChatShapes.stop(v, p));
    pass("logit_bias", GENERATE, (e, v, p) -> ChatShapes.logitBias(v, p));
    // chat: a boolean (with top_logprobs); legacy completions: the number of log probabilities, 0 to 5
    pass("logprobs", GENERATE, (e, v, p) -> {
      if (e == CHAT) {
        ParamCheck.bool(v, p);
      } else {
        ParamCheck.integer(v, p, 0, 5);
      }
    });
    pass("top_logprobs", EnumSet.of(CHAT), integer(0, 20));
    pass("response_format", EnumSet.of(CHAT), (e, v, p) -> ChatShapes.responseFormat(v, p));
    pass("tools", EnumSet.of(CHAT), (e, v, p) -> ChatShapes.tools(v, p));
    pass("tool_choice", EnumSet.of(CHAT), (e, v, p) -> ChatShapes.toolChoice(v, p));
    pass("parallel_tool_calls", EnumSet.of(CHAT), bool());
    pass("user", ALL, (e, v, p) -> ParamCheck.string(v, p));
    pass("echo", EnumSet.of(COMPLETIONS), (e, v, p) -> {
      if (ParamCheck.bool(v, p)) {
        throw ParamCheck.invalid(p, "echo is not supported by this model.");
      }
    });
    pass("encoding_format", EnumSet.of(EMBEDDINGS), (e, v, p) -> ParamCheck.oneOf(v, p, "float", "base64"));
    pass("dimensions", EnumSet.of(EMBEDDINGS), (e, v, p) -> {
      ParamCheck.integer(v, p, 1, Integer.MAX_VALUE);
      // llama.cpp always returns the model's native size; OpenAI answers the same for models without it
      throw ApiError.invalidRequest("This model does not support specifying dimensions.", p);
    });

    // llama.cpp's per-request sampling extensions: they shape only this request's completion.
    pass("top_k", GENERATE, integer(0, Integer.MAX_VALUE));
    pass("min_p", GENERATE, number(0, 1));
    pass("typical_p", GENERATE, number(0, 1));
    pass("top_n_sigma", GENERATE, number(-1, 100));
    pass("xtc_probability", GENERATE, number(0, 1));
    pass("xtc_threshold", GENERATE, number(0, 1));
    pass("dynatemp_range", GENERATE, number(0, 100));
    pass("dynatemp_exponent", GENERATE, number(0, 100));
    pass("repeat_penalty", GENERATE, number(0, 100));
    pass("repeat_last_n", GENERATE, integer(-1, Integer.MAX_VALUE));
    pass("dry_multiplier", GENERATE, number(0, 100));
    pass("dry_base", GENERATE, number(0, 100));
    pass("dry_allowed_length", GENERATE, integer(0, Integer.MAX_VALUE));
    pass("dry_penalty_last_n", GENERATE, integer(-1, Integer.MAX_VALUE));
    pass("dry_sequence_breakers", GENERATE, (e, v, p) -> ParamCheck.strings(v, p, 64));
    pass("mirostat", GENERATE, integer(0, 2));
    pass("mirostat_tau", GENERATE, number(0, 100));
    pass("mirostat_eta", GENERATE, number(0, 1));
    pass("min_keep", GENERATE, integer(0, 1000));
    pass("n_probs", GENERATE, integer(0, 20)); // the same cap as top_logprobs: each one costs a vocabulary sort
    pass("ignore_eos", GENERATE, bool()); // still stops at the gateway's max_tokens
    pass("samplers", GENERATE, (e, v, p) -> {
      if (!(v instanceof String)) {
        ParamCheck.strings(v, p, 16);
      }
    });
    pass("grammar", GENERATE, (e, v, p) -> ParamCheck.string(v, p));
    pass("json_schema", GENERATE, (e, v, p) -> ParamCheck.object(v, p));
    pass("cache_prompt", GENERATE, bool());
    pass("n_keep", GENERATE, integer(-1, Integer.MAX_VALUE));
    pass("t_max_predict_ms", GENERATE, integer(0, Integer.MAX_VALUE)); // can only end a completion sooner
    pass("post_sampling_probs", GENERATE, bool());
    pass("chat_template_kwargs", EnumSet.of(CHAT), (e, v, p) -> ParamCheck.object(v, p));
    pass("reasoning_format", EnumSet.of(CHAT),
        (e, v, p) -> ParamCheck.oneOf(v, p, "none", "auto", "deepseek", "deepseek-legacy"));

    // Refused: each would let one tenant reach past its own request or its hold.
    for (String f : new String[] {
        "id_slot", "slot_id", // pick a slot: land on another tenant's prompt cache
        "lora", // switch adapters: clears the slot caches, adapters are per server
        "speculative.n_max", "speculative.n_min", "speculative.p_min", "speculative.type",
        "speculative.ngram_size_n", "speculative.ngram_size_m", "speculative.ngram_m_hits",
        "n_cache_reuse", "backend_sampling", // server tuning belongs to the operator
        "chat_format", "chat_parser", "parse_tool_calls", "grammar_lazy", "grammar_triggers", "preserved_tokens",
        "thinking_forced_open", // llama.cpp's internal chat fields; chat_format is cast to an enum unchecked
        "response_fields", "return_progress", "return_tokens", // reshape the answer the meter reads
        "suffix", // OpenAI fields llama.cpp refuses
    }) {
      RULES.put(f, new Rule(Fate.REFUSE, ALL, null));
    }
  }

  private UpstreamParams() {}

  /**
   * Checks every allowlisted field of {@code body} and returns the ones to forward (PASS only; GATEWAY fields are
   * the caller's). A null value counts as absent, as in OpenAI's API.
   */
  static JsonObject forward(Endpoint endpoint, JsonObject body) {
    JsonObject out = new JsonObject();
    body.forEach(entry -> {
      String name = entry.getKey();
      Object value = entry.getValue();
      Rule rule = RULES.get(name);
      if (rule == null || value == null || rule.fate() == Fate.GATEWAY) {
        return;
      }
      if (rule.fate() == Fate.REFUSE || !rule.endpoints().contains(endpoint)) {
        throw ApiError.of(400, "unsupported_parameter", "Unsupported parameter: '" + name
            + "' is not supported on " + endpoint.path() + ".", name); // OpenAI's code for the same answer
      }
      rule.check().check(endpoint, value, name);
      out.put(name, value);
    });
    if (body.getValue("top_logprobs") != null && !Boolean.TRUE.equals(body.getValue("logprobs"))) {
      throw ApiError.invalidRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
    }
    return out;
  }

  private static void pass(String name, Set<Endpoint> endpoints, Check check) {
    RULES.put(name, new Rule(Fate.PASS, endpoints, check));
  }

  private static Check number(double min, double max) {
    return (e, v, p) -> ParamCheck.number(v, p, min, max);
  }

  private static Check integer(long min, long max) {
    return (e, v, p) -> ParamCheck.integer(v, p, min, max);
  }

  private static Check bool() {
    return (e, v, p) -> ParamCheck.bool(v, p);
  }
}
