"""Credential generators for the `secrets` task: one per provider format, from each provider's
public documentation of its token format (prefix, alphabet, length, checksum).

Each generator takes a `random.Random` and returns `(value, kind)`: `value` is the secret as it
would be pasted, `kind` says how it is usually assigned (`token`, `password`, `block`, `url`,
`config`). Bodies are random in the documented alphabet, so no real credential is ever produced
and no value repeats across splits (rows are grouped by provider+value).

Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import string

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def rs(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def github(prefix: str):
    def gen(rng):
        body = rs(rng, ALNUM, 30)
        return f"{prefix}_{body}{b62(binascii.crc32(body.encode()), 6)}", "token"
    return gen


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def age_key(rng):
    hrp = "age-secret-key-"
    data = [rng.randrange(32) for _ in range(51)] + [rng.randrange(2) << 4]  # 256 bits
    exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(exp + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return ("AGE-SECRET-KEY-1" + "".join(BECH32[d] for d in data + chk)).upper(), "token"


def b64u(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def jwt(rng):
    alg = rng.choice(["HS256", "RS256", "ES256", "HS512", "RS384", "PS256"])
    header = {"alg": alg, "typ": "JWT"}
    if rng.random() < 0.5:
        header["kid"] = rs(rng, ALNUM, rng.randint(8, 20))
    payload = {"sub": rs(rng, HEX, 24), "iat": rng.randint(1.5e9, 1.8e9)}
    for k in rng.sample(["name", "email", "scope", "aud", "iss", "role"], rng.randint(1, 4)):
        payload[k] = rs(rng, string.ascii_lowercase, rng.randint(4, 12))
    payload["exp"] = payload["iat"] + rng.choice([900, 3600, 86400])
    sig_len = {"HS": 43, "RS": 342, "ES": 86, "PS": 342}[alg[:2]]
    return f"{b64u(header)}.{b64u(payload)}.{rs(rng, URLSAFE, sig_len)}", "token"


def pem(kind: str):
    def gen(rng):
        raw = bytes(rng.randrange(256) for _ in range(rng.choice([120, 300, 600])))
        body = base64.b64encode(raw).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        extra = []
        if kind == "RSA" and rng.random() < 0.2:
            extra = ["Proc-Type: 4,ENCRYPTED", "DEK-Info: AES-128-CBC," + rs(rng, HEX.upper(), 32), ""]
        label = f"{kind} PRIVATE KEY" if kind else "PRIVATE KEY"
        if kind == "PGP":
            label = "PGP PRIVATE KEY BLOCK"
            extra = ["Version: GnuPG v2", ""]
        if kind == "OPENSSH":
            body = base64.b64encode(b"openssh-key-v1\x00" + raw).decode()
            lines = [body[i:i + 70] for i in range(0, len(body), 70)]
        return "\n".join([f"-----BEGIN {label}-----", *extra, *lines, f"-----END {label}-----"]), "block"
    return gen


def t(prefix: str, alphabet: str, n: int, suffix: str = "", kind: str = "token"):
    def gen(rng):
        return f"{prefix}{rs(rng, alphabet, n)}{suffix}", kind
    return gen


def azure_client_secret(rng):
    return f"{rs(rng, ALNUM, 3)}{rng.randrange(10)}Q~{rs(rng, ALNUM + '_~.-', 34)}", "token"


def azure_devops(rng):
    return f"{rs(rng, ALNUM, 76)}AZDO{rs(rng, ALNUM, 4)}", "token"


def uuid(rng):
    h = rs(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def password(rng):
    """A human-chosen-looking password or a generated one."""
    if rng.random() < 0.5:
        return rs(rng, ALNUM + "!@#%^*_-+=", rng.randint(10, 24)), "password"
    words = ["river", "Falcon", "orange", "Delta", "summer", "Quartz", "maple", "Tiger", "cobalt"]
    return (rng.choice(words) + rng.choice(words) + str(rng.randint(10, 9999)) +
            rng.choice("!#$%&*?")), "password"


def discord_bot(rng):
    uid = str(rng.randint(10**17, 10**19))
    head = base64.b64encode(uid.encode()).decode().rstrip("=")
    return f"{head}.{rs(rng, URLSAFE, 6)}.{rs(rng, URLSAFE, 38)}", "token"


def mapbox(prefix):
    def gen(rng):
        body = b64u({"u": rs(rng, string.ascii_lowercase, 8), "a": rs(rng, ALNUM, 12)})
        return f"{prefix}.{body}.{rs(rng, URLSAFE, 22)}", "token"
    return gen


def b64json(prefix, n):
    def gen(rng):
        body = base64.b64encode(json.dumps({"o": str(rng.randint(1, 10**6)), "n": rs(rng, ALNUM, 12),
                                            "k": rs(rng, ALNUM, n)}).encode()).decode()
        return prefix + body, "token"
    return gen


def docker_auth(rng):
    user = rs(rng, string.ascii_lowercase, rng.randint(4, 10))
    pw, _ = password(rng)
    return base64.b64encode(f"{user}:{pw}".encode()).decode(), "docker"


# provider -> rule id -> generator. Rule ids are the engine's (crates/engine/src/detect/secrets/rules.rs).
FORMATS = {
    "github": {
        "github_pat": github("ghp"), "github_oauth": github("gho"),
        "github_user_to_server": github("ghu"), "github_server_to_server": github("ghs"),
        "github_refresh": t("ghr_", ALNUM, 76),
        "github_fine_grained_pat": lambda r: (f"github_pat_{rs(r, ALNUM, 22)}_{rs(r, ALNUM, 59)}", "token"),
    },
    "gitlab": {
        "gitlab_pat": t("glpat-", URLSAFE, 20), "gitlab_pipeline_trigger": t("glptt-", HEX, 40),
        "gitlab_runner": t("glrt-", URLSAFE, 20), "gitlab_deploy": t("gldt-", URLSAFE, 20),
        "gitlab_runner_registration": t("GR1348941", URLSAFE, 20),
        "gitlab_oauth_secret": t("gloas-", HEX, 64), "gitlab_other": t("glft-", URLSAFE, 20),
    },
    "npm": {"npm_token": t("npm_", ALNUM, 36)},
    "pypi": {"pypi_token": t("pypi-AgEIcHlwaS5vcmc", URLSAFE, 150)},
    "aws": {
        "aws_access_key": lambda r: (r.choice(["AKIA", "ASIA"]) + rs(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), "token"),
        "aws_secret_key": lambda r: (rs(r, B64, 40), "aws_secret"),
    },
    "azure": {
        "azure_storage_key": lambda r: (rs(r, B64, 86) + "==", "azure_conn"),
        "azure_client_secret": azure_client_secret, "azure_devops_pat": azure_devops,
        "azure_sas_token": lambda r: (rs(r, ALNUM, 40) + "%3D", "sas"),
    },
    "gcp": {
        "gcp_api_key": t("AIza", URLSAFE, 35), "gcp_oauth_client_secret": t("GOCSPX-", URLSAFE, 28),
        "google_oauth_access_token": t("ya29.", URLSAFE, 120),
        "gcp_service_account": pem(""),
    },
    "digitalocean": {"digitalocean_pat": t("dop_v1_", HEX, 64), "digitalocean_oauth": t("doo_v1_", HEX, 64)},
    "heroku": {"heroku_api_key": t("HRKU-AA", URLSAFE, 58), "heroku_legacy_key": lambda r: (uuid(r), "heroku")},
    "slack": {
        "slack_bot_token": lambda r: (f"xoxb-{r.randint(10**10, 10**12)}-{r.randint(10**10, 10**12)}-{rs(r, ALNUM, 24)}", "token"),
        "slack_user_token": lambda r: (f"xoxp-{r.randint(10**10, 10**12)}-{r.randint(10**10, 10**12)}-{r.randint(10**10, 10**12)}-{rs(r, HEX, 32)}", "token"),
        "slack_app_token": lambda r: (f"xapp-1-A{rs(r, string.ascii_uppercase + string.digits, 10)}-{r.randint(10**12, 10**13)}-{rs(r, HEX, 64)}", "token"),
        "slack_webhook": lambda r: (f"https://hooks.slack.com/services/T{rs(r, string.ascii_uppercase + string.digits, 8)}/B{rs(r, string.ascii_uppercase + string.digits, 10)}/{rs(r, ALNUM, 24)}", "token"),
    },
    "stripe": {
        "stripe_secret_key": t("sk_live_", ALNUM, 99), "stripe_restricted_key": t("rk_live_", ALNUM, 99),
        "stripe_webhook_secret": t("whsec_", ALNUM, 32),
    },
    "twilio": {"twilio_api_key": t("SK", HEX, 32), "twilio_auth_token": lambda r: (rs(r, HEX, 32), "twilio_auth")},
    "sendgrid": {"sendgrid_key": lambda r: (f"SG.{rs(r, URLSAFE, 22)}.{rs(r, URLSAFE, 43)}", "token")},
    "mailchimp": {"mailchimp_api_key": lambda r: (f"{rs(r, HEX, 32)}-us{r.randint(1, 21)}", "token")},
    "square": {
        "square_access_token": lambda r: (r.choice([f"sq0atp-{rs(r, URLSAFE, 22)}", f"EAAA{rs(r, URLSAFE, 60)}"]), "token"),
        "square_oauth_secret": t("sq0csp-", URLSAFE, 43),
    },
    "shopify": {"shopify_access_token": t("shpat_", HEX, 32), "shopify_shared_secret": t("shpss_", HEX, 32),
                "shopify_custom_app": t("shpca_", HEX, 32), "shopify_private_app": t("shppa_", HEX, 32)},
    "atlassian": {"atlassian_api_token": lambda r: (f"ATATT3xFfGF0{rs(r, URLSAFE, 171)}={rs(r, HEX.upper(), 8)}", "token")},
    "openai": {
        "openai_project_key": lambda r: (f"sk-proj-{rs(r, URLSAFE, 74)}T3BlbkFJ{rs(r, URLSAFE, 74)}", "token"),
        "openai_service_account_key": lambda r: (f"sk-svcacct-{rs(r, URLSAFE, 74)}T3BlbkFJ{rs(r, URLSAFE, 74)}", "token"),
        "openai_legacy_key": lambda r: (f"sk-{rs(r, ALNUM, 20)}T3BlbkFJ{rs(r, ALNUM, 20)}", "token"),
    },
    "anthropic": {
        "anthropic_api_key": lambda r: (f"sk-ant-api03-{rs(r, URLSAFE, 93)}AA", "token"),
        "anthropic_admin_key": lambda r: (f"sk-ant-admin01-{rs(r, URLSAFE, 93)}AA", "token"),
    },
    "huggingface": {"huggingface_token": t("hf_", string.ascii_letters, 34), "huggingface_org_token": t("api_org_", string.ascii_letters, 34)},
    "vault": {"vault_service_token": t("hvs.", URLSAFE, 90), "vault_batch_token": t("hvb.", URLSAFE, 120)},
    "doppler": {"doppler_personal_token": t("dp.pt.", ALNUM, 43), "doppler_service_token": t("dp.st.", ALNUM, 43)},
    "databricks": {"databricks_token": t("dapi", HEX, 32)},
    "discord": {"discord_bot_token": lambda r: (discord_bot(r)[0], "discord"),
                "discord_webhook": lambda r: (f"https://discord.com/api/webhooks/{r.randint(10**17, 10**19)}/{rs(r, URLSAFE, 68)}", "token")},
    "telegram": {"telegram_bot_token": lambda r: (f"{r.randint(10**8, 10**10 - 1)}:AA{rs(r, URLSAFE, 33)}", "token")},
    "mapbox": {"mapbox_secret_token": mapbox("sk")},
    "postman": {"postman_api_key": lambda r: (f"PMAK-{rs(r, HEX, 24)}-{rs(r, HEX, 34)}", "token")},
    "linear": {"linear_api_key": t("lin_api_", ALNUM, 40)},
    "notion": {"notion_token": lambda r: (r.choice([f"secret_{rs(r, ALNUM, 43)}", f"ntn_{rs(r, string.digits, 11)}{rs(r, ALNUM, 35)}"]), "token")},
    "grafana": {"grafana_service_account": lambda r: (f"glsa_{rs(r, ALNUM, 32)}_{rs(r, HEX, 8)}", "token"),
                "grafana_cloud_token": b64json("glc_", 32)},
    "sentry": {"sentry_user_token": t("sntryu_", HEX, 64)},
    "datadog": {"datadog_api_key": lambda r: (rs(r, HEX, 32), "datadog")},
    "newrelic": {"newrelic_key": t("NRAK-", string.ascii_uppercase + string.digits, 27)},
    "okta": {"okta_api_token": lambda r: ("00" + rs(r, URLSAFE, 40), "okta")},
    "planetscale": {"planetscale_token": t("pscale_tkn_", URLSAFE, 43)},
    "pulumi": {"pulumi_token": t("pul-", HEX, 40)},
    "terraform": {"terraform_cloud_token": lambda r: (f"{rs(r, ALNUM, 14)}.atlasv1.{rs(r, URLSAFE, 67)}", "token")},
    "flyio": {"flyio_token": t("fo1_", URLSAFE, 43)},
    "netlify": {"netlify_token": t("nfp_", ALNUM, 36)},
    "vercel": {"vercel_token": lambda r: (rs(r, ALNUM, 24), "vercel")},
    "cloudflare": {"cloudflare_api_token": lambda r: (rs(r, URLSAFE, 40), "cloudflare"),
                   "cloudflare_origin_ca_key": lambda r: (f"v1.0-{rs(r, HEX, 24)}-{rs(r, HEX, 146)}", "token")},
    "alibaba": {"alibaba_access_key": t("LTAI", ALNUM, 20)},
    "tencent": {"tencent_secret_id": t("AKID", ALNUM, 32)},
    "age": {"age_secret_key": age_key},
    "private_key": {"rsa": pem("RSA"), "ec": pem("EC"), "dsa": pem("DSA"), "pkcs8": pem(""),
                    "encrypted": pem("ENCRYPTED"), "openssh": pem("OPENSSH"), "pgp": pem("PGP")},
    "jwt": {"jwt": jwt},
    "url_credentials": {"connection_string_password": lambda r: (password(r)[0].replace("@", "").replace("/", "").replace("#", "").replace("?", ""), "url")},
    "npmrc": {"npmrc_auth": lambda r: (rs(r, B64, 40) + "=", "npmrc")},
    "docker": {"docker_config_auth": docker_auth},
    "maven": {"maven_password": lambda r: (password(r)[0].replace("<", "").replace("&", ""), "maven")},
    "pypirc": {"pypirc_password": lambda r: (password(r)[0] if r.random() < 0.5 else
                                         f"pypi-AgEIcHlwaS5vcmc{rs(r, URLSAFE, 150)}", "pypirc")},
    "generic": {"generic_random": lambda r: (rs(r, r.choice([ALNUM, HEX, B64, URLSAFE]), r.randint(20, 48)), "generic"),
                "generic_password": password},
}


def putty(rng):
    pub = base64.b64encode(bytes(rng.randrange(256) for _ in range(90))).decode()
    priv = base64.b64encode(bytes(rng.randrange(256) for _ in range(120))).decode()
    lines = [priv[i:i + 64] for i in range(0, len(priv), 64)]
    return ("\n".join(["PuTTY-User-Key-File-2: ssh-rsa", "Encryption: none",
                       f"Comment: rsa-key-{rng.randint(20200101, 20261231)}", "Public-Lines: 2",
                       pub[:64], pub[64:], f"Private-Lines: {len(lines)}", *lines]) + "\n",
            "block")


FORMATS["aws"]["aws_session_token"] = lambda r: (rs(r, B64, 300), "aws_session")
FORMATS["azure"]["azure_shared_access_key"] = lambda r: (rs(r, B64, 43) + "=", "sb_conn")
FORMATS["digitalocean"]["digitalocean_refresh"] = t("dor_v1_", HEX, 64)
FORMATS["slack"]["slack_other_token"] = lambda r: (f"xoxe-1-{rs(r, ALNUM, 140)}", "token")
FORMATS["openai"]["openai_admin_key"] = lambda r: (f"sk-admin-{rs(r, URLSAFE, 74)}T3BlbkFJ{rs(r, URLSAFE, 74)}", "token")
FORMATS["doppler"]["doppler_other_token"] = t("dp.ct.", ALNUM, 43)
FORMATS["sentry"]["sentry_org_token"] = b64json("sntrys_", 40)
FORMATS["flyio"]["flyio_macaroon"] = lambda r: ("fm2_" + base64.b64encode(bytes(r.randrange(256) for _ in range(120))).decode(), "token")
FORMATS["private_key"]["putty_private_key"] = putty
FORMATS["bearer"] = {"bearer_token": lambda r: (rs(r, URLSAFE + ".", r.randint(32, 64)), "bearer")}

# Formats that are only unit-test examples, not evaluation positives (public keys, identifiers,
# test-mode keys, catch-all rules).
EXTRA = {
    "stripe_test_key": t("sk_test_", ALNUM, 24),
    "stripe_publishable_key": t("pk_live_", ALNUM, 24),
    "twilio_account_sid": t("AC", HEX, 32),
    "mapbox_public_token": mapbox("pk"),
    "openai_key": t("sk-", ALNUM, 48),
    "anthropic_key": t("sk-ant-oat01-", URLSAFE, 60),
    "vault_legacy_token": lambda r: ("s." + rs(r, ALNUM, 24), "vault"),
    "private_key": pem("RSA"),
    "generic_secret": lambda r: (rs(r, ALNUM, 32), "generic"),
    "cli_secret_flag": lambda r: (rs(r, ALNUM, 32), "cli"),
}
PROVIDER_NAME_FOR_KIND = {
    "aws_secret": "AWS_SECRET_ACCESS_KEY", "twilio_auth": "TWILIO_AUTH_TOKEN", "heroku": "HEROKU_API_KEY",
    "discord": "DISCORD_BOT_TOKEN", "datadog": "DD_API_KEY", "okta": "OKTA_API_TOKEN",
    "vercel": "VERCEL_TOKEN", "cloudflare": "CLOUDFLARE_API_TOKEN", "vault": "VAULT_TOKEN",
    "generic": "api_key", "password": "password", "aws_session": "AWS_SESSION_TOKEN",
}


# The text around a value of each carrier kind, for `example` (`{value}` is the secret).
EXAMPLE_FOR_KIND = {
    "azure_conn": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={value};",
    "sb_conn": ("Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;"
                "SharedAccessKey={value}"),
    "sas": "https://acme.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={value}",
    "url": "postgres://app:{value}@db.internal:5432/prod",
    "npmrc": "//registry.npmjs.org/:_authToken={value}",
    "docker": '{{"auths": {{"ghcr.io": {{"auth": "{value}"}}}}}}',
    "maven": "<server><id>central</id><password>{value}</password></server>",
    "pypirc": "[pypi]\nusername = __token__\npassword = {value}\n",
    "cli": "deploy --api-key {value} --region eu-west-1",
    "bearer": 'curl -H "Authorization: Bearer {value}" https://api.example.org',
}


def example(rule: str, value: str, kind: str) -> tuple[str, str]:
    """A minimal text carrying `value` for the rule's unit test, and the expected finding."""
    if kind in PROVIDER_NAME_FOR_KIND:
        return f'{PROVIDER_NAME_FOR_KIND[kind]} = "{value}"', value
    if kind in EXAMPLE_FOR_KIND:
        return EXAMPLE_FOR_KIND[kind].format(value=value), value
    if rule == "gcp_service_account":
        key_id = rs(random.Random(len(value)), HEX, 40)
        return f'{{"type": "service_account", "private_key_id": "{key_id}"}}', key_id
    return f"token {value} here", value


def lookalike(rule: str, value: str, kind: str) -> str:
    """The same carrier with a placeholder body: the prefix kept, the random part `x`ed out."""
    if rule == "gcp_service_account":
        return '{"type": "service_account", "private_key_id": "' + "x" * 40 + '"}'
    prefix_len = 0
    if kind == "token":
        # The prefix ends at the first separator (`glpat-`, `ghp_`, `dp.`).
        seps = [value.index(c) for c in "_-." if c in value[:16]]
        if seps:
            prefix_len = min(seps) + 1
    masked = value[:prefix_len] + re.sub(r"[A-Za-z0-9+/]", "x", value[prefix_len:])
    if kind == "block":
        masked = re.sub(r"\n[A-Za-z0-9+/=\n]+\n(-----END|$)", r"\n\1", value)
        masked = value.split("\n")[0] + '";'
    return example(rule, masked, kind)[0]


def write_examples(path: str) -> None:
    rng = random.Random(7)
    out = ["# Generated by scripts/quality/secrets_formats.py (write_examples): per rule, a positive",
           "# (rule, text, expected value; `\\n` escapes newlines) and a look-alike negative (`!text`).",
           "# Random bodies in the documented formats: none of these is a real credential."]
    rules = {r: g for p in FORMATS.values() for r, g in p.items()}
    rules.update(EXTRA)
    for rule, gen in sorted(rules.items()):
        if rule in ("rsa", "ec", "dsa", "pkcs8", "encrypted", "openssh", "pgp", "generic_random",
                    "generic_password", "pypirc_password"):
            continue
        value, kind = gen(rng)
        text, want = example(rule, value, kind)
        esc = lambda s: s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
        out.append(f"{rule}\t{esc(text)}\t{esc(want)}")
        out.append(f"{rule}\t!{esc(lookalike(rule, value, kind))}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    import sys
    write_examples(sys.argv[1])
