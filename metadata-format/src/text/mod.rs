//! LVM2's text metadata language and the typed VG model built from it.
