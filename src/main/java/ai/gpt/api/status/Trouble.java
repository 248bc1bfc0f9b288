package ai.gpt.api.status;

import java.time.Instant;
import java.util.List;

/**
 * A subject that is bad right now in this replica's eyes, with what an automatic incident about it says.
 *
 * @param subject  {@code model:<id>}, {@code usage_writer} or {@code billing:stripe}
 * @param since    when the trouble began if the sample knows better than "now" (the usage writer's oldest
 *                 unwritten event), else null
 */
record Trouble(String subject, String title, String detail, String severity, List<String> services,
    List<String> models, Instant since) {}
