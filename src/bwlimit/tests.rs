//! The spec parser on rclone's documented examples and on hostile strings, the timetable's
//! lookup at chosen local times, and the buckets over chosen instants.

use std::time::{Duration, Instant};

use jiff::civil::{date, DateTime, Weekday};

use super::*;

const MIB: u64 = KIB * KIB;

fn spec(text: &str) -> Spec {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

fn both(rate: Option<u64>) -> Rates {
    Rates {
        upload: rate,
        download: rate,
    }
}

/// The local time `day` (0 Monday .. 6 Sunday) at `hour:minute`, in a week starting Monday
/// 2024-01-01.
fn at(day: i8, hour: i8, minute: i8) -> DateTime {
    let monday = date(2024, 1, 1);
    assert_eq!(monday.weekday(), Weekday::Monday);
    date(2024, 1, 1 + day).at(hour, minute, 0, 0)
}

/// Every minute of the test week.
fn every_minute() -> impl Iterator<Item = DateTime> {
    (0..7).flat_map(|d| (0..24).flat_map(move |h| (0..60).map(move |m| at(d, h, m))))
}

#[test]
fn rates_in_kib_by_default_and_binary_suffixes() {
    for (text, bytes) in [
        ("512", 512 * KIB),
        ("1", KIB),
        ("512k", 512 * KIB),
        ("512K", 512 * KIB),
        ("10M", 10 * MIB),
        ("10m", 10 * MIB),
        ("10Mi", 10 * MIB),
        ("10MiB", 10 * MIB),
        ("1G", 1024 * MIB),
        ("2T", 2 * 1024 * 1024 * MIB),
        ("1P", MAX_RATE),
        ("1024B", 1024),
        ("0.625M", 655_360),
        ("1.5K", 1536),
        ("1.5", 1536),
        ("5.", 5 * KIB),
        ("007M", 7 * MIB),
        ("0.0009765625M", KIB),
    ] {
        assert_eq!(
            spec(text).rates_at(at(2, 12, 0)),
            both(Some(bytes)),
            "{text}"
        );
    }
    for off in [
        "off", "OFF", "Off", "0", "0M", "0.0", "000", "off:off", "0:0",
    ] {
        let parsed = spec(off);
        assert_eq!(parsed.rates_at(at(0, 0, 0)), both(None), "{off}");
        assert!(!parsed.limits(), "{off}");
    }
}

#[test]
fn up_and_down_rates_apart() {
    let rates = |text: &str| spec(text).rates_at(at(4, 9, 30));
    assert_eq!(
        rates("10M:100k"),
        Rates {
            upload: Some(10 * MIB),
            download: Some(100 * KIB)
        }
    );
    assert_eq!(
        rates("10M:off"),
        Rates {
            upload: Some(10 * MIB),
            download: None
        }
    );
    assert_eq!(
        rates("off:1M"),
        Rates {
            upload: None,
            download: Some(MIB)
        }
    );
    // A bare pair of numbers is a rate pair, not a time.
    assert_eq!(
        rates("10:20"),
        Rates {
            upload: Some(10 * KIB),
            download: Some(20 * KIB)
        }
    );
}

#[test]
fn the_documented_daily_timetable() {
    let table = spec("08:00,512k 12:00,10M 13:00,512k 18:00,30M 23:00,off");
    for day in 0..7 {
        for ((hour, minute), rate) in [
            ((0, 0), None),
            ((7, 59), None),
            ((8, 0), Some(512 * KIB)),
            ((11, 59), Some(512 * KIB)),
            ((12, 0), Some(10 * MIB)),
            ((12, 30), Some(10 * MIB)),
            ((13, 0), Some(512 * KIB)),
            ((17, 59), Some(512 * KIB)),
            ((18, 0), Some(30 * MIB)),
            ((22, 59), Some(30 * MIB)),
            ((23, 0), None),
            ((23, 59), None),
        ] {
            assert_eq!(
                table.rates_at(at(day, hour, minute)),
                both(rate),
                "day {day} {hour}:{minute}"
            );
        }
    }
}

#[test]
fn the_documented_weekly_timetable_wraps_across_the_week() {
    let table = spec("Mon-00:00,512 Fri-23:59,10M Sat-10:00,1M Sun-20:00,off");
    for (when, rate) in [
        (at(0, 0, 0), Some(512 * KIB)),
        (at(2, 15, 0), Some(512 * KIB)),
        (at(4, 23, 58), Some(512 * KIB)),
        (at(4, 23, 59), Some(10 * MIB)),
        (at(5, 9, 59), Some(10 * MIB)),
        (at(5, 10, 0), Some(MIB)),
        (at(6, 19, 59), Some(MIB)),
        (at(6, 20, 0), None),
        (at(6, 23, 59), None),
    ] {
        assert_eq!(table.rates_at(when), both(rate), "{when}");
    }
    // No entry on Monday 00:00: Sunday's last one is in force until the first of the week.
    let table = spec("Tue-08:00,1M Sun-20:00,2M");
    assert_eq!(table.rates_at(at(0, 12, 0)), both(Some(2 * MIB)));
    assert_eq!(table.rates_at(at(1, 7, 59)), both(Some(2 * MIB)));
    assert_eq!(table.rates_at(at(1, 8, 0)), both(Some(MIB)));
    // Before the first entry of the day, yesterday's last is in force.
    let daily = spec("08:00,1M 18:00,2M");
    assert_eq!(daily.rates_at(at(0, 3, 0)), both(Some(2 * MIB)));
}

#[test]
fn entries_without_a_day_stand_for_every_day() {
    // The documented equivalence.
    let short = spec("Mon-00:00,512 12:00,1M Sun-20:00,off");
    let long = spec(
        "Mon-00:00,512 Mon-12:00,1M Tue-12:00,1M Wed-12:00,1M Thu-12:00,1M Fri-12:00,1M \
         Sat-12:00,1M Sun-12:00,1M Sun-20:00,off",
    );
    for when in every_minute() {
        assert_eq!(short.rates_at(when), long.rates_at(when), "{when}");
    }
    // One entry is in force all the time.
    let one = spec("08:00,1M");
    assert!(every_minute().all(|when| one.rates_at(when) == both(Some(MIB))));
}

#[test]
fn days_by_whole_name_or_three_letters_in_any_case_with_rate_pairs() {
    let table = spec("monday-08:00,1M:2M  SUNDAY-8:00,off:3M\tWed-23:59,4M");
    assert_eq!(
        table.rates_at(at(0, 8, 0)),
        Rates {
            upload: Some(MIB),
            download: Some(2 * MIB)
        }
    );
    assert_eq!(
        table.rates_at(at(6, 9, 0)),
        Rates {
            upload: None,
            download: Some(3 * MIB)
        }
    );
    assert_eq!(table.rates_at(at(3, 0, 0)), both(Some(4 * MIB)));
    assert_eq!(
        table.to_string(),
        "monday-08:00,1M:2M  SUNDAY-8:00,off:3M\tWed-23:59,4M"
    );
}

#[test]
fn bad_specs_are_refused_naming_the_bad_part() {
    for (text, named) in [
        ("", "empty"),
        ("   ", "empty"),
        ("10X", "\"10X\" is not a rate"),
        ("1e5", "\"1e5\" is not a rate"),
        ("-1M", "\"-1M\" is not a rate"),
        ("1..5M", "\"1..5M\" is not a rate"),
        ("1.5.2", "\"1.5.2\" is not a rate"),
        (".", "\".\" is not a rate"),
        ("M", "\"M\" is not a rate"),
        ("1MB", "\"1MB\" is not a rate"),
        ("10 M", "\"10\" is not a timetable entry"),
        ("nan", "\"nan\" is not a rate"),
        ("inf", "\"inf\" is not a rate"),
        ("+5M", "\"+5M\" is not a rate"),
        ("10M:1M:1M", "\"10M:1M:1M\" is not a rate"),
        ("10M:", "\"\" is not a rate"),
        (":", "\"\" is not a rate"),
        ("100B", "\"100B\" is below 1K"),
        ("0.5", "\"0.5\" is below 1K"),
        ("0.0000001M", "\"0.0000001M\" is below 1K"),
        ("2P", "\"2P\" is above 1P"),
        ("1.5P", "\"1.5P\" is above 1P"),
        ("99999999999999999999999999M", "is above 1P"),
        ("10M 08:00,1M", "\"10M\" is not a timetable entry"),
        ("08:00 12:00,1M", "\"08:00\" is not a timetable entry"),
        ("08:00,", "\"\" is not a rate"),
        (",1M", "\"\" is not a time of day"),
        ("24:00,1M", "\"24:00\" is not a time of day"),
        ("12:60,1M", "\"12:60\" is not a time of day"),
        ("1:5,1M", "\"1:5\" is not a time of day"),
        ("123:00,1M", "\"123:00\" is not a time of day"),
        ("0800,1M", "\"0800\" is not a time of day"),
        ("Mon-25:00,1M", "\"25:00\" is not a time of day"),
        ("Xyz-08:00,1M", "\"Xyz\" is not a day of the week"),
        ("Mo-08:00,1M", "\"Mo\" is not a day of the week"),
        ("Mon-Tue-08:00,1M", "\"Tue-08:00\" is not a time of day"),
        ("08:00,bad", "\"bad\" is not a rate"),
        ("08:00,1M,2M", "\"1M,2M\" is not a rate"),
        (
            "08:00,1M 08:00,2M",
            "\"08:00,1M\" and \"08:00,2M\" both set the rate every day at 08:00",
        ),
        (
            "Wed-08:00,1M 08:00,2M",
            "\"Wed-08:00,1M\" and \"08:00,2M\" both set the rate Wednesday at 08:00",
        ),
        ("08:00,1M 12:00,10X", "\"10X\" is not a rate"),
        ("08:00,1M\u{7}", "\"1M\\u{7}\" is not a rate"),
    ] {
        let err = text.parse::<Spec>().unwrap_err();
        assert!(err.contains(named), "{text:?}: {err}");
        assert!(!err.contains('\n'), "{text:?}: {err}");
    }
}

#[test]
fn long_parts_are_cut_in_messages() {
    let text = "x".repeat(100_000);
    let err = text.parse::<Spec>().unwrap_err();
    assert!(err.len() < 200, "{err}");
    assert!(
        err.contains("...") && err.contains("is not a rate"),
        "{err}"
    );
}

/// A small deterministic generator for the hostile strings (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Checks what any parse must hold: an error is one line of bounded length; a spec has rates
/// within the bounds at every time, and reads back the same from its text.
fn holds(text: &str) {
    match text.parse::<Spec>() {
        Err(err) => {
            assert!(
                !err.contains('\n') && !err.contains('\r'),
                "{text:?}: {err}"
            );
            assert!(err.len() < 400, "{text:?}: {err}");
        }
        Ok(parsed) => {
            assert!(!parsed.table.is_empty());
            assert!(parsed.table.windows(2).all(|w| w[0].0 < w[1].0));
            for (_, rates) in &parsed.table {
                for rate in [rates.upload, rates.download].into_iter().flatten() {
                    assert!((MIN_RATE..=MAX_RATE).contains(&rate), "{text:?}: {rate}");
                }
            }
            assert_eq!(parsed.to_string().parse::<Spec>().as_ref(), Ok(&parsed));
            let _ = parsed.rates_at(at(6, 23, 59));
            let _ = Limiter::new(&parsed).throttle(Flow::Both);
        }
    }
}

#[test]
fn random_strings_never_panic_and_fail_in_one_line() {
    let atoms = [
        "0",
        "1",
        "5",
        "9",
        "00",
        "12",
        "23",
        "24",
        "59",
        "60",
        "99",
        ".",
        ":",
        ",",
        "-",
        " ",
        "\t",
        "\n",
        "k",
        "K",
        "M",
        "m",
        "G",
        "T",
        "P",
        "B",
        "i",
        "iB",
        "off",
        "OFF",
        "Mon",
        "sunday",
        "Fri",
        "é",
        "\u{0}",
        "\u{7f}",
        "\u{202e}",
        "😀",
        "e",
        "+",
        "_",
        ";",
        "x",
        "99999999999999999999",
        "0.0000001",
        "1P",
        "2P",
    ];
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let len = noise.below(12);
        let text: String = (0..len).map(|_| noise.pick(&atoms)).collect();
        holds(&text);
    }
}

#[test]
fn mutated_good_specs_never_panic() {
    let good = [
        "10M",
        "10M:100k",
        "off:1M",
        "08:00,512k 12:00,10M 13:00,512k 18:00,30M 23:00,off",
        "Mon-00:00,512 Fri-23:59,10M Sat-10:00,1M Sun-20:00,off",
        "Mon-00:00,512 12:00,1M Sun-20:00,off",
    ];
    let inserts = [
        "0", "9", ":", ",", "-", " ", ".", "M", "x", "é", "\u{0}", "Tue",
    ];
    let mut noise = Noise(0xD1B5_4A32_D192_ED03);
    for _ in 0..20_000 {
        let mut text: Vec<char> = noise.pick(&good).chars().collect();
        for _ in 0..=noise.below(3) {
            let place = noise.below(text.len() + 1);
            match noise.below(3) {
                0 if place < text.len() => {
                    text.remove(place);
                }
                1 if place < text.len() => {
                    text[place] = noise.pick(&inserts).chars().next().unwrap_or('x');
                }
                _ => {
                    for (i, c) in noise.pick(&inserts).chars().enumerate() {
                        text.insert(place + i, c);
                    }
                }
            }
        }
        holds(&text.into_iter().collect::<String>());
    }
}

#[test]
fn flows_between_local_and_remote() {
    assert_eq!(Flow::between(false, true), Flow::Upload);
    assert_eq!(Flow::between(true, false), Flow::Download);
    assert_eq!(Flow::between(true, true), Flow::Both);
    // Between two local folders, uploads' limit.
    assert_eq!(Flow::between(false, false), Flow::Upload);
}

#[test]
fn no_bucket_where_nothing_is_limited() {
    assert!(Limiter::new(&spec("off")).throttle(Flow::Both).is_none());
    let up_only = Limiter::new(&spec("1M:off"));
    assert_eq!(up_only.throttle(Flow::Upload).unwrap().buckets.len(), 1);
    assert!(up_only.throttle(Flow::Download).is_none());
    assert_eq!(up_only.throttle(Flow::Both).unwrap().buckets.len(), 1);
    // A timetable that never limits downloads has no bucket for them.
    let table = Limiter::new(&spec("08:00,1M:off 18:00,off"));
    assert!(table.throttle(Flow::Download).is_none());
    assert!(table.throttle(Flow::Upload).is_some());
    let two = Limiter::new(&spec("1M:2M"));
    assert_eq!(two.throttle(Flow::Both).unwrap().buckets.len(), 2);
}

/// A bucket of the constant rate `text` started at `start`.
fn bucket(text: &str, start: Instant) -> Bucket {
    Bucket::new(Arc::new(spec(text)), Side::Upload, start, at(0, 12, 0))
}

fn no_local_time() -> DateTime {
    panic!("a constant rate never looks at the clock")
}

fn close(a: Duration, b: Duration) -> bool {
    a.abs_diff(b) < Duration::from_millis(2)
}

#[test]
fn a_full_bucket_lets_a_tenth_of_a_second_through_then_charges_the_rate() {
    let start = Instant::now();
    let bucket = bucket("1M", start);
    // 1 MiB/s: a full bucket holds 0.1 s worth.
    let burst = MIB / 10;
    assert_eq!(bucket.draw(burst, start, no_local_time), Duration::ZERO);
    let wait = bucket.draw(MIB, start, no_local_time);
    assert!(close(wait, Duration::from_secs(1)), "{wait:?}");
    // A second drawer waits behind the first one's debt.
    let wait = bucket.draw(MIB / 2, start, no_local_time);
    assert!(close(wait, Duration::from_millis(1500)), "{wait:?}");
}

#[test]
fn transfers_drawing_in_blocks_keep_to_the_rate() {
    let start = Instant::now();
    let bucket = bucket("1M", start);
    // Four transfers drawing 64 KiB blocks in turn, each waiting what it is told.
    let mut ready = [start; 4];
    let mut drawn = 0;
    while drawn < 4 * MIB {
        let next = (0..4).min_by_key(|&i| ready[i]).unwrap();
        let wait = bucket.draw(64 * KIB, ready[next], no_local_time);
        ready[next] += wait;
        drawn += 64 * KIB;
    }
    let took = *ready.iter().max().unwrap() - start;
    // 4 MiB less the first burst, at 1 MiB/s.
    let expected = Duration::from_secs_f64(3.9);
    assert!(
        took.abs_diff(expected) < Duration::from_millis(80),
        "{took:?}"
    );
}

#[test]
fn an_idle_bucket_fills_only_to_its_burst() {
    let start = Instant::now();
    let bucket = bucket("1M", start);
    let later = start + Duration::from_secs(100);
    let wait = bucket.draw(2 * MIB, later, no_local_time);
    assert!(close(wait, Duration::from_millis(1900)), "{wait:?}");
    // At a low rate the burst is still one crypt block.
    let slow = self::bucket("10K", start);
    assert_eq!(slow.draw(MIN_BURST, start, no_local_time), Duration::ZERO);
    let wait = slow.draw(10 * KIB, start, no_local_time);
    assert!(close(wait, Duration::from_secs(1)), "{wait:?}");
}

#[test]
fn a_timetable_is_looked_at_again_each_minute() {
    let table = Arc::new(spec("08:00,1M 09:00,off 10:00,2M"));
    let start = Instant::now();
    let local = date(2024, 1, 3).at(8, 59, 30, 0);
    let bucket = Bucket::new(Arc::clone(&table), Side::Download, start, local);
    // 1 MiB/s until the minute turns: the clock is not read before then.
    let soon = start + Duration::from_secs(29);
    let wait = bucket.draw(MIB, soon, no_local_time);
    assert!(!wait.is_zero());
    // At 09:00 the limit is off: nothing waits, however much is drawn.
    let nine = start + Duration::from_secs(30);
    let local_nine = || date(2024, 1, 3).at(9, 0, 0, 0);
    assert_eq!(bucket.draw(100 * MIB, nine, local_nine), Duration::ZERO);
    assert_eq!(
        bucket.draw(100 * MIB, nine + Duration::from_secs(59), no_local_time),
        Duration::ZERO
    );
    // At 10:00, 2 MiB/s from a full bucket.
    let ten = start + Duration::from_secs(30 + 3600);
    let local_ten = || date(2024, 1, 3).at(10, 0, 0, 0);
    assert_eq!(bucket.draw(2 * MIB / 10, ten, local_ten), Duration::ZERO);
    let wait = bucket.draw(2 * MIB, ten, no_local_time);
    assert!(close(wait, Duration::from_secs(1)), "{wait:?}");
}

#[test]
fn throttles_of_one_limiter_share_its_bucket() {
    let limiter = Limiter::new(&spec("1M"));
    let (a, b) = (
        limiter.throttle(Flow::Upload).unwrap(),
        limiter.clone().throttle(Flow::Both).unwrap(),
    );
    let first = a.delay(MIB);
    let second = b.delay(MIB);
    // The second waits behind the first's debt: about a second more.
    assert!(
        second >= first + Duration::from_millis(900),
        "{first:?} {second:?}"
    );
}

#[tokio::test]
async fn a_throttled_stream_keeps_to_the_rate_and_its_bytes() {
    use tokio::io::AsyncReadExt;
    let data: Vec<u8> = (0..300 * KIB).map(|i| (i % 251) as u8).collect();
    let throttle = Limiter::new(&spec("1M")).throttle(Flow::Upload).unwrap();
    let mut reader = throttle.reader(std::io::Cursor::new(data.clone()));
    let started = Instant::now();
    let mut read = Vec::new();
    reader.read_to_end(&mut read).await.unwrap();
    let took = started.elapsed();
    assert_eq!(read, data);
    // 300 KiB less the burst (~102 KiB) at 1 MiB/s: about 0.19 s.
    assert!(took >= Duration::from_millis(170), "{took:?}");
}
