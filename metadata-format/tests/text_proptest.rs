//! Generated models survive both text forms: parse(emit_ondisk(m)) == m and
//! parse(emit_backup(m)) == m, and writing the re-read model gives the same bytes again.
//! Models cover every segment kind, PV and LV areas, strings with quotes, backslashes and
//! newlines, unknown keys at the places LVM2 texts can hold them, and unknown segment types.

use std::collections::BTreeMap;

use metadata_format::text::*;
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;

fn id() -> impl Strategy<Value = Id> {
    "[0-9A-Za-z!#]{32}".prop_map(|text| Id::parse(&text).expect("valid id"))
}

/// Any text without NUL (which ends a metadata text).
fn text() -> impl Strategy<Value = String> {
    "[^\\x00]{0,12}"
}

/// Comment text: a single line.
fn line() -> impl Strategy<Value = String> {
    "[^\\x00\\n]{0,24}"
}

fn name(prefix: &'static str) -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}".prop_map(move |tail| format!("{prefix}{tail}"))
}

fn u63() -> impl Strategy<Value = u64> {
    0..=i64::MAX as u64
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..3)
}

fn scalar() -> impl Strategy<Value = Scalar<'static>> {
    prop_oneof![
        any::<i64>().prop_map(Scalar::Int),
        text().prop_map(|t| Scalar::String(t.into())),
        (any::<i32>(), any::<u16>()).prop_map(|(a, b)| Scalar::Float(format!("{a}.{b}").into())),
    ]
}

fn value() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        any::<i64>().prop_map(Value::Int),
        text().prop_map(|t| Value::String(t.into())),
        (any::<i16>(), any::<u8>()).prop_map(|(a, b)| Value::Float(format!("{a}.{b}").into())),
        (vec(scalar(), 0..5), 0u32..3)
            .prop_map(|(elements, per_line)| Value::Array(Array { elements, per_line })),
    ]
}

/// Unknown items with keys no section knows; `sections` allows subsections.
fn unknown_items(sections: bool) -> impl Strategy<Value = Vec<Item<'static>>> {
    let node = if sections {
        prop_oneof![
            3 => value().prop_map(Node::Value),
            1 => btree_map("x_[a-z]{1,6}", value(), 0..3).prop_map(|items| {
                let mut section = Section::new();
                for (key, value) in items {
                    section.push_value(key, value);
                }
                Node::Section(section)
            }),
        ]
        .boxed()
    } else {
        value().prop_map(Node::Value).boxed()
    };
    btree_map("x_[a-z]{1,6}", node, 0..3).prop_map(|items| {
        items
            .into_iter()
            .map(|(key, node)| Item::new(key, node))
            .collect()
    })
}

/// Unknown keys anchored after keys that are always written in that section.
fn extras(
    anchors: &'static [Option<&'static str>],
    sections: bool,
) -> impl Strategy<Value = Vec<Extra>> {
    (unknown_items(sections), vec(0..anchors.len(), 3)).prop_map(move |(items, picks)| {
        // Anchors are listed in writing order, so sorting by them gives the reading order.
        let mut anchored: Vec<(usize, Item<'static>)> = picks.into_iter().zip(items).collect();
        anchored.sort_by_key(|(pick, _)| *pick);
        anchored
            .into_iter()
            .map(|(pick, item)| Extra {
                after: anchors[pick],
                item,
            })
            .collect()
    })
}

fn area(pvs: Vec<Id>) -> impl Strategy<Value = Area> {
    let pv_count = pvs.len();
    let lv_area = (name("lv_"), any::<u32>())
        .prop_map(|(name, start)| Area::Lv { name, start })
        .boxed();
    if pv_count == 0 {
        return lv_area;
    }
    prop_oneof![
        (0..pv_count, any::<u32>()).prop_map(move |(n, start)| Area::Pv { pv: pvs[n], start }),
        lv_area,
    ]
    .boxed()
}

fn raid() -> impl Strategy<Value = Raid> {
    let levels: Vec<RaidLevel> = RaidLevel::all().collect();
    (
        proptest::sample::select(levels),
        vec(of(any::<u32>()), 7),
        vec((any::<bool>(), name("img_"), "[0-9]{1,3}"), 0..4),
    )
        .prop_map(|(level, fields, images)| {
            let with_meta = level != RaidLevel::Raid0;
            let images = images
                .into_iter()
                .map(|(meta, data, n)| RaidImage {
                    meta: (meta && with_meta).then(|| format!("m_rmeta_{n}")),
                    data,
                })
                .collect();
            let raid0 = level.is_raid0();
            Raid {
                level,
                data_copies: fields[0].filter(|_| !raid0),
                region_size: fields[1].filter(|_| !raid0),
                stripe_size: fields[2],
                writebehind: fields[3].filter(|_| !raid0),
                min_recovery_rate: fields[4].filter(|_| !raid0),
                max_recovery_rate: fields[5].filter(|_| !raid0),
                data_offset: fields[6].filter(|_| !raid0),
                images,
            }
        })
}

fn cache_settings() -> impl Strategy<Value = CacheSettings> {
    (
        of(any::<u32>()),
        of(text()),
        of(text()),
        of(btree_map("[a-z_]{1,10}", any::<i64>(), 0..3)),
    )
        .prop_map(|(chunk_size, cache_mode, policy, settings)| CacheSettings {
            chunk_size,
            cache_mode,
            policy,
            policy_settings: settings.map(|settings: BTreeMap<String, i64>| {
                let mut section = Section::new();
                for (key, value) in settings {
                    section.push_value(key, Value::Int(value));
                }
                section
            }),
        })
}

fn kind(pvs: Vec<Id>) -> impl Strategy<Value = SegmentKind> {
    prop_oneof![
        (of(any::<u32>()), vec(area(pvs.clone()), 0..4)).prop_map(|(stripe_size, stripes)| {
            SegmentKind::Striped(Striped {
                stripe_size,
                stripes,
            })
        }),
        (
            of(any::<u32>()),
            of(text()),
            of(any::<u32>()),
            vec(area(pvs), 0..3)
        )
            .prop_map(|(extents_moved, mirror_log, region_size, mirrors)| {
                SegmentKind::Mirror(Mirror {
                    extents_moved,
                    mirror_log,
                    region_size,
                    mirrors,
                })
            }),
        raid().prop_map(|raid| SegmentKind::Raid(Box::new(raid))),
        (any::<u32>(), text(), text(), any::<bool>()).prop_map(
            |(chunk_size, origin, cow, merging)| {
                SegmentKind::Snapshot(Snapshot {
                    chunk_size,
                    origin,
                    cow,
                    merging,
                })
            }
        ),
        (
            (text(), text(), u63(), any::<u32>()),
            (of(text()), any::<bool>(), of(any::<bool>())),
            vec(
                prop_oneof![
                    text().prop_map(ThinMessage::Create),
                    any::<u32>().prop_map(ThinMessage::Delete)
                ],
                0..3
            )
        )
            .prop_map(
                |(
                    (metadata, pool, transaction_id, chunk_size),
                    (discards, zero, crop),
                    messages,
                )| {
                    SegmentKind::ThinPool(Box::new(ThinPool {
                        metadata,
                        pool,
                        transaction_id,
                        chunk_size,
                        discards,
                        zero_new_blocks: zero,
                        crop_metadata: crop,
                        messages,
                    }))
                }
            ),
        (
            text(),
            u63(),
            any::<u32>(),
            of(text()),
            of(text()),
            of(text())
        )
            .prop_map(
                |(thin_pool, transaction_id, device_id, external_origin, origin, merge)| {
                    SegmentKind::Thin(Box::new(Thin {
                        thin_pool,
                        transaction_id,
                        device_id,
                        external_origin,
                        origin,
                        merge,
                    }))
                }
            ),
        (text(), text(), of(any::<u32>()), cache_settings()).prop_map(
            |(data, metadata, metadata_format, settings)| SegmentKind::CachePool(Box::new(
                CachePool {
                    data,
                    metadata,
                    metadata_format,
                    settings,
                }
            ))
        ),
        (
            (
                text(),
                text(),
                any::<bool>(),
                of(any::<u32>()),
                cache_settings()
            ),
            vec(of(u63()), 4),
            (of(id()), of(id()))
        )
            .prop_map(
                |(
                    (cache_pool, origin, cleaner, metadata_format, settings),
                    spans,
                    (metadata_id, data_id),
                )| {
                    SegmentKind::Cache(Box::new(Cache {
                        cache_pool,
                        origin,
                        cleaner,
                        metadata_format,
                        settings,
                        metadata_start: spans[0],
                        metadata_len: spans[1],
                        data_start: spans[2],
                        data_len: spans[3],
                        metadata_id,
                        data_id,
                    }))
                }
            ),
        (name("x-"), unknown_items(true)).prop_map(|(type_name, items)| {
            SegmentKind::Other(OtherSegment { type_name, items })
        }),
    ]
}

const SEGMENT_ANCHORS: &[Option<&str>] = &[
    None,
    Some("start_extent"),
    Some("extent_count"),
    Some("type"),
];

fn segment(pvs: Vec<Id>) -> impl Strategy<Value = Segment> {
    (
        (any::<u32>(), any::<u32>(), of(any::<u32>())),
        vec("[A-Z_]{1,8}", 0..2),
        strings(),
        kind(pvs),
        extras(SEGMENT_ANCHORS, true),
    )
        .prop_map(
            |((start_extent, extent_count, reshape_count), type_flags, tags, kind, extra)| {
                // An unknown type keeps everything after `type` itself.
                let extra = if matches!(kind, SegmentKind::Other(_)) {
                    Vec::new()
                } else {
                    extra
                };
                Segment {
                    start_extent,
                    extent_count,
                    reshape_count,
                    type_flags,
                    tags,
                    kind,
                    extra,
                }
            },
        )
}

const LV_ANCHORS: &[Option<&str>] = &[
    None,
    Some("id"),
    Some("status"),
    Some("flags"),
    Some("segment_count"),
];

fn policy() -> impl Strategy<Value = AllocationPolicy> {
    prop_oneof![
        Just(AllocationPolicy::Contiguous),
        Just(AllocationPolicy::Cling),
        Just(AllocationPolicy::ClingByTags),
        Just(AllocationPolicy::Normal),
        Just(AllocationPolicy::Anywhere),
        Just(AllocationPolicy::Inherit),
        name("x_").prop_map(AllocationPolicy::Other),
    ]
}

fn logical_volume(pvs: Vec<Id>) -> impl Strategy<Value = LogicalVolume> {
    (
        (id(), any::<bool>(), strings(), strings()),
        (
            of(0..(1u64 << 40)),
            of(text()),
            of(text()),
            of(policy()),
            of(text()),
        ),
        (
            of(prop_oneof![
                Just(ReadAhead::Disabled),
                any::<u32>().prop_map(ReadAhead::Sectors)
            ]),
            of(any::<i32>()),
            of(any::<i32>()),
        ),
        vec(segment(pvs), 0..3),
        extras(LV_ANCHORS, false),
    )
        .prop_map(
            |(
                (id, visible, flags, tags),
                (creation_time, creation_host, lock_args, allocation_policy, profile),
                (read_ahead, major, minor),
                segments,
                extra,
            )| {
                let mut status = vec!["READ".to_string(), "WRITE".to_string()];
                if visible {
                    status.push("VISIBLE".into());
                }
                LogicalVolume {
                    name: String::new(),
                    id,
                    status: words(status).into(),
                    flags: words(flags),
                    tags,
                    creation_time,
                    creation_host,
                    segments,
                    rare: Rare::new(LvRare {
                        lock_args,
                        allocation_policy,
                        profile,
                        read_ahead,
                        major,
                        minor,
                        extra,
                    }),
                }
            },
        )
}

const PV_ANCHORS: &[Option<&str>] = &[
    None,
    Some("id"),
    Some("status"),
    Some("pe_start"),
    Some("pe_count"),
];

fn physical_volume() -> impl Strategy<Value = PhysicalVolume> {
    (
        (id(), of(text()), of(text()), of(text())),
        (strings(), strings(), strings()),
        (of(u63()), u63(), any::<u32>(), of(u63()), of(u63())),
        extras(PV_ANCHORS, true),
    )
        .prop_map(
            |(
                (id, device, device_id_type, device_id),
                (status, flags, tags),
                (dev_size, pe_start, pe_count, ba_start, ba_size),
                extra,
            )| PhysicalVolume {
                id,
                device,
                device_id_type,
                device_id,
                status: words(status),
                flags: words(flags),
                tags,
                dev_size,
                pe_start,
                pe_count,
                ba_start,
                ba_size,
                extra,
            },
        )
}

fn historical() -> impl Strategy<Value = HistoricalLogicalVolume> {
    (
        name("h_"),
        id(),
        of(0..(1u64 << 40)),
        of(0..(1u64 << 40)),
        of(text()),
        strings(),
        extras(&[None, Some("id")], true),
    )
        .prop_map(
            |(name, id, creation_time, removal_time, origin, descendants, extra)| {
                HistoricalLogicalVolume {
                    name,
                    id,
                    creation_time,
                    removal_time,
                    origin,
                    descendants,
                    extra,
                }
            },
        )
}

const VG_ANCHORS: &[Option<&str>] = &[
    None,
    Some("id"),
    Some("seqno"),
    Some("status"),
    Some("extent_size"),
    Some("max_pv"),
    Some("physical_volumes"),
];

fn volume_group() -> impl Strategy<Value = VolumeGroup> {
    vec(physical_volume(), 0..4).prop_flat_map(|pvs| {
        let pv_ids: Vec<Id> = pvs.iter().map(|pv| pv.id).collect();
        (
            (name("vg_"), id(), any::<u32>(), of(text())),
            (strings(), strings(), strings()),
            (of(text()), of(text()), of(text()), of(policy()), of(text())),
            (any::<u32>(), any::<u32>(), any::<u32>(), of(any::<u32>())),
            btree_map(name("lv_"), logical_volume(pv_ids), 0..5),
            vec(historical(), 0..2),
            extras(VG_ANCHORS, true),
            Just(pvs),
        )
            .prop_map(
                |(
                    (name, id, seqno, format),
                    (status, flags, tags),
                    (system_id, lock_type, lock_args, allocation_policy, profile),
                    (extent_size, max_lv, max_pv, metadata_copies),
                    lvs,
                    historical_lvs,
                    extra,
                    pvs,
                )| VolumeGroup {
                    name,
                    id,
                    seqno,
                    format,
                    status: words(status),
                    flags: words(flags),
                    tags,
                    system_id,
                    lock_type,
                    lock_args,
                    extent_size,
                    max_lv,
                    max_pv,
                    allocation_policy,
                    profile,
                    metadata_copies,
                    pvs,
                    lvs: lvs
                        .into_iter()
                        .map(|(name, lv)| LogicalVolume { name, ..lv })
                        .collect(),
                    historical_lvs,
                    extra,
                },
            )
    })
}

fn header() -> impl Strategy<Value = Header> {
    (
        of(line()),
        of(text()),
        of((text(), of(line()))),
        of(text()),
        of((u63(), of(line()))),
    )
        .prop_map(
            |(generated_by, description, host, system_id, time)| Header {
                generated_by,
                contents: CONTENTS.to_string(),
                version: 1,
                description,
                creation_host: host.as_ref().map(|(host, _)| host.clone()),
                creation_host_uname: host.and_then(|(_, uname)| uname),
                creation_host_system_id: system_id,
                creation_time: time.as_ref().map(|(time, _)| *time),
                creation_time_date: time.and_then(|(_, date)| date),
            },
        )
}

fn metadata() -> impl Strategy<Value = Metadata> {
    (
        volume_group(),
        header(),
        (-14 * 60..=14 * 60i32).prop_map(|minutes| minutes * 60),
        extras(&[None, Some("contents"), Some("version")], false),
    )
        .prop_map(|(vg, header, utc_offset, extra)| Metadata {
            vg,
            header,
            utc_offset,
            extra,
        })
}

/// What reading a written model gives back: LVs in LVM2's visible-first order, and the
/// zone only where a backup shows it (in LV timestamp comments).
fn as_read_back(metadata: &Metadata, backup: bool) -> Metadata {
    let mut expected = metadata.clone();
    let vg = &metadata.vg;
    let (visible, hidden): (Vec<_>, Vec<_>) =
        vg.lvs.iter().cloned().partition(|lv| vg.is_lv_visible(lv));
    expected.vg.lvs = visible.into_iter().chain(hidden).collect();
    let shows_zone = backup
        && (vg.lvs.iter().any(|lv| lv.creation_time.is_some())
            || vg
                .historical_lvs
                .iter()
                .any(|lv| lv.creation_time.is_some() || lv.removal_time.is_some()));
    if !shows_zone {
        expected.utc_offset = 0;
    }
    expected
}

fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    let mut lines = actual.split('\n');
    for (n, line) in expected.split('\n').enumerate() {
        let other = lines.next();
        if other != Some(line) {
            return format!("line {}: expected {line:?}, got {other:?}", n + 1);
        }
    }
    format!("extra lines: {:?}", lines.collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn ondisk_form_round_trips(metadata in metadata()) {
        let text = emit_ondisk(&metadata);
        let read = parse_metadata(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&text))))?;
        prop_assert_eq!(&read, &as_read_back(&metadata, false));
        let again = emit_ondisk(&read);
        prop_assert!(again == text, "{}", first_difference(&text, &again));
    }

    #[test]
    fn backup_form_round_trips(metadata in metadata()) {
        let text = emit_backup(&metadata);
        let read = parse_metadata(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&text))))?;
        prop_assert_eq!(&read, &as_read_back(&metadata, true));
        let again = emit_backup(&read);
        prop_assert!(again == text, "{}", first_difference(&text, &again));
    }

    #[test]
    fn config_trees_round_trip(items in unknown_items(true)) {
        let section = Section { items };
        let text = emit_config(&section);
        let read = parse_config(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read, section);
    }
}

fn words(list: Vec<String>) -> Vec<Word> {
    list.into_iter().map(Word::from).collect()
}
