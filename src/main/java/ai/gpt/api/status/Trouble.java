package ai.gpt.api.status;

import java.util.List;

/**
 * A subject that is bad right now in this replica's eyes, with what an automatic incident about it says.
 *
 * @param subject  {@code model:<id>} or {@code usage_writer}
 */
record Trouble(String subject, String title, String detail, String severity, List<String> services,
    List<String> models) {}
