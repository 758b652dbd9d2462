package dev.jformers.loaders;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A restricted unpickler for PyTorch state dicts. It understands the opcodes {@code torch.save}
 * emits (protocols 2 to 5, plus the simple protocol-0 ones) and builds plain Java values:
 * None → null, bool → Boolean, int → Long (or BigInteger), float → Double, str → String,
 * bytes → byte[], tuple → {@link Tuple}, list → List, dict → LinkedHashMap.
 * <p>
 * It never executes anything: {@code GLOBAL} only accepts the few names a state dict needs
 * (see {@link #ALLOWED}) and becomes a {@link Global} marker; {@code REDUCE} is interpreted
 * for those names only. Any other global (such as {@code os system}) and any unknown opcode
 * raise {@link LoaderException}. Every length is checked against the remaining input before
 * anything is allocated.
 */
final class Pickle {
    /** A Python tuple (records give it value equality so tuples can be dict keys). */
    record Tuple(List<Object> items) {
        Object get(int i) {
            return items.get(i);
        }

        int size() {
            return items.size();
        }
    }

    /** An allow-listed global, e.g. {@code torch FloatStorage}. */
    record Global(String module, String name) {
        @Override
        public String toString() {
            return module + "." + name;
        }
    }

    /**
     * Interprets persistent ids (torch storages) and allow-listed calls; {@code key} is the
     * state-dict entry being read (null if unknown), for error messages.
     */
    interface Hooks {
        Object persistentLoad(Object pid, String key);

        /** Called for REDUCE of an allow-listed callable other than OrderedDict. */
        Object call(Global callable, Tuple args, String key);
    }

    /** Result of one pickle: its value and the offset just past its STOP opcode. */
    record Result(Object value, long end) {
    }

    static final Set<String> STORAGE_TYPES = Set.of("FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage",
            "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage");
    private static final Set<String> DTYPES = Set.of("float32", "float16", "bfloat16", "float64", "int64", "int32",
            "int16", "int8", "uint8", "bool", "float", "half", "double", "long", "int", "short");
    /** Globals a state dict may reference; everything else is refused. */
    static final Set<String> ALLOWED = Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter");

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };
    /**
     * Bounds that no state dict comes near, so a hostile pickle cannot exhaust memory. Work is
     * bounded too: every opcode consumes input, no opcode walks more than the items it pops, and
     * nothing hashes or compares nested values (dict keys are strings or ints).
     */
    private static final int MAX_DEPTH = 100_000, MAX_MEMO = 1 << 20;

    private final Path file;
    private final MemorySegment in;
    private final long limit;
    private final Hooks hooks;
    private long pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private Pickle(Path file, MemorySegment in, long start, long limit, Hooks hooks) {
        this.file = file;
        this.in = in;
        this.pos = start;
        this.limit = limit;
        this.hooks = hooks;
    }

    /** Unpickles one object starting at {@code start} of {@code in} (reading no further than {@code limit}). */
    static Result load(Path file, MemorySegment in, long start, long limit, Hooks hooks) {
        Pickle p = new Pickle(file, in, start, Math.min(limit, in.byteSize()), hooks);
        Object v = p.run();
        return new Result(v, p.pos);
    }

    private LoaderException error(String reason) {
        return LoaderException.of(file, currentKey(), "pickle at offset " + pos + ": " + reason);
    }

    /**
     * The dict key whose value is being read, for error messages: torch writes a state dict as
     * {@code dict MARK key value key value … SETITEMS}, so it is the key slot nearest the top
     * above the newest MARK that sits on a dict (or the string right above a dict, for single
     * SETITEMs). Only a few slots and marks are looked at: called on every persistent load, a
     * scan of the whole stack would make a large pickle quadratic.
     */
    private String currentKey() {
        int n = stack.size();
        for (int i = n - 1; i >= Math.max(1, n - 2); i--) {
            if (stack.get(i - 1) instanceof Map && stack.get(i) instanceof String k) {
                return k;
            }
        }
        for (int m = marks.size() - 1; m >= Math.max(0, marks.size() - 8); m--) {
            int at = marks.get(m);
            if (at >= 1 && at < n && stack.get(at - 1) instanceof Map) {
                // Keys sit at every other slot after the MARK; the value being built may span several slots.
                int j = at + 1 + ((n - 1 - (at + 1)) & ~1);
                for (int tries = 0; j > at && tries < 4; j -= 2, tries++) {
                    if (stack.get(j) instanceof String k) {
                        return k;
                    }
                }
                return null;
            }
        }
        return null;
    }

    private void need(long n) {
        if (n < 0 || n > limit - pos) {
            throw error("truncated: needs " + n + " more bytes, " + (limit - pos) + " left");
        }
    }

    private int u8() {
        need(1);
        return in.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF;
    }

    private long le(int n) {
        need(n);
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (in.get(ValueLayout.JAVA_BYTE, pos + i) & 0xFF) << (8 * i);
        }
        pos += n;
        return v;
    }

    private byte[] bytes(long n) {
        need(n);
        if (n > Integer.MAX_VALUE - 8) {
            throw error("string of " + n + " bytes is too long");
        }
        byte[] b = in.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
        pos += n;
        return b;
    }

    /** A protocol-0 argument: bytes up to the next newline. */
    private String line() {
        long start = pos;
        while (true) {
            need(1);
            if (in.get(ValueLayout.JAVA_BYTE, pos++) == '\n') {
                break;
            }
            if (pos - start > 1 << 20) {
                throw error("protocol-0 line longer than 1 MiB");
            }
        }
        return new String(in.asSlice(start, pos - 1 - start).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private void push(Object o) {
        if (stack.size() >= MAX_DEPTH) {
            throw error("stack deeper than " + MAX_DEPTH);
        }
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw error("stack underflow");
        }
        Object o = stack.removeLast();
        if (o == MARK) {
            throw error("unexpected MARK");
        }
        return o;
    }

    private Object top() {
        if (stack.isEmpty() || stack.getLast() == MARK) {
            throw error("stack underflow");
        }
        return stack.getLast();
    }

    /** Pops everything above the last MARK (and the mark). */
    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw error("no MARK on the stack");
        }
        int m = marks.removeLast();
        if (m > stack.size()) {
            throw error("MARK lost");
        }
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Object run() {
        while (true) {
            long at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v > 5) {
                        throw error("unsupported pickle protocol " + v);
                    }
                }
                case 0x95 -> le(8); // FRAME: framing is only a read hint
                case '.' -> { // STOP
                    Object v = pop();
                    return v;
                }
                case '(' -> {
                    marks.add(stack.size());
                    push(MARK);
                }
                case ')' -> push(new Tuple(List.of()));
                case ']' -> push(new ArrayList<>());
                case '}' -> push(new LinkedHashMap<>());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) (int) le(4));
                case 'K' -> push(le(1));
                case 'M' -> push(le(2));
                case 0x8a -> push(longN(u8()));
                case 0x8b -> {
                    long n = (int) le(4);
                    if (n < 0) {
                        throw error("negative LONG4 length");
                    }
                    push(longN(n));
                }
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(le(8))));
                case 'X' -> push(utf8(bytes(le(4))));
                case 0x8c -> push(utf8(bytes(u8())));
                case 0x8d -> push(utf8(bytes(le(8))));
                case 'T' -> push(new String(bytes((int) le(4)), StandardCharsets.ISO_8859_1));
                case 'U' -> push(new String(bytes(u8()), StandardCharsets.ISO_8859_1));
                case 'B' -> push(bytes(le(4)));
                case 'C' -> push(bytes(u8()));
                case 0x8e -> push(bytes(le(8)));
                case 'I' -> push(protocol0Int(line()));
                case 'L' -> {
                    String s = line();
                    push(protocol0Int(s.endsWith("L") ? s.substring(0, s.length() - 1) : s));
                }
                case 't' -> push(new Tuple(popMark()));
                case 0x85 -> push(new Tuple(List.of(pop())));
                case 0x86 -> {
                    Object b = pop(), a = pop();
                    push(new Tuple(Arrays.asList(a, b)));
                }
                case 0x87 -> {
                    Object c = pop(), b = pop(), a = pop();
                    push(new Tuple(Arrays.asList(a, b, c)));
                }
                case 'l' -> push(new ArrayList<>(popMark()));
                case 'd' -> {
                    List<Object> kv = popMark();
                    Map<Object, Object> d = new LinkedHashMap<>();
                    putAll(d, kv);
                    push(d);
                }
                case 'q' -> memoPut(le(1));
                case 'r' -> memoPut(le(4));
                case 'p' -> memoPut(protocol0Int(line()));
                case 0x94 -> memoPut(memo.size());
                case 'h' -> push(memoGet(le(1)));
                case 'j' -> push(memoGet(le(4)));
                case 'g' -> push(memoGet(protocol0Int(line()).longValue()));
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(top());
                case 'c' -> {
                    String module = line(), name = line();
                    push(global(module, name));
                }
                case 0x93 -> {
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'Q' -> {
                    Object pid = pop();
                    push(hooks.persistentLoad(pid, currentKey()));
                }
                case 'P' -> push(hooks.persistentLoad(line(), currentKey()));
                case 'R' -> {
                    Object args = pop(), callable = pop();
                    push(reduce(callable, args));
                }
                case 's' -> {
                    Object v = pop(), k = pop();
                    dict(top()).put(key(k), v);
                }
                case 'u' -> {
                    List<Object> kv = popMark();
                    putAll(dict(top()), kv);
                }
                case 'a' -> {
                    Object v = pop();
                    list(top()).add(v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    list(top()).addAll(items);
                }
                case 'b' -> { // BUILD: only OrderedDict state (torch's _metadata) is accepted, and ignored
                    pop();
                    if (!(top() instanceof Map)) {
                        throw error("BUILD on a " + describe(top()) + " is not allowed");
                    }
                }
                default -> {
                    pos = at;
                    throw error(String.format("unknown or forbidden opcode 0x%02x", op));
                }
            }
        }
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private Long protocol0Int(String s) {
        String t = s.strip();
        if (t.equals("00")) {
            return 0L; // protocol 0 spells False this way
        }
        if (t.equals("01")) {
            return 1L;
        }
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw error("bad integer literal '" + (t.length() > 40 ? t.substring(0, 40) + "…" : t) + "'");
        }
    }

    private Object longN(long n) {
        byte[] b = bytes(n);
        if (b.length == 0) {
            return 0L;
        }
        byte[] be = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            be[i] = b[b.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private void memoPut(long k) {
        if (memo.size() >= MAX_MEMO && !memo.containsKey(k)) {
            throw error("more than " + MAX_MEMO + " memo entries");
        }
        memo.put(k, top());
    }

    private Object memoGet(long k) {
        if (!memo.containsKey(k)) {
            throw error("memo key " + k + " not defined");
        }
        return memo.get(k);
    }

    /**
     * State dicts (and the legacy header dicts) are keyed by strings and ints only; refusing any
     * other key also spares hashing a tuple of shared tuples, whose hash visits 2^depth nodes.
     */
    private Object key(Object k) {
        if (!(k instanceof String || k instanceof Long)) {
            throw error("dict key " + describe(k) + " is not a string or an int (a state dict needs no other)");
        }
        return k;
    }

    private void putAll(Map<Object, Object> d, List<Object> kv) {
        if (kv.size() % 2 != 0) {
            throw error("odd number of items for a dict");
        }
        for (int i = 0; i < kv.size(); i += 2) {
            d.put(key(kv.get(i)), kv.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw error("SETITEM on a " + describe(o));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw error("APPEND on a " + describe(o));
    }

    private Global global(String module, String name) {
        String full = module + "." + name;
        boolean ok = ALLOWED.contains(full)
                || module.equals("torch") && (STORAGE_TYPES.contains(name) || DTYPES.contains(name));
        if (!ok) {
            String shown = full.length() > 120 ? full.substring(0, 120) + "…" : full;
            throw error("refusing to load global '" + shown + "': only the globals of a tensor state dict are allowed (nothing was executed)");
        }
        return new Global(module, name);
    }

    private Object reduce(Object callable, Object args) {
        if (!(callable instanceof Global g)) {
            throw error("REDUCE of a " + describe(callable) + " is not allowed");
        }
        if (!(args instanceof Tuple t)) {
            throw error("REDUCE arguments are a " + describe(args) + ", not a tuple");
        }
        if (g.module.equals("collections") && g.name.equals("OrderedDict")) {
            if (t.size() == 0) {
                return new LinkedHashMap<>();
            }
            throw error("OrderedDict with arguments is not supported");
        }
        if (g.module.equals("torch._utils")) {
            return hooks.call(g, t, currentKey());
        }
        throw error("calling " + g + " is not allowed");
    }

    static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Global g) {
            return "global " + g;
        }
        return o.getClass().getSimpleName();
    }
}
