//! Device-mapper: the tables LVM2 builds for each LV (pure, in `tables`), and the kernel edge
//! that loads them (`ioctl`), orders the steps as libdm does (`apply`), keeps /dev in step
//! without udev (`nodes`) or waits for udev to (`udev`) and reads the targets' status lines back (`status`).

pub mod apply;
pub mod ioctl;
pub mod nodes;
pub mod status;
pub mod tables;
pub mod udev;
