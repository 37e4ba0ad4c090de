"""Task `secrets`: credentials in real code, config and prose, span-matched.

No labelled secret corpus ships in any registry (../shared/DATA-SOURCES.md), so:
- **Positives** are generated from each provider's documented format (`secrets_formats.py`:
  random bodies of the right alphabet and length, GitHub's CRC32 and age's Bech32 checksums,
  JWTs with real JSON) and placed into carriers built from REAL lines of the Rust crates'
  sources under `~/.cargo/registry/src` (their `.rs`, `.toml`, `.json`, `.yml`, `.md` files):
  a real `let x = "…";`, TOML, JSON or YAML assignment gets the secret as its value; a real
  `env::var("NAME")` name becomes `NAME=<secret>`; a real URL gets `user:password@`; a real
  README sentence or command line gets the secret appended. Config files (`.npmrc`, Maven
  `settings.xml`, Docker `config.json`, `.pypirc`, a service-account JSON) use the file's
  documented layout around real identifiers (team-written layouts: rare cases, not the bulk).
  Each carrier line sits among the real lines around it in its file.
- **Negatives** are chunks of real lines from the same sources (full of hashes, UUIDs, base64
  and hex) and real benign prompts from `inspect-evals` (writingbench). Real lines that hold an
  unlabelled credential-shaped literal (a PEM private key with a body, a JWT, `user:pass@` in a
  URL) are dropped from the negatives and counted in the manifest: a scanner should flag them.
- Rows are grouped by provider+value (positives) and by source file (negatives), so no value
  and no file crosses splits.

Metrics: every finding of `sentinelai.secrets` counts as type `secret`; span overlap and strict
boundaries; per provider (gold spans) and per carrier source.
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402
import secrets_formats as sf  # noqa: E402

TASK = "secrets"
PINS = [
    ("pypi", "inspect-evals", "0.26.0",
     "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
]
CARGO_SRC = os.path.expanduser(os.environ.get("SENTINEL_CARGO_SRC", "~/.cargo/registry/src"))
POLICY = "any.text has sentinelai.secrets"
PER_RULE = 40
NEG_CHUNKS = 10000
SEED = 20261204

# Lines of real files that carry a value we can replace.
RS_LET = re.compile(r'^(\s*(?:let|const|static)\s+(?:mut\s+)?)(\w+)(\s*(?::\s*&(?:\'static\s+)?str)?\s*=\s*)"([^"\\]{3,80})"(;.*)$')
TOML_KV = re.compile(r'^(\s*)([\w.-]+)(\s*=\s*)"([^"\\]{1,80})"(\s*)$')
JSON_KV = re.compile(r'^(\s*)"([\w.-]+)"(\s*:\s*)"([^"\\]{1,80})"(,?\s*)$')
YAML_KV = re.compile(r'^(\s*)([\w.-]+)(:\s+)([^\s#\'"{}\[\]][^#]{0,79}?)(\s*)$')
ENV_VAR = re.compile(r'env(?:::var(?:_os)?|!)\(\s*"([A-Z][A-Z0-9_]{2,40})"')
URL = re.compile(r'https?://[a-z0-9.-]+\.[a-z]{2,}(?:/[\w./-]*)?')
CMD = re.compile(r'^\s*(?:\$ )?(?:cargo|curl|git|docker|npm|pip|rustup|kubectl|gh|make)\s+\S.{5,120}$')
# Credential-shaped literals that real files sometimes hold (test vectors): not negatives.
UNLABELLED = re.compile(
    r'-----BEGIN [A-Z ]*PRIVATE KEY[^\n]*-----\s*\\?n?[A-Za-z0-9+/]{16}'
    r'|\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.'
    r'|://[^\s:/@"\']+:[^\s@/"\'$<{]{3,}@'
    r'|\b(?:gh[pousr]_|github_pat_|glpat-|xox[abposr]-|sk_live_|AKIA[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35}|SG\.[\w-]{22}\.)'
    r'|AGE-SECRET-KEY-1')

SECRET_NAMES = ["api_key", "apiKey", "API_KEY", "secret", "client_secret", "token", "auth_token",
                "access_token", "SECRET_KEY", "password", "db_password", "passwd", "credentials",
                "private_key", "secret_key", "ACCESS_KEY", "apikey", "authToken", "pwd"]
# The name under which a provider's token is usually assigned.
PROVIDER_NAMES = {
    "aws_secret": ["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "awsSecretKey", "SecretAccessKey"],
    "twilio_auth": ["TWILIO_AUTH_TOKEN", "twilio_auth_token", "twilioAuthToken"],
    "heroku": ["HEROKU_API_KEY", "heroku_api_key", "herokuApiKey"],
    "discord": ["DISCORD_TOKEN", "discord_bot_token", "discordToken"],
    "datadog": ["DD_API_KEY", "datadog_api_key", "DATADOG_APP_KEY"],
    "okta": ["OKTA_API_TOKEN", "okta_token", "oktaApiToken"],
    "vercel": ["VERCEL_TOKEN", "vercel_token", "vercelToken"],
    "cloudflare": ["CLOUDFLARE_API_TOKEN", "cloudflare_api_token", "CF_API_TOKEN"],
}


def log(*a):
    common.log("secrets:", *a)


def source_files(rng: random.Random) -> list[str]:
    crates = sorted(glob.glob(os.path.join(CARGO_SRC, "*", "*")))
    if not crates:
        raise SystemExit(f"no crate sources under {CARGO_SRC}")
    files = []
    for c in crates:
        for root, _, names in os.walk(c):
            for n in sorted(names):
                if n.endswith((".rs", ".toml", ".json", ".yml", ".yaml", ".md")):
                    files.append(os.path.join(root, n))
    files.sort()
    rng.shuffle(files)
    return files


def read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(200_000)
    except (UnicodeDecodeError, OSError):
        return []
    return [l for l in text.split("\n") if len(l) < 400]


def crate_of(path: str) -> str:
    rel = os.path.relpath(path, CARGO_SRC).split(os.sep)
    return "/".join(rel[1:2])


def ext_of(path: str) -> str:
    e = os.path.splitext(path)[1].lstrip(".")
    return {"yaml": "yml"}.get(e, e)


def harvest(files: list[str]):
    """Real carrier lines by kind, each with its file and line index, and negative chunks."""
    carriers = {k: [] for k in ("rust_let", "toml", "json", "yaml", "env", "url", "cmd", "prose")}
    negatives, dropped = [], 0
    for path in files[:6000]:
        lines = read_lines(path)
        if not lines:
            continue
        e = ext_of(path)
        for i, l in enumerate(lines):
            if e == "rs" and RS_LET.match(l):
                carriers["rust_let"].append((path, i))
            elif e == "toml" and TOML_KV.match(l):
                carriers["toml"].append((path, i))
            elif e == "json" and JSON_KV.match(l):
                carriers["json"].append((path, i))
            elif e == "yml" and YAML_KV.match(l):
                carriers["yaml"].append((path, i))
            elif e == "md" and CMD.match(l):
                carriers["cmd"].append((path, i))
            elif e == "md" and 60 < len(l) < 300 and l[:1].isalpha() and l.count(" ") > 8:
                carriers["prose"].append((path, i))
            for m in ENV_VAR.finditer(l):
                carriers["env"].append((path, i, m.group(1)))
            if "://" in l and e in ("rs", "md", "toml") and URL.search(l):
                carriers["url"].append((path, i))
        # Negative chunks: a few consecutive real lines, every ~120 lines of a file.
        for start in range(0, len(lines), 120):
            n = 1 + (start // 120 + len(path)) % 8
            chunk = "\n".join(lines[start:start + n]).strip()
            if len(chunk) < 20:
                continue
            if UNLABELLED.search(chunk):
                dropped += 1
                continue
            negatives.append((path, chunk))
    return carriers, negatives, dropped


def context(rng, lines, i, line):
    """The carrier line among up to three real lines around it."""
    before = lines[max(0, i - rng.randint(0, 3)):i]
    after = lines[i + 1:i + 1 + rng.randint(0, 3)]
    pre = "\n".join(before)
    text = (pre + "\n" if pre else "") + line
    start_of_line = len(text) - len(line)
    if after:
        text += "\n" + "\n".join(after)
    return text, start_of_line


def name_for(rng, kind, provider):
    if kind in PROVIDER_NAMES:
        return rng.choice(PROVIDER_NAMES[kind])
    if kind == "password":
        return rng.choice(["password", "db_password", "passwd", "PASSWORD", "pwd", "smtp_password"])
    if kind == "generic":
        return rng.choice(SECRET_NAMES)
    return rng.choice([f"{provider}_token", f"{provider.upper()}_API_KEY", f"{provider}Key", "token",
                       "api_key", "key", "value", "auth"])


def place(rng, carriers, cache, provider, rule, value, kind):
    """(text, start, end, carrier) with the secret at text[start:end]."""
    def pick(kind_name):
        item = rng.choice(carriers[kind_name])
        lines = cache.setdefault(item[0], read_lines(item[0]))
        return item, lines

    if kind == "block":
        item, lines = pick("rust_let")
        m = RS_LET.match(lines[item[1]])
        line_pre = f'{m.group(1)}{m.group(2)}{m.group(3)}r#"'
        line = line_pre + value + '"#;'
        text, off = context(rng, lines, item[1], line)
        return text, off + len(line_pre), off + len(line_pre) + len(value), "rust_let"
    if kind == "docker":
        reg = rng.choice(["https://index.docker.io/v1/", "ghcr.io", "registry.gitlab.com", "quay.io"])
        pre = '{\n  "auths": {\n    "' + reg + '": {\n      "auth": "'
        return pre + value + '"\n    }\n  }\n}', len(pre), len(pre) + len(value), "docker_config"
    if kind == "npmrc":
        item, lines = pick("url")
        host = re.search(r"https?://([a-z0-9.-]+)", lines[item[1]]).group(1)
        key = rng.choice(["_authToken", "_auth"])
        pre = f"registry=https://{host}/\n//{host}/:{key}="
        return pre + value + "\nalways-auth=true", len(pre), len(pre) + len(value), "npmrc"
    if kind == "maven":
        item, lines = pick("toml")
        ident = TOML_KV.match(lines[item[1]]).group(4).split()[0][:40]
        pre = (f"<settings>\n  <servers>\n    <server>\n      <id>{ident}</id>\n"
               f"      <username>deploy</username>\n      <password>")
        post = "</password>\n    </server>\n  </servers>\n</settings>"
        return pre + value + post, len(pre), len(pre) + len(value), "maven_settings"
    if kind == "pypirc":
        pre = "[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\npassword = "
        return pre + value + "\n", len(pre), len(pre) + len(value), "pypirc"
    if kind == "url":
        item, lines = pick("url")
        line = lines[item[1]]
        m = URL.search(line)
        scheme, rest = m.group(0).split("://", 1)
        if rng.random() < 0.5:
            scheme = rng.choice(["postgres", "mysql", "redis", "amqp", "mongodb", "https", "ftp"])
        user = rng.choice(["admin", "deploy", "app", "root", "svc_" + rs_word(rng)])
        new = f"{scheme}://{user}:{value}@{rest}"
        line = line[:m.start()] + new + line[m.end():]
        text, off = context(rng, lines, item[1], line)
        s = off + m.start() + len(scheme) + 3 + len(user) + 1
        return text, s, s + len(value), "url"
    if kind == "sas":
        item, lines = pick("url")
        acct = rs_word(rng)
        url = (f"https://{acct}.blob.core.windows.net/data?sv=2022-11-02&ss=b&srt=co&sp=rl"
               f"&se=2026-12-31T00:00:00Z&sig=")
        text = url + value
        return text, len(url), len(text), "url"
    if kind == "azure_conn":
        pre = f"DefaultEndpointsProtocol=https;AccountName={rs_word(rng)};AccountKey="
        name = rng.choice(["AZURE_STORAGE_CONNECTION_STRING", "ConnectionStrings__Storage", "storage"])
        pre = f'{name}="{pre}'
        return pre + value + ';EndpointSuffix=core.windows.net"', len(pre), len(pre) + len(value), "env"
    if provider == "gcp" and rule == "gcp_service_account":
        esc = value.replace("\n", "\\n") + "\\n"
        pre = ('{\n  "type": "service_account",\n  "project_id": "' + rs_word(rng) + '",\n'
               '  "private_key_id": "' + sf.rs(rng, sf.HEX, 40) + '",\n  "private_key": "')
        s = len(pre)
        text = pre + esc + '",\n  "client_email": "ci@' + rs_word(rng) + '.iam.gserviceaccount.com"\n}'
        return text, s, s + len(esc) - 2, "gcp_json"
    # Assignments in real lines: code, TOML, JSON, YAML, env, a command line or prose.
    choices = ["rust_let", "toml", "json", "yaml", "env"]
    if kind == "token":
        choices += ["cmd", "prose", "prose"]
    elif kind in ("generic", "password"):
        choices += ["cmd"]
    carrier = rng.choice(choices)
    named = kind != "token" or rng.random() < 0.6
    if carrier == "env":
        item, lines = pick("env")
        var = item[2] if not named else name_for(rng, kind, provider).upper()
        quote = rng.choice(["", '"'])
        pre = f"export {var}={quote}" if rng.random() < 0.3 else f"{var}={quote}"
        return pre + value + quote, len(pre), len(pre) + len(value), "env"
    if carrier in ("cmd", "prose"):
        item, lines = pick(carrier)
        line = lines[item[1]].rstrip()
        if carrier == "cmd" and kind == "password":
            glue = rng.choice([" --password ", " --db-password=", " -p --passwd "])
        elif carrier == "cmd" and kind == "generic":
            glue = rng.choice([" --token ", " --api-key=", " --client-secret ", " --secret "])
        elif carrier == "cmd":
            glue = rng.choice([" --token ", " -H 'Authorization: Bearer ", " --api-key=", " --password "])
        else:
            glue = rng.choice([" Here is the key: ", " (token ", " Use ", " My API key is "])
        line2 = line + glue
        text, off = context(rng, lines, item[1], line2 + value + ("'" if "'" in glue else ""))
        s = off + len(line2)
        return text, s, s + len(value), carrier
    regex = {"rust_let": RS_LET, "toml": TOML_KV, "json": JSON_KV, "yaml": YAML_KV}[carrier]
    item, lines = pick(carrier)
    m = regex.match(lines[item[1]])
    name = name_for(rng, kind, provider) if named else m.group(2)
    pre = m.group(1) + name + m.group(3)
    if carrier != "yaml":
        pre += '"'
    post = ('"' if carrier != "yaml" else "") + m.group(5)
    line = pre + value + post
    text, off = context(rng, lines, item[1], line)
    return text, off + len(pre), off + len(pre) + len(value), carrier


def rs_word(rng):
    return rng.choice(["acme", "prod", "billing", "infra", "data", "core", "edge"]) + str(rng.randint(1, 999))


def char_span(text: str, s: int, e: int):
    # Python str offsets are already Unicode scalar offsets.
    return s, e


def prepare() -> None:
    rng = random.Random(SEED)
    files = source_files(rng)
    carriers, negatives, dropped = harvest(files)
    log("carriers", {k: len(v) for k, v in carriers.items()}, "negative chunks", len(negatives),
        "dropped (unlabelled credentials)", dropped)
    cache: dict[str, list[str]] = {}
    rows = []
    for provider, rules in sf.FORMATS.items():
        for rule, gen in rules.items():
            for k in range(PER_RULE):
                value, kind = gen(rng)
                text, s, e, carrier = place(rng, carriers, cache, provider, rule, value, kind)
                assert text[s:e] in value or value.replace("\n", "\\n").startswith(text[s:e]), (rule, text[s:e])
                rows.append({"id": f"pos-{provider}-{rule}-{k}", "text": text, "source": f"carrier:{carrier}",
                             "label": 1, "spans": [{"start": s, "end": e, "type": "secret"}],
                             "provider": provider, "rule": rule, "group": f"{provider}:{value}"})
    rng.shuffle(negatives)
    for k, (path, chunk) in enumerate(negatives[:NEG_CHUNKS]):
        rows.append({"id": f"neg-code-{k}", "text": chunk, "source": f"cargo-src:{ext_of(path)}",
                     "label": 0, "spans": [], "group": f"file:{crate_of(path)}"})
    wb = os.path.join(common.fetch(*PINS[0]), "inspect_evals", "writingbench", "benchmark_all.jsonl")
    with open(wb, encoding="utf-8") as f:
        for k, line in enumerate(f):
            q = json.loads(line).get("query", "")
            if q and not UNLABELLED.search(q):
                rows.append({"id": f"neg-prose-{k}", "text": q[:4000], "source": "inspect-evals:writingbench",
                             "label": 0, "spans": [], "group": f"wb:{k}"})
    common.write_splits(TASK, rows, {"dropped_negative_chunks_with_credentials": dropped,
                                     "seed": SEED, "per_rule": PER_RULE})


def evaluate(mode: str, split: str):
    rows = common.read_split(TASK, split)
    results = common.run_check(rows, [POLICY], mode)
    overall = {"overlap": common.Counts(), "strict": common.Counts()}
    by_provider: dict[str, dict[str, common.Counts]] = {}
    by_source: dict[str, dict[str, common.Counts]] = {}
    fp_entities: dict[str, int] = {}
    neg_rows: dict[str, list[int]] = {}
    for r in rows:
        if not r["spans"]:
            fired = int(bool(results[r["id"]]["findings"]))
            neg_rows.setdefault(r["source"], [0, 0])
            neg_rows[r["source"]][0] += fired
            neg_rows[r["source"]][1] += 1
        preds = [{"start": f["start"], "end": f["end"], "type": "secret", "entity": f["entity"]}
                 for f in results[r["id"]]["findings"]]
        for how in ("overlap", "strict"):
            c = common.span_counts(r["spans"], preds, overlap=how == "overlap").get("secret", common.Counts())
            overall[how].add(c)
            key = r.get("provider", "(negatives)")
            by_provider.setdefault(key, {"overlap": common.Counts(), "strict": common.Counts()})[how].add(c)
            by_source.setdefault(r["source"], {"overlap": common.Counts(), "strict": common.Counts()})[how].add(c)
            if how == "overlap" and c.fp:
                for p in preds:
                    if not any(p["start"] < g["end"] and g["start"] < p["end"] for g in r["spans"]):
                        fp_entities[p["entity"]] = fp_entities.get(p["entity"], 0) + 1
    header = ["", "gold", "P (overlap)", "R (overlap)", "F1 (overlap)", "P (strict)", "R (strict)", "F1 (strict)"]

    def row(name, d):
        o, s = d["overlap"], d["strict"]
        return [name, o.tp + o.fn, o.precision, o.recall, o.f1, s.precision, s.recall, s.f1]

    t1 = common.Table(f"secrets: overall ({split}, {mode})", header)
    t1.add(*row("sentinelai.secrets", overall))
    t2 = common.Table(f"secrets: per provider ({split}, {mode}); precision counts FPs on the provider's rows", header)
    for k in sorted(by_provider):
        t2.add(*row(k, by_provider[k]))
    t3 = common.Table(f"secrets: per carrier source ({split}, {mode})", header)
    for k in sorted(by_source):
        t3.add(*row(k, by_source[k]))
    t4 = common.Table(f"secrets: false positives by reported entity ({split}, {mode})", ["entity", "FP spans"])
    for k, v in sorted(fp_entities.items(), key=lambda x: -x[1]):
        t4.add(k, v)
    t5 = common.Table(f"secrets: negative rows with any finding ({split}, {mode})",
                      ["source", "rows", "flagged", "FPR"])
    tot = [0, 0]
    for k, (f, n) in sorted(neg_rows.items()):
        t5.add(k, n, f, f / n if n else 0.0)
        tot[0] += f
        tot[1] += n
    t5.add("all negatives", tot[1], tot[0], tot[0] / tot[1] if tot[1] else 0.0)
    common.record(TASK, "strict_f1", overall["strict"].f1)
    return [t1, t2, t3, t5, t4]


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md.
FLOORS = {"balanced": {"strict_f1": 0.95}}
