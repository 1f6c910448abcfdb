//! A dry run: the plan printed one line per action in rclone's wording (`NOTICE: path: Skipped
//! copy as --dry-run is set (size 1.500Ki)`), with the same problems and the same refusal of
//! the delete phase as a real run would meet. Nothing is read, written or deleted: a dry run
//! never reaches the executor.

use super::{shown, CopyReason, Plan, SyncStats, ERROR, NOTICE};
use crate::progress::Progress;
use crate::remote::backend::Backend;

/// Prints what a run of `plan` into `dst` would do (`keep`: with [`super::SyncOptions::keep`],
/// replaced and deleted versions would move into history), and returns the counts of the plan.
pub fn dry_run(dst: &dyn Backend, plan: &Plan, keep: bool, progress: &Progress) -> SyncStats {
    let mut stats = SyncStats::of_plan(plan, progress);
    for dir in &plan.mkdirs {
        progress.log(&format!(
            "{NOTICE}{}: Skipped make directory as --dry-run is set",
            shown(dir, dst)
        ));
    }
    for copy in plan.copies.iter() {
        let Some((entry, reason)) = readable(copy, progress, &mut stats) else {
            break;
        };
        if keep && reason != CopyReason::New {
            progress.log(&format!(
                "{NOTICE}{}: Skipped move of the replaced version into history as --dry-run is set",
                entry.path
            ));
        }
        progress.log(&format!(
            "{NOTICE}{}: Skipped copy as --dry-run is set (size {})",
            entry.path,
            rclone_size(entry.size)
        ));
    }
    if !super::may_delete(plan, progress, &mut stats) {
        return stats;
    }
    let delete = if keep { "move into history" } else { "delete" };
    for entry in plan.deletes.iter() {
        let Some(entry) = readable(entry, progress, &mut stats) else {
            break;
        };
        progress.log(&format!(
            "{NOTICE}{}: Skipped {delete} as --dry-run is set (size {})",
            entry.path,
            rclone_size(entry.size)
        ));
    }
    for dir in &plan.rmdirs {
        progress.log(&format!(
            "{NOTICE}{dir}: Skipped remove directory as --dry-run is set"
        ));
    }
    stats
}

/// An item of the plan, or `None` after reporting why the plan cannot be read further (an
/// error of the run).
fn readable<T>(item: anyhow::Result<T>, progress: &Progress, stats: &mut SyncStats) -> Option<T> {
    match item {
        Ok(item) => Some(item),
        Err(err) => {
            progress.log(&format!("{ERROR}{err:#}"));
            stats.errors += 1;
            None
        }
    }
}

/// A size as rclone's messages show it: plain bytes below 1 KiB, else binary units with three
/// decimals unless the value is whole (`1023`, `1.500Ki`, `1Mi`, `976.562Ki`).
fn rclone_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    const STEP: u64 = 1024;
    if n < STEP {
        return n.to_string();
    }
    let mut divisor = STEP;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        match divisor.checked_mul(STEP) {
            Some(bigger) if n >= bigger => {
                divisor = bigger;
                unit = next;
            }
            _ => break,
        }
    }
    if n.is_multiple_of(divisor) {
        format!("{}{unit}", n / divisor)
    } else {
        format!("{:.3}{unit}", n as f64 / divisor as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::rclone_size;

    #[test]
    fn rclone_sizes_match_rclone_dry_run_lines() {
        // Values printed by rclone v1.75.2 `copy --dry-run` for files of these sizes.
        assert_eq!(rclone_size(1023), "1023");
        assert_eq!(rclone_size(1536), "1.500Ki");
        assert_eq!(rclone_size(1 << 20), "1Mi");
        assert_eq!(rclone_size(1_000_000), "976.562Ki");
    }

    #[test]
    fn rclone_size_of_largest_value() {
        assert_eq!(rclone_size(u64::MAX), "16.000Ei");
    }
}
