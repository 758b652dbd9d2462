package dev.jformers.core;

import java.util.Locale;

/**
 * Element types a tensor can hold. Loaded weights keep their file's dtype; every computation
 * runs in {@link #F32}.
 */
public enum DType {
    F64(8, "F64", "float64"),
    F32(4, "F32", "float32"),
    F16(2, "F16", "float16"),
    BF16(2, "BF16", "bfloat16"),
    I64(8, "I64", "int64"),
    I32(4, "I32", "int32"),
    I16(2, "I16", "int16"),
    I8(1, "I8", "int8"),
    U8(1, "U8", "uint8"),
    BOOL(1, "BOOL", "bool");

    private final int byteSize;
    private final String safetensorsName;
    private final String torchName;

    DType(int byteSize, String safetensorsName, String torchName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The name safetensors headers use ("F32", "BF16", …). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** The name PyTorch and Hugging Face use ("float32", "bfloat16", …). */
    public String torchName() {
        return torchName;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** Parses a safetensors dtype name; null if unknown. */
    public static DType fromSafetensorsName(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** Parses "float32", "torch.float16", "bf16", … ; null if unknown. */
    public static DType fromTorchName(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.startsWith("torch.")) {
            n = n.substring("torch.".length());
        }
        return switch (n) {
            case "float32", "float", "fp32", "f32" -> F32;
            case "float16", "half", "fp16", "f16" -> F16;
            case "bfloat16", "bf16" -> BF16;
            case "float64", "double", "f64" -> F64;
            case "int64", "long", "i64" -> I64;
            case "int32", "int", "i32" -> I32;
            case "int16", "short", "i16" -> I16;
            case "int8", "i8" -> I8;
            case "uint8", "u8" -> U8;
            case "bool" -> BOOL;
            default -> null;
        };
    }
}
