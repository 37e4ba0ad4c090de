"""Feature hashing shared by training and (mirrored in Rust) `crates/engine/src/detect/model.rs`.

Keep the two in lock-step; `golden.json` (written by train.py) pins them together in a Rust test.

1. Lowercase ASCII letters only (non-ASCII is kept as is, so Python and Rust agree exactly).
2. Tokens are maximal runs of "word characters": ASCII letters and digits, or any code point at or
   above U+0080. Everything else separates tokens. At most MAX_TOKENS tokens are used.
3. Windows: texts of up to WINDOW tokens are one window; longer ones are split into windows of
   WINDOW tokens every STRIDE tokens (the last window ends at the last token). The score of a text
   is the maximum over its windows, so an injection buried in a long document is not diluted.
4. Features of a window: each token (`w:tok`), each pair of adjacent tokens (`b:tok tok`), and
   each character 3- and 4-gram (by code point) of " " + tokens joined by " " + " " (`c:gram`).
5. Each feature string is hashed with 32-bit FNV-1a over its UTF-8 bytes; the low BITS bits are
   the bucket, bit 16 is the sign (+1 if 0, -1 if 1). A window's vector is the sum of signed
   occurrences per bucket, L2-normalised. Score = sigmoid(bias + w . x).
"""

import math

BITS = 16
BUCKETS = 1 << BITS
WINDOW = 64
STRIDE = 32
MAX_TOKENS = 4096


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def tokens(text: str):
    out, cur = [], []
    for ch in text:
        o = ord(ch)
        if o >= 0x80 or ch.isascii() and ch.isalnum():
            cur.append(ch.lower() if o < 0x80 else ch)
        elif cur:
            out.append("".join(cur))
            cur = []
            if len(out) >= MAX_TOKENS:
                return out
    if cur and len(out) < MAX_TOKENS:
        out.append("".join(cur))
    return out


def windows(toks):
    if len(toks) <= WINDOW:
        return [toks]
    out = []
    start = 0
    while True:
        end = min(start + WINDOW, len(toks))
        out.append(toks[end - WINDOW:end])
        if end == len(toks):
            return out
        start += STRIDE


def window_vector(toks):
    """Sparse L2-normalised {bucket: value}."""
    acc = {}

    def add(feat: str):
        h = fnv1a(feat.encode("utf-8"))
        b = h & (BUCKETS - 1)
        s = -1.0 if (h >> 16) & 1 else 1.0
        acc[b] = acc.get(b, 0.0) + s

    for i, t in enumerate(toks):
        add("w:" + t)
        if i + 1 < len(toks):
            add("b:" + t + " " + toks[i + 1])
    joined = " " + " ".join(toks) + " "
    for n in (3, 4):
        for i in range(len(joined) - n + 1):
            add("c:" + joined[i:i + n])
    norm = math.sqrt(sum(v * v for v in acc.values()))
    if norm == 0:
        return {}
    return {b: v / norm for b, v in acc.items() if v != 0}


def text_vectors(text: str):
    toks = tokens(text)
    if not toks:
        return []
    return [window_vector(w) for w in windows(toks)]


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def score(weights, bias, text):
    vecs = text_vectors(text)
    if not vecs:
        return 0.0  # nothing to classify
    return max(sigmoid(bias + sum(weights[b] * v for b, v in x.items())) for x in vecs)
