package io.github.apisixsession.storage;

import java.util.List;
import java.util.Objects;

/**
 * Who a stored session belongs to: one (audience, subject) pair per audience held in the session.
 * Subjects may already be hashed by the engine ({@code hash_subject}); storages treat them as
 * opaque strings.
 */
public record SessionMetadata(List<Entry> entries) {

    public SessionMetadata {
        entries = List.copyOf(Objects.requireNonNull(entries, "entries"));
    }

    public static SessionMetadata of(String audience, String subject) {
        return new SessionMetadata(List.of(new Entry(audience, subject)));
    }

    public record Entry(String audience, String subject) {
        public Entry {
            Objects.requireNonNull(audience, "audience");
            Objects.requireNonNull(subject, "subject");
        }
    }
}
