package io.github.apisixsession.apisix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The users the local nginx (or OpenResty, APISIX's nginx) workers run as, read from
 * {@code /proc}: processes named {@code nginx} or {@code openresty} whose parent, also so named,
 * runs as root or as {@code masterUid}. Those are the workers of a master that root (or the
 * runner's own user) started; nobody else can make such a master spawn a process, whatever user
 * its {@code user} directive names (nginx's default: {@code nobody}).
 */
final class NginxWorkers {

    private static final Set<String> NAMES = Set.of("nginx", "openresty");

    private final Path proc;

    NginxWorkers(Path proc) {
        this.proc = proc;
    }

    static NginxWorkers system() {
        return new NginxWorkers(Path.of("/proc"));
    }

    private record Process(int pid, String name, int parent, int uid) {
    }

    /** The effective uids of the workers seen now (empty when {@code /proc} is not readable). */
    Set<Integer> userIds(int masterUid) {
        Map<Integer, Process> byPid = new HashMap<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path dir : dirs) {
                Process p = read(dir);
                if (p != null && NAMES.contains(p.name())) {
                    byPid.put(p.pid(), p);
                }
            }
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
        Set<Integer> users = new HashSet<>();
        for (Process p : byPid.values()) {
            Process master = byPid.get(p.parent());
            if (master != null && (master.uid() == 0 || master.uid() == masterUid)) {
                users.add(p.uid());
            }
        }
        return users;
    }

    /** Name, PPid and effective Uid from {@code /proc/<pid>/status}; null when it vanished or is unreadable. */
    private static Process read(Path dir) {
        String name = null;
        int parent = -1;
        int uid = -1;
        try {
            for (String line : Files.readAllLines(dir.resolve("status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("Name:")) {
                    name = line.substring(5).trim();
                } else if (line.startsWith("PPid:")) {
                    parent = Integer.parseInt(line.substring(5).trim());
                } else if (line.startsWith("Uid:")) {
                    String[] ids = line.substring(4).trim().split("\\s+");
                    uid = Integer.parseInt(ids.length > 1 ? ids[1] : ids[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (name == null || parent < 0 || uid < 0) {
            return null;
        }
        return new Process(Integer.parseInt(dir.getFileName().toString()), name, parent, uid);
    }
}
