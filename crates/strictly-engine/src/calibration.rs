//! From the model's probability to a calibrated confidence: a monotone map
//! fitted on the development cases by `scripts/fit_calibration.py`
//! (isotonic regression; its report gives the calibration on cases it was
//! not fitted on) and shipped as `calibration.json`. A confidence of 0.9
//! means that about 90 % of the development values given 0.9 were right.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::evidence::Status;

/// The fitted map.
#[derive(Debug, Clone, Deserialize)]
pub struct Calibration {
    /// `(probability, share right)` for values found in the document,
    /// increasing in both; linear in between, flat beyond the ends.
    points: Vec<(f64, f64)>,
    /// Share right of `fuzzy` values: their confidence is at most this.
    fuzzy: f64,
    /// Share right of `not_found` values: their confidence.
    not_found: f64,
}

impl Calibration {
    /// The map shipped with this build.
    pub fn shipped() -> &'static Calibration {
        static SHIPPED: OnceLock<Calibration> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            serde_json::from_str(include_str!("../calibration.json"))
                .unwrap_or_else(|e| unreachable!("calibration.json is checked in tests: {e}"))
        })
    }

    /// The confidence of a value the model wrote with `probability` and
    /// that was found in the document as `status`.
    pub fn confidence(&self, probability: f64, status: Status) -> f64 {
        let found = self.interpolate(probability);
        match status {
            Status::NotFound => self.not_found,
            Status::Fuzzy => found.min(self.fuzzy),
            Status::Exact | Status::Normalized => found,
        }
    }

    fn interpolate(&self, p: f64) -> f64 {
        let (Some(first), Some(last)) = (self.points.first(), self.points.last()) else {
            return p;
        };
        if p <= first.0 {
            return first.1;
        }
        if p >= last.0 {
            return last.1;
        }
        self.points
            .windows(2)
            .find(|w| w[0].0 <= p && p <= w[1].0)
            .map_or(p, |w| {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if x1 > x0 {
                    y0 + (y1 - y0) * (p - x0) / (x1 - x0)
                } else {
                    y1
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_map_is_monotone_and_in_range() {
        let c = Calibration::shipped();
        assert!(!c.points.is_empty());
        for w in c.points.windows(2) {
            assert!(w[0].0 <= w[1].0 && w[0].1 <= w[1].1, "{w:?}");
        }
        let mut last = 0.0;
        for i in 0..=100 {
            let v = c.confidence(i as f64 / 100.0, Status::Exact);
            assert!((0.0..=1.0).contains(&v) && v >= last, "{i}: {v}");
            last = v;
        }
        assert!(c.not_found < 0.5 && c.fuzzy < 1.0);
        assert_eq!(c.confidence(0.99, Status::NotFound), c.not_found);
        assert!(c.confidence(0.99, Status::Fuzzy) <= c.fuzzy);
    }

    #[test]
    fn interpolation_between_points() {
        let c = Calibration {
            points: vec![(0.2, 0.0), (0.6, 0.4), (0.9, 1.0)],
            fuzzy: 0.3,
            not_found: 0.05,
        };
        assert_eq!(c.confidence(0.1, Status::Exact), 0.0);
        assert!((c.confidence(0.4, Status::Exact) - 0.2).abs() < 1e-9);
        assert!((c.confidence(0.75, Status::Normalized) - 0.7).abs() < 1e-9);
        assert_eq!(c.confidence(0.95, Status::Exact), 1.0);
        assert_eq!(c.confidence(0.95, Status::Fuzzy), 0.3);
    }
}
