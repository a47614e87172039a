//! Device-mapper: the tables LVM2 builds for each LV (pure, in `tables`), and the kernel edge
//! that loads them (`ioctl`), orders the steps as libdm does (`apply`) and keeps /dev in step
//! without udev (`nodes`).

pub mod apply;
pub mod ioctl;
pub mod nodes;
pub mod tables;
