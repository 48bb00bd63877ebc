package io.github.apisixsession.storage;

/**
 * Creates {@link SessionStorage}s of one kind. Registered in
 * {@code META-INF/services/io.github.apisixsession.storage.SessionStorageProvider} and chosen by
 * the route config's {@code storage} name.
 *
 * <p>The engine keeps one storage per distinct config (as {@link StorageConfig#equals}) and shares
 * it between routes, so {@link #create} runs once per distinct config, not per request.
 */
public interface SessionStorageProvider {

    /** The value of the route config's {@code storage} key that selects this provider. */
    String name();

    /**
     * Checks {@code config} (the route's object under {@link #name()}) without connecting, so a
     * bad config is rejected when APISIX sends it, naming the field.
     */
    void validate(StorageConfig config) throws StorageConfigException;

    /** Builds the storage (connection pools etc.). Called after {@link #validate}. */
    SessionStorage create(StorageConfig config, StorageContext context)
            throws StorageConfigException, StorageException;
}
