package dev.jformers.loaders.hub;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive lock on one cache entry ({@code .locks/models--org--name/<etag>.lock}), held by one
 * thread of one process at a time:
 * <ol>
 *   <li>a {@link ReentrantLock} per lock file inside this JVM (a JVM may hold only one
 *       {@link FileLock} on a file);</li>
 *   <li>a {@link FileLock} (POSIX record lock) between JVMs;</li>
 *   <li>on Linux, when native access is enabled, also {@code flock(2)} on the same file: the lock
 *       Python's {@code filelock} (used by huggingface_hub) takes, so that jformers and Python
 *       downloading the same blob at the same time wait for each other.</li>
 * </ol>
 * The lock file stays, as huggingface_hub leaves its own.
 */
final class CacheLock implements AutoCloseable {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_JVM = new ConcurrentHashMap<>();

    private final ReentrantLock local;
    private final FileChannel channel;
    private final FileLock lock;
    private final int flockFd;

    private CacheLock(ReentrantLock local, FileChannel channel, FileLock lock, int flockFd) {
        this.local = local;
        this.channel = channel;
        this.lock = lock;
        this.flockFd = flockFd;
    }

    static CacheLock acquire(Path lockFile) throws IOException {
        Path key = lockFile.toAbsolutePath().normalize();
        ReentrantLock local = IN_JVM.computeIfAbsent(key, k -> new ReentrantLock());
        local.lock();
        FileChannel channel = null;
        FileLock lock = null;
        try {
            Files.createDirectories(key.getParent());
            channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            lock = channel.lock();     // blocks until another JVM lets go
            int fd = Flock.lock(key);  // blocks until Python lets go (-1: not available here)
            return new CacheLock(local, channel, lock, fd);
        } catch (IOException | RuntimeException e) {
            if (lock != null) {
                lock.release();
            }
            if (channel != null) {
                channel.close();
            }
            local.unlock();
            throw e;
        }
    }

    /** True when this JVM also takes Python's {@code flock} lock. */
    static boolean interoperatesWithPython() {
        return Flock.AVAILABLE;
    }

    @Override
    public void close() throws IOException {
        try {
            Flock.unlock(flockFd);
            lock.release();
            channel.close();
        } finally {
            local.unlock();
        }
    }

    /** {@code open(2)} + {@code flock(2)} through the FFM API (Linux only; off without native access). */
    private static final class Flock {
        private static final int O_RDWR = 2;
        private static final int O_CREAT = 0100;
        private static final int LOCK_EX = 2;
        private static final int EINTR = 4;
        private static final MethodHandle OPEN;
        private static final MethodHandle FLOCK;
        private static final MethodHandle CLOSE;
        private static final java.lang.foreign.StructLayout STATE = Linker.Option.captureStateLayout();
        private static final java.lang.invoke.VarHandle ERRNO =
                STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
        static final boolean AVAILABLE;

        static {
            MethodHandle open = null;
            MethodHandle flock = null;
            MethodHandle close = null;
            boolean ok = false;
            try {
                if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                        && CacheLock.class.getModule().isNativeAccessEnabled()
                        && !Boolean.getBoolean("jformers.hf.noFlock")) {
                    Linker linker = Linker.nativeLinker();
                    SymbolLookup libc = linker.defaultLookup();
                    open = linker.downcallHandle(libc.find("open").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                            Linker.Option.firstVariadicArg(2));
                    flock = linker.downcallHandle(libc.find("flock").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                            Linker.Option.captureCallState("errno"));
                    close = linker.downcallHandle(libc.find("close").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                    ok = true;
                }
            } catch (Throwable t) {
                ok = false;     // no flock here: the JVM-to-JVM lock still holds
            }
            OPEN = open;
            FLOCK = flock;
            CLOSE = close;
            AVAILABLE = ok;
        }

        /** Opens and flock()s {@code file}; returns the descriptor, or -1 when flock is not available. */
        static int lock(Path file) throws IOException {
            if (!AVAILABLE) {
                return -1;
            }
            try (Arena arena = Arena.ofConfined()) {
                int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toString()), O_RDWR | O_CREAT, 0644);
                if (fd < 0) {
                    return -1;      // cannot open for flock: rely on the other locks
                }
                java.lang.foreign.MemorySegment state = arena.allocate(STATE);
                while (true) {
                    int rc = (int) FLOCK.invokeExact(state, fd, LOCK_EX);
                    if (rc == 0) {
                        return fd;
                    }
                    int err = (int) ERRNO.get(state, 0L);
                    if (err != EINTR) {
                        int ignored = (int) CLOSE.invokeExact(fd);
                        throw new IOException("flock(" + file + ") failed, errno " + err);
                    }
                }
            } catch (IOException e) {
                throw e;
            } catch (Throwable t) {
                throw new IOException("flock(" + file + "): " + t, t);
            }
        }

        /** Closing the descriptor releases its flock. */
        static void unlock(int fd) {
            if (fd < 0) {
                return;
            }
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                // nothing more to do
            }
        }
    }
}
