package io.github.apisixsession.testing;

import java.lang.reflect.AnnotatedElement;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Checks the services of {@link RequiresService}. Outside CI a missing service disables the class
 * or method (reported as skipped, with the reason); under {@code CI=true} it fails it, for a class
 * before its {@code @BeforeAll} methods run. Each service is asked once per JVM.
 * {@link #require} does the same from code, for tests that find out late what they need.
 */
public final class RequiresServiceExtension implements ExecutionCondition, BeforeAllCallback, BeforeEachCallback {

    private static final Map<Class<? extends TestService>, Optional<String>> CHECKED = new ConcurrentHashMap<>();
    private static final MissingServicePolicy POLICY = MissingServicePolicy.of(System.getenv());

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> missing = context.getElement().flatMap(RequiresServiceExtension::firstMissing);
        return missing.isPresent() && !POLICY.failsTests()
                ? ConditionEvaluationResult.disabled(missing.get())
                : ConditionEvaluationResult.enabled("the services it needs are there, or CI=true fails it");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getTestClass().flatMap(RequiresServiceExtension::firstMissing).ifPresent(POLICY::missing);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getTestMethod().flatMap(RequiresServiceExtension::firstMissing).ifPresent(POLICY::missing);
    }

    /** Returns when {@code service} is there; aborts the calling test, or fails it under {@code CI=true}. */
    public static void require(Class<? extends TestService> service) {
        missing(service).ifPresent(POLICY::missing);
    }

    private static Optional<String> firstMissing(AnnotatedElement element) {
        return AnnotationSupport.findAnnotation(element, RequiresService.class).flatMap(a -> {
            for (Class<? extends TestService> service : a.value()) {
                Optional<String> why = missing(service);
                if (why.isPresent()) {
                    return why;
                }
            }
            return Optional.empty();
        });
    }

    private static Optional<String> missing(Class<? extends TestService> service) {
        return CHECKED.computeIfAbsent(service, RequiresServiceExtension::ask).map(why -> service.getSimpleName() + ": " + why);
    }

    private static Optional<String> ask(Class<? extends TestService> service) {
        try {
            return Optional.ofNullable(service.getDeclaredConstructor().newInstance().missing());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(service.getName() + " needs a public no-argument constructor", e);
        }
    }
}
