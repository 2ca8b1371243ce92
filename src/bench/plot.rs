//! The SVG bar chart of `sealpost bench --plot FILE.svg`: our throughput next to OpenSSL's, one row per
//! algorithm.
//!
//! This module owns the chart's layout and its SVG text, and nothing else: the benchmark code hands it
//! finished [`Bar`]s. It writes SVG by hand, with no dependency, because the chart is a few hundred lines of
//! rectangles and text and a plotting crate would be the largest dependency of the crate.
//!
//! The chart: horizontal bars on a linear axis that starts at zero, with ticks and gridlines at "nice" steps
//! (1, 2 or 5 times a power of ten) labelled above and below the bars; in each row our bar (blue) over
//! OpenSSL's (orange), each with its value at its end, and the ratio ours/OpenSSL in a column on the right
//! (green when we are at least as fast, red otherwise). Every bar carries a `<title>` tooltip. The colours are
//! from Paul Tol's colour-blind-safe palette. Rows keep a fixed height, so 200 rows make a tall but readable
//! chart; labels wider than 48 characters are shortened with an ellipsis (the tooltip has them whole).

use std::fmt::Write as _;

/// One row of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What was measured, for example `AES-128-CBC encrypt`.
    pub label: String,
    /// Our figure, in the chart's unit.
    pub ours: f64,
    /// OpenSSL's figure in the same unit, if OpenSSL measured this.
    pub openssl: Option<f64>,
}

/// Colour of our bars.
const OURS_COLOUR: &str = "#4477aa";
/// Colour of OpenSSL's bars.
const OPENSSL_COLOUR: &str = "#ee7733";
/// Colour of a ratio of at least 1.
const AHEAD_COLOUR: &str = "#228833";
/// Colour of a ratio below 1.
const BEHIND_COLOUR: &str = "#cc3311";

/// Font size of labels and values, in pixels.
const FONT: f64 = 12.0;
/// Rough width of one character at `FONT`, for sizing the label column (DejaVu Sans averages about 0.6 em).
const CHAR_WIDTH: f64 = 7.2;
/// Labels longer than this many characters are shortened.
const MAX_LABEL_CHARS: usize = 48;
/// Height of one bar.
const BAR_HEIGHT: f64 = 13.0;
/// Gap between our bar and OpenSSL's within a row.
const BAR_GAP: f64 = 2.0;
/// Vertical padding above and below the bars of a row.
const ROW_PAD: f64 = 5.0;
/// Outer margin.
const MARGIN: f64 = 16.0;
/// Width of the bar area.
const PLOT_WIDTH: f64 = 560.0;
/// Room to the right of the longest bar for its value.
const VALUE_ROOM: f64 = 80.0;
/// Width of the ratio column.
const RATIO_WIDTH: f64 = 96.0;
/// Height of the title and legend band.
const HEADER: f64 = 64.0;
/// Height of a band of tick labels (above and below the rows).
const TICK_BAND: f64 = 20.0;

/// Renders `bars` as a complete standalone SVG document titled `title`, values in `unit` (for example `MB/s`).
///
/// With no bars, the document is a small chart saying "no data". Non-finite or negative figures draw no bar
/// and print as `n/a`.
pub fn render(title: &str, unit: &str, bars: &[Bar]) -> String {
    let mut svg = String::new();
    if bars.is_empty() {
        let (width, height) = (480.0, 120.0);
        open_document(&mut svg, width, height);
        let _ = writeln!(
            svg,
            r#"<text x="{MARGIN}" y="{y}" font-size="16" font-weight="bold">{title}</text>"#,
            y = MARGIN + 16.0,
            title = escape(title)
        );
        let _ = writeln!(
            svg,
            r##"<text x="{x}" y="{y}" text-anchor="middle" fill="#666666">no data</text>"##,
            x = width / 2.0,
            y = height / 2.0 + 16.0
        );
        svg.push_str("</svg>\n");
        return svg;
    }

    let with_openssl = bars.iter().any(|bar| bar.openssl.is_some());
    let bars_per_row = if with_openssl { 2.0 } else { 1.0 };
    let row_height = 2.0 * ROW_PAD + bars_per_row * BAR_HEIGHT + (bars_per_row - 1.0) * BAR_GAP;
    let labels: Vec<String> = bars.iter().map(|bar| shorten(&bar.label)).collect();
    let longest = labels.iter().map(|label| label.chars().count()).max().unwrap_or(0);
    let label_width = (longest as f64 * CHAR_WIDTH + 12.0).clamp(60.0, MAX_LABEL_CHARS as f64 * CHAR_WIDTH + 12.0);
    let plot_left = MARGIN + label_width;
    let plot_right = plot_left + PLOT_WIDTH;
    let ratio_right = plot_right + VALUE_ROOM + if with_openssl { RATIO_WIDTH } else { 0.0 };
    let width = (ratio_right + MARGIN).ceil();
    let rows_top = HEADER + TICK_BAND;
    let rows_bottom = rows_top + row_height * bars.len() as f64;
    let height = (rows_bottom + TICK_BAND + 24.0 + MARGIN).ceil();

    let largest = bars
        .iter()
        .flat_map(|bar| [Some(bar.ours), bar.openssl])
        .flatten()
        .filter(|value| value.is_finite())
        .fold(0.0_f64, f64::max);
    let (step, axis_max) = nice_axis(largest);
    let x_of = |value: f64| plot_left + PLOT_WIDTH * (drawable(value) / axis_max).min(1.0);

    open_document(&mut svg, width, height);

    // Title and legend.
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{y}" font-size="16" font-weight="bold">{title}</text>"#,
        y = MARGIN + 14.0,
        title = escape(title)
    );
    let legend_y = MARGIN + 30.0;
    let mut legend_x = MARGIN;
    let mut legend = vec![(OURS_COLOUR, "sealpost")];
    if with_openssl {
        legend.push((OPENSSL_COLOUR, "OpenSSL"));
    }
    for (colour, name) in legend {
        let _ = writeln!(
            svg,
            r#"<rect class="swatch" x="{legend_x}" y="{legend_y}" width="{BAR_HEIGHT}" height="{BAR_HEIGHT}" fill="{colour}"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}">{name}</text>"#,
            x = legend_x + BAR_HEIGHT + 5.0,
            y = legend_y + BAR_HEIGHT - 2.0
        );
        legend_x += BAR_HEIGHT + 5.0 + name.len() as f64 * CHAR_WIDTH + 20.0;
    }
    let _ = writeln!(
        svg,
        r##"<text x="{x}" y="{y}" fill="#444444">{unit}, higher is better</text>"##,
        x = legend_x + 10.0,
        y = legend_y + BAR_HEIGHT - 2.0,
        unit = escape(unit)
    );

    // Zebra stripes behind the rows, drawn first so gridlines and bars sit on top.
    for index in (1..bars.len()).step_by(2) {
        let _ = writeln!(
            svg,
            r##"<rect class="stripe" x="{x}" y="{y}" width="{w}" height="{row_height}" fill="#f3f3f3"/>"##,
            x = MARGIN,
            y = rows_top + row_height * index as f64,
            w = ratio_right - MARGIN
        );
    }

    // Axis: gridlines with tick labels above and below the rows.
    svg.push_str("<g class=\"axis\" font-size=\"11\" fill=\"#444444\">\n");
    let ticks = (axis_max / step).round() as usize;
    for tick in 0..=ticks {
        let value = step * tick as f64;
        let x = x_of(value);
        let colour = if tick == 0 { "#888888" } else { "#dddddd" };
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{colour}" stroke-width="1"/>"#,
            top = rows_top - 4.0,
            bottom = rows_bottom + 4.0
        );
        let label = format_tick(value, step);
        for y in [rows_top - 8.0, rows_bottom + 16.0] {
            let _ = writeln!(svg, r#"<text x="{x:.1}" y="{y}" text-anchor="middle">{label}</text>"#);
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y}" text-anchor="middle">{unit}</text>"#,
        x = plot_left + PLOT_WIDTH / 2.0,
        y = rows_bottom + 34.0,
        unit = escape(unit)
    );
    if with_openssl {
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}" text-anchor="end">ours/OpenSSL</text>"#,
            x = ratio_right,
            y = rows_top - 8.0
        );
    }
    svg.push_str("</g>\n");

    // Rows.
    for (index, (bar, label)) in bars.iter().zip(&labels).enumerate() {
        let top = rows_top + row_height * index as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y:.1}" text-anchor="end">{label}</text>"#,
            x = plot_left - 8.0,
            y = top + row_height / 2.0 + FONT * 0.35,
            label = escape(label)
        );
        let mut values = vec![(bar.ours, OURS_COLOUR, "ours", "sealpost")];
        if let Some(openssl) = bar.openssl {
            values.push((openssl, OPENSSL_COLOUR, "openssl", "OpenSSL"));
        }
        for (slot, (value, colour, class, who)) in values.into_iter().enumerate() {
            let y = top + ROW_PAD + slot as f64 * (BAR_HEIGHT + BAR_GAP);
            let end = x_of(value);
            let shown = if drawable(value) == value { format_value(value) } else { "n/a".to_string() };
            let _ = writeln!(
                svg,
                r#"<rect class="bar {class}" x="{plot_left}" y="{y}" width="{w:.2}" height="{BAR_HEIGHT}" fill="{colour}"><title>{who}, {label}: {shown} {unit}</title></rect>"#,
                w = end - plot_left,
                label = escape(&bar.label),
                unit = escape(unit)
            );
            let _ = writeln!(
                svg,
                r#"<text x="{x:.1}" y="{ty:.1}" font-size="11">{shown}</text>"#,
                x = end + 4.0,
                ty = y + BAR_HEIGHT - 2.5
            );
        }
        if let Some(openssl) = bar.openssl.filter(|value| value.is_finite() && *value > 0.0)
            && bar.ours.is_finite()
            && bar.ours >= 0.0
        {
            let ratio = bar.ours / openssl;
            let colour = if ratio >= 1.0 { AHEAD_COLOUR } else { BEHIND_COLOUR };
            let _ = writeln!(
                svg,
                r#"<text class="ratio" x="{ratio_right}" y="{y:.1}" text-anchor="end" font-weight="bold" fill="{colour}">{ratio:.2}×</text>"#,
                y = top + row_height / 2.0 + FONT * 0.35
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// The XML declaration, the `<svg>` element and a white background.
fn open_document(svg: &mut String, width: f64, height: f64) {
    svg.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="{FONT}">"#
    );
    svg.push_str("<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
}

/// `value` if it can be drawn as a bar length, otherwise 0.
fn drawable(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 { value } else { 0.0 }
}

/// The tick step, 1, 2 or 5 times a power of ten and the smallest giving at most 8 intervals, and the axis end,
/// the first multiple of the step at or above `largest`.
fn nice_axis(largest: f64) -> (f64, f64) {
    if !(largest.is_finite() && largest > 0.0) {
        return (1.0, 1.0);
    }
    let rough = largest / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * power)
        .find(|step| largest / step <= 8.0)
        .unwrap_or(10.0 * power);
    let end = (largest / step).ceil().max(1.0) * step;
    (step, end)
}

/// A figure as printed on the chart: no more decimals than its size calls for.
fn format_value(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// A tick value with as many decimals as the step has (`20`, `2.5`... no `20.0`).
fn format_tick(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).clamp(0.0, 12.0) as usize;
    format!("{value:.decimals$}")
}

/// `label`, cut to `MAX_LABEL_CHARS` characters with an ellipsis.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.push('…');
    short
}

/// `text` escaped for XML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that `svg` is well-formed enough: every tag closed in order, every `&` an entity, no `<` inside
    /// an attribute value. Returns the element names in document order.
    fn check_well_formed(svg: &str) -> Result<Vec<String>, String> {
        let mut open: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            check_text(&rest[..start])?;
            let after = &rest[start..];
            if let Some(body) = after.strip_prefix("<?") {
                let end = body.find("?>").ok_or("unterminated <?")?;
                rest = &body[end + 2..];
                continue;
            }
            if let Some(body) = after.strip_prefix("<!--") {
                let end = body.find("-->").ok_or("unterminated comment")?;
                rest = &body[end + 3..];
                continue;
            }
            // Find the end of the tag, skipping quoted attribute values.
            let mut quote = None;
            let mut end = None;
            for (i, c) in after.char_indices().skip(1) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), '<') => return Err(format!("'<' inside an attribute: {}", &after[..i])),
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    (None, '<') => return Err(format!("'<' inside a tag: {}", &after[..i])),
                    (None, _) => {}
                }
            }
            let end = end.ok_or("unterminated tag")?;
            let tag = &after[1..end];
            check_text(tag)?;
            if let Some(name) = tag.strip_prefix('/') {
                let expected = open.pop().ok_or(format!("</{name}> closes nothing"))?;
                if expected != name.trim() {
                    return Err(format!("</{name}> closes <{expected}>"));
                }
            } else {
                let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
                if name.is_empty() {
                    return Err(format!("empty tag <{tag}>"));
                }
                elements.push(name.clone());
                if !tag.ends_with('/') {
                    open.push(name);
                }
            }
            rest = &after[end + 1..];
        }
        check_text(rest)?;
        if !rest.trim().is_empty() {
            return Err(format!("text after the root element: {rest:?}"));
        }
        match open.is_empty() {
            true => Ok(elements),
            false => Err(format!("unclosed: {open:?}")),
        }
    }

    /// Every `&` in `text` starts an entity.
    fn check_text(text: &str) -> Result<(), String> {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| entity.starts_with(e));
            if !known {
                return Err(format!("bare '&' in {text:?}"));
            }
        }
        Ok(())
    }

    fn bar(label: &str, ours: f64, openssl: Option<f64>) -> Bar {
        Bar { label: label.to_string(), ours, openssl }
    }

    fn sample() -> Vec<Bar> {
        vec![
            bar("AES-128-CBC encrypt", 1580.0, Some(1603.7)),
            bar("AES-128-GCM decrypt", 5100.0, Some(5187.0)),
            bar("DES-CBC", 101.2, Some(97.8)),
            bar("TripleDES-CBC", 39.4, Some(38.0)),
            bar("CAST5-CFB", 152.0, Some(145.7)),
            bar("IDEA-CBC", 88.0, None),
            bar("MD5", 930.0, Some(883.2)),
            bar("SHA-1", 2090.0, Some(2159.3)),
            bar("SHA-256", 1980.0, Some(2054.6)),
            bar("MD2 <legacy & \"slow\">", 9.3, None),
        ]
    }

    #[test]
    fn output_is_well_formed() {
        let svg = render("Throughput, 16 KiB buffers", "MB/s", &sample());
        assert!(
            svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"")
        );
        let elements = check_well_formed(&svg).unwrap();
        assert_eq!(elements.first().map(String::as_str), Some("svg"));
        assert_eq!(elements.iter().filter(|e| *e == "svg").count(), 1);
    }

    #[test]
    fn the_checker_catches_broken_documents() {
        assert!(check_well_formed("<svg><g></svg>").is_err());
        assert!(check_well_formed("<svg><text>a & b</text></svg>").is_err());
        assert!(check_well_formed("<svg><text x=\"<\">a</text></svg>").is_err());
        assert!(check_well_formed("<svg>").is_err());
        assert!(check_well_formed("<svg><rect/><text>a &amp; b</text></svg>").is_ok());
    }

    #[test]
    fn labels_and_titles_are_escaped() {
        let svg = render("A <b>&</b> 'test' \"chart\"", "ops/s <&>", &[bar("x < y && z > \"w\" 'v'", 1.0, Some(2.0))]);
        check_well_formed(&svg).unwrap();
        assert!(svg.contains("A &lt;b&gt;&amp;&lt;/b&gt; &apos;test&apos; &quot;chart&quot;"));
        assert!(svg.contains("x &lt; y &amp;&amp; z &gt; &quot;w&quot; &apos;v&apos;"));
        assert!(svg.contains("ops/s &lt;&amp;&gt;"));
        assert!(!svg.contains("<b>"));
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
    }

    #[test]
    fn one_rect_per_bar_value() {
        let bars = sample();
        let svg = render("t", "MB/s", &bars);
        let values = bars.iter().map(|bar| 1 + usize::from(bar.openssl.is_some())).sum::<usize>();
        assert_eq!(svg.matches("<rect class=\"bar ").count(), values);
        assert_eq!(svg.matches("<rect class=\"bar ours\"").count(), bars.len());
        assert_eq!(svg.matches("<rect class=\"bar openssl\"").count(), 8);
        // The ratio is printed exactly where both figures exist: 930 / 883.2 for MD5.
        assert_eq!(svg.matches("class=\"ratio\"").count(), 8);
        assert!(svg.contains(">1.05×<"));
        // Without any OpenSSL figure there is no OpenSSL legend nor ratio column.
        let ours_only = render("t", "MB/s", &[bar("a", 1.0, None), bar("b", 2.0, None)]);
        assert_eq!(ours_only.matches("<rect class=\"bar ").count(), 2);
        assert!(!ours_only.contains("OpenSSL"));
    }

    #[test]
    fn bars_are_proportional_and_the_longest_fits_the_axis() {
        let svg = render("t", "MB/s", &[bar("half", 50.0, Some(100.0))]);
        let widths: Vec<f64> = svg
            .match_indices("<rect class=\"bar ")
            .filter_map(|(i, _)| svg[i..].split("width=\"").nth(1)?.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(widths, vec![PLOT_WIDTH / 2.0, PLOT_WIDTH]);
        assert!(svg.contains(">0.50×<"));
    }

    #[test]
    fn empty_input_gives_a_valid_svg_saying_no_data() {
        let svg = render("Nothing measured", "MB/s", &[]);
        check_well_formed(&svg).unwrap();
        assert!(svg.contains(">no data<"));
        assert!(svg.contains("Nothing measured"));
        assert!(!svg.contains("class=\"bar"));
    }

    #[test]
    fn odd_values_do_not_break_the_chart() {
        let bars =
            [bar("nan", f64::NAN, Some(1.0)), bar("neg", -5.0, Some(f64::INFINITY)), bar("zero", 0.0, Some(0.0))];
        let svg = render("t", "MB/s", &bars);
        check_well_formed(&svg).unwrap();
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        assert_eq!(svg.matches(">n/a<").count(), 3);
        assert_eq!(svg.matches("class=\"ratio\"").count(), 0);
    }

    #[test]
    fn sizes_scale_from_one_to_two_hundred_rows() {
        let one = render("t", "MB/s", &[bar("only", 3.0, Some(4.0))]);
        check_well_formed(&one).unwrap();
        let many: Vec<Bar> =
            (0..200).map(|i| bar(&format!("algorithm number {i}"), i as f64, Some(200.0 - i as f64))).collect();
        let tall = render("t", "MB/s", &many);
        check_well_formed(&tall).unwrap();
        let height = |svg: &str| -> f64 {
            svg.split("height=\"").nth(1).and_then(|h| h.split('"').next()).unwrap().parse().unwrap()
        };
        assert!(height(&one) < 250.0, "{}", height(&one));
        assert!(height(&tall) > 200.0 * 30.0 && height(&tall) < 200.0 * 40.0, "{}", height(&tall));
        let long = render("t", "MB/s", &[bar(&"x".repeat(500), 1.0, None)]);
        assert!(long.contains(&format!("{}…", "x".repeat(MAX_LABEL_CHARS - 1))));
    }

    #[test]
    fn tick_labels_have_the_step_precision() {
        assert_eq!(format_tick(40.0, 20.0), "40");
        assert_eq!(format_tick(0.30000000000000004, 0.1), "0.3");
        assert_eq!(format_tick(12_000.0, 2000.0), "12000");
        assert_eq!(format_tick(0.004, 0.002), "0.004");
        assert_eq!(format_value(12_812.7), "12813");
        assert_eq!(format_value(39.44), "39.4");
        assert_eq!(format_value(1.234), "1.23");
    }

    #[test]
    fn axis_steps_are_nice() {
        assert_eq!(nice_axis(100.0), (20.0, 100.0));
        assert_eq!(nice_axis(5187.0), (1000.0, 6000.0));
        let (step, end) = nice_axis(0.7);
        assert!((step - 0.1).abs() < 1e-12 && (end - 0.7).abs() < 1e-12, "{step} {end}");
        assert_eq!(nice_axis(0.0), (1.0, 1.0));
        assert_eq!(nice_axis(f64::NAN), (1.0, 1.0));
        for largest in [0.003, 1.0, 7.0, 9.99, 10.0, 11.0, 99.0, 12_345.0, 9.9e9] {
            let (step, end) = nice_axis(largest);
            let ticks = (end / step).round();
            assert!((1.0..=8.0).contains(&ticks) && end >= largest, "{largest}: {step} {end}");
        }
    }
}
