"""Feature hashing shared by training and (mirrored in Rust) `crates/engine/src/detect/model.rs`.

Keep the two in lock-step; `golden.json` (written by train.py) pins them together in a Rust test.
The scheme is built so the Rust side is one pass over the bytes with no allocation per feature:

1. The text is read as UTF-8 bytes. ASCII letters are lowercased. A *word byte* is an ASCII
   letter or digit or any byte >= 0x80 (so non-ASCII text is kept, byte for byte). Maximal runs
   of word bytes are tokens; at most MAX_TOKENS tokens are read.
2. The *stream* is " " + tokens joined by " " + " ". Every byte pushed to the stream (after the
   first) emits its character 3-gram and 4-gram (the last 3 / 4 stream bytes), once the stream is
   that long. Each finished token emits a word feature (its 32-bit FNV-1a hash) and, if it has a
   predecessor, a word-bigram feature. Every feature belongs to the token being read (a gram
   ending in the space after a token belongs to that token).
3. Feature keys are 64-bit integers (below) and go through `mix`; the top BITS bits of the mixed
   value are the bucket and the bit under them the sign.
4. A window is a run of at most WINDOW tokens; its score is
   sigmoid(bias + sum(sign * w[bucket] over its features) / sqrt(number of its features)).
   A text of up to WINDOW tokens is one window; a longer one is scored over the windows
   [s, s + WINDOW) for s = 0, STRIDE, 2*STRIDE, ... while s + WINDOW < tokens, plus the last
   WINDOW tokens. The text's score is its best window's, so an injection buried in a long
   document is not diluted, less `window_penalty * ln(number of windows)` (a model's optional
   correction for taking the best of many windows; 0 unless its file says otherwise). A text
   without tokens scores 0.
"""

import math

WINDOW = 32
STRIDE = 8
MAX_TOKENS = 4096
MASK64 = (1 << 64) - 1
MUL = 0x9E3779B97F4A7C15
TAG3 = 3 << 56
TAG4 = 4 << 56
TAGW = 1 << 56
BIGRAM_ADD = 0x2545F4914F6CDD1D


def mix(x: int) -> int:
    x = (x * MUL) & MASK64
    return x ^ (x >> 29)


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def is_word(b: int) -> bool:
    return b >= 0x80 or 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122


def token_features(text: str):
    """Per token, the list of mixed feature hashes it owns."""
    data = text.encode("utf-8")
    toks = []  # list of lists of mixed hashes
    reg = 0x20  # the leading space
    slen = 1
    cur = None  # features of the token being read
    h = 0
    prev = None

    def push(byte, feats):
        nonlocal reg, slen
        reg = ((reg << 8) | byte) & MASK64
        slen += 1
        if slen >= 3:
            feats.append(mix((reg & 0xFFFFFF) | TAG3))
        if slen >= 4:
            feats.append(mix((reg & 0xFFFFFFFF) | TAG4))

    def finish(feats):
        nonlocal prev
        feats.append(mix(h | TAGW))
        if prev is not None:
            feats.append(mix((((prev << 32) | h) + BIGRAM_ADD) & MASK64))
        prev = h
        push(0x20, feats)
        toks.append(feats)

    for b in data:
        if is_word(b):
            if 65 <= b <= 90:
                b += 32
            if cur is None:
                if len(toks) >= MAX_TOKENS:
                    return toks
                cur = []
                h = 0x811C9DC5
            push(b, cur)
            h ^= b
            h = (h * 0x01000193) & 0xFFFFFFFF
        elif cur is not None:
            finish(cur)
            cur = None
    if cur is not None:
        finish(cur)
    return toks


def window_ranges(n):
    if n <= WINDOW:
        return [(0, n)]
    out = []
    s = 0
    while s + WINDOW < n:
        out.append((s, s + WINDOW))
        s += STRIDE
    out.append((n - WINDOW, n))
    return out


def split(m: int, bits: int):
    """(bucket, sign) of a mixed hash."""
    return m >> (64 - bits), (-1.0 if (m >> (63 - bits)) & 1 else 1.0)


def text_vectors(text: str, bits: int):
    """Sparse {bucket: value} per window; value = signed count / sqrt(features in window)."""
    toks = token_features(text)
    if not toks:
        return []
    out = []
    for a, b in window_ranges(len(toks)):
        acc = {}
        n = 0
        for feats in toks[a:b]:
            for m in feats:
                k, s = split(m, bits)
                acc[k] = acc.get(k, 0.0) + s
                n += 1
        r = 1.0 / math.sqrt(n)
        out.append({k: v * r for k, v in acc.items() if v != 0})
    return out


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def score(weights, bias, bits, text, window_penalty=0.0):
    vecs = text_vectors(text, bits)
    if not vecs:
        return 0.0  # nothing to classify
    best = max(bias + sum(weights[b] * v for b, v in x.items()) for x in vecs)
    return sigmoid(best - window_penalty * math.log(len(vecs)))
