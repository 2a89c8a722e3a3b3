//! The comparison tables `bench-table` prints: figures by row and column, as Markdown, with
//! the ratio of one column to each other.

use std::collections::BTreeMap;

/// One figure of one row and column: its value and how to show it.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    value: f64,
    /// Smaller is better (CPU, latency, memory) or larger (rates, delivered share).
    lower_is_better: bool,
    unit: &'static str,
}

/// A figure where smaller is better (CPU, latency, memory).
pub fn lower(value: f64, unit: &'static str) -> Figure {
    Figure {
        value,
        lower_is_better: true,
        unit,
    }
}

/// A figure where larger is better (rates, delivered share).
pub fn higher(value: f64, unit: &'static str) -> Figure {
    Figure {
        value,
        lower_is_better: false,
        unit,
    }
}

/// The figures of a table: by row (in the order of their number, then title), then by
/// column name.
pub type Rows = BTreeMap<(usize, String), BTreeMap<&'static str, Figure>>;

/// Prints `rows` as Markdown: a row per figure, a column per name in `columns`, then the
/// ratio of column `base`'s figure to each other column's, marked `(worse)` when `base` is.
pub fn print(rows: &Rows, columns: &[&str], base: &str) {
    let others: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|name| *name != base)
        .collect();
    let mut header = String::from("| figure |");
    let mut rule = String::from("| --- |");
    for column in columns {
        header.push_str(&format!(" {column} |"));
        rule.push_str(" ---: |");
    }
    for other in &others {
        header.push_str(&format!(" {base} / {other} |"));
        rule.push_str(" ---: |");
    }
    println!("{header}\n{rule}");
    for ((_, title), figures) in rows {
        let mut line = format!("| {title} |");
        for column in columns {
            match figures.get(column) {
                Some(figure) => line.push_str(&format!(" {} |", format_value(*figure))),
                None => line.push_str(" – |"),
            }
        }
        for other in &others {
            match (figures.get(base), figures.get(other)) {
                (Some(ours), Some(theirs)) if theirs.value > 0.0 => {
                    let ratio = ours.value / theirs.value;
                    let better = if ours.lower_is_better {
                        ratio <= 1.0
                    } else {
                        ratio >= 1.0
                    };
                    let mark = if better { "" } else { " (worse)" };
                    line.push_str(&format!(" {ratio:.2}x{mark} |"));
                }
                _ => line.push_str(" – |"),
            }
        }
        println!("{line}");
    }
}

/// The value with three significant digits or so, and its unit.
fn format_value(figure: Figure) -> String {
    let value = figure.value;
    let number = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    format!("{number} {}", figure.unit)
}
