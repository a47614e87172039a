//! The field registry of LVM2 2.03.16 reports: every field's name, heading, minimum width, value
//! type and object type, in LVM2's own registry order. The order is part of the interface: a short
//! name such as `-o size` or `-o count` resolves to the first field it matches, and `-o all` lists
//! fields in this order. Extracted once from LVM2's field table; keep in sync by regenerating, not
//! by hand-sorting.

use super::registry::{FieldDef, FieldType::*, ListStyle::*, ObjType};

const LVS: ObjType = ObjType::LVS;
const LVSINFO: ObjType = ObjType::LVSINFO;
const LVSSTATUS: ObjType = ObjType::LVSSTATUS;
const LVSINFOSTATUS: ObjType = ObjType::LVSINFOSTATUS;
const LABEL: ObjType = ObjType::LABEL;
const PVS: ObjType = ObjType::PVS;
const VGS: ObjType = ObjType::VGS;
const SEGS: ObjType = ObjType::SEGS;
const PVSEGS: ObjType = ObjType::PVSEGS;

/// `f(name, canonical name, heading, width, type, object type)`; a width of 0 in LVM2's table
/// means "the heading's length" and is stored resolved here.
const fn f(
    name: &'static str,
    canonical: &'static str,
    heading: &'static str,
    width: usize,
    ftype: super::registry::FieldType,
    obj: ObjType,
) -> FieldDef {
    FieldDef {
        name,
        canonical,
        heading,
        width,
        ftype,
        obj,
        word: "",
        list: Plain,
    }
}

/// A binary field and the word it shows for "set" without `--binary`.
const fn b(
    name: &'static str,
    canonical: &'static str,
    heading: &'static str,
    width: usize,
    obj: ObjType,
    word: &'static str,
) -> FieldDef {
    FieldDef {
        name,
        canonical,
        heading,
        width,
        ftype: Bin,
        obj,
        word,
        list: Plain,
    }
}

/// A string-list field whose items are joined in a fixed way.
const fn l(
    name: &'static str,
    canonical: &'static str,
    heading: &'static str,
    width: usize,
    obj: ObjType,
    list: super::registry::ListStyle,
) -> FieldDef {
    FieldDef {
        name,
        canonical,
        heading,
        width,
        ftype: StrList,
        obj,
        word: "",
        list,
    }
}

pub(crate) static FIELDS: [FieldDef; 218] = [
    f("lv_uuid", "lvuuid", "LV UUID", 38, Str, LVS),
    f("lv_name", "lvname", "LV", 4, Str, LVS),
    f("lv_full_name", "lvfullname", "LV", 4, Str, LVS),
    f("lv_path", "lvpath", "Path", 4, Str, LVS),
    f("lv_dm_path", "lvdmpath", "DMPath", 6, Str, LVS),
    f("lv_parent", "lvparent", "Parent", 6, Str, LVS),
    f("lv_layout", "lvlayout", "Layout", 10, StrList, LVS),
    f("lv_role", "lvrole", "Role", 10, StrList, LVS),
    b(
        "lv_initial_image_sync",
        "lvinitialimagesync",
        "InitImgSync",
        10,
        LVS,
        "initial image sync",
    ),
    b(
        "lv_image_synced",
        "lvimagesynced",
        "ImgSynced",
        10,
        LVS,
        "image synced",
    ),
    b("lv_merging", "lvmerging", "Merging", 10, LVS, "merging"),
    b(
        "lv_converting",
        "lvconverting",
        "Converting",
        10,
        LVS,
        "converting",
    ),
    f(
        "lv_allocation_policy",
        "lvallocationpolicy",
        "AllocPol",
        10,
        Str,
        LVS,
    ),
    b(
        "lv_allocation_locked",
        "lvallocationlocked",
        "AllocLock",
        10,
        LVS,
        "allocation locked",
    ),
    b(
        "lv_fixed_minor",
        "lvfixedminor",
        "FixMin",
        10,
        LVS,
        "fixed minor",
    ),
    b(
        "lv_skip_activation",
        "lvskipactivation",
        "SkipAct",
        15,
        LVS,
        "skip activation",
    ),
    b(
        "lv_autoactivation",
        "lvautoactivation",
        "AutoAct",
        7,
        LVS,
        "enabled",
    ),
    f("lv_when_full", "lvwhenfull", "WhenFull", 15, Str, LVS),
    f("lv_active", "lvactive", "Active", 6, Str, LVS),
    b(
        "lv_active_locally",
        "lvactivelocally",
        "ActLocal",
        10,
        LVS,
        "active locally",
    ),
    b(
        "lv_active_remotely",
        "lvactiveremotely",
        "ActRemote",
        10,
        LVS,
        "active remotely",
    ),
    b(
        "lv_active_exclusively",
        "lvactiveexclusively",
        "ActExcl",
        10,
        LVS,
        "active exclusively",
    ),
    f("lv_major", "lvmajor", "Maj", 3, Num, LVS),
    f("lv_minor", "lvminor", "Min", 3, Num, LVS),
    f("lv_read_ahead", "lvreadahead", "Rahead", 6, Size, LVS),
    f("lv_size", "lvsize", "LSize", 5, Size, LVS),
    f("lv_metadata_size", "lvmetadatasize", "MSize", 5, Size, LVS),
    f("seg_count", "segcount", "#Seg", 4, Num, LVS),
    f("origin", "origin", "Origin", 6, Str, LVS),
    f("origin_uuid", "originuuid", "Origin UUID", 38, Str, LVS),
    f("origin_size", "originsize", "OSize", 5, Size, LVS),
    f("lv_ancestors", "lvancestors", "Ancestors", 9, StrList, LVS),
    f(
        "lv_full_ancestors",
        "lvfullancestors",
        "FAncestors",
        10,
        StrList,
        LVS,
    ),
    f(
        "lv_descendants",
        "lvdescendants",
        "Descendants",
        11,
        StrList,
        LVS,
    ),
    f(
        "lv_full_descendants",
        "lvfulldescendants",
        "FDescendants",
        12,
        StrList,
        LVS,
    ),
    f(
        "raid_mismatch_count",
        "raidmismatchcount",
        "Mismatches",
        10,
        Num,
        LVS,
    ),
    f(
        "raid_sync_action",
        "raidsyncaction",
        "SyncAction",
        10,
        Str,
        LVS,
    ),
    f(
        "raid_write_behind",
        "raidwritebehind",
        "WBehind",
        7,
        Num,
        LVS,
    ),
    f(
        "raid_min_recovery_rate",
        "raidminrecoveryrate",
        "MinSync",
        7,
        Num,
        LVS,
    ),
    f(
        "raid_max_recovery_rate",
        "raidmaxrecoveryrate",
        "MaxSync",
        7,
        Num,
        LVS,
    ),
    f(
        "raidintegritymode",
        "raidintegritymode",
        "IntegMode",
        9,
        Str,
        LVS,
    ),
    f(
        "raidintegrityblocksize",
        "raidintegrityblocksize",
        "IntegBlkSize",
        12,
        Num,
        LVS,
    ),
    f(
        "integritymismatches",
        "integritymismatches",
        "IntegMismatches",
        15,
        Num,
        LVS,
    ),
    f("move_pv", "movepv", "Move", 4, Str, LVS),
    f("move_pv_uuid", "movepvuuid", "Move UUID", 38, Str, LVS),
    f("convert_lv", "convertlv", "Convert", 7, Str, LVS),
    f(
        "convert_lv_uuid",
        "convertlvuuid",
        "Convert UUID",
        38,
        Str,
        LVS,
    ),
    f("mirror_log", "mirrorlog", "Log", 3, Str, LVS),
    f("mirror_log_uuid", "mirrorloguuid", "Log UUID", 38, Str, LVS),
    f("data_lv", "datalv", "Data", 4, Str, LVS),
    f("data_lv_uuid", "datalvuuid", "Data UUID", 38, Str, LVS),
    f("metadata_lv", "metadatalv", "Meta", 4, Str, LVS),
    f(
        "metadata_lv_uuid",
        "metadatalvuuid",
        "Meta UUID",
        38,
        Str,
        LVS,
    ),
    f("pool_lv", "poollv", "Pool", 4, Str, LVS),
    f("pool_lv_uuid", "poollvuuid", "Pool UUID", 38, Str, LVS),
    l("lv_tags", "lvtags", "LV Tags", 7, LVS, Sorted),
    f("lv_profile", "lvprofile", "LProfile", 8, Str, LVS),
    f("lv_lockargs", "lvlockargs", "LLockArgs", 9, Str, LVS),
    f("lv_time", "lvtime", "CTime", 26, Time, LVS),
    f("lv_time_removed", "lvtimeremoved", "RTime", 26, Time, LVS),
    f("lv_host", "lvhost", "Host", 10, Str, LVS),
    l("lv_modules", "lvmodules", "Modules", 7, LVS, Sorted),
    b(
        "lv_historical",
        "lvhistorical",
        "Historical",
        10,
        LVS,
        "historical",
    ),
    f(
        "writecache_block_size",
        "writecacheblocksize",
        "WCacheBlkSize",
        13,
        Num,
        LVS,
    ),
    f("lv_kernel_major", "lvkernelmajor", "KMaj", 4, Num, LVSINFO),
    f("lv_kernel_minor", "lvkernelminor", "KMin", 4, Num, LVSINFO),
    f(
        "lv_kernel_read_ahead",
        "lvkernelreadahead",
        "KRahead",
        7,
        Size,
        LVSINFO,
    ),
    f("lv_permissions", "lvpermissions", "LPerms", 8, Str, LVSINFO),
    b(
        "lv_suspended",
        "lvsuspended",
        "Suspended",
        10,
        LVSINFO,
        "suspended",
    ),
    b(
        "lv_live_table",
        "lvlivetable",
        "LiveTable",
        20,
        LVSINFO,
        "live table present",
    ),
    b(
        "lv_inactive_table",
        "lvinactivetable",
        "InactiveTable",
        20,
        LVSINFO,
        "inactive table present",
    ),
    b(
        "lv_device_open",
        "lvdeviceopen",
        "DevOpen",
        10,
        LVSINFO,
        "open",
    ),
    f(
        "data_percent",
        "datapercent",
        "Data%",
        6,
        Percent,
        LVSSTATUS,
    ),
    f(
        "snap_percent",
        "snappercent",
        "Snap%",
        6,
        Percent,
        LVSSTATUS,
    ),
    f(
        "metadata_percent",
        "metadatapercent",
        "Meta%",
        6,
        Percent,
        LVSSTATUS,
    ),
    f(
        "copy_percent",
        "copypercent",
        "Cpy%Sync",
        8,
        Percent,
        LVSSTATUS,
    ),
    f(
        "sync_percent",
        "syncpercent",
        "Cpy%Sync",
        8,
        Percent,
        LVSSTATUS,
    ),
    f(
        "cache_total_blocks",
        "cachetotalblocks",
        "CacheTotalBlocks",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_used_blocks",
        "cacheusedblocks",
        "CacheUsedBlocks",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_dirty_blocks",
        "cachedirtyblocks",
        "CacheDirtyBlocks",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_read_hits",
        "cachereadhits",
        "CacheReadHits",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_read_misses",
        "cachereadmisses",
        "CacheReadMisses",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_write_hits",
        "cachewritehits",
        "CacheWriteHits",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "cache_write_misses",
        "cachewritemisses",
        "CacheWriteMisses",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "kernel_cache_settings",
        "kernelcachesettings",
        "KCacheSettings",
        18,
        StrList,
        LVSSTATUS,
    ),
    f(
        "kernel_cache_policy",
        "kernelcachepolicy",
        "KCachePolicy",
        18,
        Str,
        LVSSTATUS,
    ),
    f(
        "kernel_metadata_format",
        "kernelmetadataformat",
        "KMFmt",
        5,
        Num,
        LVSSTATUS,
    ),
    f(
        "lv_health_status",
        "lvhealthstatus",
        "Health",
        15,
        Str,
        LVSSTATUS,
    ),
    f(
        "kernel_discards",
        "kerneldiscards",
        "KDiscards",
        9,
        Str,
        LVSSTATUS,
    ),
    b(
        "lv_check_needed",
        "lvcheckneeded",
        "CheckNeeded",
        15,
        LVSSTATUS,
        "check needed",
    ),
    b(
        "lv_merge_failed",
        "lvmergefailed",
        "MergeFailed",
        15,
        LVSSTATUS,
        "merge failed",
    ),
    b(
        "lv_snapshot_invalid",
        "lvsnapshotinvalid",
        "SnapInvalid",
        15,
        LVSSTATUS,
        "snapshot invalid",
    ),
    f(
        "vdo_operating_mode",
        "vdooperatingmode",
        "VDOOperatingMode",
        16,
        Str,
        LVSSTATUS,
    ),
    f(
        "vdo_compression_state",
        "vdocompressionstate",
        "VDOCompressionState",
        19,
        Str,
        LVSSTATUS,
    ),
    f(
        "vdo_index_state",
        "vdoindexstate",
        "VDOIndexState",
        13,
        Str,
        LVSSTATUS,
    ),
    f(
        "vdo_used_size",
        "vdousedsize",
        "VDOUsedSize",
        11,
        Num,
        LVSSTATUS,
    ),
    f(
        "vdo_saving_percent",
        "vdosavingpercent",
        "VDOSaving%",
        10,
        Num,
        LVSSTATUS,
    ),
    f(
        "writecache_total_blocks",
        "writecachetotalblocks",
        "WCacheTotalBlocks",
        17,
        Num,
        LVSSTATUS,
    ),
    f(
        "writecache_free_blocks",
        "writecachefreeblocks",
        "WCacheFreeBlocks",
        16,
        Num,
        LVSSTATUS,
    ),
    f(
        "writecache_writeback_blocks",
        "writecachewritebackblocks",
        "WCacheWritebackBlocks",
        21,
        Num,
        LVSSTATUS,
    ),
    f(
        "writecache_error",
        "writecacheerror",
        "WCacheErrors",
        12,
        Num,
        LVSSTATUS,
    ),
    f("lv_attr", "lvattr", "Attr", 4, Str, LVSINFOSTATUS),
    f("pv_fmt", "pvfmt", "Fmt", 3, Str, LABEL),
    f("pv_uuid", "pvuuid", "PV UUID", 38, Str, LABEL),
    f("dev_size", "devsize", "DevSize", 7, Size, LABEL),
    f("pv_name", "pvname", "PV", 10, Str, LABEL),
    f("pv_major", "pvmajor", "Maj", 3, Str, LABEL),
    f("pv_minor", "pvminor", "Min", 3, Str, LABEL),
    f("pv_mda_free", "pvmdafree", "PMdaFree", 9, Size, LABEL),
    f("pv_mda_size", "pvmdasize", "PMdaSize", 9, Size, LABEL),
    f("pv_ext_vsn", "pvextvsn", "PExtVsn", 7, Num, LABEL),
    f("pe_start", "pestart", "1st PE", 7, Num, PVS),
    f("pv_size", "pvsize", "PSize", 5, Size, PVS),
    f("pv_free", "pvfree", "PFree", 5, Size, PVS),
    f("pv_used", "pvused", "Used", 4, Size, PVS),
    f("pv_attr", "pvattr", "Attr", 4, Str, PVS),
    b(
        "pv_allocatable",
        "pvallocatable",
        "Allocatable",
        11,
        PVS,
        "allocatable",
    ),
    b("pv_exported", "pvexported", "Exported", 10, PVS, "exported"),
    b("pv_missing", "pvmissing", "Missing", 10, PVS, "missing"),
    f("pv_pe_count", "pvpecount", "PE", 3, Num, PVS),
    f("pv_pe_alloc_count", "pvpealloccount", "Alloc", 5, Num, PVS),
    l("pv_tags", "pvtags", "PV Tags", 7, PVS, Sorted),
    f("pv_mda_count", "pvmdacount", "#PMda", 5, Num, PVS),
    f(
        "pv_mda_used_count",
        "pvmdausedcount",
        "#PMdaUse",
        8,
        Num,
        PVS,
    ),
    f("pv_ba_start", "pvbastart", "BA Start", 8, Size, PVS),
    f("pv_ba_size", "pvbasize", "BA Size", 7, Size, PVS),
    b("pv_in_use", "pvinuse", "PInUse", 6, PVS, "used"),
    b(
        "pv_duplicate",
        "pvduplicate",
        "Duplicate",
        9,
        PVS,
        "duplicate",
    ),
    f("pv_device_id", "pvdeviceid", "DeviceID", 8, Str, PVS),
    f(
        "pv_device_id_type",
        "pvdeviceidtype",
        "DeviceIDType",
        12,
        Str,
        PVS,
    ),
    f("vg_fmt", "vgfmt", "Fmt", 3, Str, VGS),
    f("vg_uuid", "vguuid", "VG UUID", 38, Str, VGS),
    f("vg_name", "vgname", "VG", 2, Str, VGS),
    f("vg_attr", "vgattr", "Attr", 5, Str, VGS),
    f("vg_permissions", "vgpermissions", "VPerms", 10, Str, VGS),
    b(
        "vg_extendable",
        "vgextendable",
        "Extendable",
        10,
        VGS,
        "extendable",
    ),
    b("vg_exported", "vgexported", "Exported", 10, VGS, "exported"),
    b(
        "vg_autoactivation",
        "vgautoactivation",
        "AutoAct",
        7,
        VGS,
        "enabled",
    ),
    b("vg_partial", "vgpartial", "Partial", 10, VGS, "partial"),
    f(
        "vg_allocation_policy",
        "vgallocationpolicy",
        "AllocPol",
        10,
        Str,
        VGS,
    ),
    b(
        "vg_clustered",
        "vgclustered",
        "Clustered",
        10,
        VGS,
        "clustered",
    ),
    b("vg_shared", "vgshared", "Shared", 7, VGS, "shared"),
    f("vg_size", "vgsize", "VSize", 5, Size, VGS),
    f("vg_free", "vgfree", "VFree", 5, Size, VGS),
    f("vg_sysid", "vgsysid", "SYS ID", 6, Str, VGS),
    f("vg_systemid", "vgsystemid", "System ID", 9, Str, VGS),
    f("vg_lock_type", "vglocktype", "LockType", 8, Str, VGS),
    f("vg_lock_args", "vglockargs", "VLockArgs", 9, Str, VGS),
    f("vg_extent_size", "vgextentsize", "Ext", 3, Size, VGS),
    f("vg_extent_count", "vgextentcount", "#Ext", 4, Num, VGS),
    f("vg_free_count", "vgfreecount", "Free", 4, Num, VGS),
    f("max_lv", "maxlv", "MaxLV", 5, Num, VGS),
    f("max_pv", "maxpv", "MaxPV", 5, Num, VGS),
    f("pv_count", "pvcount", "#PV", 3, Num, VGS),
    f(
        "vg_missing_pv_count",
        "vgmissingpvcount",
        "#PV Missing",
        11,
        Num,
        VGS,
    ),
    f("lv_count", "lvcount", "#LV", 3, Num, VGS),
    f("snap_count", "snapcount", "#SN", 3, Num, VGS),
    f("vg_seqno", "vgseqno", "Seq", 3, Num, VGS),
    l("vg_tags", "vgtags", "VG Tags", 7, VGS, Sorted),
    f("vg_profile", "vgprofile", "VProfile", 8, Str, VGS),
    f("vg_mda_count", "vgmdacount", "#VMda", 5, Num, VGS),
    f(
        "vg_mda_used_count",
        "vgmdausedcount",
        "#VMdaUse",
        8,
        Num,
        VGS,
    ),
    f("vg_mda_free", "vgmdafree", "VMdaFree", 9, Size, VGS),
    f("vg_mda_size", "vgmdasize", "VMdaSize", 9, Size, VGS),
    f("vg_mda_copies", "vgmdacopies", "#VMdaCps", 8, Num, VGS),
    f("segtype", "segtype", "Type", 4, Str, SEGS),
    f("stripes", "stripes", "#Str", 4, Num, SEGS),
    f("data_stripes", "datastripes", "#DStr", 5, Num, SEGS),
    f("reshape_len", "reshapelen", "RSize", 5, Size, SEGS),
    f("reshape_len_le", "reshapelenle", "RSize", 5, Num, SEGS),
    f("data_copies", "datacopies", "#Cpy", 4, Num, SEGS),
    f("data_offset", "dataoffset", "DOff", 4, Num, SEGS),
    f("new_data_offset", "newdataoffset", "NOff", 4, Num, SEGS),
    f("parity_chunks", "paritychunks", "#Par", 4, Num, SEGS),
    f("stripe_size", "stripesize", "Stripe", 6, Size, SEGS),
    f("region_size", "regionsize", "Region", 6, Size, SEGS),
    f("chunk_size", "chunksize", "Chunk", 5, Size, SEGS),
    f("thin_count", "thincount", "#Thins", 6, Num, SEGS),
    f("discards", "discards", "Discards", 8, Str, SEGS),
    f(
        "cache_metadata_format",
        "cachemetadataformat",
        "CMFmt",
        5,
        Num,
        SEGS,
    ),
    f("cache_mode", "cachemode", "CacheMode", 9, Str, SEGS),
    b("zero", "zero", "Zero", 4, SEGS, "zero"),
    f("transaction_id", "transactionid", "TransId", 7, Num, SEGS),
    f("thin_id", "thinid", "ThId", 4, Num, SEGS),
    f("seg_start", "segstart", "Start", 5, Size, SEGS),
    f("seg_start_pe", "segstartpe", "Start", 5, Num, SEGS),
    f("seg_size", "segsize", "SSize", 5, Size, SEGS),
    f("seg_size_pe", "segsizepe", "SSize", 5, Size, SEGS),
    l("seg_tags", "segtags", "Seg Tags", 8, SEGS, Sorted),
    l("seg_pe_ranges", "segperanges", "PE Ranges", 9, SEGS, Space),
    f(
        "seg_le_ranges",
        "segleranges",
        "LE Ranges",
        9,
        StrList,
        SEGS,
    ),
    f(
        "seg_metadata_le_ranges",
        "segmetadataleranges",
        "Metadata LE Ranges",
        18,
        StrList,
        SEGS,
    ),
    l("devices", "devices", "Devices", 7, SEGS, Comma),
    l(
        "metadata_devices",
        "metadatadevices",
        "Metadata Devs",
        13,
        SEGS,
        Comma,
    ),
    f("seg_monitor", "segmonitor", "Monitor", 7, Str, SEGS),
    f("cache_policy", "cachepolicy", "CachePolicy", 11, Str, SEGS),
    f(
        "cache_settings",
        "cachesettings",
        "CacheSettings",
        13,
        StrList,
        SEGS,
    ),
    b(
        "vdo_compression",
        "vdocompression",
        "VDOCompression",
        14,
        SEGS,
        "enabled",
    ),
    b(
        "vdo_deduplication",
        "vdodeduplication",
        "VDODeduplication",
        16,
        SEGS,
        "enabled",
    ),
    b(
        "vdo_use_metadata_hints",
        "vdousemetadatahints",
        "VDOMetadataHints",
        16,
        SEGS,
        "enabled",
    ),
    f(
        "vdo_minimum_io_size",
        "vdominimumiosize",
        "VDOMinimumIOSize",
        16,
        Num,
        SEGS,
    ),
    f(
        "vdo_block_map_cache_size",
        "vdoblockmapcachesize",
        "VDOBlockMapCacheSize",
        20,
        Size,
        SEGS,
    ),
    f(
        "vdo_block_map_era_length",
        "vdoblockmaperalength",
        "VDOBlockMapEraLength",
        20,
        Num,
        SEGS,
    ),
    b(
        "vdo_use_sparse_index",
        "vdousesparseindex",
        "VDOSparseIndex",
        14,
        SEGS,
        "enabled",
    ),
    f(
        "vdo_index_memory_size",
        "vdoindexmemorysize",
        "VDOIndexMemorySize",
        18,
        Size,
        SEGS,
    ),
    f(
        "vdo_slab_size",
        "vdoslabsize",
        "VDOSlabSize",
        11,
        Size,
        SEGS,
    ),
    f(
        "vdo_ack_threads",
        "vdoackthreads",
        "VDOAckThreads",
        13,
        Num,
        SEGS,
    ),
    f(
        "vdo_bio_threads",
        "vdobiothreads",
        "VDOBioThreads",
        13,
        Num,
        SEGS,
    ),
    f(
        "vdo_bio_rotation",
        "vdobiorotation",
        "VDOBioRotation",
        14,
        Num,
        SEGS,
    ),
    f(
        "vdo_cpu_threads",
        "vdocputhreads",
        "VDOCPUThreads",
        13,
        Num,
        SEGS,
    ),
    f(
        "vdo_hash_zone_threads",
        "vdohashzonethreads",
        "VDOHashZoneThreads",
        18,
        Num,
        SEGS,
    ),
    f(
        "vdo_logical_threads",
        "vdologicalthreads",
        "VDOLogicalThreads",
        17,
        Num,
        SEGS,
    ),
    f(
        "vdo_physical_threads",
        "vdophysicalthreads",
        "VDOPhysicalThreads",
        18,
        Num,
        SEGS,
    ),
    f(
        "vdo_max_discard",
        "vdomaxdiscard",
        "VDOMaxDiscard",
        13,
        Num,
        SEGS,
    ),
    f(
        "vdo_write_policy",
        "vdowritepolicy",
        "VDOWritePolicy",
        14,
        Str,
        SEGS,
    ),
    f(
        "vdo_header_size",
        "vdoheadersize",
        "VDOHeaderSize",
        13,
        Size,
        SEGS,
    ),
    f("pvseg_start", "pvsegstart", "Start", 5, Num, PVSEGS),
    f("pvseg_size", "pvsegsize", "SSize", 5, Num, PVSEGS),
];

/// One constant per field, named after the field (`FieldId::PV_NAME` is `pv_name`).
impl super::FieldId {
    pub const LV_UUID: Self = Self(0);
    pub const LV_NAME: Self = Self(1);
    pub const LV_FULL_NAME: Self = Self(2);
    pub const LV_PATH: Self = Self(3);
    pub const LV_DM_PATH: Self = Self(4);
    pub const LV_PARENT: Self = Self(5);
    pub const LV_LAYOUT: Self = Self(6);
    pub const LV_ROLE: Self = Self(7);
    pub const LV_INITIAL_IMAGE_SYNC: Self = Self(8);
    pub const LV_IMAGE_SYNCED: Self = Self(9);
    pub const LV_MERGING: Self = Self(10);
    pub const LV_CONVERTING: Self = Self(11);
    pub const LV_ALLOCATION_POLICY: Self = Self(12);
    pub const LV_ALLOCATION_LOCKED: Self = Self(13);
    pub const LV_FIXED_MINOR: Self = Self(14);
    pub const LV_SKIP_ACTIVATION: Self = Self(15);
    pub const LV_AUTOACTIVATION: Self = Self(16);
    pub const LV_WHEN_FULL: Self = Self(17);
    pub const LV_ACTIVE: Self = Self(18);
    pub const LV_ACTIVE_LOCALLY: Self = Self(19);
    pub const LV_ACTIVE_REMOTELY: Self = Self(20);
    pub const LV_ACTIVE_EXCLUSIVELY: Self = Self(21);
    pub const LV_MAJOR: Self = Self(22);
    pub const LV_MINOR: Self = Self(23);
    pub const LV_READ_AHEAD: Self = Self(24);
    pub const LV_SIZE: Self = Self(25);
    pub const LV_METADATA_SIZE: Self = Self(26);
    pub const SEG_COUNT: Self = Self(27);
    pub const ORIGIN: Self = Self(28);
    pub const ORIGIN_UUID: Self = Self(29);
    pub const ORIGIN_SIZE: Self = Self(30);
    pub const LV_ANCESTORS: Self = Self(31);
    pub const LV_FULL_ANCESTORS: Self = Self(32);
    pub const LV_DESCENDANTS: Self = Self(33);
    pub const LV_FULL_DESCENDANTS: Self = Self(34);
    pub const RAID_MISMATCH_COUNT: Self = Self(35);
    pub const RAID_SYNC_ACTION: Self = Self(36);
    pub const RAID_WRITE_BEHIND: Self = Self(37);
    pub const RAID_MIN_RECOVERY_RATE: Self = Self(38);
    pub const RAID_MAX_RECOVERY_RATE: Self = Self(39);
    pub const RAIDINTEGRITYMODE: Self = Self(40);
    pub const RAIDINTEGRITYBLOCKSIZE: Self = Self(41);
    pub const INTEGRITYMISMATCHES: Self = Self(42);
    pub const MOVE_PV: Self = Self(43);
    pub const MOVE_PV_UUID: Self = Self(44);
    pub const CONVERT_LV: Self = Self(45);
    pub const CONVERT_LV_UUID: Self = Self(46);
    pub const MIRROR_LOG: Self = Self(47);
    pub const MIRROR_LOG_UUID: Self = Self(48);
    pub const DATA_LV: Self = Self(49);
    pub const DATA_LV_UUID: Self = Self(50);
    pub const METADATA_LV: Self = Self(51);
    pub const METADATA_LV_UUID: Self = Self(52);
    pub const POOL_LV: Self = Self(53);
    pub const POOL_LV_UUID: Self = Self(54);
    pub const LV_TAGS: Self = Self(55);
    pub const LV_PROFILE: Self = Self(56);
    pub const LV_LOCKARGS: Self = Self(57);
    pub const LV_TIME: Self = Self(58);
    pub const LV_TIME_REMOVED: Self = Self(59);
    pub const LV_HOST: Self = Self(60);
    pub const LV_MODULES: Self = Self(61);
    pub const LV_HISTORICAL: Self = Self(62);
    pub const WRITECACHE_BLOCK_SIZE: Self = Self(63);
    pub const LV_KERNEL_MAJOR: Self = Self(64);
    pub const LV_KERNEL_MINOR: Self = Self(65);
    pub const LV_KERNEL_READ_AHEAD: Self = Self(66);
    pub const LV_PERMISSIONS: Self = Self(67);
    pub const LV_SUSPENDED: Self = Self(68);
    pub const LV_LIVE_TABLE: Self = Self(69);
    pub const LV_INACTIVE_TABLE: Self = Self(70);
    pub const LV_DEVICE_OPEN: Self = Self(71);
    pub const DATA_PERCENT: Self = Self(72);
    pub const SNAP_PERCENT: Self = Self(73);
    pub const METADATA_PERCENT: Self = Self(74);
    pub const COPY_PERCENT: Self = Self(75);
    pub const SYNC_PERCENT: Self = Self(76);
    pub const CACHE_TOTAL_BLOCKS: Self = Self(77);
    pub const CACHE_USED_BLOCKS: Self = Self(78);
    pub const CACHE_DIRTY_BLOCKS: Self = Self(79);
    pub const CACHE_READ_HITS: Self = Self(80);
    pub const CACHE_READ_MISSES: Self = Self(81);
    pub const CACHE_WRITE_HITS: Self = Self(82);
    pub const CACHE_WRITE_MISSES: Self = Self(83);
    pub const KERNEL_CACHE_SETTINGS: Self = Self(84);
    pub const KERNEL_CACHE_POLICY: Self = Self(85);
    pub const KERNEL_METADATA_FORMAT: Self = Self(86);
    pub const LV_HEALTH_STATUS: Self = Self(87);
    pub const KERNEL_DISCARDS: Self = Self(88);
    pub const LV_CHECK_NEEDED: Self = Self(89);
    pub const LV_MERGE_FAILED: Self = Self(90);
    pub const LV_SNAPSHOT_INVALID: Self = Self(91);
    pub const VDO_OPERATING_MODE: Self = Self(92);
    pub const VDO_COMPRESSION_STATE: Self = Self(93);
    pub const VDO_INDEX_STATE: Self = Self(94);
    pub const VDO_USED_SIZE: Self = Self(95);
    pub const VDO_SAVING_PERCENT: Self = Self(96);
    pub const WRITECACHE_TOTAL_BLOCKS: Self = Self(97);
    pub const WRITECACHE_FREE_BLOCKS: Self = Self(98);
    pub const WRITECACHE_WRITEBACK_BLOCKS: Self = Self(99);
    pub const WRITECACHE_ERROR: Self = Self(100);
    pub const LV_ATTR: Self = Self(101);
    pub const PV_FMT: Self = Self(102);
    pub const PV_UUID: Self = Self(103);
    pub const DEV_SIZE: Self = Self(104);
    pub const PV_NAME: Self = Self(105);
    pub const PV_MAJOR: Self = Self(106);
    pub const PV_MINOR: Self = Self(107);
    pub const PV_MDA_FREE: Self = Self(108);
    pub const PV_MDA_SIZE: Self = Self(109);
    pub const PV_EXT_VSN: Self = Self(110);
    pub const PE_START: Self = Self(111);
    pub const PV_SIZE: Self = Self(112);
    pub const PV_FREE: Self = Self(113);
    pub const PV_USED: Self = Self(114);
    pub const PV_ATTR: Self = Self(115);
    pub const PV_ALLOCATABLE: Self = Self(116);
    pub const PV_EXPORTED: Self = Self(117);
    pub const PV_MISSING: Self = Self(118);
    pub const PV_PE_COUNT: Self = Self(119);
    pub const PV_PE_ALLOC_COUNT: Self = Self(120);
    pub const PV_TAGS: Self = Self(121);
    pub const PV_MDA_COUNT: Self = Self(122);
    pub const PV_MDA_USED_COUNT: Self = Self(123);
    pub const PV_BA_START: Self = Self(124);
    pub const PV_BA_SIZE: Self = Self(125);
    pub const PV_IN_USE: Self = Self(126);
    pub const PV_DUPLICATE: Self = Self(127);
    pub const PV_DEVICE_ID: Self = Self(128);
    pub const PV_DEVICE_ID_TYPE: Self = Self(129);
    pub const VG_FMT: Self = Self(130);
    pub const VG_UUID: Self = Self(131);
    pub const VG_NAME: Self = Self(132);
    pub const VG_ATTR: Self = Self(133);
    pub const VG_PERMISSIONS: Self = Self(134);
    pub const VG_EXTENDABLE: Self = Self(135);
    pub const VG_EXPORTED: Self = Self(136);
    pub const VG_AUTOACTIVATION: Self = Self(137);
    pub const VG_PARTIAL: Self = Self(138);
    pub const VG_ALLOCATION_POLICY: Self = Self(139);
    pub const VG_CLUSTERED: Self = Self(140);
    pub const VG_SHARED: Self = Self(141);
    pub const VG_SIZE: Self = Self(142);
    pub const VG_FREE: Self = Self(143);
    pub const VG_SYSID: Self = Self(144);
    pub const VG_SYSTEMID: Self = Self(145);
    pub const VG_LOCK_TYPE: Self = Self(146);
    pub const VG_LOCK_ARGS: Self = Self(147);
    pub const VG_EXTENT_SIZE: Self = Self(148);
    pub const VG_EXTENT_COUNT: Self = Self(149);
    pub const VG_FREE_COUNT: Self = Self(150);
    pub const MAX_LV: Self = Self(151);
    pub const MAX_PV: Self = Self(152);
    pub const PV_COUNT: Self = Self(153);
    pub const VG_MISSING_PV_COUNT: Self = Self(154);
    pub const LV_COUNT: Self = Self(155);
    pub const SNAP_COUNT: Self = Self(156);
    pub const VG_SEQNO: Self = Self(157);
    pub const VG_TAGS: Self = Self(158);
    pub const VG_PROFILE: Self = Self(159);
    pub const VG_MDA_COUNT: Self = Self(160);
    pub const VG_MDA_USED_COUNT: Self = Self(161);
    pub const VG_MDA_FREE: Self = Self(162);
    pub const VG_MDA_SIZE: Self = Self(163);
    pub const VG_MDA_COPIES: Self = Self(164);
    pub const SEGTYPE: Self = Self(165);
    pub const STRIPES: Self = Self(166);
    pub const DATA_STRIPES: Self = Self(167);
    pub const RESHAPE_LEN: Self = Self(168);
    pub const RESHAPE_LEN_LE: Self = Self(169);
    pub const DATA_COPIES: Self = Self(170);
    pub const DATA_OFFSET: Self = Self(171);
    pub const NEW_DATA_OFFSET: Self = Self(172);
    pub const PARITY_CHUNKS: Self = Self(173);
    pub const STRIPE_SIZE: Self = Self(174);
    pub const REGION_SIZE: Self = Self(175);
    pub const CHUNK_SIZE: Self = Self(176);
    pub const THIN_COUNT: Self = Self(177);
    pub const DISCARDS: Self = Self(178);
    pub const CACHE_METADATA_FORMAT: Self = Self(179);
    pub const CACHE_MODE: Self = Self(180);
    pub const ZERO: Self = Self(181);
    pub const TRANSACTION_ID: Self = Self(182);
    pub const THIN_ID: Self = Self(183);
    pub const SEG_START: Self = Self(184);
    pub const SEG_START_PE: Self = Self(185);
    pub const SEG_SIZE: Self = Self(186);
    pub const SEG_SIZE_PE: Self = Self(187);
    pub const SEG_TAGS: Self = Self(188);
    pub const SEG_PE_RANGES: Self = Self(189);
    pub const SEG_LE_RANGES: Self = Self(190);
    pub const SEG_METADATA_LE_RANGES: Self = Self(191);
    pub const DEVICES: Self = Self(192);
    pub const METADATA_DEVICES: Self = Self(193);
    pub const SEG_MONITOR: Self = Self(194);
    pub const CACHE_POLICY: Self = Self(195);
    pub const CACHE_SETTINGS: Self = Self(196);
    pub const VDO_COMPRESSION: Self = Self(197);
    pub const VDO_DEDUPLICATION: Self = Self(198);
    pub const VDO_USE_METADATA_HINTS: Self = Self(199);
    pub const VDO_MINIMUM_IO_SIZE: Self = Self(200);
    pub const VDO_BLOCK_MAP_CACHE_SIZE: Self = Self(201);
    pub const VDO_BLOCK_MAP_ERA_LENGTH: Self = Self(202);
    pub const VDO_USE_SPARSE_INDEX: Self = Self(203);
    pub const VDO_INDEX_MEMORY_SIZE: Self = Self(204);
    pub const VDO_SLAB_SIZE: Self = Self(205);
    pub const VDO_ACK_THREADS: Self = Self(206);
    pub const VDO_BIO_THREADS: Self = Self(207);
    pub const VDO_BIO_ROTATION: Self = Self(208);
    pub const VDO_CPU_THREADS: Self = Self(209);
    pub const VDO_HASH_ZONE_THREADS: Self = Self(210);
    pub const VDO_LOGICAL_THREADS: Self = Self(211);
    pub const VDO_PHYSICAL_THREADS: Self = Self(212);
    pub const VDO_MAX_DISCARD: Self = Self(213);
    pub const VDO_WRITE_POLICY: Self = Self(214);
    pub const VDO_HEADER_SIZE: Self = Self(215);
    pub const PVSEG_START: Self = Self(216);
    pub const PVSEG_SIZE: Self = Self(217);
}
