//! Run names: a backup run's start in UTC to the second, written without colons so that it is
//! a valid file name everywhere (`2026-11-29T060000Z`), ordered as the runs are.

use std::fmt;
use std::str::FromStr;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The name of a backup run (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunName(Timestamp);

/// The layout of a run name, for `strftime`/`strptime`.
const FORMAT: &str = "%Y-%m-%dT%H%M%SZ";

impl RunName {
    /// The run starting at `at`, to the second.
    pub fn at(at: Timestamp) -> RunName {
        // A timestamp inside jiff's range stays inside it when truncated to the second.
        RunName(Timestamp::from_second(at.as_second()).unwrap_or(at))
    }

    /// The run's start.
    pub fn time(self) -> Timestamp {
        self.0
    }

    /// The run one second later.
    pub fn next(self) -> RunName {
        RunName(
            self.0
                .checked_add(jiff::SignedDuration::from_secs(1))
                .unwrap_or(self.0),
        )
    }
}

impl fmt::Display for RunName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.to_zoned(TimeZone::UTC).strftime(FORMAT))
    }
}

impl FromStr for RunName {
    type Err = String;

    /// Parses a run name exactly as [`RunName`] writes it.
    fn from_str(text: &str) -> Result<RunName, String> {
        let refused = || format!("{text:?} is not a run name (like 2026-11-29T060000Z)");
        let civil = DateTime::strptime(FORMAT, text).map_err(|_| refused())?;
        let at = civil.to_zoned(TimeZone::UTC).map_err(|_| refused())?;
        let run = RunName(at.timestamp());
        // Only the canonical spelling names a run: one folder per run, never two.
        if run.to_string() != text {
            return Err(refused());
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_utc_seconds_without_colons_and_parse_back() {
        let at: Timestamp = "2026-11-29T06:00:00.987654321Z".parse().unwrap();
        let run = RunName::at(at);
        assert_eq!(run.to_string(), "2026-11-29T060000Z");
        assert_eq!("2026-11-29T060000Z".parse::<RunName>(), Ok(run));
        let offset: Timestamp = "2026-11-29T07:30:05+01:30".parse().unwrap();
        assert_eq!(RunName::at(offset).to_string(), "2026-11-29T060005Z");
        let last: RunName = "2026-12-31T235959Z".parse().unwrap();
        assert_eq!(last.next().to_string(), "2027-01-01T000000Z");
    }

    #[test]
    fn names_sort_as_the_runs() {
        let names = [
            "2026-11-29T060000Z",
            "2025-12-31T235959Z",
            "2026-01-01T000000Z",
        ];
        let mut runs: Vec<RunName> = names.iter().map(|n| n.parse().unwrap()).collect();
        runs.sort();
        let sorted: Vec<String> = runs.iter().map(ToString::to_string).collect();
        assert_eq!(
            sorted,
            [
                "2025-12-31T235959Z",
                "2026-01-01T000000Z",
                "2026-11-29T060000Z"
            ]
        );
    }

    #[test]
    fn other_spellings_are_not_run_names() {
        for bad in [
            "",
            "2026-11-29T06:00:00Z",
            "2026-11-29T060000",
            "2026-11-29t060000Z",
            "2026-13-01T000000Z",
            "2026-02-30T000000Z",
            "2026-11-29T060000Z.partial",
            " 2026-11-29T060000Z",
            "999999-01-01T000000Z",
        ] {
            let err = bad.parse::<RunName>().unwrap_err();
            assert!(err.contains("is not a run name"), "{bad:?}: {err}");
        }
    }
}
