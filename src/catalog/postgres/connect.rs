//! Connecting to a shared catalog: the schema's migrations, passwords from ~/.pgpass, addresses
//! without their password.

use super::*;

/// Check for pgvector and apply the migrations this version knows and the database lacks; refuse
/// a schema newer than this version.
pub(super) fn migrate(c: &mut Client, at: &Path) -> Result<()> {
    let location = at.to_string_lossy().into_owned();
    let has_vector = c
        .query_typed_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'",
            &[],
        )
        .map_err(pg_err(at))?
        .is_some();
    if !has_vector {
        return Err(Error::NoPgvector { location });
    }
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        .map_err(|e| match e.code() {
            Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Error::NoPgvector {
                location: location.clone(),
            },
            _ => pg_err(at)(e),
        })?;
    let mut tx = c.transaction().map_err(pg_err(at))?;
    // One migrating machine at a time; the others wait, then find the work done.
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7262961343);
         CREATE TABLE IF NOT EXISTS lookalike_schema(version integer NOT NULL);",
    )
    .map_err(pg_err(at))?;
    let found: i32 = tx
        .query_typed_one(
            "SELECT coalesce(max(version), 0) FROM lookalike_schema",
            &[],
        )
        .map_err(pg_err(at))?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if found > known {
        return Err(Error::NewerSchema {
            location,
            found: found as u32,
            known: known as u32,
        });
    }
    for (version, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(step).map_err(pg_err(at))?;
        tx.execute_typed(
            "INSERT INTO lookalike_schema(version) VALUES($1)",
            &[(&(version as i32 + 1), Type::INT4)],
        )
        .map_err(pg_err(at))?;
    }
    tx.commit().map_err(pg_err(at))
}

/// The password for `config` from `PGPASSWORD`, else the first matching line of `~/.pgpass`
/// (or `PGPASSFILE`): `host:port:database:user:password`, `*` matching anything.
pub(super) fn password_for(config: &Config) -> Option<String> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Some(p);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first()? {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.to_string_lossy().into_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    let want = [
        host.as_str(),
        port.as_str(),
        db,
        config.get_user().unwrap_or(""),
    ];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            (fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(want)
                    .all(|(f, w)| f == "*" || f == w))
            .then(|| fields[4].clone())
        })
}

/// The fields of one `.pgpass` line: `:` separates, `\` escapes.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => fields
                .last_mut()
                .unwrap_or(&mut String::new())
                .extend(chars.next()),
            ':' => fields.push(String::new()),
            _ => fields.last_mut().unwrap_or(&mut String::new()).push(ch),
        }
    }
    fields
}

/// `url` with any password taken out.
/// How the server's certificate is checked, as libpq's `sslmode` says: `disable`, `prefer` (the
/// default) and `require` encrypt without checking who answers, as libpq does (a server with a
/// self-signed certificate, Debian's default, needs this); `verify-ca` checks the certificate
/// against `sslrootcert` (or the system's roots), `verify-full` its host name too.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct TlsPolicy {
    pub(super) verify: Verify,
    pub(super) root_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) enum Verify {
    #[default]
    Nothing,
    Certificate,
    CertificateAndHost,
}

/// `url` without the TLS parameters rust-postgres does not know (`sslmode=verify-*`,
/// `sslrootcert`), and the policy they (or PGSSLMODE / PGSSLROOTCERT) give.
pub(super) fn split_tls(url: &str) -> (String, TlsPolicy) {
    let mut policy = TlsPolicy::default();
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept: Vec<String> = Vec::new();
    let mut mode = None;
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.split_once('=') {
            Some(("sslmode", m)) => mode = Some(m.to_string()),
            Some(("sslrootcert", f)) => policy.root_cert = Some(PathBuf::from(f)),
            _ => kept.push(kv.to_string()),
        }
    }
    let mode = mode.or_else(|| std::env::var("PGSSLMODE").ok());
    if policy.root_cert.is_none() {
        policy.root_cert = std::env::var_os("PGSSLROOTCERT").map(PathBuf::from);
    }
    match mode.as_deref() {
        Some("verify-ca") => {
            policy.verify = Verify::Certificate;
            kept.push("sslmode=require".into());
        }
        Some("verify-full") => {
            policy.verify = Verify::CertificateAndHost;
            kept.push("sslmode=require".into());
        }
        Some(m) => kept.push(format!("sslmode={m}")),
        None => {}
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, policy)
}

/// The TLS connector for `policy`.
pub(super) fn tls_connector(
    policy: &TlsPolicy,
    location: &str,
) -> Result<postgres_native_tls::MakeTlsConnector> {
    let bad = |message: String| Error::BadServerUrl {
        location: location.to_string(),
        message,
    };
    let mut builder = native_tls::TlsConnector::builder();
    builder
        .danger_accept_invalid_certs(policy.verify == Verify::Nothing)
        .danger_accept_invalid_hostnames(policy.verify != Verify::CertificateAndHost);
    if let Some(file) = &policy.root_cert {
        let pem = std::fs::read(file)
            .map_err(|e| bad(format!("cannot read sslrootcert {}: {e}", file.display())))?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            bad(format!(
                "sslrootcert {} is not a PEM certificate: {e}",
                file.display()
            ))
        })?;
        builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map(postgres_native_tls::MakeTlsConnector::new)
        .map_err(|e| bad(format!("cannot set up TLS: {e}")))
}

pub(super) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            out.push_str(userinfo.split(':').next().unwrap_or(""));
            out.push('@');
            out.push_str(host);
        }
        None => out.push_str(authority),
    }
    // Query parameters may carry a password too.
    match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("password="))
                .collect();
            out.push_str(path);
            if !kept.is_empty() {
                out.push('?');
                out.push_str(&kept.join("&"));
            }
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_location() {
        assert_eq!(
            redacted("postgres://ann:s3cret@db.shop:5432/catalog"),
            "postgres://ann@db.shop:5432/catalog"
        );
        assert_eq!(
            redacted("postgresql://ann@db/catalog?password=x&sslmode=require"),
            "postgresql://ann@db/catalog?sslmode=require"
        );
        assert_eq!(redacted("postgres://db/catalog"), "postgres://db/catalog");
    }

    #[test]
    fn pgpass_lines_split_on_unescaped_colons() {
        assert_eq!(
            pgpass_fields(r"db:5432:*:ann:pa\:ss"),
            vec!["db", "5432", "*", "ann", "pa:ss"]
        );
    }

    #[test]
    fn libpq_tls_modes_are_understood() {
        let (url, policy) = split_tls(
            "postgres://a@h/db?sslmode=verify-full&sslrootcert=/x/ca.pem&application_name=z",
        );
        assert_eq!(url, "postgres://a@h/db?application_name=z&sslmode=require");
        assert_eq!(policy.verify, Verify::CertificateAndHost);
        assert_eq!(policy.root_cert, Some(PathBuf::from("/x/ca.pem")));
        let (url, policy) = split_tls("postgres://a@h/db?sslmode=verify-ca");
        assert_eq!(url, "postgres://a@h/db?sslmode=require");
        assert_eq!(policy.verify, Verify::Certificate);
        // libpq's other modes pass through, and check no certificate.
        let (url, policy) = split_tls("postgres://a@h/db?sslmode=require");
        assert_eq!(url, "postgres://a@h/db?sslmode=require");
        assert_eq!(policy.verify, Verify::Nothing);
        assert!(Config::from_str(&url).is_ok());
    }
}
