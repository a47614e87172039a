//! Binary structures at the start of a PV: label, pv_header (+ extension), mda_header,
//! raw_locn and placement of texts in the metadata ring.
