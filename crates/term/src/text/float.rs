//! Floats as Erlang prints them (`io_lib:format("~p")`, OTP 25): the shortest digits that
//! read back to the same double, laid out in fixed or scientific notation, whichever is
//! shorter (fixed on a tie), with `.0` or `e` always present so the text stays a float.
//!
//! Two details of Erlang's layout: a whole number is written in fixed notation only below
//! 2^53 (`9007199254740990.0` but `9.007199254740992e15`), and a mantissa with one digit
//! gets `.0` (`1.0e100`).

use std::fmt::{self, Write};

/// Writes `x` as Erlang's `~p` does. Infinities and NaN do not exist in Erlang; they are
/// written as the atoms `inf`, `'-inf'` and `nan` would be by `float_to_list` callers
/// (`inf`, `-inf`, `nan`), so the text never claims to be a valid Erlang float.
pub(crate) fn write_float(out: &mut impl Write, x: f64) -> fmt::Result {
    if !x.is_finite() {
        return out.write_str(if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        });
    }
    if x.is_sign_negative() {
        out.write_char('-')?;
    }
    let a = x.abs();
    if a == 0.0 {
        return out.write_str("0.0");
    }
    let (digits, place) = shortest_digits(a);
    // The value is 0.DIGITS * 10^place.
    let len = digits.len() as i64;
    let sci_len = sci_len(&digits, place);
    if place <= 0 {
        let fixed_len = 2 + (-place) + len;
        if fixed_len <= sci_len {
            out.write_str("0.")?;
            for _ in 0..-place {
                out.write_char('0')?;
            }
            return out.write_str(&digits);
        }
        return write_sci(out, &digits, place);
    }
    if place < len {
        out.write_str(&digits[..place as usize])?;
        out.write_char('.')?;
        return out.write_str(&digits[place as usize..]);
    }
    // A whole number.
    let fixed_len = place + 2;
    if a < 9007199254740992.0 && fixed_len <= sci_len {
        out.write_str(&digits)?;
        for _ in 0..(place - len) {
            out.write_char('0')?;
        }
        return out.write_str(".0");
    }
    write_sci(out, &digits, place)
}

/// The shortest decimal digits of a positive finite `a` that read back exactly, and the
/// decimal point's place: `a = 0.DIGITS × 10^place`. Rust's `{:e}` gives exactly those
/// digits (shortest, and closest among the shortest), as Erlang's algorithm does.
fn shortest_digits(a: f64) -> (String, i64) {
    let s = format!("{:e}", a);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let place = exp + 1;
    (break_tie_to_even(a, digits, place), place)
}

/// When `a` lies exactly halfway between two shortest candidates, Erlang (like Ryu)
/// takes the one whose last digit is even (`562949953421312.25` prints as `...312.2`,
/// `1.00000762939453125` as `1.0000076293945312`); Rust's formatter rounds such a tie up.
///
/// Write `a = m * 2^-f` with `m` odd: its exact decimal expansion has `f` fractional
/// digits, the last a 5. A tie needs the shortest form to stop one digit earlier, with
/// `f - 1` fractional digits `d`, and `a` midway between `d` and `d ± 1` (in units of
/// `10^-(f-1)`), that is `m * 5^(f-1) == 2d ± 1`: integer arithmetic, no big numbers.
fn break_tie_to_even(a: f64, digits: String, place: i64) -> String {
    let bits = a.to_bits();
    let exp_bits = ((bits >> 52) & 0x7FF) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp2) = if exp_bits == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exp_bits - 1075)
    };
    if mantissa == 0 {
        return digits;
    }
    let zeros = mantissa.trailing_zeros();
    let m = u128::from(mantissa >> zeros);
    let f = -(exp2 + i64::from(zeros));
    if f < 1 || digits.len() as i64 - place != f - 1 {
        return digits;
    }
    let Ok(d) = digits.parse::<u128>() else {
        return digits;
    };
    if d % 2 == 0 {
        return digits;
    }
    let Some(target) = u32::try_from(f - 1)
        .ok()
        .and_then(|e| 5u128.checked_pow(e))
        .and_then(|p| p.checked_mul(m))
    else {
        return digits;
    };
    let alt = if target == 2 * d + 1 {
        d + 1
    } else if target == 2 * d - 1 {
        d - 1
    } else {
        return digits;
    };
    let alt_digits = format!("{alt:0width$}", width = digits.len());
    // Same length (no carry), and it must read back as `a` too.
    let reads_back = format!("0.{alt_digits}e{place}").parse::<f64>() == Ok(a);
    if alt_digits.len() == digits.len() && reads_back {
        alt_digits
    } else {
        digits
    }
}

fn sci_len(digits: &str, place: i64) -> i64 {
    let mantissa = if digits.len() == 1 {
        3
    } else {
        digits.len() as i64 + 1
    };
    let exp = place - 1;
    mantissa + 1 + exp.to_string().len() as i64
}

fn write_sci(out: &mut impl Write, digits: &str, place: i64) -> fmt::Result {
    out.write_str(&digits[..1])?;
    out.write_char('.')?;
    if digits.len() == 1 {
        out.write_char('0')?;
    } else {
        out.write_str(&digits[1..])?;
    }
    write!(out, "e{}", place - 1)
}

#[cfg(test)]
mod tests {
    use super::write_float;

    fn show(x: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, x).unwrap();
        s
    }

    /// Pairs printed by `io_lib:format("~0tp", [X])` on OTP 25.
    #[test]
    fn matches_erlang_layout() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1000.0, "1.0e3"),
            (1.0e15, "1.0e15"),
            (123456789.0, "123456789.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e16"),
            (1.0e100, "1.0e100"),
            (1.0e-10, "1.0e-10"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-5"),
            (2.5e-3, "0.0025"),
            (-2.5e-3, "-0.0025"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (3.25, "3.25"),
            (5.0e-324, "5.0e-324"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (12345.0, "12345.0"),
            (120000.0, "1.2e5"),
            (1234560.0, "1234560.0"),
            (0.0012345678, "0.0012345678"),
            (1.23456e-4, "1.23456e-4"),
            (9007199254740992.0, "9.007199254740992e15"),
            (9007199254740990.0, "9007199254740990.0"),
            (4503599627370496.0, "4503599627370496.0"),
            (123456.00000000001, "123456.00000000001"),
            (1234567890120.0, "1234567890120.0"),
            // Ties between two shortest candidates go to the even digit.
            (562949953421312.25, "562949953421312.2"),
            (562949953421312.75, "562949953421312.8"),
            (562949953421313.25, "562949953421313.2"),
            (-573459440423015.25, "-573459440423015.2"),
            (70368744177664.0625, "70368744177664.06"),
            (70368744177664.1875, "70368744177664.19"),
            (4503599627370495.5, "4503599627370495.5"),
            (1.00000762939453125, "1.0000076293945312"),
            (1.0000228881835938, "1.0000228881835938"),
            (0.5000038146972656, "0.5000038146972656"),
        ];
        for (x, want) in cases {
            assert_eq!(show(x), want, "{x:e}");
        }
    }
}
