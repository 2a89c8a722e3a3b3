//! Dates as JavaScript writes them: `Date.prototype.toISOString()` (what `JSON.stringify`
//! makes of a `Date`) and `Date.prototype.toString()` in UTC (the `time` of a handshake).
//!
//! The civil date is computed from the Unix time here, with the proleptic Gregorian calendar
//! JavaScript uses, for the whole range of a JavaScript `Date`.

use std::fmt::{self, Write};

/// The largest distance from the Unix epoch a JavaScript `Date` holds, in milliseconds.
const MAX_MILLIS: i64 = 8_640_000_000_000_000;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A moment in UTC, broken down into its calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Date {
    year: i64,
    /// 1 to 12.
    month: u32,
    /// 1 to 31.
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    millisecond: u32,
    /// 0 (Sunday) to 6.
    weekday: u32,
}

impl Date {
    /// The date `millis` milliseconds after the Unix epoch; `None` out of a JavaScript
    /// `Date`'s range (±8.64 × 10¹⁵ ms), where JavaScript has an invalid date.
    pub(crate) fn from_unix_millis(millis: i64) -> Option<Date> {
        if !(-MAX_MILLIS..=MAX_MILLIS).contains(&millis) {
            return None;
        }
        let days = millis.div_euclid(86_400_000);
        let in_day = millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        // The remainders below are all small and non-negative.
        let part = |value: i64| u32::try_from(value).unwrap_or(0);
        Some(Date {
            year,
            month,
            day,
            hour: part(in_day / 3_600_000),
            minute: part(in_day / 60_000 % 60),
            second: part(in_day / 1000 % 60),
            millisecond: part(in_day % 1000),
            // 1970-01-01 was a Thursday.
            weekday: part((days + 4).rem_euclid(7)),
        })
    }

    /// `Date.prototype.toISOString()`: `2026-11-22T11:03:37.454Z`, with a signed six-digit
    /// year outside 0 to 9999.
    pub(crate) fn to_iso_string(self) -> String {
        let mut out = String::with_capacity(27);
        if (0..=9999).contains(&self.year) {
            let _ = write!(out, "{:04}", self.year);
        } else {
            let sign = if self.year < 0 { '-' } else { '+' };
            let _ = write!(out, "{sign}{:06}", self.year.unsigned_abs());
        }
        let _ = write!(
            out,
            "-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.month, self.day, self.hour, self.minute, self.second, self.millisecond
        );
        out
    }

    /// `Date.prototype.toString()` in UTC:
    /// `Sun Nov 22 2026 11:03:37 GMT+0000 (Coordinated Universal Time)`.
    pub(crate) fn to_js_string(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let weekday = WEEKDAYS.get(self.weekday as usize).copied().unwrap_or("");
        let month = MONTHS
            .get(self.month.wrapping_sub(1) as usize)
            .copied()
            .unwrap_or("");
        let sign = if self.year < 0 { "-" } else { "" };
        write!(
            f,
            "{weekday} {month} {:02} {sign}{:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
            self.day,
            self.year.unsigned_abs(),
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// The year, month (1 to 12) and day (1 to 31) of the day `days` days after 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let small = |value: i64| u32::try_from(value).unwrap_or(0);
    (year, small(month), small(day))
}

/// The milliseconds after the Unix epoch of a msgpack timestamp (extension type -1, of 4, 8
/// or 12 bytes), truncated toward zero as JavaScript's `Date` does; `None` for data of
/// another length or nanoseconds over 999 999 999.
pub(crate) fn timestamp_millis(data: &[u8]) -> Option<i64> {
    let (seconds, nanos): (i128, u32) = match data.len() {
        4 => (u32::from_be_bytes(data.try_into().ok()?).into(), 0),
        8 => {
            let value = u64::from_be_bytes(data.try_into().ok()?);
            (
                (value & 0x3_ffff_ffff).into(),
                u32::try_from(value >> 34).ok()?,
            )
        }
        12 => {
            let nanos = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
            let seconds = i64::from_be_bytes(data.get(4..)?.try_into().ok()?);
            (seconds.into(), nanos)
        }
        _ => return None,
    };
    if nanos > 999_999_999 {
        return None;
    }
    let total = seconds * 1_000_000_000 + i128::from(nanos);
    i64::try_from(total / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_dates_as_javascript_does() {
        // (milliseconds, toISOString, toString)
        let cases = [
            (
                0,
                "1970-01-01T00:00:00.000Z",
                "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                1_795_345_417_454,
                "2026-11-22T11:03:37.454Z",
                "Sun Nov 22 2026 11:03:37 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                951_782_400_000,
                "2000-02-29T00:00:00.000Z",
                "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                -1,
                "1969-12-31T23:59:59.999Z",
                "Wed Dec 31 1969 23:59:59 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                253_402_300_800_000,
                "+010000-01-01T00:00:00.000Z",
                "Sat Jan 01 10000 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                -62_198_755_200_000,
                "-000001-01-01T00:00:00.000Z",
                "Fri Jan 01 -0001 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                MAX_MILLIS,
                "+275760-09-13T00:00:00.000Z",
                "Sat Sep 13 275760 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
            (
                -MAX_MILLIS,
                "-271821-04-20T00:00:00.000Z",
                "Tue Apr 20 -271821 00:00:00 GMT+0000 (Coordinated Universal Time)",
            ),
        ];
        for (millis, iso, js) in cases {
            let date = Date::from_unix_millis(millis).expect("in range");
            assert_eq!(date.to_iso_string(), iso, "{millis}");
            assert_eq!(date.to_js_string(), js, "{millis}");
        }
        assert_eq!(Date::from_unix_millis(MAX_MILLIS + 1), None);
        assert_eq!(Date::from_unix_millis(i64::MIN), None);
    }

    #[test]
    fn reads_msgpack_timestamps() {
        let cases: [(&[u8], Option<i64>); 7] = [
            (&[0, 0, 0, 1], Some(1000)),
            // 64-bit: 500 000 000 ns, 1 s.
            (&(((500_000_000_u64) << 34) | 1).to_be_bytes(), Some(1500)),
            // 96-bit: -1 s + 0.5 ms is -999.5 ms, which JavaScript truncates to -999.
            (
                &[
                    0, 7, 0xa1, 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
                Some(-999),
            ),
            (&[0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], None),
            (&[0; 5], None),
            (&[], None),
            (&[0xff; 12], None),
        ];
        for (data, millis) in cases {
            assert_eq!(timestamp_millis(data), millis, "{data:x?}");
        }
    }
}
