//! Arbitrary bytes through the CSV reader: it must never panic, must number
//! rows 1, 2, 3... without gaps, must classify every row (text or a typed
//! row error), and must never return more bytes of text than it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strictly_batch::{CsvOptions, CsvRows, InputError};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the delimiter and whether an id column is used,
    // so one corpus exercises every configuration.
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let delimiter = [b',', b';', b'\t', b'|'][usize::from(control & 3)];
    let mut options = CsvOptions::new("body").with_delimiter(delimiter);
    if control & 4 != 0 {
        options = options.with_id_column("id");
    }
    let rows = match CsvRows::new(input, &options) {
        Ok(rows) => rows,
        Err(InputError::MissingColumn { column, .. }) => {
            assert!(column == "body" || column == "id");
            return;
        }
        Err(_) => return,
    };
    let mut expected_row = 1u64;
    let mut text_bytes = 0usize;
    for row in rows {
        let Ok(row) = row else { break };
        assert_eq!(row.row, expected_row);
        expected_row += 1;
        match &row.text {
            Ok(text) => {
                assert!(!text.trim().is_empty());
                text_bytes += text.len();
            }
            Err(err) => assert!(!err.message.is_empty()),
        }
        if control & 4 == 0 {
            assert_eq!(row.id, row.row.to_string());
        }
    }
    assert!(text_bytes <= input.len());
});
