package io.github.apisixsession.apisix;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One listening unix socket and its file. It is bound under a temporary name in the configured
 * path's directory, given its group and mode there, and only then renamed over the configured
 * path (rename(2) is atomic and replaces what was there): a gateway never sees it missing,
 * half-ready or with the umask's mode. Its file key (device and inode) tells later whether the
 * path still names it, or another runner's socket that took over.
 */
final class SocketFile implements AutoCloseable {

    /** What a path holds before a runner publishes its socket there. */
    enum Occupant { NOTHING, STALE_SOCKET, LIVE_SOCKET }

    /** What the configured path names now, seen from the socket that was published there. */
    enum Standing { OURS, MISSING, REPLACED }

    private final Path path;
    private final Path temporary;
    private final ServerSocketChannel channel;
    private final Object fileKey;
    private volatile boolean published;

    private SocketFile(Path path, Path temporary, ServerSocketChannel channel, Object fileKey) {
        this.path = path;
        this.temporary = temporary;
        this.channel = channel;
        this.fileKey = fileKey;
    }

    /**
     * Binds a socket under a temporary name next to {@code path} and gives it {@code group} (if
     * not null) and {@code mode} (if not null). Not reachable under {@code path} until {@link #publish()}.
     */
    static SocketFile bind(Path path, Set<PosixFilePermission> mode, GroupPrincipal group, int backlog)
            throws IOException {
        Path dir = Objects.requireNonNull(path.getParent(), "socket path has no directory");
        // not a secret, only unlikely to clash: no SecureRandom (its seeding slows the start)
        Path temporary = dir.resolve("." + Integer.toString(ThreadLocalRandom.current().nextInt() >>> 1, 36) + ".tmp");
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(temporary), backlog);
            if (group != null) {
                Files.getFileAttributeView(temporary, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .setGroup(group);
            }
            if (mode != null) {
                Files.setPosixFilePermissions(temporary, mode);
            }
            Object key = attributes(temporary).fileKey();
            return new SocketFile(path, temporary, channel, key);
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /** What {@code path} holds now; a live socket is one that accepts a connection. */
    static Occupant occupant(Path path) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = attributes(path);
        } catch (NoSuchFileException e) {
            return Occupant.NOTHING;
        }
        if (!attrs.isOther()) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            return Occupant.LIVE_SOCKET;
        } catch (IOException refused) {
            return Occupant.STALE_SOCKET;
        }
    }

    /** Makes the socket reachable under the configured path, replacing what was there. */
    void publish() throws IOException {
        try {
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new IOException("cannot rename " + temporary + " to " + path + ": " + e.getMessage(), e);
        }
        published = true;
    }

    boolean published() {
        return published;
    }

    /** What the configured path names now. */
    Standing standing() {
        try {
            return fileKey.equals(attributes(path).fileKey()) ? Standing.OURS : Standing.REPLACED;
        } catch (NoSuchFileException e) {
            return Standing.MISSING;
        } catch (IOException e) {
            return Standing.REPLACED;
        }
    }

    /**
     * Deletes the socket file if it is still this socket's: never another runner's socket that
     * took over the path meanwhile. Closes nothing.
     *
     * @return whether it deleted the path
     */
    boolean unpublish() {
        try {
            if (!published) {
                Files.deleteIfExists(temporary);
                return false;
            }
            if (standing() == Standing.OURS) {
                // another runner renaming its socket over the path right between the check and the
                // delete would lose it; it notices within a watchdog period and publishes again
                return Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    ServerSocketChannel channel() {
        return channel;
    }

    Path path() {
        return path;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }

    private static BasicFileAttributes attributes(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }
}
