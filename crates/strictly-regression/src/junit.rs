//! JUnit XML, the report format CI systems (GitHub Actions reporters,
//! GitLab, Jenkins) read to show failed cases next to a build.

use std::fmt::Write as _;

use crate::runner::{CaseOutcome, Report};

/// The report as a JUnit XML document: one `<testsuite>` with a
/// `<testcase>` per case; a mismatch is a `<failure>` carrying the
/// field-level diff, an extraction or case-loading problem an `<error>`.
pub fn to_junit(report: &Report) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (failures, errors) = (report.failed(), report.errors());
    let tests = report.cases.len();
    let time = report.elapsed.as_secs_f64();
    let suite = escape(&report.suite);
    let _ = writeln!(
        xml,
        "<testsuites name=\"strictly\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{time:.3}\">"
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{time:.3}\">"
    );
    for case in &report.cases {
        let name = escape(&case.name);
        let time = case.elapsed.as_secs_f64();
        let open =
            format!("    <testcase classname=\"{suite}\" name=\"{name}\" time=\"{time:.3}\"");
        match &case.outcome {
            CaseOutcome::Passed | CaseOutcome::Updated { .. } => {
                let _ = writeln!(xml, "{open}/>");
            }
            CaseOutcome::Failed(mismatches) => {
                let message = format!("{} field(s) differ from expected.json", mismatches.len());
                let body: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    xml,
                    "{open}>\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n    </testcase>",
                    escape(&message),
                    escape(&body.join("\n"))
                );
            }
            CaseOutcome::Error { kind, message } => {
                let _ = writeln!(
                    xml,
                    "{open}>\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
                    escape(message),
                    escape(kind),
                    escape(message)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Escapes text for XML content and attribute values; characters XML 1.0
/// cannot carry at all (most control characters) become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::diff::Mismatch;
    use crate::runner::CaseResult;
    use serde_json::json;

    #[test]
    fn cases_failures_and_errors() {
        let report = Report {
            suite: "extraction".into(),
            elapsed: Duration::from_millis(1500),
            cases: vec![
                CaseResult {
                    name: "invoice".into(),
                    outcome: CaseOutcome::Passed,
                    elapsed: Duration::from_millis(500),
                },
                CaseResult {
                    name: "receipt <fr>".into(),
                    outcome: CaseOutcome::Failed(vec![Mismatch {
                        pointer: "/total".into(),
                        expected: Some(json!(1)),
                        got: Some(json!("a&b")),
                    }]),
                    elapsed: Duration::from_millis(700),
                },
                CaseResult {
                    name: "contract".into(),
                    outcome: CaseOutcome::Error {
                        kind: "document_too_long".into(),
                        message: "the prompt has 9000 tokens\u{1}".into(),
                    },
                    elapsed: Duration::from_millis(300),
                },
            ],
        };
        let xml = to_junit(&report);
        assert!(xml.contains(
            r#"<testsuite name="extraction" tests="3" failures="1" errors="1" skipped="0" time="1.500">"#
        ));
        assert!(xml.contains(r#"<testcase classname="extraction" name="invoice" time="0.500"/>"#));
        assert!(xml.contains(r#"name="receipt &lt;fr&gt;""#));
        assert!(xml.contains(
            r#"<failure message="1 field(s) differ from expected.json" type="mismatch">/total: expected 1, got &quot;a&amp;b&quot;</failure>"#
        ));
        assert!(
            xml.contains(
                r#"<error message="the prompt has 9000 tokens�" type="document_too_long">"#
            )
        );
        assert!(xml.ends_with("</testsuites>\n"));
        // Tags balance.
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert_eq!(
            xml.matches("</testcase>").count() + xml.matches("\"/>").count(),
            3
        );
    }
}
