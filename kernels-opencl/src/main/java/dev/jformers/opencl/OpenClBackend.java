package dev.jformers.opencl;

import dev.jformers.core.Activation;
import dev.jformers.core.AttentionMask;
import dev.jformers.core.AttentionOutput;
import dev.jformers.core.Backend;
import dev.jformers.core.DType;
import dev.jformers.core.JformersException;
import dev.jformers.core.LinearWeight;
import dev.jformers.core.ShapeException;
import dev.jformers.core.Tensor;
import dev.jformers.core.WeightLayout;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_LOCAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_TYPE;
import static org.jocl.CL.CL_DEVICE_TYPE_ACCELERATOR;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_TYPE_GPU;
import static org.jocl.CL.CL_DEVICE_VERSION;
import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_ONLY;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.CL_TRUE;

/**
 * The {@link Backend} operations as OpenCL C kernels (resources {@code dev/jformers/opencl/*.cl}),
 * run through JOCL on one OpenCL device: a GPU, or the CPU through PoCL.
 *
 * <p>Tensors this backend returns live in device memory ({@link ClStorage}); views of them
 * (narrow, select, transpose) stay on the device, and the operations gather non-contiguous
 * inputs into contiguous buffers with a strided-copy kernel. Host tensors passed in are uploaded
 * on the fly; {@link #toHost} reads results back. The program is compiled once per backend.
 *
 * <p>Thread-safe: every operation holds the backend's lock while it sets kernel arguments and
 * enqueues on the single in-order command queue; device buffers are freed by a cleaner when
 * their tensors become unreachable.
 */
public final class OpenClBackend implements Backend {

    /** The kernel sources, concatenated into one program in this order. */
    private static final List<String> SOURCES = List.of("elementwise.cl", "gemm.cl", "rows.cl");

    private final Device device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final cl_kernel copyStrided, addBroadcast, activation, embedding, gemm, gemmNnCpu, gemmNtCpu, layerNorm,
            softmax, attention;
    /**
     * Which GEMM kernels run: the tiled local-memory kernel (GPUs), or the vector kernels without
     * local memory (CPU devices, where they are several times faster). Tests switch it to check both.
     */
    volatile boolean cpuGemm;
    /** Work-group size of the row kernels and the GEMM tiling, fixed at build time. */
    private final int wg, ts, wpt;
    private final long localMemBytes, maxAllocBytes, globalMemBytes;
    /** Bytes of device buffers not yet released, for the out-of-memory message and GC hints. */
    private final AtomicLong liveBytes = new AtomicLong();
    /** A one-float buffer passed where a kernel takes an unused buffer argument (no bias, no mask). */
    private final cl_mem dummy;
    private volatile boolean closed;
    /**
     * Tensors and weights the current operation uses. A buffer is released when its tensor
     * becomes unreachable, and the JIT may consider an argument or a temporary unreachable as
     * soon as its cl_mem has been read, before the kernel using it is enqueued; holding them
     * here until the operation has enqueued everything (the queue then retains its buffers)
     * prevents that. Guarded by the backend's lock, like everything the operations touch.
     */
    private final ArrayList<Object> pins = new ArrayList<>();
    private int depth;
    /** Live bytes above which the next allocation asks the GC to run (see {@link #allocate}). */
    private long gcWatermark;

    // ------------------------------------------------------------------------------ devices

    /** One OpenCL device as found on this machine. */
    record Device(int index, cl_platform_id platform, cl_device_id id, String platformName, String name,
                  long type, String version, int computeUnits, long globalMem) {

        String kind() {
            if ((type & CL_DEVICE_TYPE_GPU) != 0) {
                return "GPU";
            }
            if ((type & CL_DEVICE_TYPE_ACCELERATOR) != 0) {
                return "accelerator";
            }
            return (type & CL.CL_DEVICE_TYPE_CPU) != 0 ? "CPU" : "other";
        }

        @Override
        public String toString() {
            return index + ": " + name + " [" + kind() + "] (" + platformName + ", " + version + ", "
                    + computeUnits + " compute units, " + String.format(Locale.ROOT, "%.1f GiB", globalMem / 1073741824.0) + ")";
        }
    }

    /** Every device of every platform, numbered in that order; empty when there is no platform. */
    static List<Device> devices() {
        CL.setExceptionsEnabled(true);
        List<Device> out = new ArrayList<>();
        int[] count = new int[1];
        try {
            CL.clGetPlatformIDs(0, null, count);
        } catch (CLException e) {
            return out;                         // CL_PLATFORM_NOT_FOUND_KHR: no ICD installed
        }
        if (count[0] == 0) {
            return out;
        }
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        CL.clGetPlatformIDs(platforms.length, platforms, null);
        for (cl_platform_id p : platforms) {
            int[] n = new int[1];
            try {
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (CLException e) {
                continue;                       // CL_DEVICE_NOT_FOUND
            }
            cl_device_id[] ids = new cl_device_id[n[0]];
            CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, ids.length, ids, null);
            String platformName = platformString(p, CL_PLATFORM_NAME);
            for (cl_device_id d : ids) {
                out.add(new Device(out.size(), p, d, platformName, deviceString(d, CL_DEVICE_NAME),
                        deviceLong(d, CL_DEVICE_TYPE), deviceString(d, CL_DEVICE_VERSION),
                        (int) deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS), deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE)));
            }
        }
        return out;
    }

    /**
     * One line per OpenCL device ("0: NVIDIA … [GPU] (platform, version, units, memory)"), for
     * {@code jformers devices}; a single explanatory line when OpenCL is unavailable.
     */
    public static List<String> listDevices() {
        String why = OpenClBackendProvider.reason();
        if (why != null) {
            return List.of("OpenCL: " + why);
        }
        return devices().stream().map(Device::toString).toList();
    }

    /**
     * Picks a device: null or empty → the first GPU or accelerator, else the first device;
     * a number → that index in {@link #listDevices()}; anything else → the first device whose
     * name or platform name contains it (ignoring case).
     */
    static Device select(String spec) {
        List<Device> all = devices();
        if (all.isEmpty()) {
            throw new JformersException(OpenClBackendProvider.NO_PLATFORM);
        }
        if (spec == null || spec.isBlank()) {
            return all.stream().filter(d -> (d.type() & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0)
                    .findFirst().orElse(all.getFirst());
        }
        String s = spec.trim();
        if (s.chars().allMatch(Character::isDigit)) {
            int i = Integer.parseInt(s);
            if (i < all.size()) {
                return all.get(i);
            }
        } else {
            String lower = s.toLowerCase(Locale.ROOT);
            for (Device d : all) {
                if (d.name().toLowerCase(Locale.ROOT).contains(lower)
                        || d.platformName().toLowerCase(Locale.ROOT).contains(lower)) {
                    return d;
                }
            }
        }
        throw new JformersException("no OpenCL device '" + s + "'; available devices (use opencl:N or a name): "
                + String.join("; ", all.stream().map(Device::toString).toList()));
    }

    // ------------------------------------------------------------------------------ setup

    /** The default device (the first GPU, else the first device). */
    public OpenClBackend() {
        this(null);
    }

    /** @param deviceSpec an index from {@link #listDevices()}, a name substring, or null for the default */
    @SuppressWarnings("deprecation")   // clCreateCommandQueue: the OpenCL 1.2 call every platform has
    public OpenClBackend(String deviceSpec) {
        this.device = select(deviceSpec);
        try {
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL.CL_CONTEXT_PLATFORM, device.platform());
            context = CL.clCreateContext(props, 1, new cl_device_id[] {device.id()}, null, null, null);
            queue = CL.clCreateCommandQueue(context, device.id(), 0, null);
            localMemBytes = deviceLong(device.id(), CL_DEVICE_LOCAL_MEM_SIZE);
            maxAllocBytes = deviceLong(device.id(), CL_DEVICE_MAX_MEM_ALLOC_SIZE);
            globalMemBytes = device.globalMem();
            long maxWg = deviceSize(device.id(), CL_DEVICE_MAX_WORK_GROUP_SIZE);
            wg = (int) Math.min(64, Long.highestOneBit(maxWg));
            // GEMM tiles: 32×32 with 8×32 work-items, or 16×16 with 4×16 on small devices;
            // -Djformers.opencl.gemm=TSxWPT (e.g. 16x2) overrides it for tuning
            String tile = System.getProperty("jformers.opencl.gemm");
            if (tile != null && tile.matches("\\d+x\\d+")) {
                ts = Integer.parseInt(tile.substring(0, tile.indexOf('x')));
                wpt = Integer.parseInt(tile.substring(tile.indexOf('x') + 1));
            } else {
                ts = maxWg >= 256 ? 32 : 16;
                wpt = 4;
            }
            program = build("-D WG=" + wg + " -D TS=" + ts + " -D WPT=" + wpt);
            copyStrided = kernel("copy_strided");
            addBroadcast = kernel("add_broadcast");
            activation = kernel("activation");
            embedding = kernel("embedding");
            gemm = kernel("gemm");
            gemmNnCpu = kernel("gemm_nn_cpu");
            gemmNtCpu = kernel("gemm_nt_cpu");
            cpuGemm = (device.type() & CL.CL_DEVICE_TYPE_CPU) != 0
                    && !"tiled".equals(System.getProperty("jformers.opencl.gemm"));
            layerNorm = kernel("layer_norm");
            softmax = kernel("softmax");
            attention = kernel("attention");
            dummy = CL.clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, Sizeof.cl_float,
                    Pointer.to(new float[1]), null);
        } catch (CLException e) {
            throw translate("initialisation", e);
        }
    }

    private cl_program build(String options) {
        return build(sources(), options);
    }

    private static String sources() {
        StringBuilder src = new StringBuilder();
        for (String name : SOURCES) {
            try (InputStream in = OpenClBackend.class.getResourceAsStream(name)) {
                if (in == null) {
                    throw new JformersException("OpenCL kernel source " + name + " is missing from the jar");
                }
                src.append("// ---- ").append(name).append('\n')
                        .append(new String(in.readAllBytes(), StandardCharsets.UTF_8)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return src.toString();
    }

    /** Compiles OpenCL C source for this device; a failure carries the device's build log. */
    cl_program build(String source, String options) {
        cl_program p = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            CL.clBuildProgram(p, 1, new cl_device_id[] {device.id()}, options, null, null);
        } catch (CLException e) {
            String log = buildLog(p);
            CL.clReleaseProgram(p);
            throw new JformersException("OpenCL kernels failed to build on " + device.name() + " (" + e.getMessage()
                    + "); build log:\n" + log, e);
        }
        return p;
    }

    private String buildLog(cl_program p) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(p, device.id(), CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] log = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(p, device.id(), CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
            return new String(log, StandardCharsets.UTF_8).trim();
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    private cl_kernel kernel(String name) {
        return CL.clCreateKernel(program, name, null);
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public String describe() {
        return "opencl " + device + ", work-group " + wg + ", GEMM "
                + (cpuGemm ? "16-wide vector blocks (CPU device)" : "tile " + ts + "x" + ts + " in local memory");
    }

    String deviceName() {
        return device.name();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            CL.clFinish(queue);
            for (cl_kernel k : new cl_kernel[] {copyStrided, addBroadcast, activation, embedding, gemm, gemmNnCpu,
                    gemmNtCpu, layerNorm, softmax, attention}) {
                CL.clReleaseKernel(k);
            }
            CL.clReleaseProgram(program);
            CL.clReleaseMemObject(dummy);
            CL.clReleaseCommandQueue(queue);
            CL.clReleaseContext(context);   // freed once the last buffer is released
        } catch (CLException e) {
            throw translate("close", e);
        }
    }

    // ------------------------------------------------------------------------------ memory

    /** A contiguous float32 view of device memory: a buffer and an element offset into it. */
    private record Dev(cl_mem mem, long offset) {
    }

    /** A new device buffer of {@code bytes}, tracked and released by its storage. */
    private ClStorage allocate(long bytes) {
        long size = Math.max(bytes, Sizeof.cl_float);
        if (size > maxAllocBytes) {
            throw new JformersException("OpenCL device out of memory: a buffer of " + mib(size)
                    + " exceeds the largest allocation of " + device.name() + " (" + mib(maxAllocBytes) + ")");
        }
        if (closed) {
            throw new JformersException("this OpenCL backend is closed");
        }
        long live = liveBytes.get();
        if (live + size > Math.max(globalMemBytes * 3 / 4, gcWatermark)) {
            // unreachable tensors may still hold device buffers: let the GC find them, at most
            // once per eighth of the device's memory allocated since the last time
            collectGarbage();
            gcWatermark = liveBytes.get() + globalMemBytes / 8;
        }
        cl_mem mem;
        try {
            mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, size, null, null);
        } catch (CLException e) {
            if (!isOutOfMemory(e.getStatus())) {
                throw e;
            }
            collectGarbage();
            mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, size, null, null);
        }
        liveBytes.addAndGet(size);
        return new ClStorage(mem, size, this, liveBytes);
    }

    private static void collectGarbage() {
        System.gc();
        try {
            Thread.sleep(20);                  // let the cleaner thread release the buffers
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A new, uninitialised contiguous device tensor. */
    private Tensor empty(int... shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        Tensor t = Tensor.of(allocate(n * Sizeof.cl_float), DType.F32, 0, shape);
        pins.add(t);
        return t;
    }

    private static cl_mem mem(Tensor deviceTensor) {
        return ((ClStorage) deviceTensor.storage()).mem();
    }

    private boolean isMine(Tensor t) {
        if (t.storage() instanceof ClStorage s) {
            if (s.owner() != this) {
                throw new JformersException("tensor " + t + " belongs to another OpenCL backend (" + s.owner().describe()
                        + "); download it with that backend's toHost first");
            }
            return true;
        }
        return false;
    }

    /** Copies a host tensor to a new contiguous float32 device tensor. */
    private Tensor uploadHost(Tensor host) {
        Tensor f = host.toF32();
        Tensor out = empty(f.shape());
        long bytes = f.numel() * Sizeof.cl_float;
        if (bytes == 0) {
            return out;
        }
        MemorySegment seg = f.segment().asSlice(f.offset() * Sizeof.cl_float, bytes);
        Pointer src = seg.isNative() && bytes <= Integer.MAX_VALUE
                ? Pointer.to(seg.asByteBuffer())
                : Pointer.to(f.toFloatArray());
        CL.clEnqueueWriteBuffer(queue, mem(out), CL_TRUE, 0, bytes, src, 0, null, null);
        return out;
    }

    /** {@code t} as contiguous float32 on this device: uploaded, gathered, or as it is. */
    private Dev contiguous(Tensor t) {
        if (!isMine(t)) {
            return new Dev(mem(uploadHost(t)), 0);
        }
        if (t.isContiguous()) {
            return new Dev(mem(t), t.offset());
        }
        Tensor out = empty(t.shape());
        copy(t, out);
        return new Dev(mem(out), 0);
    }

    /** {@code t} on this device with a contiguous last dimension (other strides arbitrary). */
    private Tensor rowsContiguous(Tensor t) {
        if (!isMine(t)) {
            return uploadHost(t);
        }
        if (t.rank() == 0 || t.dim(-1) <= 1 || t.stride(-1) == 1) {
            return t;
        }
        Tensor out = empty(t.shape());
        copy(t, out);
        return out;
    }

    /** Copies device tensor {@code src} into device tensor {@code dst} (same shape, any strides). */
    private void copy(Tensor src, Tensor dst) {
        copyStrided(mem(src), src.offset(), src.shape(), src.strides(), mem(dst), dst.offset(), dst.strides());
    }

    /**
     * Enqueues copy_strided for any rank: drops size-1 dimensions, merges dimensions that are
     * contiguous on both sides, and splits what is left beyond 4 dimensions into several launches.
     */
    private void copyStrided(cl_mem src, long srcOff, int[] shape, long[] srcStrides,
                             cl_mem dst, long dstOff, long[] dstStrides) {
        List<long[]> dims = new ArrayList<>();          // {size, srcStride, dstStride}, outermost first
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return;
            }
            if (shape[i] == 1) {
                continue;
            }
            long[] d = {shape[i], srcStrides[i], dstStrides[i]};
            if (!dims.isEmpty()) {
                long[] outer = dims.getLast();
                if (outer[1] == d[0] * d[1] && outer[2] == d[0] * d[2]) {
                    dims.set(dims.size() - 1, new long[] {outer[0] * d[0], d[1], d[2]});
                    continue;
                }
            }
            dims.add(d);
        }
        copyDims(src, srcOff, dst, dstOff, dims);
    }

    private void copyDims(cl_mem src, long srcOff, cl_mem dst, long dstOff, List<long[]> dims) {
        if (dims.size() > 4) {
            long[] outer = dims.getFirst();
            List<long[]> rest = dims.subList(1, dims.size());
            for (long i = 0; i < outer[0]; i++) {
                copyDims(src, srcOff + i * outer[1], dst, dstOff + i * outer[2], rest);
            }
            return;
        }
        long[][] d = new long[4][];
        for (int i = 0; i < 4; i++) {
            int j = i - (4 - dims.size());
            d[i] = j >= 0 ? dims.get(j) : new long[] {1, 0, 0};
        }
        long n = d[0][0] * d[1][0] * d[2][0] * d[3][0];
        if (d[3][1] == 1 && d[3][2] == 1 && dims.size() == 1) {
            // one contiguous run on both sides: a plain buffer copy
            CL.clEnqueueCopyBuffer(queue, src, dst, srcOff * 4, dstOff * 4, n * 4, 0, null, null);
            return;
        }
        run(copyStrided, new long[] {n}, null,
                src, srcOff, d[0][1], d[1][1], d[2][1], d[3][1],
                dst, dstOff, d[0][2], d[1][2], d[2][2], d[3][2],
                d[1][0], d[2][0], d[3][0]);
    }

    /** The number of bytes of __local memory a kernel argument asks for. */
    private record Local(long bytes) {
    }

    /** Sets the arguments (cl_mem, Integer, Long, Float or Local) and enqueues the kernel. */
    private void run(cl_kernel k, long[] global, long[] local, Object... args) {
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            switch (a) {
                case cl_mem m -> CL.clSetKernelArg(k, i, Sizeof.cl_mem, Pointer.to(m));
                case Integer v -> CL.clSetKernelArg(k, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                case Long v -> CL.clSetKernelArg(k, i, Sizeof.cl_long, Pointer.to(new long[] {v}));
                case Float v -> CL.clSetKernelArg(k, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
                case Local l -> CL.clSetKernelArg(k, i, Math.max(Sizeof.cl_float, l.bytes()), null);
                default -> throw new IllegalArgumentException("kernel argument " + a);
            }
        }
        CL.clEnqueueNDRangeKernel(queue, k, global.length, null, global, local, 0, null, null);
    }

    private static boolean isOutOfMemory(int status) {
        return status == CL.CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL.CL_OUT_OF_RESOURCES
                || status == CL.CL_OUT_OF_HOST_MEMORY || status == CL.CL_INVALID_BUFFER_SIZE;
    }

    /** A JformersException for a failed OpenCL call, saying "out of memory" when it was. */
    private JformersException translate(String op, CLException e) {
        if (isOutOfMemory(e.getStatus())) {
            return new JformersException("OpenCL device out of memory in " + op + " on " + device.name() + " ("
                    + CL.stringFor_errorCode(e.getStatus()) + "; " + mib(liveBytes.get()) + " of device buffers live, "
                    + mib(globalMemBytes) + " on the device): use smaller batches or free tensors", e);
        }
        return new JformersException("OpenCL error in " + op + " on " + device.name() + ": " + e.getMessage(), e);
    }

    /** Starts an operation: checks the backend is open and pins its arguments (see {@link #pins}). */
    private void begin(Object... used) {
        if (closed) {
            throw new JformersException("this OpenCL backend is closed");
        }
        depth++;
        for (Object o : used) {
            if (o != null) {
                pins.add(o);
            }
        }
    }

    /** Ends an operation: unpins when the outermost one ends. */
    private void end() {
        if (--depth == 0) {
            pins.clear();
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    // ------------------------------------------------------------------------------ Backend: memory

    @Override
    public synchronized Tensor upload(Tensor hostTensor) {
        begin(hostTensor);
        try {
            return deviceContiguous(hostTensor);
        } catch (CLException e) {
            throw translate("upload", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor toHost(Tensor t) {
        if (!isMine(t)) {
            return t;
        }
        begin(t);
        try {
            Tensor src = t;
            if (!t.isContiguous()) {
                src = empty(t.shape());
                copy(t, src);
            }
            long bytes = t.numel() * Sizeof.cl_float;
            if (bytes > Integer.MAX_VALUE - 16) {
                throw new JformersException("toHost: " + t + " is too large for one host array");
            }
            float[] host = new float[(int) t.numel()];
            if (bytes > 0) {
                CL.clEnqueueReadBuffer(queue, mem(src), CL_TRUE, src.offset() * Sizeof.cl_float, bytes,
                        Pointer.to(host), 0, null, null);
            }
            return Tensor.wrap(MemorySegment.ofArray(host), DType.F32, t.shape());
        } catch (CLException e) {
            throw translate("toHost", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor zeros(int... shape) {
        begin();
        try {
            Tensor t = empty(shape);
            ClStorage s = (ClStorage) t.storage();
            CL.clEnqueueFillBuffer(queue, s.mem(), Pointer.to(new float[] {0f}), Sizeof.cl_float, 0, s.byteSize(),
                    0, null, null);
            return t;
        } catch (CLException e) {
            throw translate("zeros", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized void copyInto(Tensor src, Tensor dst) {
        if (!Arrays.equals(src.shape(), dst.shape())) {
            throw ShapeException.mismatch("copyInto", src.shape(), dst.shape(), "shapes must be equal");
        }
        if (!isMine(dst) || dst.dtype() != DType.F32) {
            throw new ShapeException("copyInto: the destination must be a float32 tensor of this OpenCL backend, got " + dst);
        }
        begin(src, dst);
        try {
            Tensor s = isMine(src) ? src : uploadHost(src);
            copy(s, dst);
        } catch (CLException e) {
            throw translate("copyInto", e);
        } finally {
            end();
        }
    }

    // ------------------------------------------------------------------------------ Backend: operations

    /** A linear layer's weight and bias in device memory, contiguous. */
    record ClLinear(Tensor weight, Tensor bias, WeightLayout layout, int inFeatures, int outFeatures)
            implements LinearWeight {
    }

    /** {@code t} as a contiguous float32 tensor of this device (itself when it already is one). */
    private Tensor deviceContiguous(Tensor t) {
        if (isMine(t) && t.isContiguous()) {
            return t;
        }
        if (!isMine(t)) {
            return uploadHost(t);
        }
        Tensor out = empty(t.shape());
        copy(t, out);
        return out;
    }

    @Override
    public synchronized LinearWeight prepareLinear(Tensor weight, Tensor bias, WeightLayout layout) {
        if (weight.rank() != 2) {
            throw ShapeException.of("linear", "a 2-d weight", weight.shape());
        }
        int in = layout == WeightLayout.OUT_IN ? weight.dim(1) : weight.dim(0);
        int out = layout == WeightLayout.OUT_IN ? weight.dim(0) : weight.dim(1);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) {
            throw ShapeException.mismatch("linear", weight.shape(), bias.shape(), "bias must be [" + out + "]");
        }
        begin(weight, bias);
        try {
            return new ClLinear(deviceContiguous(weight), bias == null ? null : deviceContiguous(bias), layout, in, out);
        } catch (CLException e) {
            throw translate("prepareLinear", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor linear(Tensor x, LinearWeight lw) {
        if (!(lw instanceof ClLinear w)) {
            throw new JformersException("linear: weight prepared by another backend (" + lw.getClass().getSimpleName() + ")");
        }
        if (x.rank() == 0 || x.dim(-1) != w.inFeatures()) {
            throw ShapeException.of("linear", "[..., " + w.inFeatures() + "]", x.shape());
        }
        begin(x, w.weight(), w.bias());
        try {
            int in = w.inFeatures(), out = w.outFeatures();
            Dev xd = contiguous(x);
            long rows = 1;                                         // product of the leading dimensions
            for (int d = 0; d < x.rank() - 1; d++) {
                rows *= x.dim(d);
            }
            if (rows > Integer.MAX_VALUE) {
                throw new ShapeException("linear: " + rows + " rows are too many for one launch");
            }
            int[] outShape = x.shape();
            outShape[outShape.length - 1] = out;
            Tensor y = empty(outShape);
            boolean transB = w.layout() == WeightLayout.OUT_IN;   // W [out, in]: y = x·Wᵀ
            gemm((int) rows, out, in, 1, xd, in, 0, new Dev(mem(w.weight()), w.weight().offset()),
                    transB ? in : out, 0, transB, w.bias(), y);
            return y;
        } catch (CLException e) {
            throw translate("linear", e);
        } finally {
            end();
        }
    }

    /** Enqueues gemm.cl: C[p] = A[p]·op(B[p]) (+ bias) for p < batch; C contiguous [batch, M, N]. */
    private void gemm(int m, int n, int k, int batch, Dev a, long lda, long aBatch, Dev b, long ldb, long bBatch,
                      boolean transB, Tensor bias, Tensor c) {
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        cl_kernel kernel;
        long[] global, local;
        if (cpuGemm) {
            kernel = transB ? gemmNtCpu : gemmNnCpu;
            global = transB ? new long[] {ceilDiv(n, 4), ceilDiv(m, 2), batch}
                    : new long[] {ceilDiv(n, 16), ceilDiv(m, 4), batch};
            local = null;
        } else {
            int rts = ts / wpt;
            kernel = gemm;
            global = new long[] {(long) ceilDiv(n, ts) * ts, (long) ceilDiv(m, ts) * rts, batch};
            local = new long[] {ts, rts, 1};
        }
        run(kernel, global, local, m, n, k,
                a.mem(), a.offset(), lda, aBatch,
                b.mem(), b.offset(), ldb, bBatch, transB ? 1 : 0,
                bias == null ? dummy : mem(bias), bias == null ? 0L : bias.offset(), bias == null ? 0 : 1,
                mem(c), (long) m * n);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    @Override
    public synchronized Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "both need at least 2 dimensions");
        }
        int m = a.dim(-2), k = a.dim(-1), k2 = b.dim(-2), n = b.dim(-1);
        if (k != k2) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "inner dimensions " + k + " and " + k2);
        }
        long batch = a.numel() / Math.max(1, (long) m * k);
        boolean batched = b.rank() > 2;
        if (batched && (b.rank() != a.rank() || b.numel() / Math.max(1, (long) k * n) != batch
                || !Arrays.equals(Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2)))) {
            throw ShapeException.mismatch("matmul", a.shape(), b.shape(), "batch dimensions differ");
        }
        begin(a, b);
        try {
            Dev ad = contiguous(a);
            // b given as a transposed view of a contiguous [.., N, K] tensor: read it as Bᵀ, no copy
            Tensor bt = b.transpose(-1, -2);
            boolean transB = isMine(b) && bt.isContiguous() && !b.isContiguous();
            Dev bd = transB ? new Dev(mem(b), b.offset()) : contiguous(b);
            int[] outShape = a.shape();
            outShape[outShape.length - 1] = n;
            Tensor c = empty(outShape);
            gemm(m, n, k, (int) batch, ad, k, (long) m * k, bd, transB ? k : n, batched ? (long) k * n : 0,
                    transB, null, c);
            return c;
        } catch (CLException e) {
            throw translate("matmul", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor add(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        boolean ok = bs.length <= as.length;
        for (int i = 1; ok && i <= bs.length; i++) {
            ok = as[as.length - i] == bs[bs.length - i];
        }
        if (!ok) {
            throw ShapeException.mismatch("add", as, bs, "the second must equal the trailing dimensions of the first");
        }
        begin(a, b);
        try {
            Dev ad = contiguous(a), bd = contiguous(b);
            Tensor c = empty(as);
            if (a.numel() > 0) {
                run(addBroadcast, new long[] {a.numel()}, null, ad.mem(), ad.offset(), bd.mem(), bd.offset(),
                        Math.max(1, b.numel()), mem(c));
            }
            return c;
        } catch (CLException e) {
            throw translate("add", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int c = x.dim(-1);
        if (weight.numel() != c || bias.numel() != c) {
            throw ShapeException.mismatch("layerNorm", x.shape(), weight.shape(), "weight and bias must be [" + c + "]");
        }
        begin(x, weight, bias);
        try {
            Dev xd = contiguous(x), wd = contiguous(weight), bd = contiguous(bias);
            Tensor y = empty(x.shape());
            long rows = c == 0 ? 0 : x.numel() / c;
            if (rows > 0) {
                run(layerNorm, new long[] {rows * wg}, new long[] {wg}, xd.mem(), xd.offset(), wd.mem(), wd.offset(),
                        bd.mem(), bd.offset(), mem(y), c, eps);
            }
            return y;
        } catch (CLException e) {
            throw translate("layerNorm", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor activation(Tensor x, Activation act) {
        begin(x);
        try {
            Dev xd = contiguous(x);
            Tensor y = empty(x.shape());
            if (x.numel() > 0) {
                run(activation, new long[] {x.numel()}, null, xd.mem(), xd.offset(), mem(y), act.ordinal());
            }
            return y;
        } catch (CLException e) {
            throw translate("activation", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized Tensor softmax(Tensor x) {
        begin(x);
        try {
            int c = x.rank() == 0 ? 1 : x.dim(-1);
            Dev xd = contiguous(x);
            Tensor y = empty(x.shape());
            long rows = c == 0 ? 0 : x.numel() / c;
            if (rows > 0) {
                run(softmax, new long[] {rows * wg}, new long[] {wg}, xd.mem(), xd.offset(), mem(y), c);
            }
            return y;
        } catch (CLException e) {
            throw translate("softmax", e);
        } finally {
            end();
        }
    }

    /** Rows of x [N, C] by index: the embedding's gather, on the device (the default reads all of x back to the host). */
    @Override
    public Tensor gatherRows(Tensor x, long[] rows) {
        return embedding(x, Tensor.ofLongs(rows, rows.length));
    }

    @Override
    public synchronized Tensor embedding(Tensor table, Tensor ids) {
        if (table.rank() != 2) {
            throw ShapeException.of("embedding", "a table [vocab, channels]", table.shape());
        }
        if (ids.dtype().isFloatingPoint()) {
            throw new ShapeException("embedding: ids must be integers, got " + ids);
        }
        int vocab = table.dim(0), channels = table.dim(1);
        long[] idx = (isMine(ids) ? toHost(ids) : ids).toLongArray();
        int[] ints = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            long id = idx[i];
            if (id < 0 || id >= vocab) {
                throw new JformersException("embedding: id " + id + " is outside the table of " + vocab + " rows");
            }
            ints[i] = (int) id;
        }
        int[] outShape = Arrays.copyOf(ids.shape(), ids.rank() + 1);
        outShape[ids.rank()] = channels;
        begin(table);
        try {
            Tensor out = empty(outShape);
            if (ints.length == 0 || channels == 0) {
                return out;
            }
            Dev td = contiguous(table);
            cl_mem idBuf = CL.clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                    (long) ints.length * Sizeof.cl_int, Pointer.to(ints), null);
            try {
                run(embedding, new long[] {channels, ints.length}, null, td.mem(), td.offset(), channels, idBuf, mem(out));
            } finally {
                CL.clReleaseMemObject(idBuf);   // freed once the kernel is done with it
            }
            return out;
        } catch (CLException e) {
            throw translate("embedding", e);
        } finally {
            end();
        }
    }

    @Override
    public synchronized AttentionOutput attention(Tensor q, Tensor k, Tensor v, int heads, AttentionMask mask,
                                                  float scale, boolean returnProbs) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) {
            throw ShapeException.mismatch("attention", q.shape(), k.shape(), "q, k, v must be [B, T, C]");
        }
        if (!Arrays.equals(k.shape(), v.shape()) || k.dim(0) != q.dim(0) || k.dim(2) != q.dim(2)) {
            throw ShapeException.mismatch("attention", q.shape(), k.shape(), "q [B, Tq, C] needs k, v [B, Tk, C]");
        }
        if (heads <= 0 || q.dim(2) % heads != 0) {
            throw new ShapeException("attention: " + q.dim(2) + " channels don't split into " + heads + " heads");
        }
        int batch = q.dim(0), tq = q.dim(1), tk = k.dim(1), channels = q.dim(2), d = channels / heads;
        float[] pad = null;
        if (mask.keyPadding() != null) {
            Tensor m = mask.keyPadding();
            if (m.rank() != 2 || m.dim(0) != batch || m.dim(1) != tk) {
                throw ShapeException.of("attention", "a key padding mask [" + batch + ", " + tk + "]", m.shape());
            }
            pad = (isMine(m) ? toHost(m) : m).toFloatArray();
        }
        long localBytes = (long) (tk + d + wg) * Sizeof.cl_float;
        if (localBytes > localMemBytes) {
            throw new JformersException("attention over " + tk + " keys needs " + localBytes + " bytes of local memory; "
                    + device.name() + " has " + localMemBytes);
        }
        begin(q, k, v);
        try {
            Tensor qd = rowsContiguous(q), kd = rowsContiguous(k), vd = rowsContiguous(v);
            Tensor ctx = empty(batch, tq, channels);
            Tensor probs = returnProbs ? empty(batch, heads, tq, tk) : null;
            long groups = (long) batch * heads * tq;
            if (groups == 0) {
                return new AttentionOutput(ctx, probs);
            }
            cl_mem padBuf = pad == null ? null : CL.clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                    (long) Math.max(1, pad.length) * Sizeof.cl_float, Pointer.to(pad.length == 0 ? new float[1] : pad), null);
            try {
                run(attention, new long[] {groups * wg}, new long[] {wg},
                        mem(qd), qd.offset(), qd.stride(0), qd.stride(1),
                        mem(kd), kd.offset(), kd.stride(0), kd.stride(1),
                        mem(vd), vd.offset(), vd.stride(0), vd.stride(1),
                        padBuf == null ? dummy : padBuf, padBuf == null ? 0 : 1, mask.causal() ? 1 : 0,
                        heads, tq, tk, d, scale,
                        mem(ctx), probs == null ? dummy : mem(probs), probs == null ? 0 : 1,
                        new Local((long) tk * Sizeof.cl_float), new Local((long) d * Sizeof.cl_float));
            } finally {
                if (padBuf != null) {
                    CL.clReleaseMemObject(padBuf);
                }
            }
            return new AttentionOutput(ctx, probs);
        } catch (CLException e) {
            throw translate("attention", e);
        } finally {
            end();
        }
    }

    // ------------------------------------------------------------------------------ device queries

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] b = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, b.length, Pointer.to(b), null);
        return cString(b);
    }

    private static String cString(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8).trim();
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0] & 0xFFFFFFFFL;
    }

    private static long deviceSize(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }
}
