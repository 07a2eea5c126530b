//! Just enough of X.509 to show a certificate's issuer, subject and validity: a small DER walk
//! over `tbsCertificate`, nothing verified (rustls did that when it connected).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// What the doctor shows of a server certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The issuer's common name, with its organisation when it has one.
    pub issuer: String,
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// One DER element: its tag, its content and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The content of the element with this tag at the start of `input`, and what follows.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, content, rest) = element(input)?;
    (found == tag).then_some((content, rest))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

pub fn summarize(der: &[u8]) -> Option<Summary> {
    let (certificate, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(certificate, SEQUENCE)?;
    let mut rest = tbs;
    // [0] version, present from v2 on.
    if let Some((0xa0, _, after)) = element(rest) {
        rest = after;
    }
    let (_, _, rest) = element(rest)?; // serialNumber
    let (_, rest) = expect(rest, SEQUENCE)?; // signature algorithm
    let (issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, rest) = expect(rest, SEQUENCE)?;
    let (subject, _) = expect(rest, SEQUENCE)?;
    let (not_before_tag, not_before, after) = element(validity)?;
    let (not_after_tag, not_after, _) = element(after)?;
    Some(Summary {
        issuer: name(issuer),
        subject: name(subject),
        not_before: time_of(not_before_tag, not_before)?,
        not_after: time_of(not_after_tag, not_after)?,
    })
}

/// `CN (O)` of a Name, or whichever of the two it has.
fn name(mut rdns: &[u8]) -> String {
    let (mut common, mut organization) = (None, None);
    while let Some((SET, set, after)) = element(rdns) {
        rdns = after;
        let mut attributes = set;
        while let Some((SEQUENCE, attribute, after)) = element(attributes) {
            attributes = after;
            let Some((oid, value)) = expect(attribute, OID) else {
                continue;
            };
            let Some((_, text, _)) = element(value) else {
                continue;
            };
            let text = String::from_utf8_lossy(text).into_owned();
            match oid {
                COMMON_NAME => common = Some(text),
                ORGANIZATION => organization = Some(text),
                _ => {}
            }
        }
    }
    match (common, organization) {
        (Some(cn), Some(o)) if cn != o => format!("{cn} ({o})"),
        (Some(cn), _) => cn,
        (None, Some(o)) => o,
        (None, None) => "an unnamed authority".to_owned(),
    }
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time_of(tag: u8, content: &[u8]) -> Option<OffsetDateTime> {
    let text = std::str::from_utf8(content).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let part = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let date = Date::from_calendar_date(year, Month::try_from(part(0)?).ok()?, part(2)?).ok()?;
    let time = Time::from_hms(part(4)?, part(6)?, part(8).unwrap_or(0)).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_issuer_subject_and_validity_of_an_rcgen_certificate() {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Test Issuing CA 07");
        ca_params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Contoso");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let mut params = rcgen::CertificateParams::new(vec!["pool.example.io".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pool.example.io");
        params.not_before = rcgen::date_time_ymd(2020, 1, 2);
        params.not_after = rcgen::date_time_ymd(2061, 3, 4);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let summary = summarize(cert.der()).expect("parsed");
        assert_eq!(summary.issuer, "Test Issuing CA 07 (Contoso)");
        assert_eq!(summary.subject, "pool.example.io");
        assert_eq!(summary.not_before.date().to_string(), "2020-01-02");
        // Past 2049: GeneralizedTime.
        assert_eq!(summary.not_after.date().to_string(), "2061-03-04");
    }

    #[test]
    fn garbage_is_none_not_a_panic() {
        for input in [
            &b""[..],
            b"\x30",
            b"\x30\x84\xff\xff\xff\xff",
            b"\x30\x03\x30\x01",
        ] {
            assert_eq!(summarize(input), None);
        }
    }
}
