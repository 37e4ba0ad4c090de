#!/usr/bin/env python3
"""Export the `alt-profanity-check` 1.9.1 model (MIT) to a compact text file the engine scores in
Rust, and write the golden scores that pin the two together.

    /var/tmp/sentinel-quality/venv/bin/pip install scikit-learn==1.9.1 joblib==1.6.0
    /var/tmp/sentinel-quality/venv/bin/python scripts/train/export_profanity_check.py

alt-profanity-check (https://pypi.org/project/alt-profanity-check/, by Victor Zhou, Menelaos
Kotoglou and Dimitrios Mistriotis, MIT licence) ships a scikit-learn `TfidfVectorizer`
(lowercased words of two or more word characters, English stop words removed, 15,442 words, smooth
idf, l2 norm) and a `CalibratedClassifierCV` of five `LinearSVC`s with sigmoid calibration. Its
authors trained it on about 200k human-labelled comments: the Davidson et al. hate-speech and
offensive-language tweets and the Jigsaw (Wikipedia) toxic comment set. Nothing of that data ships
in the package or here; only the vocabulary, idf values and coefficients do.

The model's `predict_proba(x)[1]` is the mean over the five calibrated classifiers of
`1 / (1 + exp(a_k * (w_k . x + c_k) + b_k))`, with `x` the l2-normalised tf-idf vector. The file
keeps, per word, its idf and the five `w_k`; the header keeps `c_k`, `a_k`, `b_k`.

Writes `crates/engine/src/detect/toxicity/profanity_check.tsv` and
`crates/engine/src/detect/toxicity/golden.json` (synthetic texts built from the vocabulary and
team-written sentences, never third-party text, with the Python model's probabilities).
"""

import hashlib
import json
import os
import random
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "quality"))
from common import fetch  # noqa: E402

PIN = ("pypi", "alt-profanity-check", "1.9.1",
       "cccb8ce072306bac21188670777a25cfb1de978aa8c7a93c8e4a43c03b3945c3")
OUT = os.path.join(ROOT, "crates", "engine", "src", "detect", "toxicity")

TEAM_SENTENCES = [
    "You are a stupid idiot and everyone knows it.",
    "Thanks so much for the help, this works perfectly!",
    "How do I kill a Python process that hangs?",
    "This bug is killing me.",
    "I live in Scunthorpe.",
    "What the hell is wrong with you?",
    "shut up, you worthless piece of garbage",
    "The weather in Lisbon is lovely in June.",
    "fuck this shit",
    "F*CK YOU!!!",
    "Please summarise the attached report in three bullet points.",
    "you're such a loser lol",
    "I will find you and hurt you.",
    "Übermäßig große Städte, naïve café owners and Ελληνικά words.",
    "snake_case_names and CamelCase and x2 and 42 and a1b2c3",
    "don't won't can't it's",
    "",
    "a",
    "ab",
    "   \n\t  ",
]


def main() -> int:
    import joblib  # noqa: PLC0415 (only in the venv)
    import numpy as np  # noqa: PLC0415
    import sklearn  # noqa: PLC0415

    if sklearn.__version__ != "1.9.1":
        raise SystemExit(f"scikit-learn {sklearn.__version__}: the pickles need 1.9.1")
    pkg = fetch(*PIN)
    data = os.path.join(pkg, "profanity_check", "data")
    vec = joblib.load(os.path.join(data, "vectorizer.joblib"))
    model = joblib.load(os.path.join(data, "model.joblib"))
    assert vec.token_pattern == r"(?u)\b\w\w+\b" and vec.lowercase and vec.norm == "l2"
    assert vec.ngram_range == (1, 1) and vec.smooth_idf and not vec.sublinear_tf
    assert model.method == "sigmoid" and list(model.classes_) == [0, 1]
    ccs = model.calibrated_classifiers_
    vocab = sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
    idf = vec.idf_
    coef = np.array([cc.estimator.coef_[0] for cc in ccs])  # (5, V)
    intercept = [float(cc.estimator.intercept_[0]) for cc in ccs]
    cal = [(float(cc.calibrators[0].a_), float(cc.calibrators[0].b_)) for cc in ccs]

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "profanity_check.tsv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("# Exported from alt-profanity-check 1.9.1 (PyPI, MIT licence; Victor Zhou, Menelaos\n"
                "# Kotoglou, Dimitrios Mistriotis) by scripts/train/export_profanity_check.py.\n"
                "# A tf-idf + calibrated linear SVM trained by its authors on human-labelled tweets\n"
                "# (Davidson et al.) and Wikipedia comments (Jigsaw). Format: `classifiers` line:\n"
                "# k, then per classifier `intercept a b`; then one line per word: word, idf, k weights.\n")
        f.write("classifiers\t" + str(len(ccs)) + "\t"
                + "\t".join(f"{c!r}\t{a!r}\t{b!r}" for c, (a, b) in zip(intercept, cal)) + "\n")
        for word, j in vocab:
            assert "\t" not in word and "\n" not in word
            f.write(word + "\t" + f"{idf[j]:.7g}" + "\t"
                    + "\t".join(f"{w:.6g}" for w in coef[:, j]) + "\n")
    print(f"{path}: {len(vocab)} words, {os.path.getsize(path)} bytes")

    # Golden texts: team sentences plus synthetic mixes of vocabulary words (the toxic ones more
    # often), unknown words, stop words, punctuation, casing, digits and repeated words.
    rng = random.Random(11)
    words = [w for w, _ in vocab]
    strong = [words[j] for j in np.argsort(-coef.mean(axis=0))[:400]]
    fillers = ["the", "and", "you", "are", "a", "zzqx", "Qwerty", "foo_bar", "x", "ok!", "1",
               "42", "it's", "don't", "naïve", "café", "Straße", "...", ",", "?!", "\n", "—"]
    texts = list(TEAM_SENTENCES)
    for i in range(400):
        n = rng.randint(1, 40)
        toks = []
        for _ in range(n):
            r = rng.random()
            pool = strong if r < 0.25 else words if r < 0.7 else fillers
            t = rng.choice(pool)
            if rng.random() < 0.15:
                t = t.upper()
            elif rng.random() < 0.1:
                t = t.capitalize()
            toks.append(t)
        sep = rng.choice([" ", " ", " ", ", ", ". ", "\n", "  "])
        texts.append(sep.join(toks))
    probs = model.predict_proba(vec.transform(texts))[:, 1]
    golden = [{"text": t, "p": float(p)} for t, p in zip(texts, probs)]
    with open(os.path.join(OUT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({"source": "alt-profanity-check 1.9.1 predict_proba", "cases": golden}, f,
                  ensure_ascii=False, indent=0)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    print(f"golden: {len(golden)} texts; tsv sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
