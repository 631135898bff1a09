//! Explaining a plan: per node the device, its estimate and the runner-up; then the totals
//! next to what each single device would take, which is the "why" in one line.

use super::plan::Plan;
use super::profile::EstimateSource;
use std::fmt;

/// Formats µs as a human time.
pub fn human_us(us: f64) -> String {
    if !us.is_finite() {
        "—".into()
    } else if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{us:.1} µs")
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.nodes.iter().map(|n| n.label.len()).max().unwrap_or(0);
        for n in &self.nodes {
            let source = match n.source {
                EstimateSource::Measured => String::new(),
                EstimateSource::Borrowed(c) => format!(" (no {} measured; from {c})", n.class),
                EstimateSource::Unknown => " (nothing measured)".into(),
                EstimateSource::Unsupported => " (unsupported)".into(),
            };
            write!(
                f,
                "{:>3} {:<width$}  {:<10} {:>10}{source}",
                n.node,
                n.label,
                self.devices[n.device],
                human_us(n.estimate_us),
            )?;
            match n.runner_up {
                Some((d, us)) => writeln!(f, "   runner-up {} {}", self.devices[d], human_us(us))?,
                None => writeln!(f, "   (no other device can run it)")?,
            }
        }
        writeln!(
            f,
            "total {} ({} at boundaries, {} segment{})",
            human_us(self.total_us),
            human_us(self.boundary_us),
            self.segments,
            if self.segments == 1 { "" } else { "s" }
        )?;
        for (d, us) in self.single_device_us.iter().enumerate() {
            match us {
                Some(us) => writeln!(f, "  all on {}: {}", self.devices[d], human_us(*us))?,
                None => writeln!(f, "  all on {}: cannot run every node", self.devices[d])?,
            }
        }
        Ok(())
    }
}

impl Plan {
    /// A one-paragraph reason for the plan, for the tour.
    pub fn why(&self) -> String {
        let mut per_device = vec![0usize; self.devices.len()];
        for n in &self.nodes {
            per_device[n.device] += 1;
        }
        let used: Vec<String> = per_device
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(d, c)| format!("{c} nodes on {}", self.devices[d]))
            .collect();
        let best_single = self
            .single_device_us
            .iter()
            .enumerate()
            .filter_map(|(d, us)| us.map(|u| (d, u)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let mut s = format!(
            "{} in {} segment(s), estimated {}",
            used.join(", "),
            self.segments,
            human_us(self.total_us)
        );
        if let Some((d, us)) = best_single {
            if self.segments > 1 {
                s += &format!(
                    "; splitting beats the best single device ({} at {}) by {:.1} %",
                    self.devices[d],
                    human_us(us),
                    (us - self.total_us) / us * 100.0
                );
            } else {
                let others: Vec<String> = self
                    .single_device_us
                    .iter()
                    .enumerate()
                    .filter(|(x, _)| *x != d)
                    .map(|(x, u)| format!("{} {}", self.devices[x], u.map_or("—".into(), human_us)))
                    .collect();
                if !others.is_empty() {
                    s += &format!("; the other devices would take {}", others.join(", "));
                }
            }
        }
        s
    }
}
