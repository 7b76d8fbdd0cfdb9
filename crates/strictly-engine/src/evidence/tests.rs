use serde_json::json;

use super::*;

fn one(doc: &str, value: serde_json::Value) -> Evidence {
    Document::new(doc).locate(&value).expect("a located leaf")
}

/// The passage at the evidence's offsets, cut by Unicode scalar values.
fn cut(doc: &str, e: &Evidence) -> String {
    doc.chars()
        .skip(e.start.unwrap())
        .take(e.end.unwrap() - e.start.unwrap())
        .collect()
}

#[test]
fn exact_values_point_at_their_characters_in_multibyte_text() {
    let doc = "请款单 № 42 — 客户：東京株式会社 🚀 总计 ¥1,200";
    let e = one(doc, json!("東京株式会社"));
    assert_eq!(e.status, Status::Exact);
    assert_eq!(cut(doc, &e), "東京株式会社");
    assert_eq!(e.text.as_deref(), Some("東京株式会社"));
    let e = one(doc, json!(1200));
    assert_eq!(e.status, Status::Normalized);
    assert_eq!(cut(doc, &e), "1,200");
    let e = one("🚀🚀 launch at T-10", json!("T-10"));
    assert_eq!((e.start, e.end), (Some(13), Some(17)));
}

#[test]
fn combining_marks_match_precomposed_values() {
    // "Café" with the accent as a combining mark.
    let doc = "Lunch at Cafe\u{301} Rouge, Lyon";
    let e = one(doc, json!("Café Rouge"));
    assert_eq!(e.status, Status::Normalized);
    assert_eq!(cut(doc, &e), "Cafe\u{301} Rouge");
}

#[test]
fn quotes_and_newlines_in_values_are_found_as_written() {
    let doc = "Note: \"fragile\"\nhandle with care.";
    let e = one(doc, json!("\"fragile\"\nhandle"));
    assert_eq!(e.status, Status::Exact);
    assert_eq!(cut(doc, &e), "\"fragile\"\nhandle");
}

#[test]
fn case_whitespace_numbers_and_dates_are_normalized() {
    let doc = "VENDOR:  ACME   GmbH\nTotal due: 1.250,00 EUR on 15/01/2019 (or 3 March 2020)";
    let e = one(doc, json!("Acme GmbH"));
    assert_eq!(
        (e.status, cut(doc, &e).as_str()),
        (Status::Normalized, "ACME   GmbH")
    );
    let e = one(doc, json!(1250.0));
    assert_eq!(
        (e.status, cut(doc, &e).as_str()),
        (Status::Normalized, "1.250,00")
    );
    let e = one(doc, json!("2019-01-15"));
    assert_eq!(
        (e.status, cut(doc, &e).as_str()),
        (Status::Normalized, "15/01/2019")
    );
    let e = one(doc, json!("2020-03-03"));
    assert_eq!(
        (e.status, cut(doc, &e).as_str()),
        (Status::Normalized, "3 March 2020")
    );
    let e = one(doc, json!("1250.00"));
    assert_eq!(e.status, Status::Normalized, "a number written as a string");
}

#[test]
fn close_passages_are_fuzzy_and_others_not_found() {
    let doc = "Received from SYARIKAT PERNIAGAAN GIN KEE, No 290 Jalan Air Panas";
    let e = one(doc, json!("SYARIKAT PERNIAGAN GIN KEE"));
    assert_eq!(e.status, Status::Fuzzy);
    assert!(e.similarity.unwrap() > 0.9, "{e:?}");
    assert_eq!(cut(doc, &e), "SYARIKAT PERNIAGAAN GIN KEE");
    assert_eq!(one(doc, json!("1171881-W")).status, Status::NotFound);
    assert_eq!(one(doc, json!(2.811e63)).status, Status::NotFound);
    assert_eq!(one(doc, json!("")).status, Status::NotFound);
    // A number inside a longer one is not its evidence.
    assert_eq!(one("code 12345", json!(234)).status, Status::NotFound);
}

#[test]
fn every_string_and_number_leaf_is_keyed_by_its_pointer() {
    let data = json!({"a/b": "x", "items": [{"n": 1}, {"n": 2, "ok": true}], "none": null});
    let found = locate_all("x 1 2", &data);
    let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, ["/a~1b", "/items/0/n", "/items/1/n"]);
    assert!(found.iter().all(|(_, e)| e.status == Status::Exact));
}
