use super::*;
use crate::record::{RowError, RowErrorKind};
use serde_json::json;

fn schema() -> Value {
    json!({"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array"}}})
}

/// Records whose encodings contain everything that makes torn-tail
/// detection hard: quoted newlines, doubled quotes, delimiters, non-ASCII.
fn records() -> Vec<OutputRecord> {
    vec![
        OutputRecord {
            row: 1,
            id: "a".into(),
            outcome: Ok(json!({"name": "line one\nline \"two\", end", "tags": ["x\ny"]})),
        },
        OutputRecord {
            row: 2,
            id: "b,\"c\"".into(),
            outcome: Err(RowError::new(RowErrorKind::EmptyText, "line 3: empty\n")),
        },
        OutputRecord {
            row: 5,
            id: "é".into(),
            outcome: Ok(json!({"name": "\"", "tags": []})),
        },
        OutputRecord {
            row: 4,
            id: "d".into(),
            outcome: Ok(json!({"name": "plain"})),
        },
    ]
}

fn write_all(path: &Path, format: OutputFormat, records: &[OutputRecord]) {
    let (mut out, _) = OutputFile::open(path, format, &schema()).unwrap();
    for r in records {
        out.append(r).unwrap();
    }
}

fn rows(resume: &Resume) -> Vec<u64> {
    (0..=10).filter(|&r| resume.done.contains(r)).collect()
}

#[test]
fn format_from_extension() {
    assert_eq!(
        OutputFormat::from_path(Path::new("a.JSONL")).unwrap(),
        OutputFormat::Jsonl
    );
    assert_eq!(
        OutputFormat::from_path(Path::new("a.ndjson")).unwrap(),
        OutputFormat::Jsonl
    );
    assert_eq!(
        OutputFormat::from_path(Path::new("x/a.csv")).unwrap(),
        OutputFormat::Csv
    );
    assert!(matches!(
        OutputFormat::from_path(Path::new("a.txt")),
        Err(OutputError::UnknownFormat(_))
    ));
}

#[test]
fn reopening_reads_back_the_done_rows() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("o.jsonl", OutputFormat::Jsonl),
        ("o.csv", OutputFormat::Csv),
    ] {
        let path = dir.path().join(name);
        write_all(&path, format, &records());
        let (_, resume) = OutputFile::open(&path, format, &schema()).unwrap();
        assert_eq!(rows(&resume), [1, 2, 4, 5], "{name}");
        assert_eq!(resume.torn_bytes, 0);
        assert!(resume.check_id(2, "b,\"c\"").is_ok());
        assert!(matches!(
            resume.check_id(5, "other"),
            Err(OutputError::DifferentInput { row: 5, .. })
        ));
    }
}

#[test]
fn jsonl_lines_are_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.jsonl");
    write_all(&path, OutputFormat::Jsonl, &records());
    let text = std::fs::read_to_string(&path).unwrap();
    let back: Vec<OutputRecord> = text
        .lines()
        .map(|l| OutputRecord::from_json(serde_json::from_str(l).unwrap()).unwrap())
        .collect();
    assert_eq!(back, records());
}

#[test]
fn csv_output_reads_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.csv");
    write_all(&path, OutputFormat::Csv, &records());
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["_row", "_id", "name", "tags", "_error_type", "_error"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(&rows[0][2], "line one\nline \"two\", end");
    assert_eq!(&rows[0][3], "[\"x\\ny\"]");
    assert_eq!(&rows[1][4], "empty_text");
}

/// Cuts a complete output at every byte offset, as a crash at any moment
/// could, and checks that reopening keeps exactly the records that were
/// whole and leaves a file that continues cleanly.
#[test]
fn a_tail_torn_at_any_byte_is_cut_back_to_the_last_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [
        ("t.jsonl", OutputFormat::Jsonl),
        ("t.csv", OutputFormat::Csv),
    ] {
        let full_path = dir.path().join(format!("full-{name}"));
        let records = records();
        // Offsets where each record ends, to know which ones are whole.
        let mut ends = Vec::new();
        {
            let (mut out, _) = OutputFile::open(&full_path, format, &schema()).unwrap();
            let header_len = std::fs::metadata(&full_path).unwrap().len();
            ends.push(header_len);
            for r in &records {
                out.append(r).unwrap();
                ends.push(std::fs::metadata(&full_path).unwrap().len());
            }
        }
        let full = std::fs::read(&full_path).unwrap();
        let path = dir.path().join(name);
        for cut in 0..=full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            // Records wholly inside the cut; a CSV torn inside its header
            // gets the header written again.
            let whole = ends[1..].iter().filter(|&&e| e <= cut as u64).count();
            let kept = ends[whole];
            let (mut out, resume) = OutputFile::open(&path, format, &schema()).unwrap();
            let mut expected: Vec<u64> = records[..whole].iter().map(|r| r.row).collect();
            expected.sort_unstable();
            assert_eq!(rows(&resume), expected, "{name} cut at {cut}");
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                kept,
                "{name} cut at {cut}"
            );
            // Finishing the run gives the full file back, byte for byte.
            for r in &records[whole..] {
                out.append(r).unwrap();
            }
            drop(out);
            assert_eq!(std::fs::read(&path).unwrap(), full, "{name} cut at {cut}");
        }
    }
}

#[test]
fn a_file_that_is_not_ours_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.jsonl");
    std::fs::write(&path, "hello\n{\"row\":1").unwrap();
    let err = OutputFile::open(&path, OutputFormat::Jsonl, &schema()).unwrap_err();
    assert!(
        matches!(err, OutputError::Corrupt { line: 1, .. }),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n{\"row\":1");
}

#[test]
fn a_csv_written_for_another_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.csv");
    write_all(&path, OutputFormat::Csv, &records()[..1]);
    let other = json!({"properties": {"total": {}}});
    let err = OutputFile::open(&path, OutputFormat::Csv, &other).unwrap_err();
    assert!(matches!(err, OutputError::ColumnsChanged { .. }), "{err:?}");
}

#[test]
fn a_second_writer_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.jsonl");
    let first = OutputFile::open(&path, OutputFormat::Jsonl, &schema()).unwrap();
    let err = OutputFile::open(&path, OutputFormat::Jsonl, &schema()).unwrap_err();
    assert!(matches!(err, OutputError::Locked(_)), "{err:?}");
    drop(first);
    assert!(OutputFile::open(&path, OutputFormat::Jsonl, &schema()).is_ok());
}

#[test]
fn duplicate_rows_in_an_edited_file_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.jsonl");
    let line = "{\"row\":1,\"id\":\"a\",\"data\":{}}\n";
    std::fs::write(&path, format!("{line}{line}")).unwrap();
    let (_, resume) = OutputFile::open(&path, OutputFormat::Jsonl, &schema()).unwrap();
    assert_eq!((resume.done.len(), resume.duplicates), (1, 1));
}
