#!/usr/bin/env python3
"""Writes a Llama-architecture GGUF (v3) of a given shape with random weights, for speed and
memory measurements of full-size models without a checkpoint: `hardwire quantize/emulate` and
llama.cpp's llama-bench read the same file (docs/benchmarks.md). Pure Python, streamed to disk
tensor by tensor: matrices in F16, Q8_0 or Q4_0, norm weights F32 = 1. The values are random
bytes shaped into valid encodings (F16: exponents limited to |w| in [2^-8, 2^-4); Q8_0/Q4_0: a
fixed block scale and uniform random quants), not trained weights: the work per token of a
decoder does not depend on them. The tokenizer is "no_vocab" (llama.cpp runs it; token ids are
the vocabulary indices).

  scripts/make_synthetic_gguf.py --preset llama-3.2-1b --type q4_0 --out /tmp/l1b-q4_0.gguf
"""
import argparse
import os
import struct
import sys

PRESETS = {
    # name: layers, d_model, heads, kv heads, d_ff, vocab, tied, rope theta, context
    "llama-3.2-1b": (16, 2048, 32, 8, 8192, 128256, True, 500000.0, 131072),
    "llama-3.1-8b": (32, 4096, 32, 8, 14336, 128256, False, 500000.0, 131072),
}

GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
TYPES = {"f16": GGML_F16, "q8_0": GGML_Q8_0, "q4_0": GGML_Q4_0}
ALIGN = 32
CHUNK_VALUES = 1 << 24  # values generated per write


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gguf_str(key) + struct.pack("<I", vtype) + payload


def kv_u32(key, v):
    return kv(key, 4, struct.pack("<I", v))


def kv_f32(key, v):
    return kv(key, 6, struct.pack("<f", v))


def kv_string(key, v):
    return kv(key, 8, gguf_str(v))


def tensor_bytes(ggml_type, n):
    if ggml_type == GGML_F32:
        return 4 * n
    if ggml_type == GGML_F16:
        return 2 * n
    if ggml_type == GGML_Q8_0:
        return n // 32 * 34
    return n // 32 * 18


# F16 high byte: keep the sign and two mantissa bits, force the exponent field to 7 or 8
# (|w| in [2^-8, 2^-6)), via one byte translation table.
HIGH = bytes(((b & 0x83) | ((0x20 if b & 0x04 else 0x1C))) for b in range(256))


def random_chunk(ggml_type, n):
    if ggml_type == GGML_F16:
        raw = bytearray(os.urandom(2 * n))
        raw[1::2] = bytes(raw[1::2]).translate(HIGH)
        return bytes(raw)
    blocks = n // 32
    if ggml_type == GGML_Q8_0:
        out = bytearray(blocks * 34)
        q = os.urandom(blocks * 32)
        out[0::34] = b"\x00" * blocks        # scale fp16 0x0c00 = 2^-12
        out[1::34] = b"\x0c" * blocks
        for j in range(32):
            out[2 + j::34] = q[j::32]
        return bytes(out)
    out = bytearray(blocks * 18)
    q = os.urandom(blocks * 16)
    out[0::18] = b"\x00" * blocks            # scale fp16 0x1800 = 2^-9
    out[1::18] = b"\x18" * blocks
    for j in range(16):
        out[2 + j::18] = q[j::16]
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), required=True)
    ap.add_argument("--type", choices=sorted(TYPES), required=True, help="matrix encoding")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    n_layers, d, heads, kv_heads, d_ff, vocab, tied, theta, ctx = PRESETS[args.preset]
    head_dim = d // heads
    mtype = TYPES[args.type]

    tensors = [("token_embd.weight", [d, vocab], mtype)]
    for l in range(n_layers):
        p = "blk.%d." % l
        tensors += [
            (p + "attn_norm.weight", [d], GGML_F32),
            (p + "attn_q.weight", [d, heads * head_dim], mtype),
            (p + "attn_k.weight", [d, kv_heads * head_dim], mtype),
            (p + "attn_v.weight", [d, kv_heads * head_dim], mtype),
            (p + "attn_output.weight", [heads * head_dim, d], mtype),
            (p + "ffn_norm.weight", [d], GGML_F32),
            (p + "ffn_gate.weight", [d, d_ff], mtype),
            (p + "ffn_up.weight", [d, d_ff], mtype),
            (p + "ffn_down.weight", [d_ff, d], mtype),
        ]
    tensors.append(("output_norm.weight", [d], GGML_F32))
    if not tied:
        tensors.append(("output.weight", [d, vocab], mtype))

    meta = [
        kv_string("general.architecture", "llama"),
        kv_string("general.name", "synthetic-" + args.preset),
        kv_u32("general.alignment", ALIGN),
        kv_u32("llama.context_length", ctx),
        kv_u32("llama.embedding_length", d),
        kv_u32("llama.block_count", n_layers),
        kv_u32("llama.feed_forward_length", d_ff),
        kv_u32("llama.attention.head_count", heads),
        kv_u32("llama.attention.head_count_kv", kv_heads),
        kv_u32("llama.rope.dimension_count", head_dim),
        kv_u32("llama.vocab_size", vocab),
        kv_f32("llama.rope.freq_base", theta),
        kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5),
        kv_string("tokenizer.ggml.model", "no_vocab"),
    ]
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta)
    offset = 0
    sizes = []
    for name, ne, t in tensors:
        n = 1
        for x in ne:
            n *= x
        size = tensor_bytes(t, n)
        offset = (offset + ALIGN - 1) // ALIGN * ALIGN
        header += gguf_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", x) for x in ne)
        header += struct.pack("<IQ", t, offset)
        sizes.append((n, size, offset, t))
        offset += size
    pad = (-len(header)) % ALIGN
    with open(args.out, "wb") as f:
        f.write(header + b"\0" * pad)
        at = 0
        for i, (n, size, off, t) in enumerate(sizes):
            if off > at:
                f.write(b"\0" * (off - at))
                at = off
            if t == GGML_F32:
                f.write(struct.pack("<f", 1.0) * n)
            else:
                done = 0
                while done < n:
                    k = min(CHUNK_VALUES, n - done)
                    f.write(random_chunk(t, k))
                    done += k
            at += size
            sys.stderr.write("\rwrote %d/%d tensors" % (i + 1, len(sizes)))
    sys.stderr.write("\n%s: %.2f GB\n" % (args.out, os.path.getsize(args.out) / 1e9))


if __name__ == "__main__":
    main()
