use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::input::{CsvOptions, CsvRows};
use crate::output::OutputFormat;
use crate::record::RowErrorKind;

fn spec() -> JobSpec {
    JobSpec {
        schema: json!({"type": "object", "properties": {"name": {"type": "string"}}}),
        instructions: Some("Names only.".into()),
    }
}

fn csv_rows(text: &'static [u8]) -> CsvRows<&'static [u8]> {
    CsvRows::new(text, &CsvOptions::new("body").with_id_column("id")).unwrap()
}

#[test]
fn a_job_is_stored_with_its_rows_and_input_errors_already_finished() {
    let store = BatchStore::open_in_memory().unwrap();
    let info = store
        .create_job(&spec(), csv_rows(b"id,body\na,Ada\nb,\nc,Bob\n"))
        .unwrap();
    assert!(info.id.starts_with("batch_"));
    assert_eq!(info.status, JobStatus::Queued);
    assert_eq!(
        (info.total, info.done, info.failed, info.pending),
        (3, 0, 1, 2)
    );
    assert_eq!(store.spec(&info.id).unwrap(), spec());
    let pending = store.pending_rows(&info.id, 0, 10).unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|p| (p.row, p.id.as_str(), p.document.as_str()))
            .collect::<Vec<_>>(),
        [(1, "a", "Ada"), (3, "c", "Bob")]
    );
    assert_eq!(store.pending_rows(&info.id, 1, 10).unwrap().len(), 1);
    let results = store.results(&info.id, 0, 10).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].outcome.as_ref().unwrap_err().kind,
        RowErrorKind::EmptyText
    );
}

#[test]
fn a_result_is_counted_once_even_if_recorded_twice() {
    let store = BatchStore::open_in_memory().unwrap();
    let id = store
        .create_job(
            &spec(),
            json_rows([JsonRow {
                id: None,
                document: Some("Ada".into()),
            }]),
        )
        .unwrap()
        .id;
    assert!(
        store
            .transition(&id, JobStatus::Queued, JobStatus::Running, None)
            .unwrap()
    );
    assert!(store.record(&id, 1, &Ok(json!({"name": "Ada"}))).unwrap());
    assert!(!store.record(&id, 1, &Ok(json!({"name": "Other"}))).unwrap());
    let info = store.complete_if_done(&id).unwrap();
    assert_eq!(
        (info.status, info.done, info.pending),
        (JobStatus::Completed, 1, 0)
    );
    assert_eq!(info.progress, 1.0);
    assert_eq!(
        store.results(&id, 0, 10).unwrap()[0].outcome,
        Ok(json!({"name": "Ada"}))
    );
}

#[test]
fn jobs_survive_reopening_and_interrupted_ones_are_queued_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batches.sqlite");
    let id = {
        let store = BatchStore::open(&path).unwrap();
        let id = store
            .create_job(&spec(), csv_rows(b"id,body\na,x\nb,y\n"))
            .unwrap()
            .id;
        store
            .transition(&id, JobStatus::Queued, JobStatus::Running, None)
            .unwrap();
        store.record(&id, 1, &Ok(json!({"name": "x"}))).unwrap();
        id
    };
    let store = BatchStore::open(&path).unwrap();
    assert_eq!(store.job(&id).unwrap().status, JobStatus::Running);
    assert_eq!(store.requeue_interrupted().unwrap(), 1);
    let info = store.job(&id).unwrap();
    assert_eq!(
        (info.status, info.done, info.pending),
        (JobStatus::Queued, 1, 1)
    );
    assert_eq!(store.next_queued().unwrap().as_deref(), Some(id.as_str()));
    assert_eq!(store.pending_rows(&id, 0, 10).unwrap()[0].row, 2);
}

#[test]
fn cancel_leaves_finished_jobs_alone() {
    let store = BatchStore::open_in_memory().unwrap();
    let id = store
        .create_job(&spec(), csv_rows(b"id,body\na,x\n"))
        .unwrap()
        .id;
    assert_eq!(store.cancel(&id).unwrap().status, JobStatus::Cancelled);
    assert!(store.next_queued().unwrap().is_none());
    let done = store
        .create_job(&spec(), csv_rows(b"id,body\na,\n"))
        .unwrap();
    // A job whose rows all failed on input is complete at once.
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(store.cancel(&done.id).unwrap().status, JobStatus::Completed);
    assert!(matches!(
        store.cancel("batch_nope"),
        Err(StoreError::NotFound(_))
    ));
    store.delete(&id).unwrap();
    assert!(matches!(store.job(&id), Err(StoreError::NotFound(_))));
    assert_eq!(store.list(10).unwrap().len(), 1);
}

#[test]
fn an_empty_job_is_refused_and_leaves_nothing_behind() {
    let store = BatchStore::open_in_memory().unwrap();
    assert!(matches!(
        store.create_job(&spec(), csv_rows(b"id,body\n")),
        Err(StoreError::NoRows)
    ));
    assert!(store.list(10).unwrap().is_empty());
}

#[test]
fn results_stream_as_jsonl_or_csv_in_row_order() {
    let store = Arc::new(BatchStore::open_in_memory().unwrap());
    let rows = (1..=1200).map(|i| JsonRow {
        id: Some(format!("r{i}")),
        document: Some(format!("doc {i}")),
    });
    let id = store.create_job(&spec(), json_rows(rows)).unwrap().id;
    for row in (1..=1200).rev() {
        store
            .record(&id, row, &Ok(json!({"name": format!("n{row}")})))
            .unwrap();
    }
    let jsonl: Vec<u8> = ResultChunks::new(store.clone(), &id, OutputFormat::Jsonl)
        .unwrap()
        .map(|c| c.unwrap())
        .collect::<Vec<_>>()
        .concat();
    let lines: Vec<OutputRecord> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| OutputRecord::from_json(serde_json::from_str(l).unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 1200);
    assert!(
        lines
            .iter()
            .zip(1..)
            .all(|(r, i)| r.row == i && r.id == format!("r{i}"))
    );

    let chunks = ResultChunks::new(store.clone(), &id, OutputFormat::Csv).unwrap();
    assert_eq!(chunks.content_type(), "text/csv; charset=utf-8");
    let csv_bytes = chunks.map(|c| c.unwrap()).collect::<Vec<_>>().concat();
    let mut reader = csv::Reader::from_reader(&csv_bytes[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["_row", "_id", "name", "_error_type", "_error"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 1200);
    assert_eq!(&records[1199][2], "n1200");
    assert!(matches!(
        ResultChunks::new(store, "batch_missing", OutputFormat::Csv),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn json_rows_number_rows_and_flag_empty_documents() {
    let rows: Vec<InputRow> = json_rows([
        JsonRow {
            id: Some("x".into()),
            document: Some("text".into()),
        },
        JsonRow {
            id: None,
            document: Some(" ".into()),
        },
        JsonRow {
            id: None,
            document: None,
        },
    ])
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(rows[0].id, "x");
    assert_eq!(rows[1].id, "2");
    assert_eq!(
        rows[1].text.as_ref().unwrap_err().kind,
        RowErrorKind::EmptyText
    );
    assert!(rows[2].text.is_err());
    let parsed: Vec<JsonRow> =
        serde_json::from_value(json!([{"id": "a", "text": "t"}, {"document": "d"}])).unwrap();
    assert_eq!(parsed[0].document.as_deref(), Some("t"));
    assert_eq!(parsed[1].id, None);
}
