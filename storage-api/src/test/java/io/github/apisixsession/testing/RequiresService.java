package io.github.apisixsession.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The test class or method needs these services. When one is missing, the class or method is
 * skipped with the reason on a developer's machine, and fails under {@code CI=true}: there a
 * missing service means a broken CI set-up, never a green build that tested nothing. On a class
 * the check runs before its {@code @BeforeAll} methods.
 *
 * <pre>{@code
 * @RequiresService(SharedRedis.class)
 * class RedisSessionIT { … }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@ExtendWith(RequiresServiceExtension.class)
public @interface RequiresService {
    Class<? extends TestService>[] value();
}
