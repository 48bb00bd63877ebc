package io.github.apisixsession.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SessionMetadataTest {

    @Test
    void ofMakesOneEntry() {
        SessionMetadata m = SessionMetadata.of("default", "alice");
        assertEquals(List.of(new SessionMetadata.Entry("default", "alice")), m.entries());
    }

    @Test
    void entriesAreAnImmutableCopy() {
        List<SessionMetadata.Entry> given = new ArrayList<>(List.of(new SessionMetadata.Entry("a", "s")));
        SessionMetadata m = new SessionMetadata(given);
        given.add(new SessionMetadata.Entry("b", "t"));
        assertEquals(1, m.entries().size());
        assertThrows(UnsupportedOperationException.class, () -> m.entries().clear());
    }

    @Test
    void equalityIsByValue() {
        assertEquals(SessionMetadata.of("a", "s"), new SessionMetadata(List.of(new SessionMetadata.Entry("a", "s"))));
    }

    @Test
    void rejectsNulls() {
        assertThrows(NullPointerException.class, () -> new SessionMetadata(null));
        assertThrows(NullPointerException.class, () -> new SessionMetadata(Arrays.asList((SessionMetadata.Entry) null)));
        assertThrows(NullPointerException.class, () -> new SessionMetadata.Entry(null, "s"));
        assertThrows(NullPointerException.class, () -> new SessionMetadata.Entry("a", null));
        assertThrows(NullPointerException.class, () -> SessionMetadata.of("a", null));
    }

    @Test
    void emptySubjectsAndAudiencesAreOpaqueStrings() {
        assertEquals("", SessionMetadata.of("", "").entries().get(0).subject());
    }
}
