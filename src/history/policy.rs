//! Which past states stay restorable: restic's `forget` rules as a pure function from the times
//! of the states to a decision per state, with its reasons.
//!
//! [`KeepPolicy::apply`] walks the states newest first. `last N` keeps the N newest. `hourly N`,
//! `daily N`, `weekly N` and `monthly N` each keep the newest state of each of the N most recent
//! hours (days, ISO weeks, months) that have one; periods are counted in UTC, as run names are.
//! `within D` keeps every state less than `D` (years, months, days, hours: `1y6m`, `7d`, `36h`)
//! older than the newest state. A state is kept when any rule keeps it, and its reasons say which
//! ones. A policy with no rule keeps everything: nothing is ever dropped by an empty policy.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// Which states to keep (see the module docs); `None` switches a rule off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepPolicy {
    /// The N newest states.
    pub last: Option<u32>,
    /// The newest state of each of the N most recent hours that have one.
    pub hourly: Option<u32>,
    /// The newest state of each of the N most recent days that have one.
    pub daily: Option<u32>,
    /// The newest state of each of the N most recent ISO weeks that have one.
    pub weekly: Option<u32>,
    /// The newest state of each of the N most recent months that have one.
    pub monthly: Option<u32>,
    /// Every state younger than this, counted back from the newest state.
    pub within: Option<Within>,
}

/// How far back [`KeepPolicy::within`] keeps everything: `1y6m`, `7d`, `36h`, `2y3m4d5h`
/// (restic's syntax: each unit at most once, in that order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Within {
    years: i16,
    months: i32,
    days: i32,
    hours: i32,
}

/// What the policy decided for one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The time of the state.
    pub time: Timestamp,
    /// Whether it stays restorable.
    pub keep: bool,
    /// The rules that keep it (`daily snapshot`, `within 7d`, ...), empty when it goes.
    pub reasons: Vec<String>,
}

impl KeepPolicy {
    /// poof's default: every state of the last 7 days, then one a day for 30 days, one a week
    /// for 12 weeks and one a month for 24 months.
    pub const DEFAULT: KeepPolicy = KeepPolicy {
        last: None,
        hourly: None,
        daily: Some(30),
        weekly: Some(12),
        monthly: Some(24),
        within: Some(Within {
            years: 0,
            months: 0,
            days: 7,
            hours: 0,
        }),
    };

    /// True when no rule is set (such a policy keeps everything).
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }

    /// Decides for each state whether it stays, newest first (see the module docs). Equal
    /// times are one state and decided once.
    pub fn apply(&self, times: &[Timestamp]) -> Vec<Decision> {
        let mut times = times.to_vec();
        times.sort_unstable_by(|a, b| b.cmp(a));
        times.dedup();
        let Some(&newest) = times.first() else {
            return Vec::new();
        };
        if self.is_empty() {
            let reasons = vec!["no policy: everything is kept".to_owned()];
            return times
                .into_iter()
                .map(|time| Decision {
                    time,
                    keep: true,
                    reasons: reasons.clone(),
                })
                .collect();
        }
        let cutoff = self.within.map(|w| w.cutoff(newest));
        let mut rules = [
            Rule::new(self.last, Period::Each, "last snapshot"),
            Rule::new(self.hourly, Period::Hour, "hourly snapshot"),
            Rule::new(self.daily, Period::Day, "daily snapshot"),
            Rule::new(self.weekly, Period::Week, "weekly snapshot"),
            Rule::new(self.monthly, Period::Month, "monthly snapshot"),
        ];
        let mut out = Vec::with_capacity(times.len());
        for (index, time) in times.into_iter().enumerate() {
            let mut reasons = Vec::new();
            if let (Some(cutoff), Some(within)) = (cutoff, self.within) {
                if time > cutoff {
                    reasons.push(format!("within {within}"));
                }
            }
            for rule in &mut rules {
                if let Some(reason) = rule.offer(time, index) {
                    reasons.push(reason.to_owned());
                }
            }
            out.push(Decision {
                time,
                keep: !reasons.is_empty(),
                reasons,
            });
        }
        out
    }
}

impl fmt::Display for KeepPolicy {
    /// The rules set, as `poof forget` prints them: `within 7d, 30 daily, 12 weekly`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(within) = self.within {
            parts.push(format!("within {within}"));
        }
        for (count, what) in [
            (self.last, "last"),
            (self.hourly, "hourly"),
            (self.daily, "daily"),
            (self.weekly, "weekly"),
            (self.monthly, "monthly"),
        ] {
            if let Some(count) = count {
                parts.push(format!("{count} {what}"));
            }
        }
        if parts.is_empty() {
            return f.write_str("no rule: everything is kept");
        }
        f.write_str(&parts.join(", "))
    }
}

/// The periods the bucket rules count in.
#[derive(Debug, Clone, Copy)]
enum Period {
    /// Every state is a period of its own (`last`).
    Each,
    Hour,
    Day,
    Week,
    Month,
}

impl Period {
    /// A number naming the period `time` (or the state at `index`) falls in.
    fn of(self, time: Timestamp, index: usize) -> i64 {
        let utc = time.to_zoned(TimeZone::UTC);
        let (year, month, day) = (
            i64::from(utc.year()),
            i64::from(utc.month()),
            i64::from(utc.day()),
        );
        match self {
            Period::Each => index as i64,
            Period::Hour => ((year * 100 + month) * 100 + day) * 100 + i64::from(utc.hour()),
            Period::Day => (year * 100 + month) * 100 + day,
            Period::Week => {
                let week = utc.date().iso_week_date();
                i64::from(week.year()) * 100 + i64::from(week.week())
            }
            Period::Month => year * 100 + month,
        }
    }
}

/// One bucket rule while the policy walks the states newest first.
struct Rule {
    /// Periods still to keep one state of; `None` when the rule is off.
    left: Option<u32>,
    period: Period,
    /// The period of the last state this rule kept.
    last: Option<i64>,
    reason: &'static str,
}

impl Rule {
    fn new(count: Option<u32>, period: Period, reason: &'static str) -> Rule {
        Rule {
            left: count,
            period,
            last: None,
            reason,
        }
    }

    /// Keeps the state at `time` when it opens a new period and periods are left to keep.
    fn offer(&mut self, time: Timestamp, index: usize) -> Option<&'static str> {
        let left = self.left.filter(|&n| n > 0)?;
        let period = self.period.of(time, index);
        if self.last == Some(period) {
            return None;
        }
        self.last = Some(period);
        self.left = Some(left - 1);
        Some(self.reason)
    }
}

impl Within {
    /// The time such that states after it are within this span of `newest` (the earliest
    /// representable time when the span reaches further back).
    fn cutoff(self, newest: Timestamp) -> Timestamp {
        let span = Span::new()
            .years(self.years)
            .months(self.months)
            .days(self.days)
            .hours(self.hours);
        newest
            .to_zoned(TimeZone::UTC)
            .checked_sub(span)
            .map_or(Timestamp::MIN, |zoned| zoned.timestamp())
    }
}

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            (i64::from(self.years), 'y'),
            (i64::from(self.months), 'm'),
            (i64::from(self.days), 'd'),
            (i64::from(self.hours), 'h'),
        ];
        let mut any = false;
        for (value, unit) in parts {
            if value > 0 {
                write!(f, "{value}{unit}")?;
                any = true;
            }
        }
        if !any {
            f.write_str("0h")?;
        }
        Ok(())
    }
}

impl FromStr for Within {
    type Err = String;

    /// Parses `1y6m`, `7d`, `36h`, `2y3m4d5h`: numbers each followed by `y`, `m`, `d` or `h`,
    /// each unit at most once and in that order, at least one.
    fn from_str(text: &str) -> Result<Within, String> {
        let refused = |why: &str| format!("{text:?} is not a duration like 7d, 36h or 1y6m: {why}");
        // Years to hours, as far as calendar arithmetic reaches (jiff's limits).
        const LIMITS: [(char, i64); 4] = [
            ('y', 19_998),
            ('m', 239_976),
            ('d', 7_304_484),
            ('h', 175_307_616),
        ];
        let mut values = [0i64; 4];
        let mut next_unit = 0;
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let Some(at) = LIMITS.iter().position(|(unit, _)| *unit == c) else {
                return Err(refused(&format!("unknown unit {c:?}")));
            };
            if at < next_unit {
                return Err(refused("units go y, m, d, h, each once"));
            }
            if digits.is_empty() {
                return Err(refused(&format!("no number before {c:?}")));
            }
            let value: i64 = digits.parse().map_err(|_| refused("number too large"))?;
            if value > LIMITS[at].1 {
                return Err(refused("too far back"));
            }
            values[at] = value;
            next_unit = at + 1;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(refused("a number needs a unit"));
        }
        if next_unit == 0 {
            return Err(refused("empty"));
        }
        let narrow = |v: i64| i32::try_from(v).map_err(|_| refused("number too large"));
        Ok(Within {
            years: i16::try_from(values[0]).map_err(|_| refused("number too large"))?,
            months: narrow(values[1])?,
            days: narrow(values[2])?,
            hours: narrow(values[3])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The kept times of `policy` over `times`, newest first.
    fn kept(policy: KeepPolicy, times: &[&str]) -> Vec<String> {
        let times: Vec<Timestamp> = times.iter().map(|s| t(s)).collect();
        policy
            .apply(&times)
            .into_iter()
            .filter(|d| d.keep)
            .map(|d| d.time.to_string())
            .collect()
    }

    /// A policy with one rule set.
    fn only(rule: &str, value: &str) -> KeepPolicy {
        let count = value.parse().ok();
        let mut policy = KeepPolicy::default();
        match rule {
            "last" => policy.last = count,
            "hourly" => policy.hourly = count,
            "daily" => policy.daily = count,
            "weekly" => policy.weekly = count,
            "monthly" => policy.monthly = count,
            _ => policy.within = Some(value.parse().unwrap()),
        }
        policy
    }

    #[test]
    fn each_rule_keeps_the_newest_state_of_its_periods() {
        /// Times of states, as RFC 3339.
        type Times = &'static [&'static str];
        // (rule, its value, the states, the states kept newest first; why)
        let cases: [(&str, &str, Times, Times, &str); 8] = [
            (
                "last",
                "2",
                &[
                    "2026-01-01T00:00:00Z",
                    "2026-01-03T00:00:00Z",
                    "2026-01-02T00:00:00Z",
                ],
                &["2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z"],
                "the newest, in any order given",
            ),
            (
                "daily",
                "2",
                &[
                    "2026-11-29T06:00:00Z",
                    "2026-11-29T00:00:00Z",
                    "2026-11-27T18:00:00Z",
                    "2026-11-27T06:00:00Z",
                    "2026-11-26T12:00:00Z",
                ],
                &["2026-11-29T06:00:00Z", "2026-11-27T18:00:00Z"],
                "11-28 has no state: the two days kept are 11-29 and 11-27",
            ),
            (
                "daily",
                "5",
                &["2026-11-29T00:30:00Z", "2026-11-28T23:30:00Z"],
                &["2026-11-29T00:30:00Z", "2026-11-28T23:30:00Z"],
                "two days in UTC, though both are the 29th at +02:00",
            ),
            (
                "daily",
                "5",
                &["2026-11-29T01:30:00+02:00", "2026-11-28T01:00:00Z"],
                &["2026-11-28T23:30:00Z"],
                "01:30 on the 29th at +02:00 is the 28th in UTC",
            ),
            (
                "hourly",
                "5",
                &[
                    "2026-11-29T06:59:59Z",
                    "2026-11-29T06:00:00Z",
                    "2026-11-29T05:59:59Z",
                ],
                &["2026-11-29T06:59:59Z", "2026-11-29T05:59:59Z"],
                "one per hour",
            ),
            (
                "weekly",
                "10",
                &[
                    "2027-01-04T00:00:00Z",
                    "2027-01-03T23:59:59Z",
                    "2026-12-31T12:00:00Z",
                    "2026-12-27T23:59:59Z",
                ],
                &[
                    "2027-01-04T00:00:00Z",
                    "2027-01-03T23:59:59Z",
                    "2026-12-27T23:59:59Z",
                ],
                "2026-12-31 (Thu) and 2027-01-03 (Sun) are both ISO week 2026-W53; \
                 2027-01-04 (Mon) opens 2027-W01; 2026-12-27 (Sun) closes 2026-W52",
            ),
            (
                "monthly",
                "2",
                &[
                    "2024-03-01T00:00:00Z",
                    "2024-02-29T23:59:59Z",
                    "2024-02-01T00:00:00Z",
                    "2024-01-31T23:59:59Z",
                ],
                &["2024-03-01T00:00:00Z", "2024-02-29T23:59:59Z"],
                "a month ends at its last second, leap day included",
            ),
            (
                "within",
                "7d",
                &[
                    "2020-06-10T00:00:00Z",
                    "2020-06-03T00:00:01Z",
                    "2020-06-03T00:00:00Z",
                ],
                &["2020-06-10T00:00:00Z", "2020-06-03T00:00:01Z"],
                "counted back from the newest state; exactly 7 days older is not within",
            ),
        ];
        for (rule, value, times, want, why) in cases {
            assert_eq!(
                kept(only(rule, value), times),
                want,
                "{rule} {value}: {why}"
            );
        }
        // A month back from a month's end clamps to the shorter month.
        let times = [
            "2026-03-31T12:00:00Z",
            "2026-02-28T12:00:01Z",
            "2026-02-28T12:00:00Z",
        ];
        assert_eq!(
            kept(only("within", "1m"), &times),
            ["2026-03-31T12:00:00Z", "2026-02-28T12:00:01Z"]
        );
    }

    #[test]
    fn reasons_name_every_rule_that_keeps_a_state() {
        let policy = KeepPolicy {
            last: Some(1),
            daily: Some(1),
            within: Some("1d".parse().unwrap()),
            ..KeepPolicy::default()
        };
        let decisions = policy.apply(&[t("2026-11-29T06:00:00Z"), t("2026-11-20T06:00:00Z")]);
        assert_eq!(
            decisions[0].reasons,
            ["within 1d", "last snapshot", "daily snapshot"]
        );
        assert!(!decisions[1].keep && decisions[1].reasons.is_empty());
    }

    #[test]
    fn the_default_keeps_a_week_then_days_weeks_and_months() {
        let newest = t("2026-11-29T06:00:00Z");
        // Four states a day for 120 days.
        let times: Vec<Timestamp> = (0..480)
            .map(|i| newest - Span::new().hours(6 * i))
            .collect();
        let decisions = KeepPolicy::DEFAULT.apply(&times);
        let kept: Vec<&Decision> = decisions.iter().filter(|d| d.keep).collect();
        // Every state of the last 7 days (4 a day, the newest excluded at exactly 7 days).
        let within = kept
            .iter()
            .filter(|d| d.reasons.iter().any(|r| r.starts_with("within")))
            .count();
        assert_eq!(within, 28);
        // One a day for 30 days; weeks and months reach further back than the days.
        let daily = kept
            .iter()
            .filter(|d| d.reasons.iter().any(|r| r == "daily snapshot"))
            .count();
        assert_eq!(daily, 30);
        let oldest_kept = kept.last().unwrap().time;
        assert!(
            oldest_kept < newest - Span::new().hours(24 * 84),
            "{oldest_kept}"
        );
        assert!(kept.len() < decisions.len());
    }

    #[test]
    fn an_empty_policy_keeps_everything() {
        let decisions =
            KeepPolicy::default().apply(&[t("2026-01-01T00:00:00Z"), t("2020-01-01T00:00:00Z")]);
        assert!(decisions.iter().all(|d| d.keep));
        assert!(KeepPolicy::default().apply(&[]).is_empty());
    }

    #[test]
    fn policies_print_their_rules() {
        assert_eq!(
            KeepPolicy::DEFAULT.to_string(),
            "within 7d, 30 daily, 12 weekly, 24 monthly"
        );
        assert_eq!(only("last", "3").to_string(), "3 last");
        assert_eq!(
            KeepPolicy::default().to_string(),
            "no rule: everything is kept"
        );
    }

    #[test]
    fn durations_parse_as_restic_writes_them_and_refuse_the_rest() {
        assert_eq!("7d".parse::<Within>().unwrap().to_string(), "7d");
        assert_eq!(
            "2y3m4d5h".parse::<Within>().unwrap().to_string(),
            "2y3m4d5h"
        );
        assert_eq!("36h".parse::<Within>().unwrap().to_string(), "36h");
        for bad in [
            "",
            "7",
            "d",
            "7x",
            "1d2y",
            "1d1d",
            "-1d",
            "99999999999999999999d",
            "20000y",
            " 7d",
        ] {
            let err = bad.parse::<Within>().unwrap_err();
            assert!(err.contains("is not a duration"), "{bad:?}: {err}");
        }
        // The furthest duration accepted still gives a cutoff, never a panic.
        let far: Within = "19998y".parse().unwrap();
        assert_eq!(far.cutoff(t("2026-01-01T00:00:00Z")), Timestamp::MIN);
    }
}
