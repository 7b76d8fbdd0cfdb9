//! `format` as regular languages.
//!
//! Each supported format is a whole-string regex that accepts only strings
//! that validators agree are valid (RFC 3339 dates with real day-of-month
//! limits and leap years, RFC 3986 URIs, dotted quads without leading zeros,
//! ...). Formats this module does not know are annotations, as the JSON
//! Schema specification prescribes for unknown formats, except the standard
//! ones listed in `KNOWN_UNSUPPORTED`, which are refused rather than ignored.

/// Standard formats that cannot be expressed as a regular language here.
pub(crate) const KNOWN_UNSUPPORTED: &[&str] = &["idn-hostname", "idn-email", "regex"];

const DAY_28: &str = "(?:0[1-9]|1[0-9]|2[0-8])";
const YEAR: &str = "[0-9]{4}";

/// Years divisible by 4 but not by 100 unless by 400.
fn leap_year() -> String {
    "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)".to_string()
}

fn date() -> String {
    format!(
        "(?:{YEAR}-(?:(?:0[13578]|1[02])-(?:{DAY_28}|29|3[01])|(?:0[469]|11)-(?:{DAY_28}|29|30)|02-{DAY_28})|{}-02-29)",
        leap_year()
    )
}

/// RFC 3339 times. A leap second (`:60`) exists only at 23:59 UTC, so it
/// is written only where the offset makes the local time that minute: in
/// UTC and at whole-hour offsets (a subset of the valid leap seconds).
fn time() -> String {
    let frac = "(?:\\.[0-9]+)?";
    let offset = "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    let mut leap = vec![format!("23:59:60{frac}(?:[Zz]|[+-]00:00)")];
    for h in 1..24 {
        // Local 23:59 + h hours for `+hh:00`, 23:59 - h hours for `-hh:00`.
        leap.push(format!("{:02}:59:60{frac}\\+{h:02}:00", (23 + h) % 24));
        leap.push(format!("{:02}:59:60{frac}-{h:02}:00", 23 - h));
    }
    format!(
        "(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{frac}{offset}|{})",
        leap.join("|")
    )
}

const DEC_OCTET: &str = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

fn ipv4() -> String {
    format!("{DEC_OCTET}(?:\\.{DEC_OCTET}){{3}}")
}

fn ipv6() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("(?:{h}:{h}|{})", ipv4());
    let alts = [
        format!("(?:{h}:){{6}}{ls32}"),
        format!("::(?:{h}:){{5}}{ls32}"),
        format!("(?:{h})?::(?:{h}:){{4}}{ls32}"),
        format!("(?:(?:{h}:){{0,1}}{h})?::(?:{h}:){{3}}{ls32}"),
        format!("(?:(?:{h}:){{0,2}}{h})?::(?:{h}:){{2}}{ls32}"),
        format!("(?:(?:{h}:){{0,3}}{h})?::{h}:{ls32}"),
        format!("(?:(?:{h}:){{0,4}}{h})?::{ls32}"),
        format!("(?:(?:{h}:){{0,5}}{h})?::{h}"),
        format!("(?:(?:{h}:){{0,6}}{h})?::"),
    ];
    format!("(?:{})", alts.join("|"))
}

/// RFC 3986 pieces; `ucs` adds the IRI characters of RFC 3987.
fn uri_parts(ucs: bool) -> (String, String, String, String) {
    let extra = if ucs {
        "\\u00A0-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF"
    } else {
        ""
    };
    let unreserved = format!("[A-Za-z0-9\\-._~{extra}]");
    let pct = "%[0-9A-Fa-f]{2}";
    let sub = "[!$&'()*+,;=]";
    let pchar = format!("(?:{unreserved}|{pct}|{sub}|[:@])");
    let reg_name = format!("(?:{unreserved}|{pct}|{sub})*");
    let host = format!("(?:\\[{}\\]|{}|{reg_name})", ipv6(), ipv4());
    let userinfo = format!("(?:{unreserved}|{pct}|{sub}|:)*");
    let authority = format!("(?:{userinfo}@)?{host}(?::[0-9]*)?");
    let query = format!("(?:{pchar}|[/?])*");
    (pchar, authority, query, unreserved)
}

fn uri(ucs: bool) -> String {
    let (pchar, authority, query, _) = uri_parts(ucs);
    let seg = format!("{pchar}*");
    let seg_nz = format!("{pchar}+");
    let hier =
        format!("(?://{authority}(?:/{seg})*|/(?:{seg_nz}(?:/{seg})*)?|{seg_nz}(?:/{seg})*|)");
    format!("[A-Za-z][A-Za-z0-9+\\-.]*:{hier}(?:\\?{query})?(?:#{query})?")
}

fn uri_reference(ucs: bool) -> String {
    let (pchar, authority, query, unreserved) = uri_parts(ucs);
    let seg = format!("{pchar}*");
    let seg_nz = format!("{pchar}+");
    let pct = "%[0-9A-Fa-f]{2}";
    let seg_nz_nc = format!("(?:{unreserved}|{pct}|[!$&'()*+,;=]|@)+");
    let rel =
        format!("(?://{authority}(?:/{seg})*|/(?:{seg_nz}(?:/{seg})*)?|{seg_nz_nc}(?:/{seg})*|)");
    format!("(?:{}|{rel}(?:\\?{query})?(?:#{query})?)", uri(ucs))
}

/// One RFC 1123 label of 1 to 63 letters, digits and inner hyphens whose
/// first character is in `first`. Hyphens at both the third and fourth
/// position mark an A-label (RFC 5891 §4.2.3.1), valid only as Punycode of
/// a permitted Unicode label; that is not a regular language, so such
/// labels (`xn--…`) are never written.
fn label(first: &str) -> String {
    let (an, anh) = ("[A-Za-z0-9]", "[A-Za-z0-9-]");
    format!(
        "(?:{first}(?:{anh}?{an})?|{first}{anh}(?:(?:{an}{an}|-{an})(?:{anh}{{0,58}}{an})?|{an}-{anh}{{0,58}}{an}))"
    )
}

/// Dot-separated labels without a trailing dot (validators read the
/// trailing-dot form of RFC 1034 as invalid); the last label starts with a
/// letter, as top-level domains are never numeric.
fn hostname() -> String {
    format!("(?:(?:{}\\.)*{})", label("[A-Za-z0-9]"), label("[A-Za-z]"))
}

/// An email's local part: at most 64 bytes (RFC 5321), all of them without
/// dots, or up to 32 characters each after an optional dot.
const EMAIL_LOCAL: &str = "(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]{1,64}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-](?:\\.?[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]){0,31})";

/// The whole-string regex (ECMA syntax) for a supported format, with an
/// upper bound on its length in characters where the format has one.
pub(crate) fn format_regex(name: &str) -> Option<(String, Option<u32>)> {
    let hex = "[0-9a-fA-F]";
    let r = match name {
        "date-time" => (format!("{}[Tt]{}", date(), time()), None),
        "date" => (date(), None),
        "time" => (time(), None),
        "duration" => {
            // RFC 3339 Appendix A: each unit may only be followed by the
            // next one (`dur-year = 1*DIGIT "Y" [dur-month]`, ...), so
            // `P1Y5D` and `PT1H2S` are not durations.
            let (n, d) = ("[0-9]+", "(?:[0-9]+D)");
            let t = format!("(?:T(?:{n}H(?:{n}M(?:{n}S)?)?|{n}M(?:{n}S)?|{n}S))");
            (
                format!("P(?:(?:{n}Y(?:{n}M{d}?)?|{n}M{d}?|{d}){t}?|{t}|{n}W)"),
                None,
            )
        }
        "email" => (
            format!("{EMAIL_LOCAL}@{l}(?:\\.{l})*", l = label("[A-Za-z0-9]")),
            Some(254),
        ),
        "hostname" | "host-name" => (hostname(), Some(253)),
        "ipv4" | "ip-address" => (ipv4(), None),
        "ipv6" => (ipv6(), None),
        "uri" => (uri(false), None),
        "uri-reference" => (uri_reference(false), None),
        "iri" => (uri(true), None),
        "iri-reference" => (uri_reference(true), None),
        "uuid" => (
            format!("{hex}{{8}}-{hex}{{4}}-{hex}{{4}}-{hex}{{4}}-{hex}{{12}}"),
            None,
        ),
        "json-pointer" => ("(?:/(?:[^~/]|~[01])*)*".to_string(), None),
        "relative-json-pointer" => (
            "(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~[01])*)*)".to_string(),
            None,
        ),
        "uri-template" => {
            let (_, _, _, unreserved) = uri_parts(false);
            let lit =
                format!("(?:[^\\x00-\\x20\\x7f\"'%<>\\\\^`{{|}}]|%[0-9A-Fa-f]{{2}}|{unreserved})");
            let var = "(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})(?:\\.?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2}))*(?::[1-9][0-9]{0,3}|\\*)?";
            let expr = format!("\\{{[+#./;?&=,!@|]?{var}(?:,{var})*\\}}");
            (format!("(?:{lit}|{expr})*"), None)
        }
        _ => return None,
    };
    Some(r)
}

/// A whole-string regex that every string validators accept as `name`
/// matches: a string outside it is certainly not of the format. Where the
/// format's own regex is a strict subset of validators' reading, this is
/// what a negated format subtracts. Formats without a useful bound read as
/// "any string", so their negation is empty.
pub(crate) fn format_superset_regex(name: &str) -> Option<&'static str> {
    Some(match name {
        "date-time" => "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}[\\s\\S]*",
        "date" => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "time" => "[0-9]{2}:[0-9]{2}:[0-9]{2}[\\s\\S]+",
        "duration" => "P[0-9YMWDTHS]+",
        "email" => "[\\s\\S]*@[\\s\\S]*",
        "hostname" | "host-name" => "[A-Za-z0-9.\\-]{1,253}",
        "ipv4" | "ip-address" => "[0-9.]{7,15}",
        "ipv6" => "[0-9A-Fa-f:.]{2,45}",
        "uri" | "iri" => "[A-Za-z][A-Za-z0-9+.\\-]*:[\\s\\S]*",
        "uuid" => "[0-9A-Fa-f\\-]{32,36}",
        "json-pointer" => "(?:/[\\s\\S]*)?",
        "relative-json-pointer" => "[0-9][\\s\\S]*",
        "uri-reference" | "iri-reference" | "uri-template" => "[\\s\\S]*",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::{encoded_dfa, parse_ecma, search_language};

    fn check(name: &str, good: &[&str], bad: &[&str]) {
        let (re, _) = format_regex(name).unwrap();
        let whole = |re: &str| {
            let full = format!("^(?:{re})$");
            let node = parse_ecma(&full).unwrap_or_else(|e| panic!("{name}: {e}"));
            encoded_dfa(&search_language(&node, &full).unwrap(), 200_000).unwrap()
        };
        let d = whole(&re);
        // The service's validator must agree with every accepted example.
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&serde_json::json!({ "format": name }))
            .unwrap();
        let wide = whole(format_superset_regex(name).unwrap());
        for g in good {
            assert!(
                validator.is_valid(&serde_json::json!(g)),
                "the validator refuses {g} as {name}"
            );
            assert!(
                wide.matches(format!("\"{g}\"").as_bytes()),
                "the superset of {name} misses {g}"
            );
            assert!(
                d.matches(format!("\"{g}\"").as_bytes()),
                "{name} should accept {g}"
            );
        }
        for b in bad {
            assert!(
                !d.matches(format!("\"{b}\"").as_bytes()),
                "{name} should reject {b}"
            );
        }
    }

    #[test]
    fn dates_and_times() {
        check(
            "date-time",
            &[
                "2024-02-29T12:00:00Z",
                "2023-12-31T23:59:59.123+05:30",
                "2000-02-29T00:00:00z",
            ],
            &[
                "2023-02-29T12:00:00Z",
                "1900-02-29T00:00:00Z",
                "2023-04-31T00:00:00Z",
                "2023-01-01T24:00:00Z",
                "2023-01-01 00:00:00Z",
                "2023-01-01T00:00:00",
            ],
        );
        check(
            "date",
            &["2020-01-31", "1996-02-29"],
            &["2020-1-31", "2021-02-29", "2020-13-01"],
        );
        check(
            "time",
            &[
                "10:20:30Z",
                "23:59:60Z",
                "00:59:60+01:00",
                "22:59:60.5-01:00",
            ],
            // A leap second is 23:59:60 UTC only.
            &[
                "10:20",
                "25:00:00Z",
                "23:59:60+01:00",
                "18:46:60Z",
                "23:58:60Z",
            ],
        );
        check(
            "duration",
            &[
                "P1D",
                "PT1H30M",
                "P1Y2M3DT4H5M6S",
                "P2W",
                "PT400M8968S",
                "P1Y2M",
            ],
            &["P", "PT", "1D", "P1H", "P1Y5D", "PT1H2S", "P1WT1H", "P1D2M"],
        );
    }

    #[test]
    fn network() {
        check(
            "ipv4",
            &["192.168.0.1", "0.0.0.0", "255.255.255.255"],
            &["256.1.1.1", "01.1.1.1", "1.1.1"],
        );
        check(
            "ipv6",
            &[
                "::1",
                "2001:db8::8a2e:370:7334",
                "::",
                "::ffff:192.168.1.1",
                "1:2:3:4:5:6:7:8",
            ],
            &["1:2:3:4:5:6:7:8:9", ":::", "g::1"],
        );
        check(
            "hostname",
            &[
                "example.com",
                "a-b.c",
                "localhost",
                "a1-b2.c-d",
                "ab-c.d",
                "abc-d.ef",
                "a--b.c",
            ],
            &[
                "-a.com",
                "a..b",
                "exa mple.com",
                "123",
                "example.",
                "a.",
                "0---0.a",
                "ab--c.d",
                "XN--aa---o47jg78q",
                "xn--bcher-kva.example",
            ],
        );
        check(
            "email",
            &["john.doe@example.com", "a+b@c"],
            &[
                "@example.com",
                "john@",
                "a b@c.com",
                "john.doe",
                "a@ab--c.d",
            ],
        );
        check(
            "uri",
            &[
                "https://example.com/path?q=1#f",
                "mailto:a@b.c",
                "urn:isbn:0451450523",
                "http://[::1]:80/",
            ],
            &["not a uri", "/relative", "http://exa mple.com"],
        );
        check(
            "uri-reference",
            &["/relative/path", "../x", "#frag", "https://a.b"],
            &["a b", "http://a b"],
        );
        check(
            "uuid",
            &["123e4567-e89b-12d3-a456-426614174000"],
            &[
                "123e4567e89b12d3a456426614174000",
                "g23e4567-e89b-12d3-a456-426614174000",
            ],
        );
        check("json-pointer", &["", "/a/b", "/a~1b/~0"], &["a", "/a~2"]);
        check(
            "uri-template",
            &["http://example.com/{id}", "{+path}/x", "a{x:3}", "{a,b*}"],
            &["a\u{7f}b", "{", "a}b", "{x:0}"],
        );
    }
}
