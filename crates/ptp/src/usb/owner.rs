//! Who else holds a camera open: the program a photographer must stop
//! before Hotshoe can claim the interface.

use std::fs;
use std::path::{Path, PathBuf};

/// A process with the device node open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOwner {
    pub pid: u32,
    /// `/proc/PID/comm`: the program name (at most 15 characters on Linux).
    pub name: String,
}

/// The usbfs node of a device: `/dev/bus/usb/BBB/DDD`.
pub fn usbfs_node(busnum: u8, device_address: u8) -> PathBuf {
    PathBuf::from(format!("/dev/bus/usb/{busnum:03}/{device_address:03}"))
}

/// Processes under `proc_root` (normally `/proc`) with an fd linked to
/// `node`, except `exclude_pid` (ourselves: we hold the node open while the
/// claim fails). Unreadable processes (other users', when not root) are
/// skipped silently: the caller then names no owner.
pub fn find_owners(proc_root: &Path, node: &Path, exclude_pid: u32) -> Vec<DeviceOwner> {
    let Ok(entries) = fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut owners: Vec<DeviceOwner> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != exclude_pid)
        .filter(|pid| holds(&proc_root.join(pid.to_string()).join("fd"), node))
        .map(|pid| DeviceOwner {
            pid,
            name: fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| format!("process {pid}")),
        })
        .collect();
    owners.sort_by_key(|o| o.pid);
    owners
}

fn holds(fd_dir: &Path, node: &Path) -> bool {
    let Ok(fds) = fs::read_dir(fd_dir) else {
        return false;
    };
    fds.flatten()
        .any(|fd| fs::read_link(fd.path()).is_ok_and(|target| target == node))
}

/// The fix for a known owner, in words a photographer can follow.
pub fn remedy(owner: Option<&str>) -> &'static str {
    match owner {
        Some(name) if name.starts_with("gvfs") => {
            "unmount the camera in the file manager or run `systemctl --user stop gvfs-gphoto2-volume-monitor`"
        }
        Some("ptpcamerad" | "PTPCamera") => {
            "macOS's ptpcamerad grabs every camera: quit Photos/Image Capture and run `sudo launchctl disable system/com.apple.ptpcamerad` (or `pkill -9 ptpcamerad` just before connecting)"
        }
        Some(_) => "quit that program, or unplug and replug the camera",
        None if cfg!(target_os = "macos") => {
            "macOS's ptpcamerad usually grabs cameras: quit Photos/Image Capture and run `sudo launchctl disable system/com.apple.ptpcamerad`"
        }
        None if cfg!(target_os = "windows") => {
            "install the WinUSB driver for the camera (e.g. with Zadig) and close other camera software"
        }
        None => {
            "close other camera software (gphoto2, Shotwell, darktable, the file manager's camera mount), or run `systemctl --user stop gvfs-gphoto2-volume-monitor`"
        }
    }
}

/// The owner of a busy device on this system, named for the error message.
pub fn busy_owner(busnum: Option<u8>, device_address: u8) -> Option<String> {
    if cfg!(target_os = "macos") {
        // Without IORegistry parsing, ptpcamerad is the usual suspect.
        return None;
    }
    let node = usbfs_node(busnum?, device_address);
    let owners = find_owners(Path::new("/proc"), &node, std::process::id());
    let names: Vec<_> = owners.into_iter().map(|o| o.name).collect();
    (!names.is_empty()).then(|| names.join(", "))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn process(root: &Path, pid: u32, comm: &str, fds: &[&Path]) {
        let dir = root.join(pid.to_string());
        fs::create_dir_all(dir.join("fd")).unwrap();
        fs::write(dir.join("comm"), format!("{comm}\n")).unwrap();
        for (i, target) in fds.iter().enumerate() {
            symlink(target, dir.join("fd").join(i.to_string())).unwrap();
        }
    }

    #[test]
    fn finds_the_process_holding_the_node() {
        let root = tempfile::tempdir().unwrap();
        let node = usbfs_node(1, 5);
        assert_eq!(node, Path::new("/dev/bus/usb/001/005"));
        process(root.path(), 100, "bash", &[Path::new("/dev/pts/0")]);
        process(
            root.path(),
            200,
            "gvfsd-gphoto2",
            &[Path::new("/dev/null"), &node],
        );
        process(root.path(), 300, "hotshoe", &[&node]);
        process(root.path(), 400, "gphoto2", &[&usbfs_node(1, 6)]);
        fs::create_dir_all(root.path().join("self")).unwrap();
        fs::write(root.path().join("uptime"), "1 2").unwrap();
        let owners = find_owners(root.path(), &node, 300);
        assert_eq!(
            owners,
            vec![DeviceOwner {
                pid: 200,
                name: "gvfsd-gphoto2".into()
            }]
        );
    }

    #[test]
    fn unreadable_or_missing_proc_names_nobody() {
        let root = tempfile::tempdir().unwrap();
        // A process whose fd directory we may not read.
        fs::create_dir_all(root.path().join("42")).unwrap();
        assert!(find_owners(root.path(), &usbfs_node(1, 2), 0).is_empty());
        assert!(find_owners(&root.path().join("absent"), &usbfs_node(1, 2), 0).is_empty());
    }

    #[test]
    fn remedies_name_the_fix() {
        assert!(remedy(Some("gvfs-gphoto2-vo")).contains("systemctl --user stop"));
        assert!(remedy(Some("gvfsd-gphoto2")).contains("file manager"));
        assert!(remedy(Some("ptpcamerad")).contains("launchctl"));
        assert!(remedy(Some("darktable")).contains("quit that program"));
    }
}
