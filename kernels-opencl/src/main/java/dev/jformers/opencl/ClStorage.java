package dev.jformers.opencl;

import dev.jformers.core.JformersException;
import dev.jformers.core.Storage;
import org.jocl.CL;
import org.jocl.cl_mem;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Device memory behind a tensor: one OpenCL buffer of one {@link OpenClBackend}. The buffer is
 * released when the storage becomes unreachable (a {@link Cleaner} action), so tensors on the
 * device need no explicit freeing, just as host tensors don't.
 */
final class ClStorage implements Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final cl_mem mem;
    private final long byteSize;
    private final OpenClBackend owner;

    ClStorage(cl_mem mem, long byteSize, OpenClBackend owner, AtomicLong liveBytes) {
        this.mem = mem;
        this.byteSize = byteSize;
        this.owner = owner;
        CLEANER.register(this, new Release(mem, byteSize, liveBytes));
    }

    /** Releases the buffer; must not reference the storage, or it would never become unreachable. */
    private record Release(cl_mem mem, long bytes, AtomicLong liveBytes) implements Runnable {
        @Override
        public void run() {
            try {
                CL.clReleaseMemObject(mem);
            } catch (RuntimeException ignored) {
                // the context is gone already: nothing left to free
            }
            liveBytes.addAndGet(-bytes);
        }
    }

    cl_mem mem() {
        return mem;
    }

    OpenClBackend owner() {
        return owner;
    }

    @Override
    public long byteSize() {
        return byteSize;
    }

    @Override
    public boolean isHost() {
        return false;
    }

    @Override
    public MemorySegment segment() {
        throw new JformersException("this tensor lives in OpenCL device memory (" + owner.deviceName()
                + "): copy it to the host with backend.toHost(tensor) first");
    }

    @Override
    public String toString() {
        return "ClStorage[" + byteSize + " bytes on " + owner.deviceName() + "]";
    }
}
