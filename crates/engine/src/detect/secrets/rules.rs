//! The provider rules of `sentinelai.secrets`, as data: one row per credential format.
//!
//! Each row says what a match is reported as (`entity`), which `provider` argument selects it,
//! where its trigger literals are looked for ([`Seen`]), the regex and its value group, the base
//! score, the entropy its value needs and which structural [`Check`] confirms it. The scan
//! (`super::scan_views`), the prefilter (`super::prefilter`), the provider list of the policy
//! language and the rule list in docs/POLICY-LANGUAGE.md are all derived from this table.
//!
//! Formats follow each provider's public documentation of its token format (prefix, alphabet,
//! length, checksum) and CredSweeper's `rules/config.yaml` (MIT) as a cross-check; the regexes
//! are written here.

use crate::detect::static_regex::Lazy;

/// Where a rule's trigger literals are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Anywhere in the text (case-sensitive), found from one of its bytes (`prefilter::anchor`).
    Anywhere,
    /// Inside a run of at least [`super::prefilter::MIN_TOKEN`] token bytes
    /// (`[A-Za-z0-9_.~-]`, case-sensitive). With [`Rule::windowed`], every match of the rule is
    /// such a run's substring and the regex runs only on those runs; without it the match may
    /// reach past the run (a `=`, `+` or `:`) and the regex runs on the whole text once the
    /// trigger is seen.
    Token,
    /// In the key before a `=` or `:` (ASCII-case-insensitive): see `prefilter::candidates`.
    Key,
}

/// The structural test that confirms a match beyond its shape and entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Shape and entropy only.
    Shape,
    /// GitHub's token checksum: the last 6 characters are the base62 CRC32 of the 30 before.
    GithubCrc,
    /// The age secret key's Bech32 checksum.
    Bech32,
    /// A JSON Web Token: base64url JSON header with `alg`, JSON payload.
    Jwt,
    /// The password of `scheme://user:password@host`.
    UrlPassword,
    /// A Docker `config.json` `auth`: base64 of `user:password`.
    DockerAuth,
    /// A config-file value (`.npmrc`, Maven): any non-placeholder value.
    ConfigValue,
    /// A private key block: reported on shape.
    PrivateKey,
    /// `key = value` with a secret-like key name (`super::generic`).
    Generic,
    /// `--password value` on a command line: judged like [`Check::Generic`], the flag as key.
    Flag,
}

/// One credential format.
pub(crate) struct Rule {
    /// Unique name of the rule (the docs list).
    pub id: &'static str,
    /// The entity a finding is reported as.
    pub entity: &'static str,
    /// The `sentinelai.secrets(<provider>)` argument that selects the rule.
    pub provider: &'static str,
    pub seen: Seen,
    /// Literals at least one of which every match contains.
    pub triggers: &'static [&'static str],
    /// For [`Seen::Token`]: every match lies inside one long token run.
    pub windowed: bool,
    pub regex: Lazy,
    /// Capture group holding the secret itself (0 = the whole match).
    pub group: usize,
    /// Score of a confirmed match.
    pub base: f64,
    /// Minimum Shannon entropy (bits/char) of the secret, 0 to skip.
    pub min_entropy: f64,
    pub check: Check,
    /// The format, for the docs.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read by the docs table, built in tests")
    )]
    pub doc: &'static str,
}

const fn tok(
    id: &'static str,
    entity: &'static str,
    provider: &'static str,
    triggers: &'static [&'static str],
    regex: &'static str,
    base: f64,
    doc: &'static str,
) -> Rule {
    Rule {
        id,
        entity,
        provider,
        seen: Seen::Token,
        triggers,
        windowed: true,
        regex: Lazy::new(regex),
        group: 0,
        base,
        min_entropy: 3.0,
        check: Check::Shape,
        doc,
    }
}

impl Rule {
    const fn check(mut self, check: Check) -> Self {
        self.check = check;
        self
    }
    const fn entropy(mut self, e: f64) -> Self {
        self.min_entropy = e;
        self
    }
    /// The match may leave the token run (`=`, `+`, `/`, `:`): the regex runs on the whole text.
    const fn unwindowed(mut self) -> Self {
        self.windowed = false;
        self
    }
    const fn group(mut self, g: usize) -> Self {
        self.group = g;
        self
    }
    const fn seen(mut self, s: Seen) -> Self {
        self.seen = s;
        self.windowed = false;
        self
    }
}

/// A rule whose trigger is in the key before `=`/`:`, value in group 1.
const fn key(
    id: &'static str,
    entity: &'static str,
    provider: &'static str,
    triggers: &'static [&'static str],
    regex: &'static str,
    base: f64,
    doc: &'static str,
) -> Rule {
    tok(id, entity, provider, triggers, regex, base, doc)
        .seen(Seen::Key)
        .group(1)
}

/// Index of `generic_secret` in [`RULES`] (checked by a test).
pub(crate) const GENERIC: usize = RULES.len() - 1;

pub(crate) static RULES: [Rule; 108] = [
    // --- Version control and packages.
    tok("github_pat", "github_token", "github", &["ghp_"], r"\bghp_[A-Za-z0-9]{36}\b", 0.9,
        "`ghp_` + 36 base62 (CRC32 checksum)").check(Check::GithubCrc),
    tok("github_oauth", "github_token", "github", &["gho_"], r"\bgho_[A-Za-z0-9]{36}\b", 0.9,
        "`gho_` + 36 base62 (CRC32 checksum)").check(Check::GithubCrc),
    tok("github_user_to_server", "github_token", "github", &["ghu_"], r"\bghu_[A-Za-z0-9]{36}\b",
        0.9, "`ghu_` + 36 base62 (CRC32 checksum)").check(Check::GithubCrc),
    tok("github_server_to_server", "github_token", "github", &["ghs_"],
        r"\bghs_[A-Za-z0-9]{36}\b", 0.9, "`ghs_` + 36 base62 (CRC32 checksum)")
        .check(Check::GithubCrc),
    tok("github_refresh", "github_token", "github", &["ghr_"], r"\bghr_[A-Za-z0-9]{36,76}\b",
        0.95, "`ghr_` + 36–76 base62"),
    tok("github_fine_grained_pat", "github_token", "github", &["github_pat_"],
        r"\bgithub_pat_[A-Za-z0-9]{20,30}_[A-Za-z0-9]{50,70}\b", 0.97,
        "`github_pat_` + 22 + `_` + 59 base62"),
    tok("gitlab_pat", "gitlab_token", "gitlab", &["glpat-"],
        r"\bglpat-[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+){0,2}", 0.97,
        "`glpat-` + 20+ (newer `.01.` suffix)"),
    tok("gitlab_pipeline_trigger", "gitlab_token", "gitlab", &["glptt-"],
        r"\bglptt-[0-9a-f]{40}\b", 0.97, "`glptt-` + 40 hex"),
    tok("gitlab_runner", "gitlab_token", "gitlab", &["glrt-"], r"\bglrt-[A-Za-z0-9_\-]{20,}",
        0.97, "`glrt-` + 20+"),
    tok("gitlab_runner_registration", "gitlab_token", "gitlab", &["GR1348941"],
        r"\bGR1348941[A-Za-z0-9_\-]{20,}", 0.95, "`GR1348941` + 20+"),
    tok("gitlab_deploy", "gitlab_token", "gitlab", &["gldt-"], r"\bgldt-[A-Za-z0-9_\-]{20,}",
        0.97, "`gldt-` + 20+"),
    tok("gitlab_oauth_secret", "gitlab_token", "gitlab", &["gloas-"],
        r"\bgloas-[A-Za-z0-9_\-]{40,}", 0.97, "`gloas-` + 64"),
    tok("gitlab_other", "gitlab_token", "gitlab",
        &["glcbt-", "glft-", "glimt-", "glagent-", "glsoat-", "glffct-", "glrtr-", "glwt-"],
        r"\bgl(?:cbt|ft|imt|agent|soat|ffct|rtr|wt)-[A-Za-z0-9_\-]{20,}", 0.95,
        "`glcbt-`, `glft-`, `glimt-`, `glagent-`, `glsoat-`, `glffct-` … + 20+"),
    tok("npm_token", "npm_token", "npm", &["npm_"], r"\bnpm_[A-Za-z0-9]{36}\b", 0.95,
        "`npm_` + 36 base62"),
    tok("pypi_token", "pypi_token", "pypi", &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        r"\bpypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}", 0.99,
        "`pypi-AgEIcHlwaS5vcmc` (macaroon for pypi.org, or test.pypi.org) + 50+"),
    // --- Cloud.
    tok("aws_access_key", "aws_access_key", "aws", &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b", 0.9,
        "`AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 base32").entropy(2.5),
    key("aws_secret_key", "aws_secret_key", "aws", &["aws", "secretaccesskey", "secret_access_key"],
        r#"(?i)(?:aws[a-z_\-]{0,20}(?:secret|sk)|secret_?access_?key)[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\z)"#,
        0.95, "40 base64 characters after an `aws…secret`/`SecretAccessKey` name").entropy(3.5),
    key("aws_session_token", "aws_session_token", "aws", &["session_token", "sessiontoken"],
        r#"(?i)(?:aws_?)?session_?token["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{100,})"#, 0.9,
        "100+ base64 characters after `aws_session_token`/`SessionToken`").entropy(4.0),
    key("azure_storage_key", "azure_storage_key", "azure", &["accountkey="],
        r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)", 0.95,
        "`AccountKey=` + 88 base64 in a connection string").entropy(4.0),
    key("azure_shared_access_key", "azure_storage_key", "azure", &["sharedaccesskey="],
        r"(?i)SharedAccessKey=([A-Za-z0-9+/]{43}=)", 0.95,
        "`SharedAccessKey=` + 44 base64 (Service Bus, Event Hubs, IoT Hub)").entropy(4.0),
    key("azure_sas_token", "azure_sas_token", "azure", &["sig="],
        r"(?i)[?&]sig=([A-Za-z0-9%+/=]{30,})", 0.8, "`sig=` of a shared access signature URL")
        .entropy(3.5),
    tok("azure_client_secret", "azure_client_secret", "azure", &["Q~"],
        r"\b[a-zA-Z0-9_~.\-]{3}\dQ~[a-zA-Z0-9_~.\-]{31,34}\b", 0.85,
        "Entra ID client secret: 3 + digit + `Q~` + 31–34").entropy(3.5),
    tok("azure_devops_pat", "azure_devops_pat", "azure", &["AZDO"],
        r"\b[A-Za-z0-9]{52,76}AZDO[A-Za-z0-9]{4,28}\b", 0.95, "84 characters with `AZDO` inside")
        .entropy(3.5),
    tok("gcp_api_key", "gcp_api_key", "gcp", &["AIza"], r"\bAIza[0-9A-Za-z_\-]{35}", 0.95,
        "`AIza` + 35"),
    key("gcp_service_account", "gcp_service_account", "gcp", &["private_key_id"],
        r#""private_key_id"\s*:\s*"([0-9a-f]{40})""#, 0.9,
        "service-account JSON `private_key_id` (its `private_key` is a `private_key` finding)"),
    tok("gcp_oauth_client_secret", "gcp_oauth_secret", "gcp", &["GOCSPX-"],
        r"\bGOCSPX-[A-Za-z0-9_\-]{28}", 0.97, "`GOCSPX-` + 28"),
    tok("google_oauth_access_token", "gcp_oauth_secret", "gcp", &["ya29."],
        r"\bya29\.[0-9A-Za-z_\-]{30,}", 0.9, "`ya29.` + 30+"),
    tok("digitalocean_pat", "digitalocean_token", "digitalocean", &["dop_v1_"],
        r"\bdop_v1_[a-f0-9]{64}\b", 0.99, "`dop_v1_` + 64 hex"),
    tok("digitalocean_oauth", "digitalocean_token", "digitalocean", &["doo_v1_"],
        r"\bdoo_v1_[a-f0-9]{64}\b", 0.99, "`doo_v1_` + 64 hex"),
    tok("digitalocean_refresh", "digitalocean_token", "digitalocean", &["dor_v1_"],
        r"\bdor_v1_[a-f0-9]{64}\b", 0.99, "`dor_v1_` + 64 hex"),
    tok("heroku_api_key", "heroku_api_key", "heroku", &["HRKU-"],
        r"\bHRKU-[A-Za-z0-9_\-]{40,}", 0.97, "`HRKU-` + 60"),
    key("heroku_legacy_key", "heroku_api_key", "heroku", &["heroku"],
        r#"(?i)heroku[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
        0.85, "a UUID after a `heroku…` name"),
    // --- Collaboration and business services.
    tok("slack_bot_token", "slack_token", "slack", &["xoxb-"], r"\bxoxb-[A-Za-z0-9\-]{10,}",
        0.95, "`xoxb-` + digits and base62"),
    tok("slack_user_token", "slack_token", "slack", &["xoxp-"], r"\bxoxp-[A-Za-z0-9\-]{10,}",
        0.95, "`xoxp-` + digits and base62"),
    tok("slack_other_token", "slack_token", "slack", &["xoxa-", "xoxe-", "xoxo-", "xoxr-", "xoxs-"],
        r"\bxox[aeors]-[A-Za-z0-9\-]{10,}", 0.95, "`xoxa-`, `xoxe-`, `xoxo-`, `xoxr-`, `xoxs-`"),
    tok("slack_app_token", "slack_token", "slack", &["xapp-"], r"\bxapp-[A-Za-z0-9\-]{20,}",
        0.95, "`xapp-1-…` app-level token"),
    tok("slack_webhook", "slack_webhook", "slack", &["://"],
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_]{20,}", 0.95,
        "`https://hooks.slack.com/services/…`").seen(Seen::Anywhere).entropy(0.0),
    tok("stripe_secret_key", "stripe_key", "stripe", &["sk_live_"],
        r"\bsk_live_[A-Za-z0-9]{16,}", 0.97, "`sk_live_` + 24+"),
    tok("stripe_restricted_key", "stripe_key", "stripe", &["rk_live_"],
        r"\brk_live_[A-Za-z0-9]{16,}", 0.97, "`rk_live_` + 24+"),
    tok("stripe_test_key", "stripe_key", "stripe", &["sk_test_", "rk_test_"],
        r"\b[sr]k_test_[A-Za-z0-9]{16,}", 0.8, "`sk_test_`/`rk_test_` (scores lower)"),
    tok("stripe_publishable_key", "stripe_key", "stripe", &["pk_live_"],
        r"\bpk_live_[A-Za-z0-9]{20,}", 0.6, "`pk_live_` (public by design: scores lower)"),
    tok("stripe_webhook_secret", "stripe_key", "stripe", &["whsec_"],
        r"\bwhsec_[A-Za-z0-9]{32,}", 0.95, "`whsec_` + 32+"),
    tok("twilio_api_key", "twilio_key", "twilio", &["SK"], r"\bSK[0-9a-fA-F]{32}\b", 0.8,
        "`SK` + 32 hex"),
    tok("twilio_account_sid", "twilio_account_sid", "twilio", &["AC"], r"\bAC[0-9a-f]{32}\b",
        0.6, "`AC` + 32 hex (an identifier: scores lower)"),
    key("twilio_auth_token", "twilio_auth_token", "twilio", &["twilio", "auth_token", "authtoken"],
        r#"(?i)(?:twilio[a-z_\-]{0,20}(?:auth|token|secret)|auth_?token)[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([0-9a-f]{32})\b"#,
        0.85, "32 hex after a `twilio…auth`/`auth_token` name"),
    tok("sendgrid_key", "sendgrid_key", "sendgrid", &["SG."],
        // No trailing `\b`: a key may end in `-` or `_`; the boundary is the next byte.
        r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|\z)", 0.97,
        "`SG.` + 22 + `.` + 43").group(1).unwindowed().entropy(3.5),
    tok("mailchimp_api_key", "mailchimp_api_key", "mailchimp", &["-us"],
        r"\b[0-9a-f]{32}-us[0-9]{1,2}\b", 0.9, "32 hex + `-us` + datacenter number"),
    tok("square_access_token", "square_token", "square", &["sq0atp-", "EAAA"],
        r"\b(?:sq0atp-[A-Za-z0-9_\-]{22,60}|EAAA[A-Za-z0-9_\-]{60,})", 0.95,
        "`sq0atp-` + 22, `EAAA` + 60"),
    tok("square_oauth_secret", "square_token", "square", &["sq0csp-"],
        r"\bsq0csp-[A-Za-z0-9_\-]{43,}", 0.97, "`sq0csp-` + 43"),
    tok("shopify_access_token", "shopify_token", "shopify", &["shpat_"],
        r"\bshpat_[a-fA-F0-9]{32}\b", 0.97, "`shpat_` + 32 hex"),
    tok("shopify_shared_secret", "shopify_token", "shopify", &["shpss_"],
        r"\bshpss_[a-fA-F0-9]{32}\b", 0.97, "`shpss_` + 32 hex"),
    tok("shopify_custom_app", "shopify_token", "shopify", &["shpca_"],
        r"\bshpca_[a-fA-F0-9]{32}\b", 0.97, "`shpca_` + 32 hex"),
    tok("shopify_private_app", "shopify_token", "shopify", &["shppa_"],
        r"\bshppa_[a-fA-F0-9]{32}\b", 0.97, "`shppa_` + 32 hex"),
    tok("atlassian_api_token", "atlassian_token", "atlassian", &["ATATT3", "ATCTT3"],
        r"\bAT[AC]TT3[A-Za-z0-9_\-=]{150,}", 0.97, "`ATATT3` + ~180 (Jira, Confluence, Bitbucket)")
        .unwindowed(),
    // --- AI platforms.
    tok("openai_project_key", "openai_key", "openai", &["sk-proj-"],
        r"\bsk-proj-[A-Za-z0-9_\-]{20,}", 0.97, "`sk-proj-` + 40+"),
    tok("openai_service_account_key", "openai_key", "openai", &["sk-svcacct-"],
        r"\bsk-svcacct-[A-Za-z0-9_\-]{20,}", 0.97, "`sk-svcacct-` + 40+"),
    tok("openai_admin_key", "openai_key", "openai", &["sk-admin-"],
        r"\bsk-admin-[A-Za-z0-9_\-]{20,}", 0.97, "`sk-admin-` + 40+"),
    tok("openai_legacy_key", "openai_key", "openai", &["T3BlbkFJ"],
        r"\bsk-[A-Za-z0-9_\-]{16,74}T3BlbkFJ[A-Za-z0-9_\-]{16,74}", 0.99,
        "`sk-…T3BlbkFJ…` (the base64 of `OpenAI` inside)"),
    tok("openai_key", "openai_key", "openai", &["sk-"], r"\bsk-[A-Za-z0-9]{20,}\b", 0.85,
        "`sk-` + 20+ base62 (OpenAI-style keys of other platforms too)").entropy(3.5),
    tok("anthropic_api_key", "anthropic_key", "anthropic", &["sk-ant-api"],
        r"\bsk-ant-api\d\d-[A-Za-z0-9_\-]{80,}", 0.99, "`sk-ant-api03-` + 93 + `AA`"),
    tok("anthropic_admin_key", "anthropic_key", "anthropic", &["sk-ant-admin"],
        r"\bsk-ant-admin\d\d-[A-Za-z0-9_\-]{80,}", 0.99, "`sk-ant-admin01-` + 93 + `AA`"),
    tok("anthropic_key", "anthropic_key", "anthropic", &["sk-ant-"],
        r"\bsk-ant-[A-Za-z0-9_\-]{20,}", 0.97, "other `sk-ant-…` keys").entropy(3.5),
    tok("huggingface_token", "huggingface_token", "huggingface", &["hf_"],
        r"\bhf_[A-Za-z0-9]{34,40}\b", 0.95, "`hf_` + 34 letters and digits"),
    tok("huggingface_org_token", "huggingface_token", "huggingface", &["api_org_"],
        r"\bapi_org_[A-Za-z0-9]{34}\b", 0.95, "`api_org_` + 34"),
    // --- Secret stores and data platforms.
    tok("vault_service_token", "vault_token", "vault", &["hvs."], r"\bhvs\.[A-Za-z0-9_\-]{24,}",
        0.97, "`hvs.` + 24+"),
    tok("vault_batch_token", "vault_token", "vault", &["hvb."], r"\bhvb\.[A-Za-z0-9_\-]{24,}",
        0.97, "`hvb.` + 24+"),
    key("vault_legacy_token", "vault_token", "vault", &["vault"],
        r#"(?i)vault[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([sbr]\.[A-Za-z0-9]{24})\b"#, 0.85,
        "`s.` + 24 after a `vault…` name"),
    tok("doppler_personal_token", "doppler_token", "doppler", &["dp.pt."],
        r"\bdp\.pt\.[A-Za-z0-9]{40,44}\b", 0.99, "`dp.pt.` + 43"),
    tok("doppler_service_token", "doppler_token", "doppler", &["dp.st."],
        r"\bdp\.st\.(?:[a-z0-9_\-]{2,35}\.)?[A-Za-z0-9]{40,44}\b", 0.99,
        "`dp.st.` (+ config `.`) + 43"),
    tok("doppler_other_token", "doppler_token", "doppler",
        &["dp.ct.", "dp.scim.", "dp.audit.", "dp.sa.", "dp.sat."],
        r"\bdp\.(?:ct|scim|audit|sa|sat)\.[A-Za-z0-9]{40,44}\b", 0.99,
        "`dp.ct.`, `dp.scim.`, `dp.audit.`, `dp.sa.`, `dp.sat.` + 43"),
    tok("databricks_token", "databricks_token", "databricks", &["dapi"],
        r"\bdapi[a-f0-9]{32}(?:-\d)?\b", 0.95, "`dapi` + 32 hex"),
    // --- Other services.
    key("discord_bot_token", "discord_token", "discord", &["discord"],
        r#"(?i)discord[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40})"#,
        0.9, "bot token (`M…`.6.27+) after a `discord…` name"),
    tok("discord_webhook", "discord_webhook", "discord", &["://"],
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[A-Za-z0-9_\-]{60,68}",
        0.95, "`https://discord.com/api/webhooks/<id>/<token>`").seen(Seen::Anywhere),
    tok("telegram_bot_token", "telegram_bot_token", "telegram", &["AA"],
        r"\b(\d{8,10}:AA[A-Za-z0-9_\-]{33})(?:[^A-Za-z0-9_\-]|\z)", 0.95,
        "bot id + `:AA` + 33").group(1).unwindowed(),
    tok("mapbox_secret_token", "mapbox_token", "mapbox", &["sk.eyJ1"],
        r"\bsk\.eyJ1[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{20,}", 0.97, "`sk.eyJ1…`"),
    tok("mapbox_public_token", "mapbox_token", "mapbox", &["pk.eyJ1"],
        r"\bpk\.eyJ1[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]{20,}", 0.6,
        "`pk.eyJ1…` (public by design: scores lower)"),
    tok("postman_api_key", "postman_api_key", "postman", &["PMAK-"],
        r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b", 0.99, "`PMAK-` + 24 hex + `-` + 34 hex"),
    tok("linear_api_key", "linear_api_key", "linear", &["lin_api_"],
        r"\blin_api_[A-Za-z0-9]{40}\b", 0.97, "`lin_api_` + 40"),
    tok("notion_token", "notion_token", "notion", &["secret_", "ntn_"],
        r"\b(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})\b", 0.9,
        "`secret_` + 43, `ntn_` + 46").entropy(3.5),
    tok("grafana_service_account", "grafana_token", "grafana", &["glsa_"],
        r"\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b", 0.97, "`glsa_` + 32 + `_` + 8 hex"),
    tok("grafana_cloud_token", "grafana_token", "grafana", &["_eyJ"],
        r"\bglc_eyJ[A-Za-z0-9+/]{32,400}={0,2}", 0.97, "`glc_eyJ…` (base64 JSON)")
        .seen(Seen::Anywhere),
    tok("sentry_user_token", "sentry_token", "sentry", &["sntryu_"],
        r"\bsntryu_[a-f0-9]{64}\b", 0.97, "`sntryu_` + 64 hex"),
    tok("sentry_org_token", "sentry_token", "sentry", &["_eyJ"],
        r"\bsntrys_eyJ[A-Za-z0-9+/=_]{60,}", 0.97, "`sntrys_eyJ…`").seen(Seen::Anywhere),
    key("datadog_api_key", "datadog_key", "datadog", &["datadog", "dd_api", "dd_app", "ddapi", "ddapp"],
        r#"(?i)(?:datadog|dd)[a-z_\-]{0,20}(?:api|app)[a-z_\-]{0,20}key["']?\s*[:=]\s*["']?([a-f0-9]{40}|[a-f0-9]{32})\b"#,
        0.9, "32/40 hex after a `datadog…api_key`/`DD_APP_KEY` name"),
    tok("newrelic_key", "newrelic_key", "newrelic", &["NRAK-", "NRII-", "NRJS-", "NRAA-", "NRRA-"],
        r"\bNR(?:AK|II|JS|AA|RA)-[A-Za-z0-9]{19,32}\b", 0.95,
        "`NRAK-`, `NRII-`, `NRJS-`, `NRAA-`, `NRRA-` + 19–32"),
    key("okta_api_token", "okta_token", "okta", &["okta"],
        r#"(?i)okta[a-z_\-]{0,20}["']?\s*[:=]\s*["']?(00[A-Za-z0-9_\-]{40})\b"#, 0.9,
        "`00` + 40 after an `okta…` name"),
    tok("planetscale_token", "planetscale_token", "planetscale",
        &["pscale_tkn_", "pscale_pw_", "pscale_oauth_"],
        r"\bpscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-]{32,64}", 0.97,
        "`pscale_tkn_`, `pscale_pw_`, `pscale_oauth_` + 43"),
    tok("pulumi_token", "pulumi_token", "pulumi", &["pul-"], r"\bpul-[a-f0-9]{40}\b", 0.97,
        "`pul-` + 40 hex"),
    tok("terraform_cloud_token", "terraform_token", "terraform", &[".atlasv1."],
        r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70}", 0.97, "14 + `.atlasv1.` + 67")
        .unwindowed(),
    tok("flyio_token", "flyio_token", "flyio", &["fo1_"], r"\bfo1_[A-Za-z0-9_\-]{43}", 0.97,
        "`fo1_` + 43"),
    tok("flyio_macaroon", "flyio_token", "flyio", &["fm1r_", "fm1a_", "fm2_"],
        r"\bfm(?:1[ar]|2)_[A-Za-z0-9+/]{100,}={0,3}", 0.97, "`fm2_…` macaroon (base64)")
        .seen(Seen::Anywhere),
    tok("netlify_token", "netlify_token", "netlify", &["nfp_", "nfc_", "nfo_", "nfu_", "nfb_"],
        r"\bnf[pcoub]_[A-Za-z0-9]{36}\b", 0.95, "`nfp_` + 36"),
    key("vercel_token", "vercel_token", "vercel", &["vercel"],
        r#"(?i)vercel[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9]{24})\b"#, 0.9,
        "24 after a `vercel…` name").entropy(3.5),
    key("cloudflare_api_token", "cloudflare_token", "cloudflare", &["cloudflare", "cf_api"],
        r#"(?i)(?:cloudflare|cf)[a-z_\-]{0,20}(?:token|key)[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9_\-]{40}|[a-f0-9]{37})\b"#,
        0.9, "40 (token) or 37 hex (global key) after a `cloudflare…token` name").entropy(3.5),
    tok("cloudflare_origin_ca_key", "cloudflare_token", "cloudflare", &["v1.0-"],
        r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b", 0.97, "`v1.0-` + 24 hex + `-` + 146 hex"),
    tok("alibaba_access_key", "alibaba_access_key", "alibaba", &["LTAI"],
        r"\bLTAI[A-Za-z0-9]{12,20}\b", 0.9, "`LTAI` + 12–20"),
    tok("tencent_secret_id", "tencent_secret_id", "tencent", &["AKID"],
        r"\bAKID[A-Za-z0-9]{13,40}\b", 0.85, "`AKID` + 32"),
    // --- Structured forms.
    tok("age_secret_key", "age_secret_key", "age", &["AGE-SECRET-KEY-1"],
        r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b", 0.9,
        "`AGE-SECRET-KEY-1` + 58 Bech32 (checksum checked)").check(Check::Bech32),
    tok("private_key", "private_key", "private_key", &["-----BEGIN "],
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\z)",
        0.99, "PEM (`RSA`, `EC`, `DSA`, `ENCRYPTED`, PKCS#8), `OPENSSH` and `PGP PRIVATE KEY BLOCK`")
        .seen(Seen::Anywhere).check(Check::PrivateKey),
    key("putty_private_key", "private_key", "private_key", &["putty-user-key-file"],
        r"(PuTTY-User-Key-File-\d:[^\n]*\n(?:[^\n]*\n){0,40}?Private-Lines:\s*\d+\r?\n(?:[A-Za-z0-9+/=]+\r?\n?)+)",
        0.97, "PuTTY `.ppk` private key").check(Check::PrivateKey),
    tok("jwt", "jwt", "jwt", &["eyJ"],
        r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{10,}", 0.9,
        "JSON Web Token: base64url JSON header with `alg` and JSON payload").check(Check::Jwt),
    tok("connection_string_password", "connection_string_password", "connection_string", &["://"],
        r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]+:([^\s@/]+)@[^\s/]+", 0.9,
        "the password of `scheme://user:password@host`").seen(Seen::Anywhere).group(1)
        .check(Check::UrlPassword),
    key("npmrc_auth", "npmrc_auth", "npm", &["_authtoken", "_auth", "_password"],
        r#"(?i)(?:^|[\s:/])(?:_authToken|_auth|_password)\s*=\s*["']?([^\s"']{8,})"#, 0.9,
        "`.npmrc` `_authToken=`, `_auth=`, `_password=`").check(Check::ConfigValue),
    key("docker_config_auth", "docker_config_auth", "docker", &["auth", "identitytoken"],
        r#""(?:auth|identitytoken)"\s*:\s*"([A-Za-z0-9+/=._\-]{8,})""#, 0.7,
        "Docker `config.json` `\"auth\"` (base64 `user:password`) and `identitytoken`")
        .check(Check::DockerAuth),
    tok("maven_password", "maven_password", "maven", &["<password>"],
        r"<password>\s*([^<\s][^<]{2,}?)\s*</password>", 0.85,
        "Maven `settings.xml` `<password>`").seen(Seen::Anywhere).group(1)
        .check(Check::ConfigValue),
    key("bearer_token", "bearer_token", "generic", &["authorization"],
        r#"(?i)authorization["']?\s*[:=]\s*["']?(?:Bearer|Basic|token)\s+([A-Za-z0-9_\-.~+/]{16,}=*)"#,
        0.85, "`Authorization: Bearer …`/`Basic …` header values").entropy(3.5)
        .check(Check::ConfigValue),
    tok("cli_secret_flag", "generic_secret", "generic", &["--"],
        r#"--(?:[a-z0-9]+-)*(?:password|passwd|pwd|token|secret|api-key|apikey|access-key|client-secret|auth-token)[ =]["']?([^\s"']{6,})"#,
        0.0, "`--password value`, `--api-key value`, `--token=value` on a command line")
        .seen(Seen::Anywhere).group(1).entropy(0.0).check(Check::Flag),
    key("generic_secret", "generic_secret", "generic",
        &["api", "key", "secret", "token", "passw", "pwd", "access", "auth", "private", "credential"],
        r#"(?i)\b([a-z0-9_\-]*(?:api[_\-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|access[_\-]?key|auth|key|client[_\-]?secret|private[_\-]?key|credentials?)[a-z0-9_\-]*)["']?\]?\s*(?:=|:|=>)\s*["']?([^\s"',;{}()\[\]<>]{6,})"#,
        0.0, "`api_key=`, `token:`, `secret =>`, `password=`, `--password=` … with a \
        high-entropy value (passwords: any non-placeholder value)").entropy(0.0)
        .check(Check::Generic),
];

/// The providers, in table order, each once.
pub(crate) fn providers() -> &'static [&'static str] {
    static P: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut v: Vec<&'static str> = Vec::new();
        for r in &RULES {
            if !v.contains(&r.provider) {
                v.push(r.provider);
            }
        }
        v
    })
}

/// The Markdown rule list of docs/POLICY-LANGUAGE.md (a test keeps the two equal).
#[cfg(test)]
pub(crate) fn docs_table() -> String {
    let mut s = String::from("| provider | rule | reported as | format |\n|---|---|---|---|\n");
    for r in &RULES {
        s.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            r.provider, r.id, r.entity, r.doc
        ));
    }
    s
}
